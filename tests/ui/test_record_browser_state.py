"""The record browser's state, without a browser: paging, sort, search, columns, drawer, counts."""

from __future__ import annotations

import asyncio

import pytest

from audiences_app.core import records
from audiences_app.core.db import QueryTimeout
from audiences_app.ui.pages.companies import CompaniesState
from audiences_app.ui.pages.people import PeopleState
from audiences_app.ui.state.record_browser import record_id_from
from tests.ui.conftest import COMPANIES, PEOPLE


def act(handler_call):
    """Run an event handler's coroutine to its end, as Reflex would, and return its result."""
    return asyncio.run(handler_call)


def opened(state_cls=CompaniesState):
    state = state_cls()
    act(state.load())
    assert state.error == ""
    return state


def ids(state) -> list[str]:
    return [row["id"] for row in state.rows]


def complete_count(state) -> None:
    """Run the background count to its end; outside Reflex `async with self` is a no-op."""
    asyncio.run(type(state).complete_count.fn(state))


def test_opening_shows_one_page_of_display_ready_rows_and_the_total(workspace):
    state = opened()
    assert len(state.rows) == 50
    assert state.range_label == "Rows 1–50"
    assert state.count_label == f"{COMPANIES:,}" and not state.count_pending
    assert state.has_next and state.page_index == 0
    assert set(state.rows[0]) == {"id", *records.DEFAULT_COLUMNS["companies"]}
    assert all(isinstance(value, str) for row in state.rows for value in row.values())


def test_next_then_previous_walks_pages_and_returns_to_the_same_rows(workspace):
    state = opened()
    first = ids(state)
    act(state.next_page())
    second = ids(state)
    assert state.range_label == "Rows 51–100"
    assert not set(first) & set(second)
    act(state.next_page())
    assert state.range_label == "Rows 101–150"
    act(state.prev_page())
    assert ids(state) == second
    act(state.prev_page())
    assert ids(state) == first and state.page_index == 0


def test_previous_on_the_first_page_and_next_on_the_last_do_nothing(workspace):
    state = opened()
    act(state.prev_page())
    assert state.page_index == 0 and state.error == ""
    while state.has_next:
        act(state.next_page())
    assert state.range_label == f"Rows 251–{COMPANIES}"
    last = ids(state)
    act(state.next_page())
    assert ids(state) == last


def test_sorting_orders_by_the_column_and_a_second_click_reverses_it(workspace):
    state = opened()
    act(state.sort_by("employee_count"))
    ascending = [int(r["employee_count"].replace(",", "")) for r in state.rows if r["employee_count"]]
    assert ascending == sorted(ascending)
    assert next(c for c in state.header if c["key"] == "employee_count")["direction"] == "asc"

    act(state.sort_by("employee_count"))
    descending = [int(r["employee_count"].replace(",", "")) for r in state.rows if r["employee_count"]]
    assert descending == sorted(descending, reverse=True)
    assert next(c for c in state.header if c["key"] == "employee_count")["direction"] == "desc"


def test_sorting_another_column_starts_ascending_from_the_first_page(workspace):
    state = opened()
    act(state.sort_by("employee_count"))
    act(state.sort_by("employee_count"))
    act(state.next_page())
    act(state.sort_by("name"))
    assert (state.sort, state.descending, state.page_index) == ("name", False, 0)
    assert state.rows[0]["name"] == "Acme 000"


def test_sorting_by_an_unknown_or_unsortable_key_is_refused_and_the_page_stays(workspace):
    state = opened()
    before = ids(state)
    for key in ("password", "attributes", "name; DROP TABLE company"):
        act(state.sort_by(key))
        assert "cannot be sorted by" in state.error
        assert ids(state) == before and state.sort == "id"


def test_search_narrows_rows_resets_paging_and_recounts(workspace):
    state = opened()
    act(state.next_page())
    act(state.set_search("acme01"))
    assert state.page_index == 0 and state.error == ""
    assert {row["name"] for row in state.rows} == {f"Acme {i:03d}" for i in range(10, 20)}
    assert state.count_label == "10"
    assert not state.has_next


def test_search_matches_domain_too_and_an_empty_search_shows_everything_again(workspace):
    state = opened()
    act(state.set_search("ACME007.EXAMPLE"))
    assert [row["domain"] for row in state.rows] == ["acme007.example"]
    act(state.set_search(""))
    assert len(state.rows) == 50 and state.count_label == f"{COMPANIES:,}"


def test_search_without_matches_shows_no_rows(workspace):
    state = opened()
    act(state.set_search("no such company"))
    assert state.rows == [] and state.range_label == "No rows" and state.count_label == "0"


def test_search_longer_than_the_limit_is_refused(workspace):
    state = opened()
    act(state.set_search("x" * (records.MAX_SEARCH_LENGTH + 1)))
    assert "limited to 200 characters" in state.error
    assert state.search == "" and len(state.rows) == 50


def test_column_chooser_offers_the_catalog_core_fields_that_are_columns(workspace):
    state = opened()
    offered = [option["key"] for option in state.column_options]
    assert offered == records.COLUMNS["companies"]
    assert "tags" not in offered
    assert next(o for o in state.column_options if o["key"] == "industry")["label"] == "Industry"


def test_showing_a_column_adds_it_in_chooser_order_and_keeps_the_page(workspace):
    state = opened()
    act(state.next_page())
    before = ids(state)
    act(state.toggle_column("website", True))
    assert state.columns[:3] == ["name", "domain", "website"]
    assert "website" in state.rows[0] and ids(state) == before
    act(state.toggle_column("website", False))
    assert "website" not in state.columns and "website" not in state.rows[0]


def test_unknown_columns_are_refused(workspace):
    state = opened()
    before = list(state.columns)
    for key in ("attributes", "workspace_id", "tags", "<script>"):
        act(state.toggle_column(key, True))
        assert "have no column" in state.error
        assert state.columns == before


def test_the_last_column_cannot_be_hidden(workspace):
    state = opened()
    for key in list(state.columns)[:-1]:
        act(state.toggle_column(key, False))
    act(state.toggle_column(state.columns[0], False))
    assert state.error == "Keep at least one column."
    assert len(state.columns) == 1


def test_opening_a_row_shows_every_field_attributes_and_tags(workspace):
    state = opened()
    act(state.open_record(state.rows[0]["id"]))
    assert state.drawer_open and state.detail_error == ""
    assert state.detail_title == "Acme 000"
    fields = {field["key"]: field for field in state.detail}
    assert fields["domain"]["value"] == "acme000.example"
    assert fields["tags"]["value"] == "customer"
    custom = {field["key"]: field["value"] for field in state.detail_custom}
    assert custom == {"funding_stage": "series_a", "tech_stack": "python, postgres"}
    assert {"Domain", "Industry", "Employees", "Created", "Tags"} <= {f["label"] for f in state.detail}
    assert state.selected_id == state.rows[0]["id"]
    state.close_record()
    assert not state.drawer_open and state.selected_id == ""


@pytest.mark.parametrize("bad", ["abc", "-1", "0", "1.5", "", True, None, 2**70])
def test_opening_a_malformed_record_id_shows_an_error_in_the_drawer(workspace, bad):
    state = opened()
    act(state.open_record(bad))
    assert state.detail_error == "That record link is not valid."
    assert state.detail == []


def test_opening_a_record_of_another_workspace_is_not_found(workspace):
    state = opened(PeopleState)
    foreign = max(workspace.company_ids) + 10_000
    act(state.open_record(foreign))
    assert "No person" in state.detail_error and state.detail == []


def test_record_ids_arrive_as_text_or_numbers():
    assert record_id_from("42") == 42 and record_id_from(42) == 42 and record_id_from(" 7 ") == 7


def test_people_page_browses_people_with_their_columns(workspace):
    state = opened(PeopleState)
    assert state.count_label == f"{PEOPLE:,}"
    assert set(state.rows[0]) == {"id", *records.DEFAULT_COLUMNS["people"]}
    act(state.set_search("ada005@"))
    assert [row["email"] for row in state.rows] == ["ada005@acme005.example"]
    act(state.open_record(state.rows[0]["id"]))
    assert state.detail_title == "Ada Lovelace 005"
    assert {f["key"]: f["value"] for f in state.detail}["company_id"] == "Acme 005"


def test_a_capped_count_shows_at_once_and_the_background_count_replaces_it(workspace, settings_env):
    settings_env(COUNT_CAP="100")
    state = CompaniesState()
    follow_up = act(state.load())
    assert state.count_label == "100+" and state.count_pending
    assert follow_up == CompaniesState.complete_count
    complete_count(state)
    assert state.count_label == f"{COMPANIES:,}" and not state.count_pending


def test_an_exact_count_needs_no_background_event(workspace):
    state = CompaniesState()
    assert act(state.load()) is None
    assert not state.count_pending


def test_a_background_count_for_an_old_search_is_dropped(workspace, settings_env, monkeypatch):
    settings_env(COUNT_CAP="100")
    state = CompaniesState()
    act(state.load())
    exact_count = records.exact_count

    def user_types_while_counting(conn, workspace_id, entity, *, search=""):
        total = exact_count(conn, workspace_id, entity, search=search)
        monkeypatch.setattr(records, "exact_count", exact_count)
        act(state.set_search("acme01"))  # a new search arrives before this count finishes
        return total

    monkeypatch.setattr(records, "exact_count", user_types_while_counting)
    complete_count(state)
    assert state.search == "acme01"
    assert state.count_label == "10"  # the new search's count, not the stale 260


def test_a_missing_workspace_is_an_error_message_not_an_exception(workspace, settings_env):
    settings_env(WORKSPACE="nowhere")
    state = CompaniesState()
    act(state.load())
    assert "no workspace 'nowhere'" in state.error
    assert state.rows == []


def test_the_state_stays_small_with_every_column_and_a_record_open(workspace):
    state = opened()
    for key in records.COLUMNS["companies"]:
        act(state.toggle_column(key, True))
    act(state.open_record(state.rows[0]["id"]))
    assert len(state.rows) == 50
    assert len(state._serialize()) < 64 * 1024


@pytest.mark.parametrize(
    ("failure", "message"),
    [
        (QueryTimeout("query took longer than 5000 ms"), "took longer than 5 s"),
        (RuntimeError("driver exploded"), "Something went wrong on the server"),
    ],
)
def test_a_failing_query_shows_a_message_and_keeps_the_page(workspace, monkeypatch, failure, message):
    state = opened()
    before = (ids(state), state.sort, state.page_index)

    def fail(*args, **kwargs):
        raise failure

    monkeypatch.setattr(records, "browse", fail)
    act(state.sort_by("name"))
    assert message in state.error and "driver exploded" not in state.error
    assert (ids(state), state.sort, state.page_index) == before


def test_the_background_count_runs_once_per_search_however_often_it_is_sent(workspace, settings_env, monkeypatch):
    settings_env(COUNT_CAP="100")
    state = opened()
    calls = []
    exact_count = records.exact_count
    monkeypatch.setattr(records, "exact_count", lambda *a, **k: calls.append(k) or exact_count(*a, **k))
    complete_count(state)
    complete_count(state)
    assert len(calls) == 1 and state.count_label == f"{COMPANIES:,}"
