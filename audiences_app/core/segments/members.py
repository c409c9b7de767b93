"""A filter's members: keyset pages, capped and exact counts, a streamed export, and the
distinct values of a field for the builder's suggestions.

Pages, counts and exports are the record browser's and the exporter's own (records.py,
exports.py), narrowed by the filter's clause, so a segment pages, counts and exports exactly
as the Companies and People pages do: keyset pages that cost the same at any depth, counts
capped at `cap` within a time limit ("10,000+") that the UI completes in the background with
`exact_member_count`, and CSV with formula cells neutralized. Counts come from the cached
columns (columns.py) when they can answer, exactly and as fresh as SQL; else from SQL.
"""

from __future__ import annotations

import os
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from audiences_app.core import exports, records
from audiences_app.core.db import QueryTimeout
from audiences_app.core.models import Tag
from audiences_app.core.segments import columns
from audiences_app.core.segments.fields import TABLES, TAG_LINKS, filter_fields, resolve_field, sql_target
from audiences_app.core.segments.resolve import bounded, member_clause, node_clause, parse_in_workspace
from audiences_app.core.text_search import fold, like_pattern, normalized

SUGGESTION_SAMPLE = 20_000
"""Records whose values make the suggestions when counting them all runs out of time."""
MAX_SUGGESTIONS = 1_000


def member_page(
    conn: Connection,
    workspace_id: int,
    entity: str,
    filter_json: Any,
    *,
    columns: list[str],
    sort: str = "id",
    descending: bool = False,
    cursor: str | None = None,
    page_size: int = 50,
    as_of: datetime | date | None = None,
) -> records.RecordPage:
    """One page of the filter's members, display-ready, and the next page's cursor."""
    return records.browse(
        conn, workspace_id, entity, columns=columns, sort=sort, descending=descending, cursor=cursor,
        page_size=page_size, where=member_clause(conn, workspace_id, entity, filter_json, as_of=as_of),
    )


def member_count(
    conn: Connection,
    workspace_id: int,
    entity: str,
    filter_json: Any,
    *,
    cap: int = 10_000,
    time_limit_ms: int = 300,
    as_of: datetime | date | None = None,
) -> records.RecordCount:
    """How many members, fast: exact up to `cap`, else `cap` and capped ("10,000+"), or not
    known yet (value None) when even that takes longer than `time_limit_ms`. Exact at any
    size when the columns cached by an earlier count answer (loading them would not fit the
    time limit)."""
    node = parse_in_workspace(conn, workspace_id, entity, filter_json)
    counted = columns.count(conn, workspace_id, entity, node, as_of=as_of, load=False)
    if counted is not None:
        return records.RecordCount(value=counted, capped=False)
    clause = node_clause(conn, workspace_id, node, as_of=as_of)
    return records.count_records(conn, workspace_id, entity, where=clause, cap=cap, time_limit_ms=time_limit_ms)


def exact_member_count(
    conn: Connection, workspace_id: int, entity: str, filter_json: Any, *, as_of: datetime | date | None = None
) -> int:
    """How many members, exactly; may take seconds at millions of records (run it in the
    background). A mask over cached columns when they can answer: the first count loads
    them (about a scan), later ones take milliseconds until something is written."""
    node = parse_in_workspace(conn, workspace_id, entity, filter_json)
    counted = columns.count(conn, workspace_id, entity, node, as_of=as_of)
    if counted is not None:
        return counted
    clause = node_clause(conn, workspace_id, node, as_of=as_of)
    return records.exact_count(conn, workspace_id, entity, where=clause)


def export_members(
    conn: Connection,
    workspace_id: int,
    entity: str,
    filter_json: Any,
    *,
    fields: list[str],
    path: str | os.PathLike,
    fmt: str = "csv",
    as_of: datetime | date | None = None,
) -> int:
    """Stream the members' `fields` to `path` (CSV with formula cells neutralized, or
    Parquet); return how many rows were written. The file appears whole or not at all."""
    clause = member_clause(conn, workspace_id, entity, filter_json, as_of=as_of)
    table = TABLES[entity]
    result = exports.export_records(
        conn, workspace_id, entity, path, format=fmt, fields=fields,
        where=sa.and_(clause, table.c.archived_at.is_(None)),
    )
    return result.rows


def distinct_values(
    conn: Connection,
    workspace_id: int,
    entity: str,
    field_key: str,
    *,
    limit: int = 50,
    prefix: str = "",
    time_limit_ms: int = 300,
) -> list[tuple[str, int]]:
    """The most common values of a text field or of tags, as (value, records), for the value
    picker; `prefix` keeps the values that start with it (ignoring case, as filters do).

    Values that differ only in case or surrounding spaces count as one. For `company.<field>`
    the records counted are companies. When counting every record takes longer than
    `time_limit_ms`, the values and counts come from the first 20,000 records instead.
    FilterError for a field not in the catalog; ValueError for a field that is not text.
    """
    if not 1 <= limit <= MAX_SUGGESTIONS:
        raise ValueError(f"Ask for 1 to {MAX_SUGGESTIONS} suggestions, not {limit}.")
    field = resolve_field(field_key, entity=entity, fields=filter_fields(conn, workspace_id, entity), path="")
    if field.storage != "tags" and field.type != "text":
        raise ValueError(f"Suggestions are for text fields and tags; {field_key!r} is {field.type}.")
    table = TABLES[field.home]
    live = [table.c.workspace_id == workspace_id, table.c.archived_at.is_(None)]
    if field.storage == "tags":
        tag = Tag.__table__
        link, owner = TAG_LINKS[field.home]
        shown, value = sa.func.trim(tag.c.name), normalized(tag.c.name, conn.dialect.name)
        source = table.join(link, link.c[owner] == table.c.id).join(tag, tag.c.id == link.c.tag_id)
        present = [sa.func.trim(tag.c.name) != ""]
    else:
        target = sql_target(field, conn.dialect.name, workspace_id)
        shown, value, source = target.shown, target.value, table
        present = [target.guard, target.nonblank]
    folded = fold(prefix)
    if folded:
        present.append(value.like(like_pattern("", folded, "%"), escape="\\"))

    def top(records: sa.FromClause, *where: Any) -> list[tuple[str, int]]:
        query = (
            sa.select(sa.func.min(shown).label("shown"), sa.func.count().label("records"))
            .select_from(records).where(*where, *present)
            .group_by(value).order_by(sa.desc("records"), sa.func.min(shown)).limit(limit)
        )
        return [(row.shown, row.records) for row in conn.execute(query)]

    try:
        with bounded(conn, time_limit_ms):
            return top(source, *live)
    except QueryTimeout:
        first = sa.select(table.c.id).where(*live).order_by(table.c.id).limit(SUGGESTION_SAMPLE)
        with bounded(conn, None):
            return top(source, table.c.id.in_(first))
