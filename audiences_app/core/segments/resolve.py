"""A filter in one workspace: checked against its catalog, with its saved segments resolved,
compiled to the clause that pages, counts, explain and exports share; and counts bounded by a
time limit.

`in_segment` / `not_in_segment` inline the *current* version of the saved segment each time a
filter is compiled, so membership is always evaluated now (dynamic) and never copied. A
segment may only include segments of its own entity: a companies segment inside a people
filter would be read against the people catalog, where `country` means something else.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from audiences_app.core.db import time_limit
from audiences_app.core.models import Segment, SegmentVersion
from audiences_app.core.segments.compiler import compile_node, segment_query
from audiences_app.core.segments.errors import FilterError
from audiences_app.core.segments.fields import filter_fields
from audiences_app.core.segments.validate import Node, SegmentResolver, parse_filter
from audiences_app.core.trigram_sample import TrigramSample

SEGMENT = Segment.__table__
VERSION = SegmentVersion.__table__


def resolver(
    conn: Connection,
    workspace_id: int,
    *,
    entity: str | None = None,
    pending: Mapping[int, Any] | None = None,
) -> SegmentResolver:
    """Saved segment id → the filter of its current version, for `in_segment`.

    LookupError when the workspace has no such segment (archived ones still resolve, so that
    filters including them keep working). With `entity`, a segment of another entity is a
    FilterError. `pending` overrides saved filters by id: a filter about to be saved is
    checked as if it were, so that a segment that would include itself is refused.
    """
    pending = dict(pending or {})

    def resolve(segment_id: int) -> Any:
        found = conn.execute(
            sa.select(SEGMENT.c.entity, VERSION.c.filter)
            .join(VERSION, sa.and_(VERSION.c.segment_id == SEGMENT.c.id,
                                   VERSION.c.version == SEGMENT.c.current_version))
            .where(SEGMENT.c.id == segment_id, SEGMENT.c.workspace_id == workspace_id)
        ).first()
        if found is None:
            raise LookupError(f"no segment #{segment_id} in this workspace")
        if entity is not None and found.entity != entity:
            raise FilterError("", f"it is a segment of {found.entity}; a {entity} filter can only include {entity} segments")
        return pending.get(segment_id, found.filter)

    return resolve


def parse_in_workspace(
    conn: Connection, workspace_id: int, entity: str, filter_json: Any, *, pending: Mapping[int, Any] | None = None
) -> Node:
    """The filter as nodes, against the workspace's catalog and saved segments (FilterError)."""
    return parse_filter(
        filter_json, entity=entity, fields=filter_fields(conn, workspace_id, entity),
        segment_resolver=resolver(conn, workspace_id, entity=entity, pending=pending),
    )


def member_clause(
    conn: Connection, workspace_id: int, entity: str, filter_json: Any, *, as_of: datetime | date | None = None
) -> sa.ColumnElement[bool]:
    """The filter as a WHERE clause on the entity's table, resolved in the workspace."""
    return node_clause(conn, workspace_id, parse_in_workspace(conn, workspace_id, entity, filter_json), as_of=as_of)


def node_clause(
    conn: Connection, workspace_id: int, node: Node, *, as_of: datetime | date | None = None
) -> sa.ColumnElement[bool]:
    """An already parsed filter (`parse_in_workspace`) as a WHERE clause in the workspace."""
    return compile_node(node, dialect_name=conn.dialect.name, as_of=as_of, workspace_id=workspace_id,
                        shares=TrigramSample(conn, workspace_id))


@contextlib.contextmanager
def bounded(conn: Connection, time_limit_ms: int | None) -> Iterator[None]:
    """Statements inside run in a transaction of their own (a savepoint inside the caller's)
    and, with a limit, raise db.QueryTimeout past it, leaving the caller's transaction usable."""
    with conn.begin_nested() if conn.in_transaction() else conn.begin():
        if time_limit_ms is None:
            yield
        else:
            with time_limit(conn, time_limit_ms):
                yield


def count_clause(
    conn: Connection, workspace_id: int, entity: str, clause: sa.ColumnElement[bool], *, time_limit_ms: int | None = None
) -> int:
    """How many live records of the workspace `clause` keeps, exactly (QueryTimeout past the limit)."""
    query = sa.select(sa.func.count()).select_from(segment_query(entity, clause, workspace_id).subquery())
    with bounded(conn, time_limit_ms):
        return conn.execute(query).scalar_one()
