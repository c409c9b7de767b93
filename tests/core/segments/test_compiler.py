"""The compiled SQL: bound parameters only, index-friendly shapes, plans that use the
(workspace_id, column, id) indexes, "View SQL", and the helpers that run a filter."""

from __future__ import annotations

import contextlib
import random
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from audiences_app.core.db import write_transaction
from audiences_app.core.models import utcnow
from audiences_app.core.segments import (
    compile_filter, count_matching, filter_sql, matching_ids, segment_query,
)

from .conftest import AS_OF, TABLES, analyze, insert_records, new_workspace
from .test_operators import COMPANY_CASES, PEOPLE_CASES
from .test_validate import COMPANY_FIELDS, PEOPLE_FIELDS

DIALECTS = {"sqlite": sqlite.dialect(), "postgresql": postgresql.dialect()}


def c(field, op, value=None):
    return {"field": field, "op": op} if value is None else {"field": field, "op": op, "value": value}


def _sql(filter_json, dialect="sqlite", entity="companies") -> str:
    fields = COMPANY_FIELDS if entity == "companies" else PEOPLE_FIELDS
    clause = compile_filter(filter_json, entity=entity, fields=fields, dialect_name=dialect, as_of=AS_OF)
    return str(clause.compile(dialect=DIALECTS[dialect]))


@pytest.mark.parametrize("dialect", DIALECTS)
def test_values_are_bound_parameters_never_sql_text(dialect):
    hostile = "'; DROP TABLE company; --"
    clause = compile_filter(c("name", "contains", hostile), entity="companies", fields=COMPANY_FIELDS,
                            dialect_name=dialect, as_of=AS_OF)
    compiled = clause.compile(dialect=DIALECTS[dialect])
    assert "DROP" not in str(compiled)
    assert "%'; drop table company; --%" in compiled.params.values()


@pytest.mark.parametrize(("filter_json", "expected"), [
    (c("employee_count", "between", [50, 500]),
     "company.employee_count IS NOT NULL AND company.employee_count BETWEEN ? AND ?"),
    (c("employee_count", "neq", 50), "NOT (company.employee_count IS NOT NULL AND company.employee_count = ?)"),
    (c("created_at", "within_last", {"amount": 30, "unit": "day"}),
     "company.created_at IS NOT NULL AND company.created_at BETWEEN ? AND ?"),
    (c("created_at", "on", "2024-06-01"),
     "company.created_at IS NOT NULL AND company.created_at >= ? AND company.created_at < ?"),
    (c("industry", "in", ["software", "biotech"]),
     "company.industry IS NOT NULL AND lower(trim(company.industry)) IN (__[POSTCOMPILE_lower_1])"),
    (c("city", "contains", "acme"), "company.city IS NOT NULL AND lower(trim(company.city)) LIKE ? ESCAPE '\\'"),
    (c("name", "is_empty"), "NOT (company.name IS NOT NULL AND trim(company.name) != ?)"),
    ({"and": []}, "1"),
    ({"or": []}, "0"),
])
def test_core_columns_compile_to_plain_predicates(filter_json, expected):
    assert _sql(filter_json) == expected


def test_text_on_postgresql_folds_under_the_c_collation():
    assert _sql(c("industry", "eq", "x"), "postgresql") == (
        "company.industry IS NOT NULL AND lower(trim(company.industry) COLLATE \"C\") = %(lower_1)s::VARCHAR"
    )


@pytest.mark.parametrize(("dialect", "fragments"), [
    ("sqlite", ["json_type(company.attributes, ?) IN (__[POSTCOMPILE_json_type_1])",
                "json_extract(company.attributes, ?)"]),
    ("postgresql", ["jsonb_typeof(company.attributes -> %(param_1)s::VARCHAR) = %(jsonb_typeof_1)s::VARCHAR",
                    "CAST(company.attributes ->> %(param_1)s::VARCHAR AS NUMERIC)"]),
])
def test_json_numbers_are_type_checked_before_they_are_compared(dialect, fragments):
    sql = _sql(c("score", "gt", 5), dialect)
    assert all(fragment in sql for fragment in fragments)


def test_tags_and_company_fields_compile_to_uncorrelated_semi_joins():
    tags = _sql(c("tags", "contains_any", ["vip"]))
    assert "company.id IN (SELECT company_tag.company_id \nFROM company_tag JOIN tag" in tags
    people = _sql(c("company.industry", "eq", "software"), entity="people")
    assert people.startswith("person.company_id IS NOT NULL AND person.company_id IN (SELECT company.id \nFROM company")


@contextlib.contextmanager
def _explained(conn):
    """Run the next statements as EXPLAIN (QUERY PLAN), with their bound parameters."""
    prefix = "EXPLAIN QUERY PLAN " if conn.dialect.name == "sqlite" else "EXPLAIN "

    def explain(_conn, _cursor, statement, parameters, _context, _executemany):
        return prefix + statement, parameters

    sa.event.listen(conn, "before_cursor_execute", explain, retval=True)
    try:
        yield
    finally:
        sa.event.remove(conn, "before_cursor_execute", explain)


@pytest.fixture(scope="module")
def analyzed(engine):
    """3,000 companies with spread-out values and fresh planner statistics."""
    rng = random.Random(5)
    with write_transaction(engine) as conn:
        workspace_id = new_workspace(conn)
        insert_records(conn, workspace_id, "companies", [{
            "crm_id": f"a{i}", "employee_count": rng.randrange(10_000), "founded_year": rng.randrange(1900, 2025),
            "annual_revenue": 10**12 if i % 500 == 0 else rng.randrange(10**6, 10**9),
            "created_at": AS_OF - timedelta(minutes=rng.randrange(3 * 365 * 24 * 60)),
        } for i in range(3_000)])
        analyze(conn)
    return workspace_id


@pytest.mark.parametrize(("filter_json", "index"), [
    (c("employee_count", "between", [50, 80]), "ix_company_ws_employee_count"),
    (c("annual_revenue", "gte", 10**12), "ix_company_ws_annual_revenue"),
    (c("created_at", "within_last", {"amount": 1, "unit": "day"}), "ix_company_ws_created_at"),
    (c("founded_year", "lt", 1902), "ix_company_ws_founded_year"),
])
def test_selective_numbers_and_dates_on_core_columns_are_served_by_their_index(engine, analyzed, filter_json, index):
    # The clock is set back a year: other tests' records are created at AS_OF, and the planner,
    # which sees the whole table's created_at, would take "the last day before AS_OF" for many rows.
    with engine.connect() as conn:
        clause = compile_filter(filter_json, entity="companies", fields=COMPANY_FIELDS,
                                dialect_name=conn.dialect.name, as_of=AS_OF - timedelta(days=400),
                                workspace_id=analyzed)
        with _explained(conn):
            rows = conn.execute(segment_query("companies", clause, analyzed))
            plan = "\n".join(" ".join(map(str, row)) for row in rows)
    field = filter_json["field"]
    if conn.dialect.name == "sqlite":
        assert f"USING INDEX {index} (workspace_id=? AND {field}" in plan
    else:
        assert index in plan and field in plan.split("Index Cond", 1)[1]


@pytest.mark.parametrize(("entity", "filter_json"),
                         [("companies", f) for f, _ in COMPANY_CASES] + [("people", f) for f, _ in PEOPLE_CASES])
@pytest.mark.parametrize("dialect", DIALECTS)
def test_view_sql_writes_every_operator_with_its_values(dialect, entity, filter_json):
    fields = COMPANY_FIELDS if entity == "companies" else PEOPLE_FIELDS
    text = filter_sql(filter_json, entity=entity, fields=fields, dialect_name=dialect, workspace_id=7, as_of=AS_OF)
    assert text.startswith(f"SELECT {TABLES[entity].name}.id \nFROM {TABLES[entity].name} \nWHERE ")
    assert "workspace_id = 7" in text or text.endswith(("WHERE 0 = 1", "WHERE false"))  # x AND false is false
    assert "POSTCOMPILE" not in text and "%(" not in text and " ? " not in text


def test_view_sql_shows_values_as_literals():
    text = filter_sql({"and": [c("industry", "in", ["software", "it's"]), c("name", "contains", "50%")]},
                      entity="companies", fields=COMPANY_FIELDS, dialect_name="postgresql", workspace_id=1, as_of=AS_OF)
    assert "IN ('software', 'it''s')" in text
    assert "LIKE '%50\\%%' ESCAPE '\\'" in text


def test_the_clause_drops_into_a_query_of_the_caller(sample):
    table = TABLES["companies"]
    with sample.engine.connect() as conn:
        clause = compile_filter(c("industry", "eq", "software"), entity="companies", fields=sample.fields["companies"],
                                dialect_name=conn.dialect.name, as_of=AS_OF)
        query = sa.select(table.c.crm_id).where(table.c.workspace_id == sample.workspace_id, clause)
        names = conn.execute(query.order_by(table.c.crm_id)).scalars().all()
    assert names == ["acme", "back", "juice"]


@pytest.mark.parametrize("filter_json", [c("industry", "eq", "software"), {"not": c("tags", "is_empty")}, {"and": []}])
def test_count_matching_counts_what_matching_ids_lists(sample, filter_json):
    with sample.engine.connect() as conn:
        ids = matching_ids(conn, sample.workspace_id, "companies", filter_json, as_of=AS_OF)
        assert count_matching(conn, sample.workspace_id, "companies", filter_json, as_of=AS_OF) == len(ids)


def test_fields_default_to_the_workspace_catalog_custom_fields_included(sample):
    with sample.engine.connect() as conn:
        ids = matching_ids(conn, sample.workspace_id, "companies", c("score", "gt", 50), as_of=AS_OF)
    assert sample.names("companies", ids) == {"acme"}


@pytest.fixture
def archived_and_recent(engine):
    with write_transaction(engine) as conn:
        workspace_id = new_workspace(conn)
        now = utcnow()
        insert_records(conn, workspace_id, "companies", [
            {"crm_id": "live", "created_at": now - timedelta(hours=1)},
            {"crm_id": "archived", "created_at": now - timedelta(hours=1), "archived_at": now},
            {"crm_id": "old", "created_at": now - timedelta(days=3)},
        ])
    return workspace_id


def test_archived_records_are_left_out_unless_asked_for(engine, archived_and_recent):
    with engine.connect() as conn:
        live = matching_ids(conn, archived_and_recent, "companies", {"and": []})
        everything = matching_ids(conn, archived_and_recent, "companies", {"and": []}, include_archived=True)
    assert len(live) == 2 and len(everything) == 3


def test_the_clock_defaults_to_now(engine, archived_and_recent):
    with engine.connect() as conn:
        recent = matching_ids(conn, archived_and_recent, "companies",
                              c("created_at", "within_last", {"amount": 1, "unit": "day"}), include_archived=True)
    assert len(recent) == 2


def test_an_aware_clock_is_read_in_utc():
    aware = AS_OF.replace(hour=14, tzinfo=timezone(timedelta(hours=2)))
    naive, converted = (
        compile_filter(c("created_at", "within_last", {"amount": 1, "unit": "day"}), entity="companies",
                       fields=COMPANY_FIELDS, dialect_name="sqlite", as_of=as_of).compile().params
        for as_of in (AS_OF, aware)
    )
    assert naive == converted


def test_an_unsupported_dialect_is_a_programming_error():
    with pytest.raises(ValueError, match="unsupported dialect 'mysql'"):
        compile_filter({"and": []}, entity="companies", fields=COMPANY_FIELDS, dialect_name="mysql")


def test_calendar_months_clamp_to_the_end_of_the_month():
    clause = compile_filter(c("created_at", "within_last", {"amount": 1, "unit": "month"}), entity="companies",
                            fields=COMPANY_FIELDS, dialect_name="sqlite", as_of=datetime(2024, 3, 31, 9))
    assert datetime(2024, 2, 29, 9) in clause.compile().params.values()
