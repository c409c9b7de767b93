"""The field catalog: the core fields of each entity, and reading a workspace's catalog.

The UI, the segment compiler and importers read field names from here and nowhere else, so a
name that is not in the catalog can never reach SQL.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from audiences_app.core.models import FieldDef

ENTITIES = ("companies", "people")
FIELD_TYPES = ("text", "number", "date", "datetime", "boolean", "list")


@dataclass(frozen=True)
class CoreField:
    key: str
    label: str
    type: str
    description: str


COMPANY_FIELDS = [
    CoreField("name", "Name", "text", "Company name as the source gave it"),
    CoreField("domain", "Domain", "text", "Registrable domain (Public Suffix List), the main identity key"),
    CoreField("linkedin_url", "LinkedIn URL", "text", "Normalized LinkedIn company page URL"),
    CoreField("website", "Website", "text", "Homepage URL as given"),
    CoreField("industry", "Industry", "text", "Industry, lower case"),
    CoreField("employee_count", "Employees", "number", "Number of employees"),
    CoreField("annual_revenue", "Annual revenue", "number", "Annual revenue in USD"),
    CoreField("country", "Country", "text", "ISO 3166-1 alpha-2 code"),
    CoreField("region", "Region", "text", "State, province or region"),
    CoreField("city", "City", "text", "City"),
    CoreField("founded_year", "Founded", "number", "Year the company was founded"),
    CoreField("description", "Description", "text", "Free-text description"),
    CoreField("crm_id", "CRM id", "text", "Id of the record in the CRM it came from"),
    CoreField("source", "Source", "text", "Where the record came from (demo, import, crm)"),
    CoreField("created_at", "Created", "datetime", "When the record was created here (UTC)"),
    CoreField("updated_at", "Updated", "datetime", "When the record last changed (UTC)"),
    CoreField("archived_at", "Archived", "datetime", "When the record was archived (UTC)"),
    CoreField("tags", "Tags", "list", "Tags attached to the record"),
]

PERSON_FIELDS = [
    CoreField("full_name", "Name", "text", "Full name"),
    CoreField("first_name", "First name", "text", "Given name"),
    CoreField("last_name", "Last name", "text", "Family name"),
    CoreField("email", "Email", "text", "Normalized email address, an identity key"),
    CoreField("linkedin_url", "LinkedIn URL", "text", "Normalized LinkedIn profile URL"),
    CoreField("phone", "Phone", "text", "Phone number in E.164 form"),
    CoreField("title", "Title", "text", "Job title"),
    CoreField("seniority", "Seniority", "text", "Seniority level, lower case"),
    CoreField("department", "Department", "text", "Department, lower case"),
    CoreField("company_domain", "Company domain", "text", "Domain of the person's company"),
    CoreField("country", "Country", "text", "ISO 3166-1 alpha-2 code"),
    CoreField("city", "City", "text", "City"),
    CoreField("crm_id", "CRM id", "text", "Id of the record in the CRM it came from"),
    CoreField("source", "Source", "text", "Where the record came from (demo, import, crm)"),
    CoreField("created_at", "Created", "datetime", "When the record was created here (UTC)"),
    CoreField("updated_at", "Updated", "datetime", "When the record last changed (UTC)"),
    CoreField("archived_at", "Archived", "datetime", "When the record was archived (UTC)"),
    CoreField("tags", "Tags", "list", "Tags attached to the record"),
]

CORE_FIELDS = {"companies": COMPANY_FIELDS, "people": PERSON_FIELDS}


def seed_core_fields(conn: Connection, workspace_id: int) -> None:
    """Insert the core fields of both entities into a workspace's catalog (idempotent)."""
    table = FieldDef.__table__
    existing = {
        (row.entity, row.key)
        for row in conn.execute(
            sa.select(table.c.entity, table.c.key).where(table.c.workspace_id == workspace_id)
        )
    }
    rows = [
        {
            "workspace_id": workspace_id, "entity": entity, "key": f.key, "label": f.label,
            "type": f.type, "source": "core", "description": f.description,
            "is_core": True, "hidden": False,
        }
        for entity, fields in CORE_FIELDS.items()
        for f in fields
        if (entity, f.key) not in existing
    ]
    if rows:
        conn.execute(sa.insert(table).values(created_at=sa.func.current_timestamp()), rows)


def catalog(conn: Connection, workspace_id: int, entity: str) -> list[dict]:
    """The workspace's fields of one entity, core first, as plain dicts."""
    if entity not in ENTITIES:
        raise ValueError(f"unknown entity {entity!r}: use one of {', '.join(ENTITIES)}")
    table = FieldDef.__table__
    rows = conn.execute(
        sa.select(table)
        .where(table.c.workspace_id == workspace_id, table.c.entity == entity)
        .order_by(table.c.is_core.desc(), table.c.id)
    )
    return [dict(row._mapping) for row in rows]
