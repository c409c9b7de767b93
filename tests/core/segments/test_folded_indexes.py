"""Common text filters (industry, country, seniority, department) are index plans."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from audiences_app.core.db import write_transaction
from audiences_app.core.models import Company, Person
from audiences_app.core.segments import members_query

VALUES = [f"value {i}" for i in range(60)]


@pytest.fixture
def varied(engine, workspace_id):
    """A few thousand records whose filtered fields hold many distinct values, analyzed."""
    with write_transaction(engine) as conn:
        conn.execute(sa.insert(Company.__table__), [
            {"workspace_id": workspace_id, "crm_id": f"c{i}", "industry": VALUES[i % 60],
             "attributes": {}} for i in range(3000)])
        conn.execute(sa.insert(Person.__table__), [
            {"workspace_id": workspace_id, "crm_id": f"p{i}", "seniority": VALUES[i % 60],
             "department": VALUES[i % 53], "attributes": {}} for i in range(3000)])
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    return engine, workspace_id


def _plan(conn, select) -> str:
    compiled = str(select.compile(conn, compile_kwargs={"literal_binds": True}))
    if conn.dialect.name == "sqlite":
        return " ".join(str(row) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}"))
    return " ".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN {compiled}"))


@pytest.mark.parametrize(
    "entity, field, index",
    [
        ("companies", "industry", "ix_company_ws_industry_folded"),
        ("people", "seniority", "ix_person_ws_seniority_folded"),
        ("people", "department", "ix_person_ws_department_folded"),
    ],
)
def test_an_in_filter_on_a_folded_text_field_uses_its_expression_index(varied, entity, field, index):
    engine, workspace_id = varied
    with engine.connect() as conn:
        select = members_query(conn, workspace_id, entity, {"field": field, "op": "in", "value": ["Value 1", "value 2"]})
        assert index in _plan(conn, select)
        period = 53 if field == "department" else 60
        expected = sum(VALUES[i % period] in ("value 1", "value 2") for i in range(3000))
        assert len(conn.execute(select).all()) == expected
