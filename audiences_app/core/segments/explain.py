"""Explain a filter: how many records each clause keeps (a funnel), and why one record is in
or out.

Both walk the parsed filter in tree order, one row per node — the root, then each group's
children depth first — with the node's path (as FilterError writes it: `and[1].or[0]`), its
depth and its English label. A saved segment included with `in_segment` is one node; its own
filter is the segment's business. Counts and answers come from the same compiled SQL as
membership itself, so explain can never disagree with the count beside it; when the columns a
count needs are already cached (segments/columns.py, which counts exactly what that SQL
counts), the funnel is a few numpy masks instead of a query per node.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from audiences_app.core.db import QueryTimeout
from audiences_app.core.models import Tag
from audiences_app.core.records import display_value
from audiences_app.core.segments import columns
from audiences_app.core.segments.compiler import compile_node
from audiences_app.core.segments.describe import describe_node
from audiences_app.core.segments.fields import TABLES, TAG_LINKS, Field
from audiences_app.core.segments.resolve import count_clause, parse_in_workspace
from audiences_app.core.segments.saved import segment_names
from audiences_app.core.segments.validate import Condition, Group, Negation, Node
from audiences_app.core.trigram_sample import TrigramSample

CLAUSE_TIME_LIMIT_MS = 1_000


def _walk(node: Node, depth: int = 0, in_and: bool = False) -> Iterator[tuple[Node, int, bool]]:
    """(node, depth, whether it is a child of an `and` group), in tree order."""
    yield node, depth, in_and
    if isinstance(node, Group):
        for child in node.children:
            yield from _walk(child, depth + 1, node.kind == "and")
    elif isinstance(node, Negation):
        yield from _walk(node.child, depth + 1)


def _kind(node: Node) -> str:
    return "group" if isinstance(node, (Group, Negation)) else "condition"


def clause_counts(
    conn: Connection,
    workspace_id: int,
    entity: str,
    filter_json: Any,
    *,
    as_of: datetime | date | None = None,
    time_limit_ms: int | None = CLAUSE_TIME_LIMIT_MS,
) -> list[dict]:
    """The funnel: per node {"path", "depth", "label", "kind" ("group" | "condition"),
    "count", "running"}.

    `count` is how many records the node keeps on its own. `running`, for a child of an
    `and` group, is how many its siblings up to and including it keep together (the funnel
    narrowing step by step; the last one's equals the group's count); None elsewhere. Each
    count has its own time limit; one that runs out is None.
    """
    node = parse_in_workspace(conn, workspace_id, entity, filter_json)
    names = segment_names(conn, workspace_id)
    dialect = conn.dialect.name
    shares = TrigramSample(conn, workspace_id)

    def count(part: Node, clause: sa.ColumnElement[bool]) -> int | None:
        # Columns already cached by the builder's counts answer in milliseconds; loading them
        # would not fit the time limit, so a cold cache leaves the count to SQL.
        counted = columns.count(conn, workspace_id, entity, part, as_of=as_of, load=False)
        if counted is not None:
            return counted
        try:
            return count_clause(conn, workspace_id, entity, clause, time_limit_ms=time_limit_ms)
        except QueryTimeout:
            return None

    rows = []
    funnels: dict[str, list[tuple[Node, sa.ColumnElement[bool]]]] = {}  # parent path → its children so far
    for current, depth, in_and in _walk(node):
        clause = compile_node(current, dialect_name=dialect, as_of=as_of, workspace_id=workspace_id, shares=shares)
        row = {
            "path": current.path, "depth": depth, "kind": _kind(current), "count": count(current, clause),
            "running": None, "label": describe_node(current, entity=entity, segment_names=names),
        }
        if in_and:
            parent = _parent(current.path)
            steps = funnels.setdefault(parent, [])
            steps.append((current, clause))
            if len(steps) == 1:
                row["running"] = row["count"]
            else:
                so_far = Group(parent, "and", tuple(step for step, _ in steps))
                row["running"] = count(so_far, sa.and_(*(c for _, c in steps)))
        rows.append(row)
    return rows


def _parent(path: str) -> str:
    return path.rpartition(".")[0]


def why(
    conn: Connection,
    workspace_id: int,
    entity: str,
    filter_json: Any,
    record_id: int,
    *,
    as_of: datetime | date | None = None,
) -> dict:
    """Why a record is in or out: {"member", "archived", "nodes"}, a node per filter node
    with {"path", "depth", "label", "kind", "result", "value"} — whether the record satisfies
    that node, and for a condition the record's value of its field, as the UI shows it.
    An archived record is never a member, whatever the filter says. LookupError when the
    workspace has no such record."""
    node = parse_in_workspace(conn, workspace_id, entity, filter_json)
    names = segment_names(conn, workspace_id)
    table = TABLES[entity]
    nodes = list(_walk(node))
    results = [
        sa.case((compile_node(n, dialect_name=conn.dialect.name, as_of=as_of, workspace_id=workspace_id), True),
                else_=False).label(f"node_{index}")
        for index, (n, _, _) in enumerate(nodes)
    ]
    found = conn.execute(
        sa.select(table.c.archived_at, *results).where(table.c.id == record_id, table.c.workspace_id == workspace_id)
    ).first()
    if found is None:
        raise LookupError(f"There is no {'company' if entity == 'companies' else 'person'} #{record_id} here.")
    record = _record(conn, entity, record_id)
    archived = found.archived_at is not None
    return {
        "member": bool(found[1]) and not archived,
        "archived": archived,
        "nodes": [
            {"path": n.path, "depth": depth, "kind": _kind(n), "result": bool(found[index + 1]),
             "label": describe_node(n, entity=entity, segment_names=names),
             "value": _shown(n.field, record) if isinstance(n, Condition) else ""}
            for index, (n, depth, _) in enumerate(nodes)
        ],
    }


def _record(conn: Connection, entity: str, record_id: int) -> dict:
    """The record's columns, attributes and tag names, and for a person their company's."""
    table = TABLES[entity]
    record = dict(conn.execute(sa.select(table).where(table.c.id == record_id)).one()._mapping)
    link, owner = TAG_LINKS[entity]
    tag = Tag.__table__
    record["tags"] = list(conn.execute(
        sa.select(tag.c.name).join(link, link.c.tag_id == tag.c.id).where(link.c[owner] == record_id).order_by(tag.c.name)
    ).scalars())
    if entity == "people":
        record["company"] = _record(conn, "companies", record["company_id"]) if record["company_id"] else None
    return record


def _shown(field: Field, record: dict) -> str:
    source = record.get("company") if field.via_company else record
    if source is None:
        return ""
    if field.storage == "tags":
        return ", ".join(source["tags"])
    if field.storage == "column":
        return display_value(field.key, source.get(field.key))
    return display_value(field.key, (source.get("attributes") or {}).get(field.key))

