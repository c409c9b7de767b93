"""Compiling a filter to one SQLAlchemy boolean clause for SQLite or PostgreSQL, and running it.

The clause refers to the entity's own table (`company` or `person`), so it drops into
`select(table.c.id).where(table.c.workspace_id == ws, clause)`. Field names come only from the
catalog (fields.py), every value is a bound parameter, and every predicate is two-valued:
`<value> IS NOT NULL AND <comparison>`, so NOT — of a negative operator, of a `not` node, of
`not_in_segment` — is the exact complement and no record is lost to SQL's NULL logic.

Plans (why the SQL looks as it does):

- Numbers and datetimes on core columns compile to plain sargable predicates
  (`company.employee_count IS NOT NULL AND company.employee_count BETWEEN ? AND ?`, integers
  bound as BIGINT so PostgreSQL's int4/int8 operator family keeps the index), which the
  (workspace_id, column, id) indexes serve as a range scan next to `workspace_id = ?`. A
  fractional value on an integer column (`employee_count > 49.5`) is compared as NUMERIC,
  exact but not indexable on PostgreSQL; whole values (50, 50.0) bind as integers.
- Text compiles to `lower(trim(col))` because the contract is case- and space-insensitive
  and stored values are not guaranteed normalized; a btree on the raw column cannot serve
  that. The remedy when it matters is an expression index on (workspace_id,
  lower(trim(col)), id) — `lower(trim(col) COLLATE "C")` on PostgreSQL — which is why the
  expression is written identically every time and with no parameters inside it (SQLite
  matches expression indexes textually). `contains` is `LIKE '%…%'` on that expression,
  which is what pg_trgm and an FTS5 trigram table can later serve.
- `company.<field>` is `person.company_id IN (SELECT company.id FROM company WHERE …)`, and
  tags are `id IN (SELECT … FROM company_tag JOIN tag …)`: uncorrelated, so the database
  builds the small set once (from the company or tag indexes) and probes it, rather than
  running a subquery per person. Passing `workspace_id` puts `workspace_id = ?` inside them.
- JSON attributes are read through json_type/json_extract (SQLite) and
  jsonb_typeof/->>/::numeric (PostgreSQL), guarded by type so that garbage is empty rather
  than an error; a field filtered often should be promoted to an indexed column.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from audiences_app.core.segments.fields import DIALECTS, TABLES, filter_fields, sql_target
from audiences_app.core.segments.operators import Range, clock
from audiences_app.core.segments.validate import (
    Condition, Group, Membership, Negation, Node, SegmentResolver, parse_filter,
)
from audiences_app.core.text_search import TrigramShares

_DISPLAY_DIALECTS = {
    "sqlite": sqlite.dialect(paramstyle="named"),
    "postgresql": postgresql.dialect(paramstyle="named"),
}


def compile_filter(
    filter_json: Any,
    *,
    entity: str,
    fields: Mapping[str, Mapping],
    dialect_name: str,
    as_of: datetime | date | None = None,
    segment_resolver: SegmentResolver | None = None,
    workspace_id: int | None = None,
) -> sa.ColumnElement[bool]:
    """The filter as a WHERE clause on the entity's table; FilterError when it cannot run."""
    node = parse_filter(filter_json, entity=entity, fields=fields, segment_resolver=segment_resolver)
    return compile_node(node, dialect_name=dialect_name, as_of=as_of, workspace_id=workspace_id)


def compile_node(
    node: Node,
    *,
    dialect_name: str,
    as_of: datetime | date | None = None,
    workspace_id: int | None = None,
    shares: TrigramShares | None = None,
) -> sa.ColumnElement[bool]:
    """One parsed node (a whole filter or any part of it, e.g. for per-clause counts)."""
    if dialect_name not in DIALECTS:
        raise ValueError(f"unsupported dialect {dialect_name!r}: use one of {', '.join(DIALECTS)}")
    return _Compiler(dialect_name, clock(as_of), workspace_id, shares).node(node)


class _Compiler:
    def __init__(self, dialect: str, as_of: datetime, workspace_id: int | None, shares: TrigramShares | None):
        self.dialect = dialect
        self.as_of = as_of
        self.workspace_id = workspace_id
        self.shares = shares

    def node(self, node: Node) -> Any:
        if isinstance(node, Group):
            if not node.children:
                return sa.true() if node.kind == "and" else sa.false()
            join = sa.and_ if node.kind == "and" else sa.or_
            return join(*(self.node(child) for child in node.children))
        if isinstance(node, Negation):
            return sa.not_(self.node(node.child))
        if isinstance(node, Membership):
            clause = self.node(node.resolved())
            return sa.not_(clause) if node.op.negated else clause
        return self.condition(node)

    def condition(self, node: Condition) -> Any:
        field, op = node.field, node.op
        target = sql_target(field, self.dialect, self.workspace_id, self.shares)
        operand = node.operand(self.as_of)
        if isinstance(operand, Range):
            operand = operand.map(target.bind)
        elif operand is not None and not isinstance(operand, tuple):
            operand = target.bind(operand)
        clause = op.sql(target, operand)
        if target.guard is not None:
            clause = sa.and_(target.guard, clause)
        if field.via_company:
            clause = self.via_company(clause)
        return sa.not_(clause) if op.negated else clause

    def via_company(self, clause: Any) -> Any:
        """A person's company matches `clause`; false for a person with no company."""
        person, company = TABLES["people"], TABLES["companies"]
        ids = sa.select(company.c.id).where(clause)
        if self.workspace_id is not None:
            ids = ids.where(company.c.workspace_id == self.workspace_id)
        return sa.and_(person.c.company_id.is_not(None), person.c.company_id.in_(ids))


# -- running ---------------------------------------------------------------------------------------

def segment_query(
    entity: str, clause: sa.ColumnElement[bool], workspace_id: int, *, include_archived: bool = False
) -> sa.Select:
    """SELECT id of the workspace's records matching `clause` (archived ones left out)."""
    table = TABLES[entity]
    query = sa.select(table.c.id).where(table.c.workspace_id == workspace_id, clause)
    if not include_archived:
        query = query.where(table.c.archived_at.is_(None))
    return query


def members_query(
    conn: Connection,
    workspace_id: int,
    entity: str,
    filter_json: Any,
    *,
    as_of: datetime | date | None = None,
    fields: Mapping[str, Mapping] | None = None,
    segment_resolver: SegmentResolver | None = None,
    include_archived: bool = False,
) -> sa.Select:
    """SELECT id of the records the filter selects, to count, page or export; `fields`
    defaults to the workspace's catalog."""
    if fields is None:
        fields = filter_fields(conn, workspace_id, entity)
    clause = compile_filter(
        filter_json, entity=entity, fields=fields, dialect_name=conn.dialect.name, as_of=as_of,
        segment_resolver=segment_resolver, workspace_id=workspace_id,
    )
    return segment_query(entity, clause, workspace_id, include_archived=include_archived)


def matching_ids(conn: Connection, workspace_id: int, entity: str, filter_json: Any, **options: Any) -> list[int]:
    """Ids of the records the filter selects, ascending; options as for `members_query`."""
    query = members_query(conn, workspace_id, entity, filter_json, **options)
    return list(conn.execute(query.order_by(query.selected_columns[0])).scalars())


def count_matching(conn: Connection, workspace_id: int, entity: str, filter_json: Any, **options: Any) -> int:
    """How many records the filter selects, exactly (wrap in db.time_limit to cap the cost);
    options as for `members_query`."""
    query = members_query(conn, workspace_id, entity, filter_json, **options)
    return conn.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one()


def filter_sql(
    filter_json: Any,
    *,
    entity: str,
    fields: Mapping[str, Mapping],
    dialect_name: str,
    workspace_id: int,
    as_of: datetime | date | None = None,
    segment_resolver: SegmentResolver | None = None,
) -> str:
    """"View SQL": the members query with its values written in, for people to read.

    For display only — never execute it: only the compiled statement with bound parameters
    is safe to run.
    """
    clause = compile_filter(
        filter_json, entity=entity, fields=fields, dialect_name=dialect_name, as_of=as_of,
        segment_resolver=segment_resolver, workspace_id=workspace_id,
    )
    query = segment_query(entity, clause, workspace_id)
    compiled = query.compile(dialect=_DISPLAY_DIALECTS[dialect_name], compile_kwargs={"literal_binds": True})
    return str(compiled)
