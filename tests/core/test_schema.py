"""The schema: migrations match the models, identity keys are unique per workspace and required."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

from audiences_app.core.catalog import CORE_FIELDS, catalog
from audiences_app.core.db import write_transaction
from audiences_app.core.migrate import include_name
from audiences_app.core.models import Company, Person
from audiences_app.core.workspaces import ensure_workspace


def test_migrations_build_exactly_the_schema_the_models_describe(engine):
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": include_name})
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == []


CHILD_TABLES = {"company_tag": "company", "person_tag": "person", "run_item": "run", "import_line": "run"}


def test_every_table_carries_workspace_id_or_hangs_off_one_that_does():
    for table in SQLModel.metadata.tables.values():
        if table.name == "workspace":
            continue
        if table.name in CHILD_TABLES:
            parents = {fk.column.table.name for fk in table.foreign_keys}
            assert CHILD_TABLES[table.name] in parents
        else:
            assert "workspace_id" in table.c, table.name


@pytest.mark.parametrize(
    "table, row",
    [
        (Company, {"name": "No keys Inc"}),
        (Person, {"full_name": "Nobody Known"}),
    ],
)
def test_a_record_without_any_identity_key_is_refused(engine, workspace_id, table, row):
    with pytest.raises(sa.exc.IntegrityError, match="(?i)check"):
        with write_transaction(engine) as conn:
            conn.execute(sa.insert(table.__table__).values(workspace_id=workspace_id, attributes={}, **row))


@pytest.mark.parametrize(
    "table, key",
    [(Company, {"domain": "acme.com"}), (Company, {"crm_id": "001"}), (Company, {"linkedin_url": "https://www.linkedin.com/company/acme"}),
     (Person, {"email": "a@acme.com"}), (Person, {"phone": "+14155552671"}), (Person, {"crm_id": "003"})],
)
def test_identity_keys_are_unique_within_a_workspace_but_not_across(engine, workspace_id, table, key):
    with write_transaction(engine) as conn:
        other = ensure_workspace(conn, f"other-{workspace_id}")
        insert = sa.insert(table.__table__)
        conn.execute(insert.values(workspace_id=workspace_id, attributes={}, **key))
        conn.execute(insert.values(workspace_id=other, attributes={}, **key))
    with pytest.raises(sa.exc.IntegrityError), write_transaction(engine) as conn:
        conn.execute(sa.insert(table.__table__).values(workspace_id=workspace_id, attributes={}, **key))


def test_attributes_hold_nested_json(engine, workspace_id):
    value = {"tech_stack": ["python", "aws"], "nps": 42, "note": "café ☕"}
    with write_transaction(engine) as conn:
        conn.execute(sa.insert(Company.__table__).values(workspace_id=workspace_id, domain="json.io", attributes=value))
    with engine.connect() as conn:
        stored = conn.execute(sa.select(Company.__table__.c.attributes).where(
            Company.__table__.c.workspace_id == workspace_id)).scalar_one()
    assert stored == value


def test_a_new_workspace_has_the_core_fields_in_its_catalog(engine, workspace_id):
    with engine.connect() as conn:
        for entity, fields in CORE_FIELDS.items():
            keys = [f["key"] for f in catalog(conn, workspace_id, entity)]
            assert keys == [f.key for f in fields]


def test_ensuring_a_workspace_twice_changes_nothing(engine, workspace_id):
    with write_transaction(engine) as conn:
        slug = conn.execute(sa.text("SELECT slug FROM workspace WHERE id = :id"), {"id": workspace_id}).scalar()
        assert ensure_workspace(conn, slug) == workspace_id
        assert len(catalog(conn, workspace_id, "companies")) == len(CORE_FIELDS["companies"])


def test_common_filter_fields_are_indexed():
    indexed = {tuple(c.name for c in ix.columns) for ix in Company.__table__.indexes}
    for field in ("industry", "employee_count", "country", "created_at", "name"):
        assert ("workspace_id", field, "id") in indexed
