"""A filter's members: keyset pages in any sort, capped and exact counts, a streamed export with
formula cells neutralized, and value suggestions for the builder."""

from __future__ import annotations

import csv

import pytest

from audiences_app.core import records
from audiences_app.core.db import QueryTimeout
from audiences_app.core.segments import FilterError, matching_ids, members

from .conftest import AS_OF
from .world import World, load_world

SOFTWARE_OR_US = {"or": [{"field": "industry", "op": "eq", "value": "software"},
                         {"field": "country", "op": "eq", "value": "US"}]}


@pytest.fixture(scope="module")
def world(engine) -> World:
    """Read-only here: the tests of this module share it."""
    return load_world(engine)


def run(world: World, function, *args, **options):
    with world.engine.connect() as conn:
        return function(conn, world.workspace_id, *args, **options)


def live_ids(world: World, filter_json, entity="companies") -> list[int]:
    with world.engine.connect() as conn:
        return matching_ids(conn, world.workspace_id, entity, filter_json, as_of=AS_OF)


@pytest.mark.parametrize(("sort", "descending"), [("id", False), ("name", False), ("name", True),
                                                  ("employee_count", True)])
def test_pages_walk_every_live_member_once_in_sort_order(world, sort, descending):
    seen, cursor = [], None
    while True:
        page = run(world, members.member_page, "companies", {"and": []}, columns=["name", "employee_count"],
                   sort=sort, descending=descending, cursor=cursor, page_size=2)
        seen += [int(row["id"]) for row in page.rows]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert sorted(seen) == live_ids(world, {"and": []}) and len(seen) == 4
    assert world.ids["gamma"] not in seen, "archived records are never members"


def test_a_page_holds_only_members_as_display_strings(world):
    page = run(world, members.member_page, "companies", SOFTWARE_OR_US, columns=["name", "employee_count"])
    assert [row["name"] for row in page.rows] == ["Acme Labs", ""]
    assert page.rows[0] == {"id": str(world.ids["acme"]), "name": "Acme Labs", "employee_count": "120"}
    assert page.next_cursor is None


def test_a_bad_filter_on_a_page_is_a_filter_error(world):
    with pytest.raises(FilterError, match="industy"):
        run(world, members.member_page, "companies", {"field": "industy", "op": "is_empty"}, columns=["name"])


def test_counts_are_exact_under_the_cap_and_a_lower_bound_over_it(world):
    exact = run(world, members.member_count, "companies", SOFTWARE_OR_US)
    assert exact == records.RecordCount(value=2, capped=False)
    capped = run(world, members.member_count, "companies", {"and": []}, cap=3)
    assert capped == records.RecordCount(value=3, capped=True) and capped.display() == "3+"
    assert run(world, members.exact_member_count, "companies", {"and": []}) == 4
    assert run(world, members.exact_member_count, "people", {"field": "company.country", "op": "eq", "value": "US"}) == 1


def test_a_count_that_runs_out_of_time_is_unknown_not_wrong(world, monkeypatch):
    def late(conn, milliseconds):
        raise QueryTimeout("late")

    monkeypatch.setattr(records, "time_limit", late)
    assert run(world, members.member_count, "companies", SOFTWARE_OR_US) == records.RecordCount(None, True)


def test_relative_dates_are_evaluated_at_the_pinned_clock(world):
    recent = {"field": "created_at", "op": "within_last", "value": {"amount": 1, "unit": "day"}}
    assert run(world, members.exact_member_count, "companies", recent, as_of=AS_OF) == 4
    assert run(world, members.exact_member_count, "companies", recent, as_of=AS_OF.replace(year=2030)) == 0


def test_export_streams_the_members_chosen_fields_with_formula_cells_neutralized(world, tmp_path):
    path = tmp_path / "members.csv"
    written = run(world, members.export_members, "companies", {"field": "tags", "op": "contains_any", "value": ["vip"]},
                  fields=["id", "name", "tags"], path=path)
    assert written == 2
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["id", "name", "tags"]
    assert rows[1] == [str(world.ids["acme"]), "Acme Labs", "VIP"]
    assert rows[2] == [str(world.ids["formula"]), "'=HYPERLINK(\"http://x\")", "partner, vip"]


def test_export_leaves_archived_records_out_and_writes_parquet(world, tmp_path):
    import pyarrow.parquet as pq

    path = tmp_path / "members.parquet"
    written = run(world, members.export_members, "companies", {"field": "country", "op": "eq", "value": "US"},
                  fields=["id", "name", "employee_count"], path=path, fmt="parquet")
    table = pq.read_table(path)
    assert written == table.num_rows == 1
    assert table.column("employee_count").to_pylist() == [120]


def test_export_refuses_an_unknown_field_and_leaves_no_file(world, tmp_path):
    path = tmp_path / "x.csv"
    with pytest.raises(ValueError, match="no field 'revenue'"):
        run(world, members.export_members, "companies", {"and": []}, fields=["id", "revenue"], path=path)
    assert not path.exists()


def test_suggestions_count_values_that_differ_only_in_case_or_spaces_as_one(world):
    # gamma ("Software ") is archived and does not count
    assert run(world, members.distinct_values, "companies", "industry") == [
        ("SOFTWARE", 2), ("biotech", 1), ("retail", 1)]


def test_suggestions_keep_values_starting_with_a_prefix_and_respect_the_limit(world):
    assert run(world, members.distinct_values, "companies", "industry", prefix=" So") == [("SOFTWARE", 2)]
    assert run(world, members.distinct_values, "companies", "industry", limit=1) == [("SOFTWARE", 2)]
    assert run(world, members.distinct_values, "companies", "industry", prefix="100%") == []


def test_suggestions_for_tags_custom_fields_and_company_fields(world):
    assert run(world, members.distinct_values, "companies", "tags") == [("VIP", 2), ("partner", 1)]
    assert run(world, members.distinct_values, "companies", "stage") == [("Series A", 1), ("seed", 1)]
    assert run(world, members.distinct_values, "people", "company.country") == [
        ("DE", 1), ("FR", 1), ("GB", 1), ("US", 1)], "company fields count companies, with people or not"


def test_suggestions_are_for_text_and_tags_only(world):
    with pytest.raises(ValueError, match="employee_count' is number"):
        run(world, members.distinct_values, "companies", "employee_count")
    with pytest.raises(FilterError, match="not in the companies catalog"):
        run(world, members.distinct_values, "companies", "revenue")


def test_suggestions_come_from_a_sample_when_counting_everything_runs_out_of_time(world, monkeypatch):
    real = members.bounded

    def first_late(conn, time_limit_ms):
        if time_limit_ms is not None:
            raise QueryTimeout("late")
        return real(conn, time_limit_ms)

    monkeypatch.setattr(members, "bounded", first_late)
    monkeypatch.setattr(members, "SUGGESTION_SAMPLE", 2)  # the first two companies: acme, beta
    assert run(world, members.distinct_values, "companies", "industry") == [("biotech", 1), ("software", 1)]
