"""The segment builder and the segments list, without a browser: editing the filter tree,
live counts, the URL, saving and versions, explain, View SQL and export."""

from __future__ import annotations

import asyncio
import base64
import csv
import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from reflex.istate.data import ReflexURL, RouterData
import httpx

from audiences_app.core.catalog import CORE_FIELDS
from audiences_app.core.db import write_transaction
from audiences_app.core.segments import count_matching, fields_for, members, saved
from audiences_app.ui import db, downloads, filter_tree
from audiences_app.ui.pages.segments import SegmentsState
from audiences_app.ui.state.segment_builder import SegmentBuilderState
from tests.ui.conftest import COMPANIES, PEOPLE


def act(handler_call):
    """Run an event handler's coroutine to its end, as Reflex would, and return its result."""
    return asyncio.run(handler_call)


def background(state, handler) -> None:
    """Run a background handler to its end; outside Reflex `async with self` is a no-op."""
    asyncio.run(getattr(type(state), handler).fn(state))


def opening(path: str = "/segments/new?entity=companies") -> tuple[SegmentBuilderState, list]:
    """The builder opened at `path` (as its on_load does), and the events its load returned."""
    state = SegmentBuilderState()
    state.router = RouterData(url=ReflexURL(f"http://localhost:3000{path}"))
    return state, act(state.load())


def opened(path: str = "/segments/new?entity=companies") -> SegmentBuilderState:
    return opening(path)[0]


def link(events) -> str:
    """The URL the builder wrote into the address bar (its replaceState script)."""
    script = str(events[0].args[0][1]._var_value)
    return json.loads(re.search(r"'', (\".*\")\)$", script).group(1))


def count(state) -> int:
    return int(state.count_label.replace(",", ""))


def node(state, node_id: str) -> dict:
    return next(n for n in state.nodes if n["id"] == node_id)


def core_count(workspace, filter_json, entity="companies") -> int:
    with db.engine().connect() as conn:
        return count_matching(conn, workspace.id, entity, filter_json, segment_resolver=saved.resolver(conn, workspace.id))


def industry_in(state, node_id="n1", values=("software", "biotech")):
    act(state.set_field(node_id, "industry"))
    act(state.set_operator(node_id, "in"))
    for value in values:
        act(state.add_list_value(node_id, value))


def two_level(state) -> dict:
    """industry in [software, biotech] AND (employees between 50 and 500 OR NOT country is US)."""
    act(state.add_condition("n0"))
    industry_in(state)
    act(state.add_group("n0"))
    act(state.set_field("n3", "employee_count"))
    act(state.set_operator("n3", "between"))
    act(state.set_value("n3", "50"))
    act(state.set_value2("n3", "500"))
    act(state.add_condition("n2"))
    act(state.set_field("n4", "country"))
    act(state.set_value("n4", "US"))
    return {"and": [
        {"field": "industry", "op": "in", "value": ["software", "biotech"]},
        {"or": [
            {"field": "employee_count", "op": "between", "value": [50, 500]},
            {"field": "country", "op": "eq", "value": "US"},
        ]},
    ]}


def save_new(state, name="Software and biotech") -> int:
    act(state.open_save("save"))
    state.set_save_name(name)
    event = act(state.confirm_save())
    assert state.save_error == "", state.save_error
    return int(re.search(r"/segments/(\d+)", str(event)).group(1))


# -- opening -----------------------------------------------------------------------------------

def test_a_new_builder_starts_with_an_empty_and_group_matching_everything(workspace):
    state, events = opening()
    assert state.error == ""
    assert [n["kind"] for n in state.nodes] == ["group"] and state.nodes[0]["group"] == "and"
    assert state.count_label == f"{COMPANIES:,}" and state.description == "All companies"
    assert len(state.rows) == 50 and state.header[0]["label"] == "Name"
    assert link(events) == "/segments/new?entity=companies"


def test_the_field_picker_groups_catalog_fields_by_type_and_searches_them(workspace):
    state = opened()
    headings = [row["label"] for row in state.field_menu if row["kind"] == "heading"]
    assert headings[:3] == ["Text", "Numbers", "Dates and times"]
    state.set_field_search("employ")
    assert [row["key"] for row in state.field_menu if row["kind"] == "field"] == ["employee_count"]


def test_people_can_be_filtered_by_their_company(workspace):
    state = opened("/segments/new?entity=people")
    assert state.count_label == f"{PEOPLE:,}"
    assert "company.industry" in {option["key"] for option in state.field_options}
    act(state.add_condition("n0"))
    act(state.set_field("n1", "company.industry"))
    act(state.set_value("n1", "software"))
    assert state.description == "Company industry is software"
    assert count(state) == core_count(workspace, {"field": "company.industry", "op": "eq", "value": "software"}, "people")


def test_an_unknown_entity_is_a_message(workspace):
    state = opened("/segments/new?entity=passwords")
    assert "choose companies or people" in state.error


# -- editing -----------------------------------------------------------------------------------

def test_a_two_level_filter_built_by_handlers_counts_what_the_core_counts(workspace):
    state = opened()
    expected = two_level(state)
    assert state.error == "" and state.incomplete == 0
    assert state._filter == expected
    assert count(state) == core_count(workspace, expected)
    assert state.description == (
        "Industry is any of software, biotech and (Employees is between 50 and 500 or Country is US)"
    )
    assert [(n["id"], n["depth"], n["lead"]) for n in state.nodes] == [
        ("n0", 0, ""), ("n1", 1, "Where"), ("n2", 1, "and"), ("n3", 2, "Where"), ("n4", 2, "or"),
    ]


def test_every_edit_narrows_or_widens_the_count_and_resets_the_member_page(workspace):
    state = opened()
    act(state.next_page())
    act(state.add_condition("n0"))
    industry_in(state, values=("software",))
    narrowed = count(state)
    assert narrowed < COMPANIES and state.page_index == 0
    act(state.add_list_value("n1", "biotech"))
    assert count(state) > narrowed
    assert {row["industry"] for row in state.rows} == {"software", "biotech"}


def test_a_new_group_takes_the_other_conjunction_and_can_be_switched(workspace):
    state = opened()
    act(state.add_group("n0"))
    assert node(state, "n1")["group"] == "or"
    act(state.set_group_kind("n1", "and"))
    assert node(state, "n1")["group"] == "and"
    act(state.set_group_kind("n1", "xor"))
    assert "all (and) or any (or)" in state.error and node(state, "n1")["group"] == "and"


def test_not_makes_the_exact_complement(workspace):
    state = opened()
    act(state.add_condition("n0"))
    act(state.set_field("n1", "industry"))
    act(state.set_value("n1", "software"))
    kept = count(state)
    act(state.toggle_not("n1"))
    assert count(state) == COMPANIES - kept
    assert state._filter == {"and": [{"not": {"field": "industry", "op": "eq", "value": "software"}}]}
    act(state.toggle_not("n0"))
    assert count(state) == kept and state.description.startswith("Not ")


def test_moving_reorders_siblings_with_what_they_hold_and_removing_drops_a_subtree(workspace):
    state = opened()
    two_level(state)
    act(state.move_node("n2", "up"))
    assert [n["id"] for n in state.nodes] == ["n0", "n2", "n3", "n4", "n1"]
    assert node(state, "n2")["first"] and node(state, "n1")["lead"] == "and"
    act(state.move_node("n2", "up"))  # already first: nothing happens
    assert [n["id"] for n in state.nodes][1] == "n2" and state.error == ""
    act(state.remove_node("n2"))
    assert [n["id"] for n in state.nodes] == ["n0", "n1"]
    act(state.remove_node("n0"))
    assert "top group cannot be removed" in state.error


def test_changing_the_operator_keeps_the_value_that_still_fits(workspace):
    state = opened()
    act(state.add_condition("n0"))
    act(state.set_field("n1", "employee_count"))
    act(state.set_value("n1", "50"))
    act(state.set_operator("n1", "between"))
    assert (node(state, "n1")["value"], node(state, "n1")["shape"]) == ("50", "number_range")
    act(state.set_operator("n1", "is_empty"))
    assert node(state, "n1")["shape"] == "none" and state._filter["and"][0] == {"field": "employee_count", "op": "is_empty"}


def test_relative_dates_take_an_amount_and_a_unit(workspace):
    state = opened()
    act(state.add_condition("n0"))
    act(state.set_field("n1", "created_at"))
    assert node(state, "n1")["op"] == "within_last" and node(state, "n1")["value2"] == "day"
    act(state.set_value("n1", "3"))
    act(state.set_value2("n1", "month"))
    assert state._filter["and"][0]["value"] == {"amount": 3, "unit": "month"}
    act(state.set_value2("n1", "fortnight"))
    assert "unit is one of day, week, month, year" in state.error


def test_unfinished_conditions_are_left_out_with_a_hint_not_an_error(workspace):
    state = opened()
    act(state.add_condition("n0"))
    assert node(state, "n1")["problem"] == "Choose a field" and not node(state, "n1")["invalid"]
    act(state.set_field("n1", "industry"))
    assert node(state, "n1")["problem"] == "Enter a value"
    assert state.count_label == f"{COMPANIES:,}" and state.error == ""
    assert state.incomplete_note == "1 unfinished condition is left out until complete."


def test_a_value_the_core_refuses_is_marked_at_its_condition(workspace):
    state = opened()
    act(state.add_condition("n0"))
    act(state.set_field("n1", "employee_count"))
    act(state.set_value("n1", "fifty"))
    assert node(state, "n1")["problem"] == "'fifty' is not a number" and node(state, "n1")["invalid"]
    act(state.set_operator("n1", "between"))
    act(state.set_value("n1", "500"))
    act(state.set_value2("n1", "50"))
    assert "lower one comes first" in node(state, "n1")["problem"] and node(state, "n1")["invalid"]
    assert state.count_label == f"{COMPANIES:,}"


@pytest.mark.parametrize(
    ("handler", "args", "message"),
    [
        ("add_condition", ("n99",), "no longer in the filter"),
        ("add_condition", (None,), "no longer in the filter"),
        ("set_field", ("n1", "password"), "have no field 'password'"),
        ("set_field", ("n1", "workspace_id"), "have no field"),
        ("set_operator", ("n1", "contains"), "cannot be compared with 'contains'"),
        ("set_operator", ("n1", ["in"]), "cannot be compared"),
        ("move_node", ("n1", "sideways"), "up or down"),
        ("set_value", ("n1", 42), "must be text"),
        ("set_value", ("n1", "x" * 1_001), "limited to 1,000 characters"),
        ("add_condition", ("n1",), "only be added to a group"),
    ],
)
def test_handlers_check_every_argument_a_client_sends(workspace, handler, args, message):
    state = opened()
    act(state.add_condition("n0"))
    act(state.set_field("n1", "employee_count"))
    before = [dict(n) for n in state.nodes]
    act(getattr(state, handler)(*args))
    assert message in state.error
    assert [dict(n) for n in state.nodes] == before


def test_the_tree_is_bounded_in_size_depth_and_listed_values(workspace, monkeypatch):
    state = opened()
    for _ in range(filter_tree.MAX_DEPTH - 1):
        act(state.add_group(state.nodes[-2]["id"] if len(state.nodes) > 1 else "n0"))
    assert state.error == ""
    deepest = [n for n in state.nodes if n["kind"] == "group"][-1]
    act(state.add_group(deepest["id"]))
    assert "at most 32 levels" in state.error
    act(state.toggle_not("n1"))  # a `not` around a group counts as a level for all inside it
    assert "each 'not' counting as one" in state.error and not node(state, "n1")["negated"]

    state = opened()
    act(state.add_condition("n0"))
    industry_in(state, values=())
    monkeypatch.setattr(filter_tree, "MAX_LIST_VALUES", 3)
    for value in ("a", "b", "c", "d"):
        act(state.add_list_value("n1", value))
    assert "at most 3 values" in state.error and node(state, "n1")["values"] == ["a", "b", "c"]
    monkeypatch.setattr(filter_tree, "MAX_NODES", 4)
    for _ in range(4):
        act(state.add_condition("n0"))
    assert "at most 4 conditions" in state.error and len(state.nodes) == 4


def test_listed_values_ignore_case_duplicates_and_can_be_removed(workspace):
    state = opened()
    act(state.add_condition("n0"))
    industry_in(state, values=("software", "Software ", "biotech"))
    assert node(state, "n1")["values"] == ["software", "biotech"]
    act(state.remove_list_value("n1", "software"))
    assert state._filter == {"and": [{"field": "industry", "op": "in", "value": ["biotech"]}]}


def test_the_value_box_form_adds_the_typed_value_to_its_own_condition(workspace):
    state = opened()
    act(state.add_condition("n0"))
    industry_in(state, values=())
    act(state.submit_list_value({"node": "n1", "value": "retail"}))
    assert node(state, "n1")["values"] == ["retail"]
    act(state.submit_list_value("not a form"))
    assert "Type a value" in state.error


# -- the URL -------------------------------------------------------------------------------------

def test_the_url_carries_the_filter_and_reopening_it_restores_the_builder(workspace):
    state = opened()
    two_level(state)
    act(state.toggle_not("n4"))
    url = link(act(state.set_value("n4", "DE")))
    assert url.startswith("/segments/new?entity=companies&f=")
    again = opened(url)
    assert again.error == ""
    assert again._filter == state._filter and again.count_label == state.count_label
    assert [(n["id"], n["field"], n["op"], n["negated"]) for n in again.nodes] == [
        (n["id"], n["field"], n["op"], n["negated"]) for n in state.nodes
    ]


@pytest.mark.parametrize(
    ("f", "message"),
    [
        ("%%%not-base64", "damaged"),
        (base64.urlsafe_b64encode(b'{"and": [').decode(), "damaged"),
        (base64.urlsafe_b64encode(b'[1, 2]').decode(), "not a filter"),
        (base64.urlsafe_b64encode(b'{"and": [{"field": "x", "op": "eq", "value": NaN}]}').decode(), "damaged"),
        (base64.urlsafe_b64encode(json.dumps({"and": [{"field": "salary", "op": "gt", "value": 1}]}).encode()).decode(),
         "'salary' is not in the companies catalog"),
        (base64.urlsafe_b64encode(json.dumps({"and": [{"field": "name", "op": "eq", "value": "x'; DROP TABLE company; --"},
                                                      {"field": "employee_count", "op": "gt", "value": "many"}]}).encode()).decode(),
         "gt needs a number"),
        ("A" * 40_000, "too long"),
    ],
)
def test_a_broken_or_tampered_link_is_a_message_and_an_empty_builder(workspace, f, message):
    state = opened(f"/segments/new?entity=companies&f={f}")
    assert message in state.error and "Showing an empty filter instead." in state.error
    assert len(state.nodes) == 1 and state.count_label == f"{COMPANIES:,}"


def test_a_deeply_nested_link_is_refused_without_a_crash(workspace):
    deep: dict = {"field": "name", "op": "eq", "value": "x"}
    for _ in range(500):
        deep = {"not": deep}
    f = filter_tree.encode_link(deep)
    state = opened(f"/segments/new?entity=companies&f={f}")
    assert "32 levels" in state.error and len(state.nodes) == 1


# -- counts ----------------------------------------------------------------------------------------

def test_clause_counts_follow_in_the_background_funnel_style(workspace):
    state = opened()
    two_level(state)
    assert state.counts_pending and all(n["count"] == "" for n in state.nodes)
    background(state, "complete_counts")
    assert not state.counts_pending
    software_biotech = core_count(workspace, state._filter["and"][0])
    assert node(state, "n1")["count"] == f"{software_biotech:,}"
    assert node(state, "n2")["count"] == state.count_label  # what is left after both
    assert node(state, "n3")["count"] == f"{core_count(workspace, state._filter['and'][1]['or'][0]):,}"
    assert "left after this" in node(state, "n2")["count_hint"]


def test_a_capped_count_shows_at_once_and_the_background_count_replaces_it(workspace, settings_env):
    settings_env(COUNT_CAP="100")
    state, events = opening()
    assert state.count_label == "100+" and state.count_pending
    assert SegmentBuilderState.complete_counts in events
    background(state, "complete_counts")
    assert state.count_label == f"{COMPANIES:,}" and not state.count_pending


def test_background_counts_for_an_older_filter_are_dropped(workspace, settings_env, monkeypatch):
    settings_env(COUNT_CAP="100")
    state = opened()
    exact = members.exact_member_count

    def user_edits_while_counting(*args, **kwargs):
        monkeypatch.setattr(members, "exact_member_count", exact)
        total = exact(*args, **kwargs)
        act(state.add_condition("n0"))
        act(state.set_field("n1", "industry"))
        act(state.set_value("n1", "software"))  # a new filter arrives before this count ends
        return total

    monkeypatch.setattr(members, "exact_member_count", user_edits_while_counting)
    background(state, "complete_counts")
    assert state.count_label == f"{core_count(workspace, state._filter):,}"  # not the stale 260
    assert node(state, "n1")["count"] == ""  # nor the old filter's clause counts


def test_the_background_count_runs_once_per_filter_however_often_it_is_sent(workspace, monkeypatch):
    state = opened()
    calls = []
    monkeypatch.setattr(
        SegmentBuilderState, "_clause_counts", lambda self, *a: calls.append(a) or []
    )
    background(state, "complete_counts")
    background(state, "complete_counts")
    assert len(calls) == 1


# -- members, explain, SQL, suggestions ------------------------------------------------------------

def test_members_page_forward_and_back_and_sort(workspace):
    state = opened()
    first = [row["id"] for row in state.rows]
    act(state.next_page())
    assert state.range_label == "Rows 51–100" and not set(first) & {row["id"] for row in state.rows}
    act(state.prev_page())
    assert [row["id"] for row in state.rows] == first
    act(state.sort_by("employee_count"))
    values = [int(r["employee_count"].replace(",", "")) for r in state.rows if r["employee_count"]]
    assert values == sorted(values) and state.header[3]["direction"] == "asc"
    act(state.sort_by("attributes"))
    assert "cannot be sorted by 'attributes'" in state.error


def test_why_a_record_is_in_names_each_condition_and_its_value(workspace):
    state = opened()
    two_level(state)
    act(state.open_record(state.rows[0]["id"]))
    assert state.why_open and state.why_error == "" and state.why_member
    labels = [n["label"] for n in state.why_nodes]
    assert "Industry is any of software, biotech" in labels
    industry = next(n for n in state.why_nodes if n["kind"] == "condition" and n["label"].startswith("Industry"))
    assert industry["result"] == "yes" and industry["value"] in ("software", "biotech")
    act(state.open_record("1 OR 1=1"))
    assert state.why_error == "That record link is not valid."


def test_view_sql_shows_the_members_query_with_its_values(workspace):
    state = opened()
    two_level(state)
    act(state.open_sql())
    assert state.sql_open and state.sql_text.startswith("SELECT company.id")
    assert "BETWEEN 50 AND 500" in state.sql_text and "'software'" in state.sql_text
    state.set_sql_open(False)
    assert state.sql_text == ""


def test_suggestions_are_the_fields_most_common_values(workspace):
    state = opened()
    act(state.add_condition("n0"))
    industry_in(state, values=())
    act(state.suggest("n1", ""))
    assert state.suggestions_for == "n1"
    assert {s["value"] for s in state.suggestions} == {"software", "biotech", "retail", "logistics"}
    assert all(s["count"] == "52" for s in state.suggestions)
    act(state.suggest("n1", "bio"))
    assert [s["value"] for s in state.suggestions] == ["biotech"]
    act(state.pick_suggestion("n1", "biotech"))
    assert node(state, "n1")["values"] == ["biotech"]
    act(state.set_field("n1", "employee_count"))
    act(state.suggest("n1", ""))
    assert state.suggestions == [] and state.suggestions_for == ""


# -- saving, versions, segments in segments ------------------------------------------------------

def test_saving_a_new_segment_opens_it_at_version_one(workspace):
    state = opened()
    expected = two_level(state)
    segment_id = save_new(state)
    again, events = opening(f"/segments/{segment_id}")
    assert again.error == "" and again.segment_name == "Software and biotech"
    assert again.saved_version == 1 and not again.dirty and again._filter == expected
    assert again.count_label == state.count_label
    assert link(events) == f"/segments/{segment_id}"


def test_before_saving_a_new_version_the_dialog_shows_who_joins_and_who_leaves(workspace):
    state = opened()
    two_level(state)
    segment_id = save_new(state)
    state = opened(f"/segments/{segment_id}")
    before = count(state)
    act(state.remove_list_value("n1", "biotech"))
    act(state.add_list_value("n1", "retail"))
    assert state.dirty
    act(state.open_save("save"))
    assert state.save_open and state.diff_ready and state.save_mode == "save"
    with db.engine().connect() as conn:
        diff = saved.diff_against_saved(conn, workspace.id, segment_id, state._filter)
    assert (state.diff_added, state.diff_removed) == (f"{diff['added']:,}", f"{diff['removed']:,}")
    assert diff["added"] and diff["removed"]
    assert [s["label"] for s in state.diff_added_sample] == [s["label"] for s in diff["added_sample"]]
    state.set_save_note("Retail instead of biotech")
    events = act(state.confirm_save())
    assert state.saved_version == 2 and not state.dirty and state.notice == "Saved version 2."
    assert link([events]) == f"/segments/{segment_id}"
    assert [(v["version"], v["note"]) for v in state.versions] == [("2", "Retail instead of biotech"), ("1", "")]
    assert count(state) != before


def test_save_as_makes_a_new_segment_and_restoring_a_version_loads_it(workspace):
    state = opened()
    first = two_level(state)
    segment_id = save_new(state)
    state = opened(f"/segments/{segment_id}")
    act(state.remove_node("n2"))
    act(state.open_save("save"))
    act(state.confirm_save())
    act(state.compare_version("1"))
    with db.engine().connect() as conn:
        diff = saved.diff_against_saved(conn, workspace.id, segment_id, state._filter, version=1)
    assert state.diff_version == "1" and state.diff_ready
    assert (state.diff_added, state.diff_removed) == (f"{diff['added']:,}", f"{diff['removed']:,}")
    assert diff["added"] > 0 and diff["removed"] == 0  # version 2 dropped the group: wider
    act(state.restore_version("1"))
    assert state._filter == first and state.dirty and "Loaded version 1" in state.notice
    act(state.open_save("save_as"))
    assert state.save_name == "Software and biotech (copy)"
    state.set_save_name("Software and biotech")
    act(state.confirm_save())
    assert "already called" in state.save_error
    act(state.restore_version("9"))
    assert "has no version 9" in state.error
    act(state.compare_version("1; DROP TABLE segment"))
    assert state.error == "That version does not exist."


def test_saving_is_refused_while_conditions_are_unfinished(workspace):
    state = opened()
    act(state.add_condition("n0"))
    act(state.open_save("save"))
    assert "still need a value" in state.save_error
    state.set_save_name("Half done")
    act(state.confirm_save())
    assert "Finish or remove" in state.save_error
    with db.engine().connect() as conn:
        assert saved.list_segments(conn, workspace.id) == []


def test_a_segment_can_include_another_and_is_described_by_its_name(workspace):
    state = opened()
    act(state.add_condition("n0"))
    industry_in(state, values=("software",))
    software = save_new(state, "Software")
    state = opened()
    assert {"id": str(software), "name": "Software"} in state.segment_options
    act(state.add_condition("n0"))
    act(state.set_field("n1", "@segment"))
    assert node(state, "n1")["op"] == "in_segment"
    act(state.set_value("n1", str(software)))
    assert state.description == 'In segment "Software"' and state.error == ""
    assert count(state) == core_count(workspace, {"field": "industry", "op": "eq", "value": "software"})
    act(state.set_value("n1", "999999"))
    assert "Segment #999999 does not exist" in node(state, "n1")["problem"] and node(state, "n1")["invalid"]


def test_a_segment_cannot_include_itself(workspace):
    state = opened()
    act(state.add_condition("n0"))
    industry_in(state, values=("software",))
    segment_id = save_new(state, "Software")
    state = opened(f"/segments/{segment_id}")
    act(state.add_condition("n0"))
    act(state.set_field("n2", "@segment"))
    act(state.set_value("n2", str(segment_id)))
    act(state.open_save("save"))
    act(state.confirm_save())
    assert "includes itself" in state.save_error and state.saved_version == 1


def test_the_segments_list_shows_counts_and_archives_duplicates_and_restores(workspace):
    state = opened()
    act(state.add_condition("n0"))
    industry_in(state, values=("software",))
    segment_id = save_new(state, "Software")
    listing = SegmentsState()
    act(listing.load())
    assert [(r["name"], r["entity"], r["count"], r["owner"]) for r in listing.rows] == [
        ("Software", "companies", f"{core_count(workspace, state._filter):,}", "web"),
    ]
    act(listing.duplicate(str(segment_id)))
    assert listing.notice == "Duplicated as “Software (copy)”." and len(listing.rows) == 2
    act(listing.archive(str(segment_id)))
    assert [r["name"] for r in listing.rows] == ["Software (copy)"]
    act(listing.set_show_archived(True))
    assert {r["name"]: r["archived"] for r in listing.rows} == {"Software": "yes", "Software (copy)": ""}
    act(listing.unarchive(str(segment_id)))
    assert listing.notice == "Restored “Software”."
    act(listing.refresh(listing.rows[1]["id"]))
    assert listing.rows[1]["count"] != ""
    act(listing.archive("'; DROP TABLE segment; --"))
    assert listing.error == "That segment link is not valid."


def test_an_archived_segment_is_saved_as_a_new_one_only(workspace):
    state = opened()
    two_level(state)
    segment_id = save_new(state)
    with write_transaction(db.engine()) as conn:
        saved.archive_segment(conn, workspace.id, segment_id)
    state = opened(f"/segments/{segment_id}")
    assert state.archived
    act(state.open_save("save"))
    assert "archived" in state.error and not state.save_open


# -- export ----------------------------------------------------------------------------------------

@pytest.fixture
def downloads_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(downloads.get_settings(), "downloads_dir", tmp_path / "downloads")
    return tmp_path / "downloads"


def test_export_writes_the_members_to_a_linked_file_and_replaces_the_previous_one(workspace, downloads_dir):
    state = opened()
    two_level(state)
    background(state, "export_csv")
    assert state.export_error == "" and not state.exporting
    assert re.fullmatch(r"/_downloads/[\w-]{22}--companies-segment\.csv", state.export_url)
    assert state.export_label == f"{count(state):,} companies · CSV"
    (first,) = downloads_dir.iterdir()
    with first.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0][:3] == ["id", "name", "domain"] and len(rows) - 1 == count(state)
    background(state, "export_csv")
    (second,) = downloads_dir.iterdir()
    assert second != first


def test_export_is_refused_while_conditions_are_unfinished(workspace, downloads_dir):
    state = opened()
    act(state.add_condition("n0"))
    background(state, "export_csv")
    assert "Finish or remove" in state.export_error and state.export_url == ""


def test_the_download_route_serves_only_files_it_named(workspace, downloads_dir):
    path, url = downloads.new_file("Software · US")
    path.write_text("id\n1\n", encoding="utf-8")

    async def get(path: str) -> httpx.Response:
        transport = httpx.ASGITransport(app=downloads.api())
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            return await client.get(path)

    response = asyncio.run(get(url))
    assert response.status_code == 200 and response.text == "id\n1\n"
    assert 'filename="software-us.csv"' in response.headers["content-disposition"]
    for bad in ("/_downloads/..%2F..%2Fetc%2Fpasswd", "/_downloads/x.csv", url.replace(".csv", ".db")):
        assert asyncio.run(get(bad)).status_code == 404


# -- state size ------------------------------------------------------------------------------------

def test_the_state_stays_small_with_a_large_filter(workspace):
    state = opened()
    for _ in range(20):
        act(state.add_condition("n0"))
    for n in state.nodes[1:]:
        act(state.set_field(n["id"], "industry"))
        act(state.set_operator(n["id"], "in"))
        for value in range(25):
            act(state.add_list_value(n["id"], f"industry number {value}"))
    act(state.suggest("n1", ""))
    assert len(state.nodes) == 21 and state.error == ""
    assert len(state._serialize()) < 256 * 1024


def test_the_url_query_is_parsed_like_a_browser_would(workspace):
    state = opened()
    two_level(state)
    url = link(act(state.toggle_not("n1")))
    query = parse_qs(urlsplit(url).query)
    assert filter_tree.decode_link(query["f"][0]) == state._filter


# -- the flat tree and filter JSON (plain Python) --------------------------------------------------

CATALOG = fields_for(
    "companies", [{"key": f.key, "label": f.label, "type": f.type} for f in CORE_FIELDS["companies"]]
)


@pytest.mark.parametrize(
    "filter_json",
    [
        {"and": []},
        {"or": []},
        {"and": [{"field": "name", "op": "contains", "value": "acme"}]},
        {"not": {"and": [{"field": "industry", "op": "in", "value": ["software", "biotech"]}]}},
        {"and": [
            {"field": "employee_count", "op": "not_between", "value": [10, 20.5]},
            {"or": [
                {"field": "created_at", "op": "between", "value": ["2024-01-01", "2024-03-31"]},
                {"field": "updated_at", "op": "not_within_next", "value": {"amount": 2, "unit": "week"}},
                {"not": {"and": [{"field": "tags", "op": "contains_all", "value": ["customer"]},
                                 {"field": "website", "op": "is_empty"}]}},
            ]},
            {"segment": 7, "op": "not_in_segment"},
        ]},
    ],
)
def test_filters_read_into_the_builder_come_back_unchanged(filter_json):
    nodes = filter_tree.from_filter(filter_json, entity="companies", fields=CATALOG)
    compiled = filter_tree.to_filter(nodes, entity="companies", fields=CATALOG)
    assert compiled.complete and compiled.filter == filter_json


def test_a_double_negation_becomes_a_negated_group_holding_the_negated_condition():
    nodes = filter_tree.from_filter(
        {"and": [{"not": {"not": {"field": "country", "op": "eq", "value": "US"}}}]}, entity="companies", fields=CATALOG,
    )
    assert [(n["kind"], n["negated"]) for n in nodes] == [("group", False), ("group", True), ("condition", True)]
    assert filter_tree.to_filter(nodes, entity="companies", fields=CATALOG).filter == {
        "and": [{"not": {"and": [{"not": {"field": "country", "op": "eq", "value": "US"}}]}}]
    }


def test_a_lone_condition_becomes_the_only_member_of_an_and_group():
    nodes = filter_tree.from_filter({"field": "name", "op": "eq", "value": "x"}, entity="companies", fields=CATALOG)
    assert [(n["kind"], n["depth"]) for n in nodes] == [("group", 0), ("condition", 1)]
    assert filter_tree.to_filter(nodes, entity="companies", fields=CATALOG).filter == {
        "and": [{"field": "name", "op": "eq", "value": "x"}]
    }


def test_paths_map_core_errors_back_to_builder_nodes():
    nodes = filter_tree.from_filter(
        {"and": [{"field": "name", "op": "eq", "value": "x"}, {"or": [{"not": {"segment": 3, "op": "in_segment"}}]}]},
        entity="companies", fields=CATALOG,
    )
    compiled = filter_tree.to_filter(nodes, entity="companies", fields=CATALOG)
    assert filter_tree.node_at(compiled.paths, "and[1].or[0].not") == "n3"
    assert filter_tree.node_at(compiled.paths, "and[1].or[0].not.segment[3].and[0]") == "n3"
    assert filter_tree.node_at(compiled.paths, "and[0]") == "n1"
    assert filter_tree.node_at(compiled.paths, "") == "n0"


def test_an_empty_group_is_left_out_until_it_has_a_finished_condition():
    nodes, _ = filter_tree.add_group(filter_tree.new_tree(), "n0")
    compiled = filter_tree.to_filter(nodes, entity="companies", fields=CATALOG)
    assert compiled.filter == {"and": []}
    assert compiled.problems == {"n2": "Choose a field"} and not compiled.invalid
    compiled = filter_tree.to_filter(filter_tree.remove(nodes, "n2"), entity="companies", fields=CATALOG)
    assert compiled.problems == {"n1": "Empty group: add a condition or remove it"}
