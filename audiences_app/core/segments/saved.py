"""Saved segments: a name, an entity, an owner and a history of immutable filter versions.

A segment is dynamic: its members are whoever its current version's filter selects when it
is evaluated; no member id is ever stored. Every save adds a version (the filter, who saved
it, a note); older versions stay readable, and `diff_against_saved` shows, before a save, who
would join and who would leave. The list shows the count found when the segment was last
evaluated (`refresh_count`), because counting every segment on every visit would not scale.

Writes run in the caller's transaction (`with write_transaction(engine) as conn:`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from audiences_app.core.catalog import ENTITIES
from audiences_app.core.models import utcnow
from audiences_app.core.segments.compiler import segment_query
from audiences_app.core.segments.describe import describe_node
from audiences_app.core.segments.errors import FilterError
from audiences_app.core.segments.fields import TABLES
from audiences_app.core.segments.resolve import (
    SEGMENT, VERSION, count_clause, member_clause, parse_in_workspace,
)
from audiences_app.core.segments.resolve import resolver as _resolver

MAX_NAME_LENGTH = 120
MAX_NOTE_LENGTH = 500
MAX_OWNER_LENGTH = 120
LABELS = {"companies": ("name", "domain"), "people": ("full_name", "email")}
"""The columns that name a record in samples, first non-blank wins (then '#id')."""
_LISTED = ("id", "name", "entity", "owner", "current_version", "last_count", "last_evaluated_at",
           "created_at", "updated_at", "archived_at")


def resolver(conn: Connection, workspace_id: int, *, entity: str | None = None) -> Callable[[int], Any]:
    """Segment id → its current filter, for compiling `in_segment` / `not_in_segment`.

    Pass `entity` (the entity of the filter being compiled): a segment of the other entity is
    then a FilterError instead of being read against the wrong catalog.
    """
    return _resolver(conn, workspace_id, entity=entity)


# -- reading -----------------------------------------------------------------------------------

def _summary(row: sa.Row) -> dict:
    data = {key: row._mapping[key] for key in _LISTED}
    data["version"] = data.pop("current_version")
    return data


def list_segments(conn: Connection, workspace_id: int, *, include_archived: bool = False) -> list[dict]:
    """The workspace's segments by name: id, name, entity, owner, version, last_count (None when
    never evaluated since its last save), last_evaluated_at, created_at, updated_at, archived_at."""
    query = sa.select(*(SEGMENT.c[key] for key in _LISTED)).where(SEGMENT.c.workspace_id == workspace_id)
    if not include_archived:
        query = query.where(SEGMENT.c.archived_at.is_(None))
    return [_summary(row) for row in conn.execute(query.order_by(sa.func.lower(SEGMENT.c.name), SEGMENT.c.id))]


def _segment(conn: Connection, workspace_id: int, segment_id: int) -> sa.Row:
    row = conn.execute(
        sa.select(*(SEGMENT.c[key] for key in _LISTED))
        .where(SEGMENT.c.id == segment_id, SEGMENT.c.workspace_id == workspace_id)
    ).first()
    if row is None:
        raise LookupError(f"There is no segment #{segment_id} in this workspace.")
    return row


def _version_dict(row: sa.Row) -> dict:
    return {"version": row.version, "filter": row.filter, "note": row.note, "owner": row.owner,
            "created_at": row.created_at}


def _version_query(workspace_id: int, segment_id: int) -> sa.Select:
    return sa.select(VERSION).where(VERSION.c.segment_id == segment_id, VERSION.c.workspace_id == workspace_id)


def get_version(conn: Connection, workspace_id: int, segment_id: int, version: int) -> dict:
    """One version: version, filter, note, owner, created_at; LookupError if there is none."""
    _segment(conn, workspace_id, segment_id)
    row = conn.execute(_version_query(workspace_id, segment_id).where(VERSION.c.version == version)).first()
    if row is None:
        raise LookupError(f"Segment #{segment_id} has no version {version}.")
    return _version_dict(row)


def segment_versions(conn: Connection, workspace_id: int, segment_id: int) -> list[dict]:
    """Every version of a segment, newest first."""
    _segment(conn, workspace_id, segment_id)
    rows = conn.execute(_version_query(workspace_id, segment_id).order_by(VERSION.c.version.desc()))
    return [_version_dict(row) for row in rows]


def segment_names(conn: Connection, workspace_id: int) -> dict[int, str]:
    """Every segment's name by id (archived ones too), for descriptions of `in_segment`."""
    rows = conn.execute(sa.select(SEGMENT.c.id, SEGMENT.c.name).where(SEGMENT.c.workspace_id == workspace_id))
    return {segment_id: name for segment_id, name in rows}


def describe_in_workspace(conn: Connection, workspace_id: int, entity: str, filter_json: Any) -> str:
    """The filter in English, segments by name; a filter that no longer runs (a field left
    the catalog, an included segment was deleted) says why instead."""
    try:
        node = parse_in_workspace(conn, workspace_id, entity, filter_json)
    except FilterError as error:
        return f"This filter cannot run any more: {error}"
    return describe_node(node, entity=entity, segment_names=segment_names(conn, workspace_id))


def get_segment(conn: Connection, workspace_id: int, segment_id: int) -> dict:
    """A segment as `list_segments` has it, plus its current `filter`, the `note` of that
    version and an English `description`. LookupError when it is not in the workspace."""
    segment = _summary(_segment(conn, workspace_id, segment_id))
    current = get_version(conn, workspace_id, segment_id, segment["version"])
    segment["filter"] = current["filter"]
    segment["note"] = current["note"]
    segment["description"] = describe_in_workspace(conn, workspace_id, segment["entity"], current["filter"])
    return segment


# -- writing -----------------------------------------------------------------------------------

def _text(value: str, what: str, limit: int, *, required: bool) -> str:
    if not isinstance(value, str):
        raise ValueError(f"The {what} must be text.")
    text = " ".join(value.split())
    if required and not text:
        raise ValueError(f"A segment needs a {what}.")
    if len(text) > limit:
        raise ValueError(f"The {what} is limited to {limit} characters; this one has {len(text)}.")
    return text


def _check_name_free(conn: Connection, workspace_id: int, name: str, *, other_than: int | None) -> None:
    query = sa.select(SEGMENT.c.id).where(
        SEGMENT.c.workspace_id == workspace_id, SEGMENT.c.archived_at.is_(None),
        sa.func.lower(SEGMENT.c.name) == name.lower(),
    )
    if other_than is not None:
        query = query.where(SEGMENT.c.id != other_than)
    found = conn.execute(query.limit(1)).scalar()
    if found is not None:
        raise ValueError(f"Another segment is already called {name!r} (#{found}): choose another name.")


def _as_json(filter_json: Any) -> Any:
    """The filter as stored: plain JSON (a copy, so later changes by the caller do not leak)."""
    try:
        return json.loads(json.dumps(filter_json, allow_nan=False))
    except (TypeError, ValueError) as error:
        raise FilterError("", f"the filter is not JSON: {error}") from None


def save_segment(
    conn: Connection,
    workspace_id: int,
    *,
    name: str,
    entity: str,
    filter_json: dict,
    owner: str,
    segment_id: int | None = None,
    note: str = "",
) -> dict:
    """Create a segment (version 1), or add the next version to `segment_id`; return it as
    `get_segment` does.

    The filter must run in the workspace (FilterError naming the node otherwise), including
    every segment it includes, and must not include the segment itself, however indirectly.
    The name must be non-blank, at most 120 characters and not the name of another live
    segment of the workspace, ignoring case (ValueError). A segment keeps its entity.
    Saving resets the last count, which belonged to the previous filter.
    """
    name = _text(name, "name", MAX_NAME_LENGTH, required=True)
    owner = _text(owner, "owner", MAX_OWNER_LENGTH, required=False)
    note = _text(note, "note", MAX_NOTE_LENGTH, required=False)
    if entity not in ENTITIES:
        raise ValueError(f"Unknown entity {entity!r}: use one of {', '.join(ENTITIES)}.")
    if segment_id is not None:
        existing = _segment(conn, workspace_id, segment_id)
        if existing.entity != entity:
            raise ValueError(
                f"Segment #{segment_id} is a segment of {existing.entity}; save a filter of {entity} as a new segment."
            )
    _check_name_free(conn, workspace_id, name, other_than=segment_id)
    stored = _as_json(filter_json)
    parse_in_workspace(conn, workspace_id, entity, stored,
                       pending={segment_id: stored} if segment_id is not None else None)
    now = utcnow()
    if segment_id is None:
        segment_id = conn.execute(
            sa.insert(SEGMENT).values(
                workspace_id=workspace_id, entity=entity, name=name, owner=owner, current_version=1,
                created_at=now, updated_at=now,
            ).returning(SEGMENT.c.id)
        ).scalar_one()
        version = 1
    else:
        version = existing.current_version + 1
        conn.execute(
            sa.update(SEGMENT).where(SEGMENT.c.id == segment_id).values(
                name=name, current_version=version, updated_at=now, last_count=None, last_evaluated_at=None,
            )
        )
    conn.execute(sa.insert(VERSION).values(
        segment_id=segment_id, workspace_id=workspace_id, version=version, filter=stored, note=note,
        owner=owner, created_at=now,
    ))
    return get_segment(conn, workspace_id, segment_id)


def duplicate_segment(
    conn: Connection, workspace_id: int, segment_id: int, *, owner: str, name: str | None = None
) -> dict:
    """A new segment with the current filter of `segment_id`, named `name` or
    "<name> (copy)", "<name> (copy 2)", … whichever is free."""
    original = get_segment(conn, workspace_id, segment_id)
    if name is None:
        name = _free_copy_name(conn, workspace_id, original["name"])
    return save_segment(
        conn, workspace_id, name=name, entity=original["entity"], filter_json=original["filter"], owner=owner,
        note=f"Duplicated from #{segment_id} {original['name']!r}, version {original['version']}",
    )


def _free_copy_name(conn: Connection, workspace_id: int, name: str) -> str:
    taken = {n.lower() for n in conn.execute(
        sa.select(SEGMENT.c.name).where(SEGMENT.c.workspace_id == workspace_id, SEGMENT.c.archived_at.is_(None))
    ).scalars()}
    number = 1
    while True:
        suffix = " (copy)" if number == 1 else f" (copy {number})"
        candidate = name[: MAX_NAME_LENGTH - len(suffix)] + suffix
        if candidate.lower() not in taken:
            return candidate
        number += 1


def archive_segment(conn: Connection, workspace_id: int, segment_id: int) -> None:
    """Hide a segment from the list; it still resolves where other filters include it."""
    _segment(conn, workspace_id, segment_id)
    now = utcnow()
    conn.execute(sa.update(SEGMENT).where(SEGMENT.c.id == segment_id, SEGMENT.c.archived_at.is_(None))
                 .values(archived_at=now, updated_at=now))


def unarchive_segment(conn: Connection, workspace_id: int, segment_id: int) -> None:
    """Bring an archived segment back; ValueError if a live segment took its name meanwhile."""
    segment = _segment(conn, workspace_id, segment_id)
    if segment.archived_at is None:
        return
    _check_name_free(conn, workspace_id, segment.name, other_than=segment_id)
    conn.execute(sa.update(SEGMENT).where(SEGMENT.c.id == segment_id).values(archived_at=None, updated_at=utcnow()))


# -- evaluating ----------------------------------------------------------------------------------

def refresh_count(conn: Connection, workspace_id: int, segment_id: int, *, time_limit_ms: int | None = None) -> int:
    """Count the segment's members now and remember it (last_count, last_evaluated_at).

    Past `time_limit_ms` the count raises db.QueryTimeout and nothing is stored. On a
    connection that has not begun a transaction (fresh from `engine.connect()`), the count
    runs in a read transaction and the result is written and committed in one of its own, so
    a long count never holds SQLite's write lock; inside the caller's transaction both run
    there and the caller commits.
    """

    def count() -> int:
        segment = get_segment(conn, workspace_id, segment_id)
        clause = member_clause(conn, workspace_id, segment["entity"], segment["filter"])
        return count_clause(conn, workspace_id, segment["entity"], clause, time_limit_ms=time_limit_ms)

    def store(total: int) -> None:
        conn.execute(sa.update(SEGMENT).where(SEGMENT.c.id == segment_id)
                     .values(last_count=total, last_evaluated_at=utcnow()))

    if conn.in_transaction():
        total = count()
        store(total)
        return total
    with conn.begin():
        total = count()
    with conn.begin():
        store(total)
    return total


def diff_against_saved(
    conn: Connection,
    workspace_id: int,
    segment_id: int,
    filter_json: Any,
    *,
    sample: int = 5,
    version: int | None = None,
    as_of: datetime | date | None = None,
    time_limit_ms: int | None = None,
) -> dict:
    """Who `filter_json` would add to and remove from the saved segment (its current version,
    or `version`), both evaluated now: {"added", "removed", "added_sample",
    "removed_sample", "version"}; samples are the first `sample` records by id, {"id", "label"}."""
    segment = get_segment(conn, workspace_id, segment_id)
    entity = segment["entity"]
    saved = segment["filter"] if version is None else get_version(conn, workspace_id, segment_id, version)["filter"]
    new = member_clause(conn, workspace_id, entity, filter_json, as_of=as_of)
    old = member_clause(conn, workspace_id, entity, saved, as_of=as_of)
    result: dict[str, Any] = {"version": segment["version"] if version is None else version}
    for key, clause in (("added", sa.and_(new, sa.not_(old))), ("removed", sa.and_(old, sa.not_(new)))):
        result[key] = count_clause(conn, workspace_id, entity, clause, time_limit_ms=time_limit_ms)
        result[f"{key}_sample"] = _sample(conn, workspace_id, entity, clause, sample) if result[key] else []
    return result


def _sample(conn: Connection, workspace_id: int, entity: str, clause: sa.ColumnElement[bool], size: int) -> list[dict]:
    table = TABLES[entity]
    ids = segment_query(entity, clause, workspace_id).order_by(table.c.id).limit(size).subquery()
    rows = conn.execute(
        sa.select(table.c.id, *(table.c[c] for c in LABELS[entity]))
        .where(table.c.id.in_(sa.select(ids.c.id))).order_by(table.c.id)
    )
    return [{"id": row.id, "label": record_label(row._mapping, entity)} for row in rows]


def record_label(record: Any, entity: str) -> str:
    """How a record is named in samples: its name, else its domain or email, else '#id'."""
    for column in LABELS[entity]:
        value = record.get(column)
        if value and value.strip():
            return value.strip()
    return f"#{record['id']}"
