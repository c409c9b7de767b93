"""Every operator on the hand-made sample (sample.py), on SQLite and PostgreSQL, with the evaluator.

Each row is (filter, the records it selects, by crm_id); every row also checks that the
reference evaluator selects exactly what SQL does. The clock is pinned at 2024-06-01 12:00 UTC.
"""

from __future__ import annotations

import pytest

from audiences_app.core.segments import FilterError, operators_for

from .sample import COMPANIES, PEOPLE

ALL_COMPANIES = set(COMPANIES)
ALL_PEOPLE = set(PEOPLE)


def _selected(data, entity, filter_json, resolver=None) -> set[str]:
    """The names SQL selects; the evaluator must select exactly the same."""
    sql = data.sql_ids(entity, filter_json, resolver)
    assert sql == data.python_ids(entity, filter_json, resolver), "SQL and the evaluator disagree"
    return data.names(entity, sql)


def c(field, op, value=None):
    return {"field": field, "op": op} if value is None else {"field": field, "op": op, "value": value}


SOFTWARE = {"acme", "juice", "back"}
COMPANY_CASES = [
    # text: case, surrounding spaces, empty, non-ASCII letters
    (c("industry", "eq", "software"), SOFTWARE),
    (c("industry", "eq", " SOFTWARE "), SOFTWARE),
    (c("industry", "neq", "software"), ALL_COMPANIES - SOFTWARE),
    (c("industry", "in", ["software", "Biotech"]), SOFTWARE | {"biolab"}),
    (c("industry", "not_in", ["software", "biotech"]), {"blank", "ecole", "oreilly"}),
    (c("industry", "contains", "soft"), SOFTWARE),
    (c("industry", "not_contains", "soft"), {"biolab", "blank", "ecole", "oreilly"}),
    (c("industry", "starts_with", "bio"), {"biolab"}),
    (c("industry", "ends_with", "WARE"), SOFTWARE),
    (c("industry", "eq", "Éducation"), {"ecole"}),
    (c("industry", "eq", "ÉDUCATION"), {"ecole"}),  # A–Z fold; É is compared as stored
    (c("industry", "eq", "éducation"), set()),
    (c("industry", "is_empty"), {"blank"}),
    (c("industry", "is_not_empty"), ALL_COMPANIES - {"blank"}),
    (c("name", "eq", "biolab"), {"biolab"}),
    (c("name", "is_empty"), {"blank"}),
    (c("name", "contains", "%"), {"juice"}),
    (c("name", "contains", "_"), {"juice"}),
    (c("name", "contains", "e_j"), {"juice"}),
    (c("name", "contains", "0% p"), {"juice"}),
    (c("name", "contains", "'"), {"oreilly"}),
    (c("name", "contains", '"media"'), {"oreilly"}),
    (c("name", "contains", "\\"), {"back"}),
    (c("name", "starts_with", "o'reilly"), {"oreilly"}),
    (c("name", "contains", "straße"), {"ecole"}),
    (c("name", "contains", "école"), set()),
    (c("name", "in", ["ACME CORP", "Back\\slash"]), {"acme", "back"}),
    (c("city", "is_empty"), {"blank", "juice", "oreilly", "back"}),
    (c("city", "neq", "london"), ALL_COMPANIES - {"biolab"}),
    (c("country", "eq", "us"), {"acme", "juice", "oreilly"}),
    (c("country", "not_in", ["US", "GB"]), {"blank", "ecole", "back"}),
    # numbers on core columns
    (c("employee_count", "eq", 50), {"biolab"}),
    (c("employee_count", "eq", 50.0), {"biolab"}),
    (c("employee_count", "eq", 50.5), set()),
    (c("employee_count", "neq", 50), ALL_COMPANIES - {"biolab"}),
    (c("employee_count", "gt", 50), {"acme", "ecole", "oreilly", "back"}),
    (c("employee_count", "gt", 50.5), {"acme", "ecole", "oreilly", "back"}),
    (c("employee_count", "gte", 50.5), {"acme", "ecole", "oreilly", "back"}),
    (c("employee_count", "gte", 51), {"acme", "ecole", "oreilly", "back"}),
    (c("employee_count", "lt", 51), {"biolab", "juice"}),
    (c("employee_count", "lte", 50.5), {"biolab", "juice"}),
    (c("employee_count", "lte", 0), {"juice"}),
    (c("employee_count", "gt", -1), ALL_COMPANIES - {"blank"}),
    (c("employee_count", "between", [50, 500]), {"acme", "biolab", "ecole", "back"}),
    (c("employee_count", "between", [50.5, 250]), {"acme", "back"}),
    (c("employee_count", "between", [250, 250]), {"acme"}),
    (c("employee_count", "not_between", [50, 500]), {"blank", "juice", "oreilly"}),
    (c("employee_count", "is_empty"), {"blank"}),
    (c("employee_count", "is_not_empty"), ALL_COMPANIES - {"blank"}),
    (c("annual_revenue", "gte", 10**12), {"oreilly"}),
    (c("annual_revenue", "gt", 999_999_999_999.5), {"oreilly"}),
    (c("annual_revenue", "between", [0, 10**15]), {"acme", "oreilly"}),
    # numbers in JSON: only JSON numbers count ("87" and true are empty)
    (c("score", "gt", 50), {"acme"}),
    (c("score", "gte", 50), {"acme", "back"}),
    (c("score", "eq", 87.5), {"acme"}),
    (c("score", "eq", 12.0), {"biolab"}),
    (c("score", "lt", 0), {"oreilly"}),
    (c("score", "between", [-3, 12]), {"biolab", "oreilly"}),
    (c("score", "neq", 87.5), ALL_COMPANIES - {"acme"}),
    (c("score", "not_between", [0, 100]), {"blank", "ecole", "juice", "oreilly"}),
    (c("score", "is_empty"), {"blank", "ecole", "juice"}),
    # text in JSON: numbers, null and "" are empty
    (c("stage", "eq", "series a"), {"acme", "back"}),
    (c("stage", "in", ["seed", "42"]), {"biolab"}),
    (c("stage", "contains", "e"), {"acme", "biolab", "back"}),
    (c("stage", "not_contains", "e"), {"blank", "ecole", "juice", "oreilly"}),
    (c("stage", "is_empty"), {"blank", "ecole", "juice", "oreilly"}),
    # booleans in JSON: only true/false ("yes" and 1 are empty)
    (c("verified", "is_true"), {"acme"}),
    (c("verified", "is_false"), {"biolab"}),
    (c("verified", "is_empty"), {"blank", "ecole", "juice", "oreilly", "back"}),
    # dates in JSON (text YYYY-MM-DD…; "not a date" and 20240101 are empty)
    (c("funded_on", "on", "2024-05-01"), {"biolab"}),
    (c("funded_on", "on", "2024-02-29"), {"oreilly"}),
    (c("funded_on", "before", "2024-05-01"), {"acme", "oreilly"}),
    (c("funded_on", "after", "2024-05-01"), {"back"}),
    (c("funded_on", "between", ["2024-01-01", "2024-05-01"]), {"biolab", "oreilly"}),
    (c("funded_on", "within_last", {"amount": 1, "unit": "month"}), {"biolab", "back"}),
    (c("funded_on", "within_last", {"amount": 3, "unit": "month"}), {"biolab", "back"}),
    (c("funded_on", "within_last", {"amount": 30, "unit": "day"}), {"back"}),
    (c("funded_on", "not_within_last", {"amount": 30, "unit": "day"}), ALL_COMPANIES - {"back"}),
    (c("funded_on", "within_last", {"amount": 1, "unit": "year"}), {"acme", "biolab", "oreilly", "back"}),
    (c("funded_on", "within_next", {"amount": 1, "unit": "day"}), {"back"}),
    (c("funded_on", "not_within_next", {"amount": 1, "unit": "week"}), ALL_COMPANIES - {"back"}),
    (c("funded_on", "is_empty"), {"blank", "ecole", "juice"}),
    # datetimes in core columns: the window is [as_of - 30 days, as_of], both ends included
    (c("created_at", "within_last", {"amount": 30, "unit": "day"}), {"acme", "biolab", "juice"}),
    (c("created_at", "not_within_last", {"amount": 30, "unit": "day"}), {"blank", "ecole", "oreilly", "back"}),
    (c("created_at", "within_last", {"amount": 1, "unit": "week"}), {"biolab"}),
    (c("created_at", "within_last", {"amount": 1, "unit": "year"}), {"acme", "biolab", "ecole", "juice"}),
    (c("created_at", "within_next", {"amount": 1, "unit": "month"}), {"biolab", "oreilly", "back"}),
    (c("created_at", "not_within_next", {"amount": 1, "unit": "month"}), {"acme", "blank", "ecole", "juice"}),
    (c("created_at", "on", "2024-06-01"), {"biolab", "back"}),
    (c("created_at", "before", "2024-05-02"), {"blank"}),
    (c("created_at", "after", "2024-05-31"), {"biolab", "oreilly", "back"}),
    (c("created_at", "between", ["2024-05-02", "2024-05-20"]), {"acme", "ecole", "juice"}),
    (c("created_at", "is_empty"), set()),
    (c("archived_at", "is_empty"), ALL_COMPANIES),
    # datetimes in JSON, at whole seconds ("2024-06-01 10:11" has no seconds: empty)
    (c("seen_at", "on", "2024-06-01"), {"biolab", "ecole"}),
    (c("seen_at", "on", "2024-05-31"), {"acme", "oreilly"}),
    (c("seen_at", "within_last", {"amount": 1, "unit": "day"}), {"biolab", "ecole", "oreilly"}),
    (c("seen_at", "after", "2024-05-31"), {"biolab", "ecole"}),
    (c("seen_at", "before", "2024-06-01"), {"acme", "oreilly"}),
    (c("seen_at", "is_empty"), {"blank", "juice", "back"}),
    # lists: JSON arrays of strings (blank and non-string elements ignored; "aws" is no list)
    (c("techs", "contains_any", ["aws"]), {"acme", "biolab"}),
    (c("techs", "contains_any", ["AWS", " kafka "]), {"acme", "biolab", "juice"}),
    (c("techs", "contains_all", ["aws", "react"]), {"acme"}),
    (c("techs", "contains_none", ["aws"]), ALL_COMPANIES - {"acme", "biolab"}),
    (c("techs", "is_empty"), {"blank", "ecole", "oreilly", "back"}),
    (c("techs", "is_not_empty"), {"acme", "biolab", "juice"}),
    # tags (a blank tag name is no tag)
    (c("tags", "contains_any", ["vip"]), {"acme", "biolab"}),
    (c("tags", "contains_any", [" PARTNER "]), {"acme", "juice"}),
    (c("tags", "contains_all", ["vip", "partner"]), {"acme"}),
    (c("tags", "contains_none", ["vip"]), ALL_COMPANIES - {"acme", "biolab"}),
    (c("tags", "is_empty"), {"blank", "ecole", "oreilly", "back"}),
    (c("tags", "is_not_empty"), {"acme", "biolab", "juice"}),
    # groups
    ({"and": []}, ALL_COMPANIES),
    ({"or": []}, set()),
    ({"not": {"and": []}}, set()),
    ({"and": [c("industry", "eq", "software"), c("employee_count", "gt", 100)]}, {"acme"}),
    ({"or": [c("industry", "eq", "biotech"), c("country", "eq", "de")]}, {"biolab", "back"}),
    ({"not": {"or": [c("industry", "eq", "biotech"), c("country", "eq", "de")]}},
     {"acme", "blank", "ecole", "juice", "oreilly"}),
    ({"not": c("employee_count", "gt", 100)}, {"biolab", "blank", "juice", "back"}),
    ({"and": [c("industry", "in", ["software", "biotech"]),
              {"or": [c("employee_count", "between", [50, 500]), {"not": c("country", "eq", "US")}]}]},
     {"acme", "biolab", "back"}),
]
PEOPLE_CASES = [
    (c("company.industry", "eq", "software"), {"ann", "fay"}),
    (c("company.industry", "neq", "software"), {"bob", "cat", "dan", "eve"}),
    (c("company.industry", "is_empty"), {"cat", "dan"}),
    (c("company.industry", "is_not_empty"), {"ann", "bob", "eve", "fay"}),
    (c("company.employee_count", "gt", 100), {"ann", "eve"}),
    (c("company.employee_count", "not_between", [50, 500]), {"cat", "dan", "fay"}),
    (c("company.name", "contains", "%"), {"fay"}),
    (c("company.tags", "contains_any", ["vip"]), {"ann", "bob"}),
    (c("company.tags", "contains_none", ["vip"]), {"cat", "dan", "eve", "fay"}),
    (c("company.tags", "is_empty"), {"cat", "dan", "eve"}),
    (c("company.techs", "contains_any", ["aws"]), {"ann", "bob"}),
    (c("company.verified", "is_true"), {"ann"}),
    (c("company.verified", "is_false"), {"bob"}),
    (c("company.verified", "is_empty"), {"cat", "dan", "eve", "fay"}),
    (c("company.created_at", "within_last", {"amount": 30, "unit": "day"}), {"ann", "bob", "fay"}),
    (c("company.funded_on", "before", "2024-05-01"), {"ann"}),
    (c("tags", "contains_any", ["champion"]), {"ann", "cat"}),
    (c("tags", "contains_all", ["champion", "lead"]), {"cat"}),
    (c("tags", "contains_any", ["lead"]), {"cat", "eve"}),
    (c("tags", "is_empty"), {"bob", "dan", "fay"}),
    (c("full_name", "is_empty"), {"dan"}),
    (c("full_name", "eq", "Ève"), {"eve"}),
    (c("full_name", "eq", "ève"), set()),
    (c("seniority", "is_empty"), {"bob", "cat", "dan", "eve", "fay"}),
    (c("score", "gt", 3), {"ann", "bob"}),
    (c("score", "is_empty"), {"cat", "dan", "eve", "fay"}),
    (c("skills", "contains_any", ["sql"]), {"ann"}),
    (c("persona", "is_empty"), {"cat", "dan", "eve", "fay"}),
    (c("opted_in", "is_false"), {"bob"}),
    (c("birthday", "on", "1990-06-01"), {"ann"}),
    (c("last_login", "within_last", {"amount": 1, "unit": "day"}), set()),  # 10:00 < 12:00 the day before
    (c("last_login", "within_last", {"amount": 2, "unit": "day"}), {"ann"}),
    ({"and": [c("company.industry", "eq", "software"), {"not": c("tags", "is_empty")}]}, {"ann"}),
]


@pytest.mark.parametrize(("filter_json", "expected"), COMPANY_CASES, ids=[str(f) for f, _ in COMPANY_CASES])
def test_company_filters_select_the_expected_records(sample, filter_json, expected):
    assert _selected(sample, "companies", filter_json) == expected


@pytest.mark.parametrize(("filter_json", "expected"), PEOPLE_CASES, ids=[str(f) for f, _ in PEOPLE_CASES])
def test_people_filters_select_the_expected_records(sample, filter_json, expected):
    assert _selected(sample, "people", filter_json) == expected


@pytest.mark.parametrize(("filter_json", "_"), COMPANY_CASES, ids=[str(f) for f, _ in COMPANY_CASES])
def test_a_filter_and_its_negation_partition_the_companies(sample, filter_json, _):
    inside = _selected(sample, "companies", filter_json)
    outside = _selected(sample, "companies", {"not": filter_json})
    assert inside.isdisjoint(outside) and inside | outside == ALL_COMPANIES


SEGMENTS = {
    1: c("industry", "eq", "software"),
    2: {"and": [{"segment": 1, "op": "in_segment"}, c("employee_count", "gt", 100)]},
}


@pytest.mark.parametrize(("filter_json", "expected"), [
    ({"segment": 1, "op": "in_segment"}, SOFTWARE),
    ({"segment": 1, "op": "not_in_segment"}, ALL_COMPANIES - SOFTWARE),
    ({"segment": 2, "op": "in_segment"}, {"acme"}),
    ({"or": [{"segment": 2, "op": "in_segment"}, c("industry", "eq", "media")]}, {"acme", "oreilly"}),
])
def test_segment_membership_inlines_the_saved_filter(sample, filter_json, expected):
    assert _selected(sample, "companies", filter_json, SEGMENTS.__getitem__) == expected


def test_every_operator_of_the_registry_is_exercised_by_the_tables():
    used = {case["op"] for case, _ in COMPANY_CASES + PEOPLE_CASES if "op" in case}
    listed = {op.key for t in ("text", "number", "date", "datetime", "boolean", "list") for op in operators_for(t)}
    assert listed <= used


def test_operators_for_lists_the_design_menu_per_field_type():
    menu = {t: [op.key for op in operators_for(t)] for t in
            ("text", "number", "date", "datetime", "boolean", "list", "segment")}
    assert menu == {
        "text": ["eq", "neq", "contains", "not_contains", "starts_with", "ends_with", "in", "not_in",
                 "is_not_empty", "is_empty"],
        "number": ["eq", "neq", "gt", "gte", "lt", "lte", "between", "not_between", "is_not_empty", "is_empty"],
        "date": ["between", "not_between", "on", "before", "after", "within_last", "not_within_last",
                 "within_next", "not_within_next", "is_not_empty", "is_empty"],
        "datetime": ["between", "not_between", "on", "before", "after", "within_last", "not_within_last",
                     "within_next", "not_within_next", "is_not_empty", "is_empty"],
        "boolean": ["is_true", "is_false", "is_empty"],
        "list": ["contains_any", "contains_all", "contains_none", "is_not_empty", "is_empty"],
        "segment": ["in_segment", "not_in_segment"],
    }


def test_membership_without_a_resolver_is_a_filter_error(sample):
    with pytest.raises(FilterError, match=r"and\[0\]: in_segment #1 needs saved segments"):
        sample.sql_ids("companies", {"and": [{"segment": 1, "op": "in_segment"}]})
