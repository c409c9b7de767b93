"""Browsing records: keyset pages with sort and quick search, capped counts, one record's fields.

Pages use keyset (seek) paging over the (workspace_id, column, id) indexes, so page 20,000 costs
what page 1 costs. Empty values sort last in both directions: a cursor walks the rows that
have a value first, then the rows that have none, ordered by id.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from audiences_app.core import text_search
from audiences_app.core.catalog import CORE_FIELDS, ENTITIES, catalog
from audiences_app.core.db import QueryTimeout, time_limit
from audiences_app.core.models import (
    COMPANY_SORTABLE, PERSON_SORTABLE, Company, CompanyTag, Person, PersonTag, Tag,
)
from audiences_app.core.trigram_sample import TrigramSample

TABLES: dict[str, sa.Table] = {"companies": Company.__table__, "people": Person.__table__}
TAG_LINKS: dict[str, tuple[sa.Table, str]] = {
    "companies": (CompanyTag.__table__, "company_id"),
    "people": (PersonTag.__table__, "person_id"),
}
SORTABLE: dict[str, list[str]] = {
    "companies": ["id", *COMPANY_SORTABLE],
    "people": ["id", *PERSON_SORTABLE],
}
# Quick search: "name or domain contains", as the segment operator `contains` compares (A–Z
# case-insensitive), served by the trigram index on these columns.
SEARCHED: dict[str, tuple[str, ...]] = {entity: text_search.SEARCHABLE[table.name] for entity, table in TABLES.items()}
DEFAULT_COLUMNS: dict[str, list[str]] = {
    "companies": ["name", "domain", "industry", "employee_count", "country", "city", "created_at"],
    "people": ["full_name", "email", "title", "company_domain", "country", "created_at"],
}
# Columns a browser may show: the core catalog fields stored as columns (tags live elsewhere).
COLUMNS: dict[str, list[str]] = {
    entity: [f.key for f in CORE_FIELDS[entity] if f.key in TABLES[entity].c]
    for entity in ENTITIES
}
MAX_SEARCH_LENGTH = 200
MAX_PAGE_SIZE = 200


@dataclass(frozen=True)
class RecordPage:
    rows: list[dict[str, str]]
    next_cursor: str | None


@dataclass(frozen=True)
class RecordCount:
    """A count that may be a lower bound (`capped`) or not known yet (`value` is None)."""

    value: int | None
    capped: bool

    def display(self) -> str:
        if self.value is None:
            return "Counting…"
        return f"{self.value:,}+" if self.capped else f"{self.value:,}"


def _table(entity: str) -> sa.Table:
    if entity not in TABLES:
        raise ValueError(f"Unknown entity {entity!r}: use one of {', '.join(ENTITIES)}.")
    return TABLES[entity]


def _where(
    conn: Connection, table: sa.Table, workspace_id: int, search: str, where: sa.ColumnElement | None
) -> list:
    """The workspace's live records, narrowed by quick search and by a caller's clause (a segment)."""
    clauses = [table.c.workspace_id == workspace_id, table.c.archived_at.is_(None)]
    if where is not None:
        clauses.append(where)
    term = " ".join(search.split())
    if len(term) > MAX_SEARCH_LENGTH:
        raise ValueError(f"Search is limited to {MAX_SEARCH_LENGTH} characters.")
    if term:
        clauses.append(text_search.contains(table, SEARCHED[_entity_of(table)], term, conn.dialect.name,
                                            TrigramSample(conn, workspace_id)))
    return clauses


def _entity_of(table: sa.Table) -> str:
    return next(entity for entity, t in TABLES.items() if t is table)


# -- cursors ---------------------------------------------------------------------------------

def _encode_cursor(phase: str, value: Any, row_id: int) -> str:
    if isinstance(value, datetime):
        value = {"dt": value.isoformat()}
    raw = json.dumps([phase, value, row_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str, column: sa.Column) -> tuple[str, Any, int]:
    expired = ValueError("This page link is no longer valid: start again from the first page.")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        phase, value, row_id = json.loads(raw)
    except (binascii.Error, ValueError, TypeError):
        raise expired from None
    if phase not in ("v", "n") or not isinstance(row_id, int) or isinstance(row_id, bool):
        raise expired
    if phase == "n":
        return phase, None, row_id
    python_type = column.type.python_type
    if python_type is datetime:
        if not (isinstance(value, dict) and isinstance(value.get("dt"), str)):
            raise expired
        try:
            value = datetime.fromisoformat(value["dt"])
        except ValueError:
            raise expired from None
    elif not isinstance(value, python_type) or isinstance(value, bool):
        raise expired
    return phase, value, row_id


# -- pages -----------------------------------------------------------------------------------

def browse(
    conn: Connection,
    workspace_id: int,
    entity: str,
    *,
    columns: list[str],
    sort: str = "id",
    descending: bool = False,
    search: str = "",
    where: sa.ColumnElement | None = None,
    cursor: str | None = None,
    page_size: int = 50,
) -> RecordPage:
    """One page of records (of those `where` keeps), display-ready, and the next page's cursor."""
    table = _table(entity)
    unknown = [c for c in columns if c not in COLUMNS[entity]]
    if unknown:
        raise ValueError(f"Unknown column {unknown[0]!r} for {entity}.")
    if sort not in SORTABLE[entity]:
        raise ValueError(f"Cannot sort {entity} by {sort!r}.")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"Page size must be between 1 and {MAX_PAGE_SIZE}.")
    key, row_id = table.c[sort], table.c.id
    base = _where(conn, table, workspace_id, search, where)
    selected = [row_id, *(table.c[c] for c in columns if c != "id")]
    if sort not in columns:
        selected.append(key.label("_sort_key"))
    phase, after_value, after_id = _decode_cursor(cursor, key) if cursor else ("v", None, None)

    def seek(phase: str, limit: int) -> list[sa.Row]:
        if phase == "v":
            clauses = [*base, key.is_not(None)]
            if after_id is not None and cursor_phase == "v":
                position = sa.tuple_(key, row_id)
                target = sa.tuple_(sa.literal(after_value, key.type), sa.literal(after_id))
                clauses.append(position < target if descending else position > target)
            order = [key.desc(), row_id.desc()] if descending else [key, row_id]
        else:
            clauses = [*base, key.is_(None)]
            if after_id is not None and cursor_phase == "n":
                clauses.append(row_id < after_id if descending else row_id > after_id)
            order = [row_id.desc()] if descending else [row_id]
        query = sa.select(*selected).where(*clauses).order_by(*order).limit(limit)
        return list(conn.execute(query))

    cursor_phase = phase
    rows = seek(phase, page_size + 1)
    if phase == "v" and len(rows) <= page_size and key.nullable:
        rows += seek("n", page_size + 1 - len(rows))
    has_more = len(rows) > page_size
    rows = rows[:page_size]
    next_cursor = None
    if has_more:
        last = rows[-1]._mapping
        last_value = last[key.name] if key.name in last else last["_sort_key"]
        next_cursor = _encode_cursor("v" if last_value is not None else "n", last_value, last["id"])
    shown = ["id", *(c for c in columns if c != "id")]
    return RecordPage(
        rows=[{c: display_value(c, row._mapping[c]) for c in shown} for row in rows],
        next_cursor=next_cursor,
    )


def display_value(key: str, value: Any) -> str:
    """How a stored value reads in the UI: thousands separators, minutes, empty as ''."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if key == "annual_revenue" and isinstance(value, int):
        return f"${value:,}"
    if isinstance(value, int) and key not in ("id", "founded_year"):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, (list, tuple)):
        return ", ".join(display_value(key, v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


# -- counts ----------------------------------------------------------------------------------

def count_records(
    conn: Connection,
    workspace_id: int,
    entity: str,
    *,
    search: str = "",
    where: sa.ColumnElement | None = None,
    cap: int = 10_000,
    time_limit_ms: int = 300,
) -> RecordCount:
    """Count up to `cap` within `time_limit_ms`: exact, a lower bound ("10,000+"), or unknown."""
    table = _table(entity)
    limited = sa.select(sa.literal(1)).where(*_where(conn, table, workspace_id, search, where)).limit(cap + 1)
    query = sa.select(sa.func.count()).select_from(limited.subquery())
    try:
        with conn.begin_nested() if conn.in_transaction() else conn.begin():
            with time_limit(conn, time_limit_ms):
                value = conn.execute(query).scalar_one()
    except QueryTimeout:
        return RecordCount(value=None, capped=True)
    if value > cap:
        return RecordCount(value=cap, capped=True)
    return RecordCount(value=value, capped=False)


def exact_count(
    conn: Connection, workspace_id: int, entity: str, *, search: str = "",
    where: sa.ColumnElement | None = None,
) -> int:
    """The exact number of records matching `search`; may take seconds at millions of rows."""
    table = _table(entity)
    query = sa.select(sa.func.count()).select_from(table).where(
        *_where(conn, table, workspace_id, search, where)
    )
    return conn.execute(query).scalar_one()


def entity_counts(conn: Connection, workspace_id: int) -> dict[str, int]:
    """Records per entity in one workspace, archived ones included."""
    return {
        entity: conn.execute(
            sa.select(sa.func.count()).select_from(table).where(table.c.workspace_id == workspace_id)
        ).scalar_one()
        for entity, table in TABLES.items()
    }


# -- one record ------------------------------------------------------------------------------

def record_detail(
    conn: Connection, workspace_id: int, entity: str, record_id: int
) -> list[dict[str, str]]:
    """Every field of one record, core fields then custom attributes, as label/key/value."""
    table = _table(entity)
    row = conn.execute(
        sa.select(table).where(table.c.id == record_id, table.c.workspace_id == workspace_id)
    ).first()
    if row is None:
        raise LookupError(f"No {entity[:-1] if entity == 'companies' else 'person'} #{record_id} here.")
    values = dict(row._mapping)
    attributes: dict = values.pop("attributes") or {}
    fields = {f["key"]: f for f in catalog(conn, workspace_id, entity)}
    link, link_column = TAG_LINKS[entity]
    tag = Tag.__table__
    values["tags"] = list(
        conn.execute(
            sa.select(tag.c.name)
            .join(link, link.c.tag_id == tag.c.id)
            .where(link.c[link_column] == record_id)
            .order_by(tag.c.name)
        ).scalars()
    )
    if entity == "people" and values.get("company_id") is not None:
        company = TABLES["companies"]
        values["company_id"] = conn.execute(
            sa.select(company.c.name).where(company.c.id == values["company_id"])
        ).scalar() or values["company_id"]
    detail = [{"label": "Id", "key": "id", "value": str(values.pop("id"))}]
    values.pop("workspace_id")
    labels = {"company_id": "Company"}
    for key, value in values.items():
        label = fields[key]["label"] if key in fields else labels.get(key, key)
        detail.append({"label": label, "key": key, "value": display_value(key, value)})
    for key in sorted(attributes):
        label = fields[key]["label"] if key in fields else key.replace("_", " ").capitalize()
        detail.append({"label": label, "key": key, "value": display_value(key, attributes[key])})
    return detail
