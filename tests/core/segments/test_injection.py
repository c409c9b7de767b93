"""Hostile filters give a FilterError or correct results — never an SQL error — on both backends.

"Correct" means what the reference evaluator selects. After the corpus has run, the tables are
all still there with all their rows.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from audiences_app.core.segments import FilterError, matching_ids
from audiences_app.core.segments.fields import fields_for

from .conftest import AS_OF, TABLES, python_ids

HOSTILE_TEXT = [
    "'; DROP TABLE company; --", "' OR '1'='1", '"; DROP TABLE person; --', "/* comment */ x", "-- comment",
    "a;b", "\\", "\\'", "'\\", "%", "_", "%%", "\\%", "x' || (SELECT 1) || '", "$1", ":param",
    "%(workspace_id)s", "?", "null", "NaN", "é" * 999, "A" * 1_000, "\u202e", "🦄", "\t", "ＡＣＭＥ",
]
INVALID_TEXT = ["A" * 10_000, "\x00", "x\x00y", "\ud800", "", "   ", 5, None, True, ["a"], {"a": 1}]
INVALID_NUMBERS = [float("nan"), float("inf"), float("-inf"), 10**100, -(10**100), 2**63, 2**53, 10**15 + 1, 1e16,
                   True, False, "50", None, [1], {"a": 1}]
EDGE_NUMBERS = [10**15, -(10**15), 1e15, -0.0, 5e-324, 0.1, 2**49 + 0.5]
INVALID_FIELDS = ["name; drop", "name' --", "company.name; drop", "attributes", "id", "workspace_id",
                  "company_id", "company.", "company.company.name", "", None, 5, ["name"], 'tags"', "$.name",
                  "../name", "NAME", "Name ", "x" * 10_000]
INVALID_OPS = ["eq; drop", "EQ", None, 5, "__class__", "sql", "in_segment", ["eq"], "is_true", "gt"]
INVALID_DATES = ["2024-02-30", "2024-13-01", "9999-12-31", "0000-01-01", "2024-1-1", "2024-06-01T00:00:00",
                 "'; drop", 20240101, None, "", "2024-06-01 ", "２０２４-０６-０１"]
INVALID_RELATIVE = [{"amount": 10**9, "unit": "day"}, {"amount": 0, "unit": "day"}, {"amount": -1, "unit": "day"},
                    {"amount": 1.5, "unit": "day"}, {"amount": True, "unit": "day"}, {"amount": 1, "unit": "fortnight"},
                    {"amount": 1, "unit": "day", "x": 1}, {"amount": "1", "unit": "day"},
                    {"amount": 101, "unit": "year"},
                    {"amount": 1}, [30, "day"], "30 days", None]
INVALID_PAIRS = [[1], [1, 2, 3], [2, 1], ["a", "b"], [None, 1], "1,2", [float("nan"), 1], [], None]
INVALID_LISTS = [[], "software", [1], [None], ["a"] * 1_001, [["a"]], [""], None]


def _nested(kind: str, depth: int) -> dict:
    node: dict = {"field": "name", "op": "eq", "value": "x"}
    for _ in range(depth):
        node = {"not": node} if kind == "not" else {kind: [node]}
    return node


def c(field, op, value=None):
    return {"field": field, "op": op} if value is None else {"field": field, "op": op, "value": value}


ANSWERED = {  # hostile-looking but legitimate: results, the same as the evaluator's
    "companies": [
        *(c("name", op, text) for text in HOSTILE_TEXT for op in ("eq", "contains", "starts_with", "ends_with")),
        *(c("name", "in", [text, "x"]) for text in HOSTILE_TEXT),
        *(c("stage", "contains", text) for text in HOSTILE_TEXT),
        *(c("tags", "contains_any", [text]) for text in HOSTILE_TEXT),
        *(c("techs", "contains_all", [text, "aws"]) for text in HOSTILE_TEXT),
        *(c("employee_count", "gt", n) for n in EDGE_NUMBERS),
        *(c("score", "lte", n) for n in EDGE_NUMBERS),
        *(c("annual_revenue", "eq", n) for n in EDGE_NUMBERS),
        c("created_at", "within_next", {"amount": 100, "unit": "year"}),
        c("created_at", "on", "9998-12-31"), c("created_at", "before", "0001-01-01"),
        _nested("not", 31), _nested("and", 31),
        {"or": [c("name", "eq", str(i)) for i in range(500)]},
        {"or": [c("name", "in", [str(j) for j in range(1_000)]) for _ in range(5)]},
        {"segment": 1, "op": "in_segment"},
    ],
    "people": [
        *(c("company.name", "contains", text) for text in HOSTILE_TEXT),
        *(c("company.tags", "contains_none", [text]) for text in HOSTILE_TEXT),
    ],
}
REFUSED = {  # a FilterError naming the problem, from SQL and from the evaluator alike
    "companies": [
        *(c("name", "eq", value) for value in INVALID_TEXT),
        *(c("employee_count", "gt", n) for n in INVALID_NUMBERS),
        *(c("score", "lte", n) for n in INVALID_NUMBERS),
        *(c(field, "eq", "x") for field in INVALID_FIELDS),
        *(c("name", op, "x") for op in INVALID_OPS),
        *(c("created_at", "on", d) for d in INVALID_DATES),
        *(c("funded_on", "before", d) for d in INVALID_DATES),
        *(c("created_at", "within_last", r) for r in INVALID_RELATIVE),
        *(c("employee_count", "between", p) for p in INVALID_PAIRS),
        *(c("created_at", "between", p) for p in INVALID_PAIRS),
        *(c("industry", "in", v) for v in INVALID_LISTS),
        *(c("tags", "contains_all", v) for v in INVALID_LISTS),
        c("name", "is_empty", "x"), c("verified", "is_true", True),
        _nested("not", 100), _nested("or", 100), _nested("and", 10_000),
        {"or": [c("name", "eq", str(i)) for i in range(501)]},
        {"or": [c("name", "in", [str(j) for j in range(1_000)]) for _ in range(6)]},
        {"and": "x"}, {"and": {}}, {"not": []}, {"not": None}, [], "and", None, 5, {"and": [], "or": []},
        {**c("name", "eq", "x"), "extra": 1}, {"field": "name"}, {"op": "eq"}, {}, {1: 2},
        {"segment": "1; drop", "op": "in_segment"}, {"segment": 1, "op": "drop"}, {"segment": -1, "op": "in_segment"},
        {"segment": 2**70, "op": "in_segment"}, {"segment": True, "op": "in_segment"},
        {"segment": 1, "op": "in_segment", "value": 1}, {"segment": 404, "op": "in_segment"},
        {"segment": 66, "op": "not_in_segment"},
    ],
    "people": [
        c("company.employee_count", "gt", float("nan")), c("company.nope", "eq", "x"), c("company", "eq", "x"),
        c("company.company_id", "eq", 1),
    ],
}


SEGMENTS = {
    1: c("name", "contains", "'; DROP TABLE company; --"),
    66: {"segment": 67, "op": "in_segment"},
    67: {"segment": 66, "op": "in_segment"},
}


def _resolve(segment_id: int) -> dict:
    return SEGMENTS[segment_id]  # KeyError (a LookupError) for an unknown id


def _outcome(run):
    try:
        return sorted(run())
    except FilterError as error:
        return ("FilterError", str(error))


def _outcomes(data, entity, filter_json, fields=None):
    """What SQL and the evaluator make of the filter: sorted ids, or ("FilterError", message)."""
    fields = fields or data.fields[entity]
    with data.engine.connect() as conn:
        sql = _outcome(lambda: matching_ids(conn, data.workspace_id, entity, filter_json, as_of=AS_OF,
                                            fields=fields, segment_resolver=_resolve, include_archived=True))
    python = _outcome(lambda: python_ids(filter_json, data.records[entity], entity=entity, fields=fields,
                                         resolver=_resolve))
    return sql, python


def _cases(corpus: dict) -> list:
    return [pytest.param(entity, f, id=f"{entity}-{i}")
            for entity, filters in corpus.items() for i, f in enumerate(filters)]


@pytest.mark.parametrize(("entity", "filter_json"), _cases(ANSWERED))
def test_hostile_text_and_edge_values_are_answered_like_the_evaluator(sample, entity, filter_json):
    sql, python = _outcomes(sample, entity, filter_json)
    assert isinstance(sql, list) and sql == python


@pytest.mark.parametrize(("entity", "filter_json"), _cases(REFUSED))
def test_malformed_filters_are_refused_with_a_filter_error(sample, entity, filter_json):
    sql, python = _outcomes(sample, entity, filter_json)
    assert sql[0] == "FilterError" and sql == python


@pytest.mark.parametrize("key", ["a.b", "it's", "x[0]", "$", "ünï", "spa ce", "--", "a;b", "'; DROP TABLE company; --"])
def test_awkward_catalog_keys_are_read_from_json_safely(sample, key):
    fields = fields_for("companies", [{"key": key, "label": "Odd", "type": "text"}])
    assert _outcomes(sample, "companies", c(key, "is_empty"), fields) == (sorted(sample.all_ids["companies"]),) * 2
    assert _outcomes(sample, "companies", c(key, "contains", "x"), fields) == ([], [])


@pytest.mark.parametrize("key", ['x"]', 'a"); DROP TABLE company; --', "back\\slash", "new\nline"])
def test_catalog_keys_that_could_break_a_json_path_are_refused(sample, key):
    fields = fields_for("companies", [{"key": key, "label": "Odd", "type": "number"}])
    with pytest.raises(FilterError, match="cannot be filtered"), sample.engine.connect() as conn:
        matching_ids(conn, sample.workspace_id, "companies", c(key, "gt", 1), fields=fields)


def test_after_the_corpus_every_table_and_row_is_still_there(sample):
    with sample.engine.connect() as conn:
        for entity, table in TABLES.items():
            count = conn.execute(
                sa.select(sa.func.count()).select_from(table).where(table.c.workspace_id == sample.workspace_id)
            ).scalar_one()
            assert count == len(sample.records[entity])
