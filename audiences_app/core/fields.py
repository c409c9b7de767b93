"""Field health (fill rates, low-cardinality values, last update) and the catalog's custom fields.

Fill rates stay fast at millions of records because each kind of field costs one pass, not
one pass per field:
- every core column in ONE aggregate query: count(col) and the newest updated_at among the
  records that hold a value, per column, in a single scan;
- every custom field in ONE query that walks each record's attributes once
  (`json_each` on SQLite, `jsonb_each` on PostgreSQL) grouped by key — the catalog says
  which keys are fields;
- distinct values only for indexed core columns, through their (workspace_id, column, id)
  index: a capped `SELECT DISTINCT … LIMIT n+1` stops early on high-cardinality columns,
  and the top values are listed only when there are at most n.
Every query may run under a time limit; a part that runs out of time comes back as None
("not known yet") instead of making the page wait. Figures cover every record of the
workspace, archived ones included (as `entity_counts` does).

Custom fields live in the records' attributes and are described in the catalog; hiding one
only flags the catalog entry: no value is ever deleted.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from audiences_app.core.catalog import CORE_FIELDS, ENTITIES, catalog
from audiences_app.core.db import QueryTimeout, is_sqlite, time_limit
from audiences_app.core.models import COMPANY_SORTABLE, PERSON_SORTABLE, CompanyTag, FieldDef, PersonTag, Tag, utcnow
from audiences_app.core.records import TABLES, display_value

LOW_CARDINALITY = 20
"""A field with at most this many distinct values lists them (with counts)."""
CUSTOM_TYPES = ("text", "number", "date", "boolean")
CUSTOM_KEY = re.compile(r"[a-z][a-z0-9_]{0,79}")
CATALOG = FieldDef.__table__
_IDENTITY = {"domain", "email", "linkedin_url", "phone", "crm_id"}
_DISTINCT_COLUMNS = {
    "companies": [c for c in COMPANY_SORTABLE if c not in _IDENTITY | {"created_at", "updated_at"}],
    "people": [c for c in PERSON_SORTABLE if c not in _IDENTITY | {"created_at", "updated_at"}],
}
_TAG_LINKS = {"companies": (CompanyTag.__table__, "company_id"), "people": (PersonTag.__table__, "person_id")}


@dataclass(frozen=True)
class FieldHealth:
    key: str
    label: str
    type: str
    source: str
    is_core: bool
    hidden: bool
    description: str
    total: int
    filled: int | None
    """Records holding a value; None when it could not be counted in time."""
    last_updated: datetime | None
    """Newest update time among the records holding a value."""
    distinct: int | None = None
    """Number of distinct values, when at most LOW_CARDINALITY (else None)."""
    values: list[dict] | None = None
    """[{value, count}] most common first, for low-cardinality fields."""

    @property
    def percent(self) -> float | None:
        if self.filled is None:
            return None
        return round(100 * self.filled / self.total, 1) if self.total else 0.0


def _table(entity: str) -> sa.Table:
    if entity not in ENTITIES:
        raise ValueError(f"Unknown entity {entity!r}: use one of {', '.join(ENTITIES)}.")
    return TABLES[entity]


@contextlib.contextmanager
def _limited(conn: Connection, milliseconds: int | None):
    """A savepoint (or transaction) with an optional time limit; QueryTimeout propagates."""
    with conn.begin_nested() if conn.in_transaction() else conn.begin():
        if milliseconds is None:
            yield
        else:
            with time_limit(conn, milliseconds):
                yield


def _timed(conn: Connection, milliseconds: int | None, query: Any) -> list[sa.Row] | None:
    try:
        with _limited(conn, milliseconds):
            return list(conn.execute(query))
    except QueryTimeout:
        return None


def field_health(conn: Connection, workspace_id: int, entity: str, *, include_hidden: bool = True,
                 distinct_limit: int = LOW_CARDINALITY, time_limit_ms: int | None = None) -> list[FieldHealth]:
    """Every catalog field of `entity` with its fill count, %, last update and common values."""
    table = _table(entity)
    fields = [f for f in catalog(conn, workspace_id, entity) if include_hidden or not f["hidden"]]
    in_workspace = table.c.workspace_id == workspace_id
    columns = [f["key"] for f in fields if f["is_core"] and f["key"] in table.c]

    aggregates = [sa.func.count().label("_total")]
    for position, key in enumerate(columns):
        column = table.c[key]
        aggregates.append(sa.func.count(column).label(f"n{position}"))
        aggregates.append(sa.func.max(sa.case((column.is_not(None), table.c.updated_at))).label(f"u{position}"))
    row = _timed(conn, time_limit_ms, sa.select(*aggregates).where(in_workspace))
    total = row[0]._mapping["_total"] if row else conn.execute(
        sa.select(sa.func.count()).select_from(table).where(in_workspace)).scalar_one()
    stats: dict[str, tuple[int | None, datetime | None]] = {}
    for position, key in enumerate(columns):
        stats[key] = (row[0]._mapping[f"n{position}"], _as_datetime(row[0]._mapping[f"u{position}"])) if row \
            else (None, None)

    custom = [f["key"] for f in fields if not f["is_core"]]
    if custom:
        found = _timed(conn, time_limit_ms, _attribute_counts(conn, table, workspace_id))
        counts = {key: (count, _as_datetime(updated)) for key, count, updated in found} if found is not None else None
        for key in custom:
            stats[key] = counts.get(key, (0, None)) if counts is not None else (None, None)
    if any(f["key"] == "tags" for f in fields):
        stats["tags"] = _tagged(conn, entity, workspace_id, time_limit_ms)

    listed = {key: _common_values(conn, table, workspace_id, key, distinct_limit, time_limit_ms)
              for key in _DISTINCT_COLUMNS[entity] if key in columns}
    health = []
    for f in fields:
        filled, updated = stats.get(f["key"], (None, None))
        distinct, values = listed.get(f["key"], (None, None))
        health.append(FieldHealth(
            key=f["key"], label=f["label"], type=f["type"], source=f["source"], is_core=f["is_core"],
            hidden=f["hidden"], description=f["description"], total=total, filled=filled,
            last_updated=updated, distinct=distinct, values=values,
        ))
    return health


def _as_datetime(value: Any) -> datetime | None:
    """SQLite hands back max() over a CASE as text; read it as the datetime it is."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def _attribute_counts(conn: Connection, table: sa.Table, workspace_id: int) -> sa.TextClause:
    """(key, records holding a non-null value, newest updated_at) for every attribute key."""
    name = conn.dialect.identifier_preparer.format_table(table)
    if is_sqlite(conn):
        sql = (f"SELECT j.key, count(*), max(t.updated_at) FROM {name} AS t, json_each(t.attributes) AS j"
               " WHERE t.workspace_id = :ws AND j.type != 'null' GROUP BY j.key")
    else:
        sql = (f"SELECT j.key, count(*), max(t.updated_at) FROM {name} AS t, jsonb_each(t.attributes) AS j"
               " WHERE t.workspace_id = :ws AND jsonb_typeof(j.value) != 'null' GROUP BY j.key")
    return sa.text(sql).bindparams(ws=workspace_id)


def _tagged(conn: Connection, entity: str, workspace_id: int, time_limit_ms: int | None):
    link, column = _TAG_LINKS[entity]
    tag = Tag.__table__
    query = (sa.select(sa.func.count(sa.distinct(link.c[column])), sa.literal(None))
             .join(tag, tag.c.id == link.c.tag_id).where(tag.c.workspace_id == workspace_id))
    rows = _timed(conn, time_limit_ms, query)
    return (rows[0][0], None) if rows else (None, None)


def _common_values(conn: Connection, table: sa.Table, workspace_id: int, key: str, limit: int,
                   time_limit_ms: int | None) -> tuple[int | None, list[dict] | None]:
    column = table.c[key]
    scope = [table.c.workspace_id == workspace_id, column.is_not(None)]
    distinct = sa.select(column).where(*scope).distinct().limit(limit + 1).subquery()
    rows = _timed(conn, time_limit_ms, sa.select(sa.func.count()).select_from(distinct))
    if rows is None or rows[0][0] > limit:
        return None, None
    top = _timed(conn, time_limit_ms, sa.select(column, sa.func.count().label("n")).where(*scope)
                 .group_by(column).order_by(sa.desc("n"), column))
    if top is None:
        return None, None
    return rows[0][0], [{"value": display_value(key, value), "count": count} for value, count in top]


def field_values(conn: Connection, workspace_id: int, entity: str, key: str, *, limit: int = 20,
                 time_limit_ms: int | None = None) -> dict:
    """A field's value distribution for its detail chart: top values, the rest, and empties.

    Returns {"values": [{value, count}], "other": n, "empty": n}, or {"values": None, …}
    when the query ran out of time.
    """
    table = _table(entity)
    fields = {f["key"]: f for f in catalog(conn, workspace_id, entity)}
    if key not in fields or key == "tags":
        raise ValueError(f"{entity} have no field {key!r} with values to chart.")
    expression = table.c[key] if key in table.c else table.c.attributes[key].as_string()
    in_workspace = table.c.workspace_id == workspace_id
    value = expression.label("value")
    grouped = _timed(conn, time_limit_ms, sa.select(value, sa.func.count().label("n")).where(in_workspace)
                     .group_by(value).order_by(sa.desc("n"), value))
    if grouped is None:
        return {"values": None, "other": None, "empty": None}
    empty = sum(n for v, n in grouped if v is None or v == "")
    filled = [(v, n) for v, n in grouped if v is not None and v != ""]
    return {
        "values": [{"value": display_value(key, v), "count": n} for v, n in filled[:limit]],
        "other": sum(n for _, n in filled[limit:]),
        "empty": empty,
    }


# -- custom fields ------------------------------------------------------------------------------

def _check_entity_and_key(entity: str, key: str) -> None:
    _table(entity)
    if not CUSTOM_KEY.fullmatch(key):
        raise ValueError(f"{key!r} is not a valid field key: use lower-case letters, digits and _, "
                         "starting with a letter (at most 80 characters).")
    if key in {f.key for f in CORE_FIELDS[entity]} or key in TABLES[entity].c or key == "location":
        raise ValueError(f"{key!r} is a core field of {entity}; choose another key.")


def _check_type(kind: str) -> None:
    if kind not in CUSTOM_TYPES:
        raise ValueError(f"Field type {kind!r} is not one of {', '.join(CUSTOM_TYPES)}.")


def _insert_ignoring_existing(conn: Connection, rows: list[dict]) -> None:
    dialect = sqlite if is_sqlite(conn) else postgresql
    statement = dialect.insert(CATALOG).on_conflict_do_nothing(index_elements=["workspace_id", "entity", "key"])
    conn.execute(statement, rows)


def ensure_custom_fields(conn: Connection, workspace_id: int, entity: str, fields: dict[str, tuple[str, str]],
                         *, source: str = "import") -> list[str]:
    """Add the missing ones of {key: (type, label)} to the catalog; existing entries stay as they are."""
    if not fields:
        return []
    existing = set(conn.execute(sa.select(CATALOG.c.key).where(
        CATALOG.c.workspace_id == workspace_id, CATALOG.c.entity == entity, CATALOG.c.key.in_(list(fields)))).scalars())
    rows = []
    for key, (kind, label) in fields.items():
        if key in existing:
            continue
        _check_entity_and_key(entity, key)
        _check_type(kind)
        rows.append({"workspace_id": workspace_id, "entity": entity, "key": key, "label": label[:120],
                     "type": kind, "source": source, "description": "", "is_core": False, "hidden": False,
                     "created_at": utcnow()})
    if rows:
        _insert_ignoring_existing(conn, rows)
    return [r["key"] for r in rows]


def _label_key(label: str) -> str:
    key = re.sub(r"[^0-9a-z]+", "_", label.casefold()).strip("_")[:80].strip("_") or "field"
    return key if key[0].isalpha() else f"f_{key}"[:80]


def _entry(conn: Connection, workspace_id: int, entity: str, key: str) -> dict:
    row = conn.execute(sa.select(CATALOG).where(
        CATALOG.c.workspace_id == workspace_id, CATALOG.c.entity == entity, CATALOG.c.key == key)).first()
    if row is None:
        raise LookupError(f"{entity} have no field {key!r}.")
    return dict(row._mapping)


def add_custom_field(conn: Connection, workspace_id: int, entity: str, label: str, kind: str = "text", *,
                     key: str | None = None, description: str = "", source: str = "custom") -> dict:
    """A new custom field in the catalog (its values live in the records' attributes)."""
    label = " ".join((label or "").split())
    if not label:
        raise ValueError("A field needs a label.")
    key = key or _label_key(label)
    _check_entity_and_key(entity, key)
    _check_type(kind)
    exists = conn.execute(sa.select(CATALOG.c.id).where(
        CATALOG.c.workspace_id == workspace_id, CATALOG.c.entity == entity, CATALOG.c.key == key)).first()
    if exists:
        raise ValueError(f"{entity} already have a field {key!r}.")
    conn.execute(sa.insert(CATALOG).values(
        workspace_id=workspace_id, entity=entity, key=key, label=label[:120], type=kind, source=source,
        description=description[:500], is_core=False, hidden=False, created_at=utcnow()))
    return _entry(conn, workspace_id, entity, key)


def count_values(conn: Connection, workspace_id: int, entity: str, key: str) -> int:
    """How many records hold a value for the custom field `key`."""
    table = _table(entity)
    value = table.c.attributes[key].as_string()
    return conn.execute(sa.select(sa.func.count(value)).where(table.c.workspace_id == workspace_id)).scalar_one()


def edit_custom_field(conn: Connection, workspace_id: int, entity: str, key: str, *, label: str | None = None,
                      description: str | None = None, kind: str | None = None) -> dict:
    """Change a custom field's label, description or (while it holds no values) type."""
    entry = _entry(conn, workspace_id, entity, key)
    if entry["is_core"]:
        raise ValueError(f"{key!r} is a core field: its definition cannot change.")
    values: dict[str, Any] = {}
    if label is not None:
        label = " ".join(label.split())
        if not label:
            raise ValueError("A field needs a label.")
        values["label"] = label[:120]
    if description is not None:
        values["description"] = description[:500]
    if kind is not None and kind != entry["type"]:
        _check_type(kind)
        held = count_values(conn, workspace_id, entity, key)
        if held:
            raise ValueError(f"Field {key!r} holds {held:,} {entry['type']} values: its type cannot become {kind}. "
                             "Add a new field of that type instead.")
        values["type"] = kind
    if values:
        conn.execute(sa.update(CATALOG).where(CATALOG.c.id == entry["id"]).values(**values))
    return _entry(conn, workspace_id, entity, key)


def set_field_hidden(conn: Connection, workspace_id: int, entity: str, key: str, hidden: bool = True) -> dict:
    """Hide (or show again) a custom field; its values stay on every record."""
    entry = _entry(conn, workspace_id, entity, key)
    if entry["is_core"]:
        raise ValueError(f"{key!r} is a core field and is always shown.")
    conn.execute(sa.update(CATALOG).where(CATALOG.c.id == entry["id"]).values(hidden=hidden))
    return _entry(conn, workspace_id, entity, key)
