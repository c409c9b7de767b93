"""Validation: every mistake is a FilterError that names the node (by path) and the field."""

from __future__ import annotations

import pytest

from audiences_app.core.catalog import CORE_FIELDS
from audiences_app.core.segments import MAX_DEPTH, FilterError, compile_filter, parse_filter, validate
from audiences_app.core.segments.fields import fields_for

from .conftest import CUSTOM_FIELDS


def _catalog(entity):
    core = [{"key": f.key, "label": f.label, "type": f.type} for f in CORE_FIELDS[entity]]
    return core + [{"key": k, "label": label, "type": t} for k, label, t in CUSTOM_FIELDS[entity]]


COMPANY_FIELDS = fields_for("companies", _catalog("companies"))
PEOPLE_FIELDS = fields_for("people", _catalog("people"), _catalog("companies"))


def c(field, op, value=None):
    return {"field": field, "op": op} if value is None else {"field": field, "op": op, "value": value}


def _error(filter_json, entity="companies", resolver=None) -> str:
    fields = COMPANY_FIELDS if entity == "companies" else PEOPLE_FIELDS
    with pytest.raises(FilterError) as caught:
        validate(filter_json, entity=entity, fields=fields, segment_resolver=resolver)
    return str(caught.value)


@pytest.mark.parametrize(("filter_json", "message"), [
    ({"and": [c("industry", "eq", "x"), {"or": [c("employe_count", "gt", 5)]}]},
     "and[1].or[0]: field 'employe_count' is not in the companies catalog (did you mean 'employee_count'?)"),
    (c("name; drop", "eq", "x"), "filter: field 'name; drop' is not in the companies catalog"),
    (c("company.industry", "eq", "x"), "filter: field 'company.industry' is not in the companies catalog"),
    ({"not": c("nope", "eq", "x")}, "not: field 'nope' is not in the companies catalog"),
    (c(5, "eq", "x"), "filter: field must be a field name, got '5'"),
    (c("name", "gt", 5),
     "filter: field 'name' is text: gt does not apply (use one of eq, neq, contains, not_contains, starts_with, "
     "ends_with, in, not_in, is_not_empty, is_empty)"),
    (c("name", "frobnicate", 5), "filter: field 'name': unknown operator 'frobnicate'"),
    (c("employee_count", "between", [50]),
     "filter: field 'employee_count': between needs two numbers, lower first, like [50, 500] (got 1 values)"),
    (c("employee_count", "between", [500, 50]),
     "filter: field 'employee_count': between needs two numbers, lower first, like [50, 500] "
     "(the lower one comes first)"),
    (c("employee_count", "between", ["50", 500]),
     "filter: field 'employee_count': between needs two numbers, lower first, like [50, 500] (got text)"),
    (c("industry", "in", "software"),
     'filter: field \'industry\': in needs a list of text values, like ["software", "biotech"] (got text)'),
    (c("industry", "in", ["software", 5]),
     'filter: field \'industry\': in needs a list of text values, like ["software", "biotech"] (got a number)'),
    (c("industry", "eq", "  "),
     "filter: field 'industry': eq needs text (got blank text; is_empty finds empty values)"),
    (c("created_at", "within_last", {"amount": 0, "unit": "day"}),
     'filter: field \'created_at\': within_last needs an amount and a unit, like {"amount": 30, "unit": "day"} '
     "(amount must be a whole number from 1 to 36,600 for days)"),
    (c("created_at", "within_last", {"amount": 3, "unit": "hour"}),
     'filter: field \'created_at\': within_last needs an amount and a unit, like {"amount": 30, "unit": "day"} '
     "(unit must be one of day, week, month, year)"),
    (c("created_at", "on", "2024-02-30"),
     "filter: field 'created_at': on needs a date like 2024-05-31 (2024-02-30 is not a calendar date)"),
    (c("verified", "is_true", "yes"), "filter: field 'verified': is_true needs no value (got text)"),
    (c("score", "eq", float("nan")),
     "filter: field 'score': eq needs a number (NaN and infinity are not numbers a record can have)"),
    ({"and": [c("name", "eq", "x")], "or": []}, "filter: a group has one key, and; remove 'or'"),
    ({**c("name", "eq", "x"), "values": 1}, "filter: a condition has keys field, op and value; remove 'values'"),
    ({"and": c("name", "eq", "x")}, "filter: and takes a list of conditions and groups"),
    ({"and": [["name"]]}, "and[0]: expected a condition {field, op, value}, a group {and: [...]} or {or: [...]}, "
                          "{not: ...} or a segment {segment, op}; got list"),
    ({"segment": 0, "op": "in_segment"}, "filter: segment must be a saved segment's id (ids are positive)"),
    ({"segment": 1, "op": "eq"}, "filter: a segment condition's op is in_segment or not_in_segment, not 'eq'"),
])
def test_errors_name_the_node_and_the_field(filter_json, message):
    assert _error(filter_json) == message


def test_people_errors_name_company_fields_as_written():
    assert _error(c("company.employe_count", "gt", 5), "people") == (
        "filter: field 'company.employe_count' is not in the people catalog (did you mean 'company.employee_count'?)"
    )


def _nested(levels: int) -> dict:
    node = c("name", "eq", "x")
    for _ in range(levels):
        node = {"and": [node]}
    return node


def test_nesting_is_limited_to_32_levels():
    validate(_nested(MAX_DEPTH), entity="companies", fields=COMPANY_FIELDS)
    assert _error(_nested(MAX_DEPTH + 1)).endswith("filters are limited to 32 levels of nesting")


def test_the_error_path_follows_negations_and_saved_segments():
    segments = {12: {"or": [c("name", "eq", "x"), c("name", "gt", 1)]}}
    message = _error({"and": [{"not": {"segment": 12, "op": "in_segment"}}]}, resolver=segments.__getitem__)
    assert message.startswith("and[0].not.segment[12].or[1]: field 'name' is text: gt does not apply")


def test_a_segment_that_includes_itself_is_refused_with_the_cycle():
    segments = {1: {"segment": 2, "op": "in_segment"}, 2: {"and": [{"segment": 1, "op": "not_in_segment"}]}}
    assert _error({"segment": 1, "op": "in_segment"}, resolver=segments.__getitem__) == (
        "segment[1].segment[2].and[0]: segment #1 includes itself (#1 → #2 → #1)"
    )


def test_a_segment_may_be_included_twice_without_being_a_cycle():
    segments = {1: c("name", "eq", "x"), 2: {"and": [{"segment": 1, "op": "in_segment"}] * 2}}
    validate({"or": [{"segment": 1, "op": "in_segment"}, {"segment": 2, "op": "in_segment"}]},
             entity="companies", fields=COMPANY_FIELDS, segment_resolver=segments.__getitem__)


def test_an_unknown_segment_is_named():
    message = _error({"segment": 404, "op": "in_segment"}, resolver={}.__getitem__)
    assert message == "filter: segment #404 does not exist"


def test_a_resolver_may_refuse_a_segment_with_its_own_reason():
    def resolver(segment_id):
        raise FilterError("", "segment #7 is a people segment")

    message = _error({"segment": 7, "op": "in_segment"}, resolver=resolver)
    assert message == "filter: segment #7: segment #7 is a people segment"


def test_membership_validates_without_a_resolver_but_cannot_compile_without_one():
    membership = {"and": [{"segment": 3, "op": "in_segment"}]}
    validate(membership, entity="companies", fields=COMPANY_FIELDS)
    with pytest.raises(FilterError, match=r"and\[0\]: in_segment #3 needs saved segments"):
        compile_filter(membership, entity="companies", fields=COMPANY_FIELDS, dialect_name="sqlite")


def test_an_unknown_entity_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown entity 'deals'"):
        parse_filter({"and": []}, entity="deals", fields={})


def test_an_empty_filter_value_list_or_text_is_refused_rather_than_matching_nothing():
    assert "got an empty list" in _error(c("tags", "contains_any", []))
    assert "got blank text" in _error(c("name", "contains", ""))
