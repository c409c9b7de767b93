"""Segment test helpers: custom catalog fields, loading records with tags, reading them back
as the evaluator's record dicts, and running one filter through SQL and through Python."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterable
from datetime import datetime

import pytest
import sqlalchemy as sa

from audiences_app.core.db import write_transaction
from audiences_app.core.models import Company, CompanyTag, FieldDef, Person, PersonTag, Tag
from audiences_app.core.segments import filter_fields, matching_ids, record_predicate
from audiences_app.core.workspaces import ensure_workspace

AS_OF = datetime(2024, 6, 1, 12, 0, 0)
CUSTOM_FIELDS = {
    "companies": [
        ("stage", "Stage", "text"), ("score", "Score", "number"), ("verified", "Verified", "boolean"),
        ("funded_on", "Funded on", "date"), ("seen_at", "Last seen", "datetime"),
        ("techs", "Technologies", "list"),
    ],
    "people": [
        ("persona", "Persona", "text"), ("score", "Score", "number"), ("opted_in", "Opted in", "boolean"),
        ("birthday", "Birthday", "date"), ("last_login", "Last login", "datetime"),
        ("skills", "Skills", "list"),
    ],
}
TABLES = {"companies": Company.__table__, "people": Person.__table__}
LINKS = {"companies": (CompanyTag.__table__, "company_id"), "people": (PersonTag.__table__, "person_id")}
_numbers = itertools.count(1)


def new_workspace(conn) -> int:
    """A workspace with the core catalog and CUSTOM_FIELDS."""
    workspace_id = ensure_workspace(conn, f"segments-{next(_numbers)}-{uuid.uuid4().hex[:6]}")
    conn.execute(sa.insert(FieldDef.__table__), [
        {"workspace_id": workspace_id, "entity": entity, "key": key, "label": label, "type": type_,
         "source": "custom", "description": "", "is_core": False, "hidden": False, "created_at": AS_OF}
        for entity, fields in CUSTOM_FIELDS.items() for key, label, type_ in fields
    ])
    return workspace_id


def insert_records(conn, workspace_id: int, entity: str, rows: list[dict]) -> list[int]:
    """Insert rows (each with a unique crm_id, and optional "tags") in one executemany; their ids."""
    table = TABLES[entity]
    tags = [row.pop("tags", ()) for row in rows]
    defaults = {"workspace_id": workspace_id, "created_at": AS_OF, "updated_at": AS_OF, "attributes": {}}
    keys = set(defaults).union(*rows)  # executemany wants every row to have the same keys
    rows = [{key: row.get(key, defaults.get(key)) for key in keys} for row in rows]
    conn.execute(sa.insert(table), rows)
    by_crm = dict(conn.execute(
        sa.select(table.c.crm_id, table.c.id).where(table.c.workspace_id == workspace_id)
    ).all())
    ids = [by_crm[row["crm_id"]] for row in rows]
    _tag(conn, workspace_id, entity, [(i, n) for i, names in zip(ids, tags, strict=True) for n in names])
    return ids


def _tag(conn, workspace_id: int, entity: str, pairs: list[tuple[int, str]]) -> None:
    if not pairs:
        return
    tag = Tag.__table__
    existing = dict(conn.execute(
        sa.select(tag.c.name, tag.c.id).where(tag.c.workspace_id == workspace_id)
    ).all())
    new = sorted({name for _, name in pairs} - set(existing))
    if new:
        conn.execute(sa.insert(tag), [{"workspace_id": workspace_id, "name": name} for name in new])
        existing = dict(conn.execute(
            sa.select(tag.c.name, tag.c.id).where(tag.c.workspace_id == workspace_id)
        ).all())
    link, owner = LINKS[entity]
    conn.execute(sa.insert(link), [{owner: i, "tag_id": existing[name]} for i, name in pairs])


def read_records(conn, workspace_id: int, entity: str) -> list[dict]:
    """Every record of the entity as the evaluator's dicts: columns, attributes, tags, company."""
    table = TABLES[entity]
    records = [dict(row._mapping) for row in conn.execute(
        sa.select(table).where(table.c.workspace_id == workspace_id).order_by(table.c.id)
    )]
    link, owner = LINKS[entity]
    names: dict[int, list[str]] = {}
    for record_id, name in conn.execute(
        sa.select(link.c[owner], Tag.__table__.c.name).join(Tag.__table__)
    ):
        names.setdefault(record_id, []).append(name)
    for record in records:
        record["tags"] = names.get(record["id"], [])
    if entity == "people":
        companies = {c["id"]: c for c in read_records(conn, workspace_id, "companies")}
        for record in records:
            record["company"] = companies.get(record["company_id"])
    return records


def python_ids(filter_json, records: Iterable[dict], *, entity: str, fields, resolver=None) -> list[int]:
    predicate = record_predicate(filter_json, entity=entity, fields=fields, as_of=AS_OF, segment_resolver=resolver)
    return [r["id"] for r in records if predicate(r)]


class Dataset:
    """A loaded workspace: its fields and records per entity, and the filter runners."""

    def __init__(self, engine, workspace_id: int):
        self.engine = engine
        self.workspace_id = workspace_id
        with engine.connect() as conn:
            self.fields = {e: filter_fields(conn, workspace_id, e) for e in TABLES}
            self.records = {e: read_records(conn, workspace_id, e) for e in TABLES}
        self.all_ids = {e: [r["id"] for r in records] for e, records in self.records.items()}
        self._crm_ids = {e: {r["id"]: r["crm_id"] for r in records} for e, records in self.records.items()}

    def names(self, entity: str, ids: Iterable[int]) -> set[str]:
        """Records by crm_id, which the sample uses as their names."""
        return {self._crm_ids[entity][i] for i in ids}

    def sql_ids(self, entity: str, filter_json, resolver=None, conn=None) -> list[int]:
        if conn is None:
            with self.engine.connect() as conn:
                return self.sql_ids(entity, filter_json, resolver, conn)
        return matching_ids(conn, self.workspace_id, entity, filter_json, as_of=AS_OF,
                            fields=self.fields[entity], segment_resolver=resolver, include_archived=True)

    def python_ids(self, entity: str, filter_json, resolver=None) -> list[int]:
        return python_ids(filter_json, self.records[entity], entity=entity,
                          fields=self.fields[entity], resolver=resolver)


def load_dataset(engine, companies: list[dict], people_of) -> Dataset:
    """Load companies, then people_of(company ids) → people rows; one workspace."""
    with write_transaction(engine) as conn:
        workspace_id = new_workspace(conn)
        company_ids = insert_records(conn, workspace_id, "companies", companies)
        insert_records(conn, workspace_id, "people", people_of(company_ids))
        analyze(conn)
    return Dataset(engine, workspace_id)


def analyze(conn) -> None:
    """Fresh planner statistics after a load, as a bulk loader should leave them: without
    them PostgreSQL takes the new rows for one and nests loops over semi-joins."""
    conn.exec_driver_sql("ANALYZE" if conn.dialect.name == "sqlite" else
                         "ANALYZE company, person, tag, company_tag, person_tag")


@pytest.fixture(scope="session")
def sample(engine) -> Dataset:
    """The hand-made sample (sample.py), loaded once per backend."""
    from .sample import load_sample

    return load_sample(engine)
