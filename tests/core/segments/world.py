"""A small workspace of its own per test, for tests that save segments or change records:
five companies (one archived) and four people, named by crm_id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from audiences_app.core.db import write_transaction

from .conftest import AS_OF, TABLES, insert_records, new_workspace

COMPANIES = [
    dict(crm_id="acme", name="Acme Labs", domain="acme.com", industry="software", employee_count=120,
         country="US", attributes={"stage": "Series A"}, tags=["VIP"]),
    dict(crm_id="beta", name="Beta Bio", domain="beta.io", industry="biotech", employee_count=40, country="GB"),
    dict(crm_id="gamma", name="Gamma Soft", domain="gamma.dev", industry="Software ", employee_count=800,
         country="US", archived_at=datetime(2024, 5, 1)),
    dict(crm_id="formula", name="=HYPERLINK(\"http://x\")", domain="delta.io", industry="retail", country="DE",
         tags=["vip", "partner"]),
    dict(crm_id="nameless", domain="epsilon.com", industry="SOFTWARE", employee_count=50, country="FR",
         attributes={"stage": "seed"}),
]
PEOPLE = [
    dict(crm_id="ann", full_name="Ann Lee", email="ann@acme.com", company="acme", country="US", tags=["champion"]),
    dict(crm_id="bob", full_name="Bob Stone", email="bob@beta.io", company="beta", country="GB"),
    dict(crm_id="cy", email="cy@example.com", company=None, country="US"),
    dict(crm_id="dee", full_name="Dee", email="dee@epsilon.com", company="nameless"),
]


@dataclass
class World:
    engine: sa.Engine
    workspace_id: int
    ids: dict[str, int]  # crm_id → id, companies and people

    def names(self, entity: str, ids) -> set[str]:
        table = TABLES[entity]
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(table.c.crm_id).where(table.c.id.in_(list(ids))))
            return set(rows.scalars())


def load_world(engine) -> World:
    with write_transaction(engine) as conn:
        workspace_id = new_workspace(conn)
        company_ids = insert_records(conn, workspace_id, "companies", [dict(c) for c in COMPANIES])
        ids = dict(zip((c["crm_id"] for c in COMPANIES), company_ids, strict=True))
        people = [{k: v for k, v in p.items() if k != "company"} | {"company_id": ids.get(p["company"])}
                  for p in PEOPLE]
        person_ids = insert_records(conn, workspace_id, "people", people)
        ids.update(zip((p["crm_id"] for p in PEOPLE), person_ids, strict=True))
    return World(engine, workspace_id, ids)


def add_company(world: World, **row) -> int:
    with write_transaction(world.engine) as conn:
        [record_id] = insert_records(conn, world.workspace_id, "companies", [{"created_at": AS_OF, **row}])
    world.ids[row["crm_id"]] = record_id
    return record_id
