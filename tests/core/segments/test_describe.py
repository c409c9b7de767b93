"""English descriptions, from the registry's phrases and the catalog's labels."""

from __future__ import annotations

import pytest

from audiences_app.core.segments import describe
from audiences_app.core.segments.fields import company_label

from .test_validate import COMPANY_FIELDS, PEOPLE_FIELDS


def c(field, op, value=None):
    return {"field": field, "op": op} if value is None else {"field": field, "op": op, "value": value}


def _english(filter_json, entity="companies", **kwargs) -> str:
    fields = COMPANY_FIELDS if entity == "companies" else PEOPLE_FIELDS
    return describe(filter_json, entity=entity, fields=fields, **kwargs)


def test_the_design_example_reads_as_one_sentence():
    assert _english({"and": [
        c("industry", "in", ["software", "biotech"]),
        {"or": [c("employee_count", "between", [50, 500]), {"not": c("country", "eq", "US")}]},
    ]}) == "Industry is any of software, biotech and (Employees is between 50 and 500 or not Country is US)"


@pytest.mark.parametrize(("condition", "english"), [
    (c("industry", "eq", " Software "), "Industry is Software"),
    (c("industry", "neq", "software"), "Industry is not software"),
    (c("name", "contains", "acme"), "Name contains acme"),
    (c("name", "not_contains", "acme"), "Name does not contain acme"),
    (c("name", "starts_with", "ac"), "Name starts with ac"),
    (c("name", "ends_with", "me"), "Name ends with me"),
    (c("country", "not_in", ["US", "GB"]), "Country is none of US, GB"),
    (c("city", "is_empty"), "City is empty"),
    (c("city", "is_not_empty"), "City is not empty"),
    (c("employee_count", "gt", 50.0), "Employees is greater than 50"),
    (c("employee_count", "gte", 12.5), "Employees is at least 12.5"),
    (c("employee_count", "lt", 10), "Employees is less than 10"),
    (c("employee_count", "lte", 10), "Employees is at most 10"),
    (c("employee_count", "not_between", [1, 9]), "Employees is not between 1 and 9"),
    (c("created_at", "on", "2024-06-01"), "Created is on 2024-06-01"),
    (c("created_at", "before", "2024-06-01"), "Created is before 2024-06-01"),
    (c("created_at", "after", "2024-06-01"), "Created is after 2024-06-01"),
    (c("created_at", "between", ["2024-01-01", "2024-03-31"]), "Created is between 2024-01-01 and 2024-03-31"),
    (c("created_at", "within_last", {"amount": 30, "unit": "day"}), "Created is within the last 30 days"),
    (c("created_at", "not_within_last", {"amount": 1, "unit": "month"}), "Created is not within the last 1 month"),
    (c("funded_on", "within_next", {"amount": 2, "unit": "week"}), "Funded on is within the next 2 weeks"),
    (c("funded_on", "not_within_next", {"amount": 1, "unit": "year"}), "Funded on is not within the next 1 year"),
    (c("verified", "is_true"), "Verified is true"),
    (c("verified", "is_false"), "Verified is false"),
    (c("verified", "is_empty"), "Verified is empty"),
    (c("tags", "contains_any", ["vip", "partner"]), "Tags has any of vip, partner"),
    (c("tags", "contains_all", ["vip", "partner"]), "Tags has all of vip, partner"),
    (c("techs", "contains_none", ["aws"]), "Technologies has none of aws"),
])
def test_each_operator_has_its_phrase(condition, english):
    assert _english(condition) == english


@pytest.mark.parametrize(("filter_json", "english"), [
    ({"and": []}, "all companies"),
    ({"or": []}, "no companies"),
    ({"not": {"or": [c("industry", "eq", "a"), c("industry", "eq", "b")]}}, "not (Industry is a or Industry is b)"),
    ({"and": [{"and": [c("industry", "eq", "a")]}]}, "Industry is a"),
    ({"or": [c("city", "is_empty"), {"and": [c("industry", "eq", "a"), {"not": c("country", "eq", "US")}]}]},
     "City is empty or (Industry is a and not Country is US)"),
])
def test_groups_are_parenthesized_only_when_nested_with_several_children(filter_json, english):
    assert _english(filter_json) == english


def test_people_filters_name_company_fields_as_the_company_s():
    assert _english({"and": [c("company.industry", "eq", "software"), c("company.linkedin_url", "is_empty")]},
                    "people") == "Company industry is software and Company LinkedIn URL is empty"


@pytest.mark.parametrize(("label", "expected"), [
    ("Industry", "Company industry"), ("Annual revenue", "Company annual revenue"),
    ("LinkedIn URL", "Company LinkedIn URL"), ("CRM id", "Company CRM id"),
])
def test_company_labels_keep_acronyms(label, expected):
    assert company_label(label) == expected


def test_saved_segments_are_described_by_name_when_known():
    membership = {"and": [{"segment": 12, "op": "in_segment"}, {"segment": 13, "op": "not_in_segment"}]}
    assert _english(membership, segment_names={12: "Enterprise SaaS"}) == (
        'in segment "Enterprise SaaS" and not in segment #13'
    )
