"""Explain: how many records each clause keeps, funnel style, and why one record is in or out —
answered by the same SQL as membership, so they agree with it record for record."""

from __future__ import annotations

import pytest

from audiences_app.core.db import QueryTimeout, write_transaction
from audiences_app.core.segments import explain, matching_ids, members, saved

from .conftest import AS_OF
from .world import World, load_world

SOFTWARE = {"field": "industry", "op": "eq", "value": "software"}
FILTER = {"and": [
    {"field": "country", "op": "in", "value": ["US", "GB", "FR"]},
    {"or": [SOFTWARE, {"not": {"field": "employee_count", "op": "gte", "value": 100}}]},
    {"field": "tags", "op": "contains_any", "value": ["vip"]},
]}


@pytest.fixture(scope="module")
def world(engine) -> World:
    """Read-only here: the tests of this module share it."""
    return load_world(engine)


def counts(world: World, filter_json, entity="companies", **options) -> list[dict]:
    with world.engine.connect() as conn:
        return explain.clause_counts(conn, world.workspace_id, entity, filter_json, as_of=AS_OF, **options)


def why(world: World, filter_json, record: str, entity="companies") -> dict:
    with world.engine.connect() as conn:
        return explain.why(conn, world.workspace_id, entity, filter_json, world.ids[record], as_of=AS_OF)


def ids(world: World, filter_json, entity="companies") -> list[int]:
    with world.engine.connect() as conn:
        return matching_ids(conn, world.workspace_id, entity, filter_json, as_of=AS_OF)


def test_clause_counts_list_every_node_in_tree_order_with_path_depth_kind_and_label(world):
    rows = counts(world, FILTER)
    assert [(r["path"], r["depth"], r["kind"]) for r in rows] == [
        ("", 0, "group"), ("and[0]", 1, "condition"), ("and[1]", 1, "group"), ("and[1].or[0]", 2, "condition"),
        ("and[1].or[1]", 2, "group"), ("and[1].or[1].not", 3, "condition"), ("and[2]", 1, "condition"),
    ]
    assert rows[1]["label"] == "Country is any of US, GB, FR"
    assert rows[4]["label"] == "not Employees is at least 100"


def test_each_count_is_what_the_node_keeps_on_its_own(world):
    rows = counts(world, FILTER)
    nodes = [FILTER, *FILTER["and"][:2], *FILTER["and"][1]["or"], FILTER["and"][1]["or"][1]["not"], FILTER["and"][2]]
    assert [r["count"] for r in rows] == [len(ids(world, node)) for node in nodes]


def test_running_counts_narrow_step_by_step_down_an_and_group(world):
    rows = {r["path"]: r for r in counts(world, FILTER)}
    first, second, third = (FILTER["and"][:n] for n in (1, 2, 3))
    assert [rows[p]["running"] for p in ("and[0]", "and[1]", "and[2]")] == [
        len(ids(world, {"and": first})), len(ids(world, {"and": second})), len(ids(world, {"and": third}))]
    assert rows["and[2]"]["running"] == rows[""]["count"] == 1  # acme: the only VIP left after two steps
    assert rows[""]["running"] is None and rows["and[1].or[0]"]["running"] is None, "no funnel outside an and"


def test_a_clause_whose_count_runs_out_of_time_reports_none(world, monkeypatch):
    real = explain.count_clause
    calls = []

    def late_on_the_second(*args, **options):
        calls.append(options["time_limit_ms"])
        if len(calls) == 2:
            raise QueryTimeout("late")
        return real(*args, **options)

    monkeypatch.setattr(explain, "count_clause", late_on_the_second)
    rows = counts(world, FILTER, time_limit_ms=50)
    assert rows[1]["count"] is None and rows[1]["running"] is None
    assert rows[0]["count"] == 1 and rows[2]["count"] is not None
    assert set(calls) == {50}


def test_why_gives_each_node_its_result_and_the_record_value(world):
    answer = why(world, FILTER, "acme")
    assert answer["member"] is True and answer["archived"] is False
    by_path = {n["path"]: n for n in answer["nodes"]}
    assert by_path["and[0]"] == {"path": "and[0]", "depth": 1, "kind": "condition", "result": True,
                                 "label": "Country is any of US, GB, FR", "value": "US"}
    assert by_path["and[1].or[1].not"]["value"] == "120" and by_path["and[1].or[1].not"]["result"] is True
    assert by_path["and[1].or[1]"]["result"] is False and by_path["and[1].or[1]"]["value"] == ""
    assert by_path["and[2]"]["value"] == "VIP"


def test_why_shows_which_clause_keeps_a_record_out(world):
    answer = why(world, FILTER, "beta")
    assert answer["member"] is False
    assert [n["path"] for n in answer["nodes"] if not n["result"]] == ["", "and[1].or[0]", "and[1].or[1].not", "and[2]"]
    assert {n["path"]: n["value"] for n in answer["nodes"]}["and[2]"] == ""


def test_why_agrees_with_membership_for_every_record(world):
    for filter_json in (FILTER, {"not": FILTER}, {"field": "stage", "op": "contains", "value": "SERIES"}):
        members = set(ids(world, filter_json))
        for crm_id in ("acme", "beta", "formula", "nameless"):
            assert why(world, filter_json, crm_id)["member"] == (world.ids[crm_id] in members), (filter_json, crm_id)


def test_an_archived_record_is_never_a_member_whatever_its_clauses_say(world):
    answer = why(world, {"field": "country", "op": "eq", "value": "US"}, "gamma")
    assert answer["archived"] is True and answer["member"] is False
    assert answer["nodes"][0]["result"] is True


def test_why_reads_a_persons_company_fields_and_custom_attributes(world):
    filter_json = {"and": [{"field": "company.industry", "op": "eq", "value": "software"},
                           {"field": "company.stage", "op": "is_not_empty"}]}
    answer = why(world, filter_json, "ann", entity="people")
    assert answer["member"] is True
    assert [n["value"] for n in answer["nodes"]] == ["", "software", "Series A"]
    companyless = why(world, filter_json, "cy", entity="people")
    assert companyless["member"] is False and [n["value"] for n in companyless["nodes"]] == ["", "", ""]


def test_why_about_a_record_of_another_workspace_is_not_found(world, engine):
    other = load_world(engine)
    with engine.connect() as conn, pytest.raises(LookupError, match="no company"):
        explain.why(conn, other.workspace_id, "companies", FILTER, world.ids["acme"])


def test_an_included_segment_is_one_node_named_after_it(engine):
    world = load_world(engine)
    with write_transaction(engine) as conn:
        base = saved.save_segment(conn, world.workspace_id, name="Software", entity="companies",
                                  filter_json=SOFTWARE, owner="ana")
    filter_json = {"and": [{"segment": base["id"], "op": "in_segment"}, {"field": "country", "op": "eq", "value": "US"}]}
    rows = counts(world, filter_json)
    assert [(r["path"], r["label"], r["count"]) for r in rows] == [
        ("", 'in segment "Software" and Country is US', 1),
        ("and[0]", 'in segment "Software"', 2),
        ("and[1]", "Country is US", 1),
    ]
    assert why(world, filter_json, "nameless")["nodes"][1] == {
        "path": "and[0]", "depth": 1, "kind": "condition", "result": True, "label": 'in segment "Software"', "value": ""}


class _CountedInSql(Exception):
    pass


def test_with_the_columns_cached_the_funnel_comes_from_them_and_is_the_same(world, monkeypatch):
    untagged = {"and": FILTER["and"][:2]}  # tags are counted in SQL; the rest has cached columns
    before = counts(world, untagged)

    def in_sql(*args, **kwargs):
        raise _CountedInSql

    monkeypatch.setattr(explain, "count_clause", in_sql)
    for _ in range(30):  # a commit by another session of a shared PostgreSQL server makes them stale: again
        with world.engine.connect() as conn:
            for _ in range(2):  # the first count notes the database, the next loads the columns
                members.exact_member_count(conn, world.workspace_id, "companies", untagged, as_of=AS_OF)
        try:
            assert counts(world, untagged) == before
            return
        except _CountedInSql:
            continue
    pytest.fail("the funnel never came from the cached columns")
