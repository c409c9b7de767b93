"""Counting filters over cached columns: a segment count as a numpy mask, not a table scan.

Why: a filter no index serves (a JSON attribute, `not_contains`, an or-group) makes the
database read every wide row of the workspace — SQLite parsing each record's JSON several
times over — for every count the builder asks for while someone edits a filter. Here the
values a filter compares are read once per (database, workspace, entity, field) by the very
SQL expression the compiler compares (`fields.sql_target`: text already folded, JSON already
type-checked and extracted by the database), and each count is a boolean mask over them.

What a column holds, for the workspace's live records of one entity in ascending id order
(the same order for every column of that entity): whether each record has a value, and the
value as the database stores and compares it. Text and dates are kept as their distinct
values (a pandas string Series, compared bytewise as SQLite and PostgreSQL under "C"
compare) and a code per record; numbers as `Numbers`, exact where a double is not; booleans
and PostgreSQL timestamps as numpy arrays. Operands are bound as the compiler binds them
(`SqlTarget.bind`, then the SQL type's bind processor: a SQLite timestamp is the text it is
stored as). Each operator's `vector` decides a condition, and saved segments count through
their own filter. A condition on a list (tags, JSON arrays) or on `company.<field>`, or a
stored value of a type the column cannot compare as the database does, makes the count None:
SQL counts.

Never stale: a count uses the columns only when the database's *token* is the one read
before they were loaded, and never while the caller's own transaction has written (the
columns cannot see its uncommitted rows).

- SQLite (database files; an in-memory database is private to its connection): the token is
  `PRAGMA data_version` on a read-only watcher connection kept per file, which changes
  whenever any other connection, of this process or another, commits (and the file's
  identity, should it be replaced). A load reads the token, then the columns in one SELECT
  on a fresh connection, whose snapshot is thus at least as new; they are stored under the
  token read before, so a commit that slips in between only makes the next count reload.
  Python's sqlite3 cannot ask whether a transaction has written (no sqlite3_txn_state): the
  connection's total_changes is noted at every BEGIN, and a difference means it has.
- PostgreSQL: the token is the snapshot (`pg_current_snapshot()`, and the server's start
  time): equal snapshots see exactly the same committed transactions, and every commit
  changes it. Columns load in a REPEATABLE READ transaction whose snapshot is the token
  itself, and the caller's statement reads its own, so the columns answer exactly what the
  caller's SQL would have. A caller whose transaction has an xid has written.

When to load: loading columns costs a few times the SQL count (2–7× at a million records:
a Python object per value on the way), so it only pays when the columns are used again
before the next write. A count therefore loads only when the database is as the previous count saw
it (same token): while writes keep coming, counts stay with SQL as before, and the second
count after they stop loads. Callers with a tight time limit pass `load=False`.

Memory: every column of every database shares AUDIENCES_COLUMN_CACHE_MB (estimated sizes);
the least recently used go first; 0 turns the cache off.
"""

from __future__ import annotations

import functools
import operator
import os
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Dialect, Engine

from audiences_app.core.segments.fields import TABLES, Field, SqlTarget, sql_target
from audiences_app.core.segments.operators import Range, clock
from audiences_app.core.segments.validate import Condition, Group, Membership, Negation, Node
from audiences_app.settings import get_settings

FETCH_ROWS = 1_000
"""Rows fetched at a time while loading: so few that they die young (the garbage collector
would otherwise walk a heap of surviving row tuples, several times per load)."""
_EXACT_DOUBLES = 2**53
_OBJECT_BYTES = 100  # an estimate for a Python number kept beside its double
_CHANGES_AT_BEGIN = "audiences.total_changes_at_begin"


# -- columns ---------------------------------------------------------------------------------------

class Numbers:
    """Numbers compared exactly as the database compares them, at numpy speed.

    Each value is kept as its nearest double. Rounding keeps order (a < b gives
    double(a) <= double(b)), so the doubles decide every comparison except where a value's
    double equals the operand's; those ties are compared again exactly when either side is
    not a double itself: a Decimal such as 0.1 (PostgreSQL numeric), an integer past 2**53.
    """

    __hash__ = None  # type: ignore[assignment]

    def __init__(self, doubles: np.ndarray, exact: dict[int, Any]):
        self.doubles = doubles
        self.exact = exact  # position → the value, where its double is not the value
        self._inexact = np.fromiter(exact, dtype=np.int64, count=len(exact))

    def __len__(self) -> int:
        return len(self.doubles)

    def _compare(self, test: Callable[[Any, Any], Any], operand: Any) -> np.ndarray:
        near = float(operand)
        result = test(self.doubles, near)
        ties = np.flatnonzero(self.doubles == near)
        if near == operand:  # the operand is a double: only values that are not need a second look
            ties = ties[np.isin(ties, self._inexact)]
        for position in ties.tolist():
            result[position] = test(self.exact.get(position, near), operand)
        return result

    def __eq__(self, operand: Any) -> np.ndarray:  # type: ignore[override]
        return self._compare(operator.eq, operand)

    def __lt__(self, operand: Any) -> np.ndarray:
        return self._compare(operator.lt, operand)

    def __le__(self, operand: Any) -> np.ndarray:
        return self._compare(operator.le, operand)

    def __gt__(self, operand: Any) -> np.ndarray:
        return self._compare(operator.gt, operand)

    def __ge__(self, operand: Any) -> np.ndarray:
        return self._compare(operator.ge, operand)


@dataclass(frozen=True)
class _Column:
    present: np.ndarray  # per record: it has a value (text: a non-blank one)
    values: Any  # what the operators' `vector` compares; None when no record has a value
    codes: np.ndarray | None  # per record, its value's position in `values` (-1: none)
    bind: Callable[[Any], Any]  # an operand → the terms `values` compare in
    nbytes: int  # estimated


def _column(field: Field, target: SqlTarget, raw: list, dialect: Dialect) -> _Column | None:
    """The field's values as read by SQL, or None when one is of a type the column cannot
    compare as the database would (e.g. text stored in a SQLite integer column)."""
    kind = pd.api.types.infer_dtype(raw, skipna=True)
    bind = _binder(target, dialect)
    if kind == "empty":
        return _Column(np.zeros(len(raw), dtype=bool), None, None, bind, len(raw))
    if kind == "string" and field.type in ("text", "date", "datetime"):
        return _distinct(raw, blank_is_empty=field.type == "text", bind=bind)
    if kind in ("integer", "floating", "mixed-integer-float", "decimal") and field.type == "number":
        return _numbers(raw, kind, bind)
    if kind in ("boolean", "integer") and field.type == "boolean":  # SQLite answers 1 and 0
        present = _present(raw)
        values = np.array(raw, dtype=object)
        values[~present] = False
        return _Column(present, values.astype(bool), None, bind, 2 * len(raw))
    if kind == "datetime" and field.type == "datetime":  # PostgreSQL timestamps
        stamps = pa.array(raw, pa.timestamp("us"))
        present = stamps.is_valid().to_numpy(zero_copy_only=False)
        values = stamps.to_numpy(zero_copy_only=False)
        return _Column(present, values, None, lambda x: np.datetime64(bind(x), "us"), values.nbytes + len(raw))
    return None


def _present(raw: list) -> np.ndarray:
    return np.fromiter((value is not None for value in raw), dtype=bool, count=len(raw))


def _distinct(raw: list, *, blank_is_empty: bool, bind: Callable[[Any], Any]) -> _Column | None:
    encoded = pa.array(raw, pa.string()).dictionary_encode()
    distinct = encoded.dictionary
    if pc.any(pc.match_substring(distinct, "\x00")).as_py():
        return None  # SQLite's LIKE stops at a NUL character; Python would not
    codes = encoded.indices.fill_null(-1).to_numpy()
    has_value = np.ones(len(distinct), dtype=bool)
    if blank_is_empty:  # '' after lower(trim(x)): no operator's operand is blank (see fields.SqlTarget)
        has_value = pc.not_equal(distinct, "").to_numpy(zero_copy_only=False)
    present = np.append(has_value, False)[codes]  # code -1 takes the False appended
    values = distinct.to_pandas()
    return _Column(present, values, codes, bind, present.nbytes + codes.nbytes + distinct.nbytes)


def _numbers(raw: list, kind: str, bind: Callable[[Any], Any]) -> _Column:
    if kind in ("integer", "floating"):  # converted in C; exact but for integers past 2**53
        array = pa.array(raw, pa.int64() if kind == "integer" else pa.float64())
        present = array.is_valid().to_numpy(zero_copy_only=False)
        values = array.fill_null(0).to_numpy()
        doubles = values.astype(np.float64)
        past = np.flatnonzero(np.abs(values) > _EXACT_DOUBLES) if kind == "integer" else []
        exact = {position: int(values[position]) for position in past}
    else:  # integers and doubles mixed (SQLite JSON), or Decimals (PostgreSQL numeric)
        present = _present(raw)
        values = np.array(raw, dtype=object)
        values[~present] = 0
        doubles = values.astype(np.float64)
        exact = {position: values[position] for position in np.flatnonzero(values != doubles.astype(object)).tolist()}
    size = present.nbytes + doubles.nbytes + _OBJECT_BYTES * len(exact)
    return _Column(present, Numbers(doubles, exact), None, bind, size)


def _binder(target: SqlTarget, dialect: Dialect) -> Callable[[Any], Any]:
    """An operand as the compiler binds it: `target.bind`, then the bind processor of the
    parameter's SQL type (e.g. SQLite's DATETIME, which writes the text it compares)."""

    def bind(value: Any) -> Any:
        bound = target.bind(value)
        if isinstance(bound, sa.BindParameter):
            kind, value = bound.type, bound.value
        else:
            kind = target.value.type
        process = kind.dialect_impl(dialect).bind_processor(dialect)
        return process(value) if process else value

    return bind


# -- counting --------------------------------------------------------------------------------------

def _fields(node: Node) -> set[Field] | None:
    """The fields the filter compares, or None when a node has no vectorized form."""
    if isinstance(node, Condition):
        field = node.field
        if node.op.vector is None or field.via_company or field.type == "list":  # lists: tags and JSON arrays
            return None
        return {field}
    if isinstance(node, Group):
        children: Iterable[Node] = node.children
    elif isinstance(node, Negation):
        children = (node.child,)
    else:
        children = (node.resolved(),)
    found: set[Field] = set()
    for child in children:
        fields = _fields(child)
        if fields is None:
            return None
        found |= fields
    return found


@dataclass(frozen=True)
class _Mask:
    """The compiler's semantics (compiler._Compiler) as numpy masks over the columns."""

    columns: dict[Field, _Column]
    as_of: datetime
    size: int

    def node(self, node: Node) -> np.ndarray:
        if isinstance(node, Group):
            masks = [self.node(child) for child in node.children]
            if not masks:
                return np.full(self.size, node.kind == "and")
            return functools.reduce(np.logical_and if node.kind == "and" else np.logical_or, masks)
        if isinstance(node, Negation):
            return ~self.node(node.child)
        if isinstance(node, Membership):
            mask = self.node(node.resolved())
            return ~mask if node.op.negated else mask
        return self.condition(node)

    def condition(self, node: Condition) -> np.ndarray:
        column = self.columns[node.field]
        operand = node.operand(self.as_of)
        if isinstance(operand, Range):
            operand = operand.map(column.bind)
        elif operand is not None and not isinstance(operand, tuple):
            operand = column.bind(operand)
        mask = column.present
        if column.values is not None:
            hits = np.asarray(node.op.vector(column.values, operand), dtype=bool)
            if column.codes is not None:
                hits = np.append(hits, False)[column.codes]
            mask = mask & hits
        return ~mask if node.op.negated else mask


def count(
    conn: Connection,
    workspace_id: int,
    entity: str,
    node: Node,
    *,
    as_of: datetime | date | None = None,
    load: bool = True,
) -> int | None:
    """How many live records of the workspace the parsed filter selects, counted over the
    cached columns, loading those missing when `load` and the database is as the previous
    count saw it; None when the columns cannot answer (see the module) and SQL must count."""
    cap = get_settings().column_cache_mb * 2**20
    if cap == 0:
        _CACHE.clear()
        return None
    fields = _fields(node)
    source = _source(conn)
    if not fields or source is None:
        return None
    token = source.token(conn)
    if token is None:
        return None
    settled = _CACHE.settled(source.key, token)
    key = (source.key, workspace_id, entity)
    cached = _CACHE.get(key, token, fields)
    ids, columns = cached or (np.empty(0, dtype=np.int64), {})
    missing = fields - columns.keys()
    if missing:
        if not (load and settled):
            return None
        before, after, loaded_ids, loaded = _load(conn, source, workspace_id, entity, missing if cached else fields)
        if cached and not (before == after == token and np.array_equal(ids, loaded_ids)):
            return None  # written to while loading: the columns would mix two states
        _CACHE.put(key, before, loaded_ids, loaded, cap)
        ids, columns = loaded_ids, {**columns, **loaded}
    if any(columns[field] is None for field in fields):
        return None
    return int(np.count_nonzero(_Mask(columns, clock(as_of), len(ids)).node(node)))


def _load(
    conn: Connection, source: _Sqlite | _Postgres, workspace_id: int, entity: str, fields: Iterable[Field]
) -> tuple[Any, Any, np.ndarray, dict[Field, _Column | None]]:
    """(token before, token after, ids, columns) of the fields, read in one snapshot."""
    fields = sorted(fields, key=lambda f: f.name)
    dialect = conn.dialect
    table = TABLES[entity]
    targets = [sql_target(field, dialect.name, workspace_id) for field in fields]
    query = (
        sa.select(table.c.id, *(target.value for target in targets))
        .where(table.c.workspace_id == workspace_id, table.c.archived_at.is_(None))
        .order_by(table.c.id)
    )
    before, after, (ids, *values) = source.load(conn.engine, query)
    columns = {field: _column(field, target, raw, dialect)
               for field, target, raw in zip(fields, targets, values, strict=True)}
    return before, after, np.array(ids, dtype=np.int64), columns


def _fetch(loader: Connection, query: sa.Select) -> list[list]:
    """The query's result as one list per column, the values as the driver returns them: as
    the database compares them (SQLite timestamps as text, booleans as 1 and 0)."""
    cursor = loader.execute(query).cursor
    columns: list[list] = [[] for _ in cursor.description]
    while rows := cursor.fetchmany(FETCH_ROWS):
        for column, values in zip(columns, zip(*rows), strict=True):
            column.extend(values)
    return columns


# -- freshness -------------------------------------------------------------------------------------

@event.listens_for(Engine, "begin")
def _note_begin(conn: Connection) -> None:
    """Every engine's: a SQLite connection's total_changes at BEGIN, for `_Sqlite.token`."""
    if conn.dialect.name == "sqlite":
        conn.connection.info[_CHANGES_AT_BEGIN] = conn.connection.dbapi_connection.total_changes


class _Watcher:
    """Whether a SQLite file changed: `PRAGMA data_version` on a connection of its own."""

    def __init__(self, path: str):
        self.path = path
        self._lock = threading.Lock()
        self._file: tuple[int, int] | None = None
        self._conn: sqlite3.Connection | None = None

    def token(self) -> Any | None:
        """None when the file is gone."""
        with self._lock:
            try:
                stat = os.stat(self.path)
            except FileNotFoundError:
                return None
            file = (stat.st_dev, stat.st_ino)
            if file != self._file:
                if self._conn is not None:
                    self._conn.close()
                self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
                self._conn.execute("PRAGMA query_only = 1")
                self._file = file
            return file, self._conn.execute("PRAGMA data_version").fetchone()[0]


class _Sqlite:
    def __init__(self, watcher: _Watcher):
        self.key = ("sqlite", watcher.path)
        self.watcher = watcher

    def token(self, conn: Connection) -> Any | None:
        raw, info = conn.connection.dbapi_connection, conn.connection.info
        if raw.in_transaction and info.get(_CHANGES_AT_BEGIN) != raw.total_changes:
            return None  # its transaction has written
        return self.watcher.token()

    def load(self, engine: Engine, query: sa.Select) -> tuple[Any, Any, list[list]]:
        with engine.connect() as loader:
            before = self.watcher.token()
            columns = _fetch(loader, query)  # one statement: one snapshot, taken after `before`
            return before, self.watcher.token(), columns


class _Postgres:
    _SNAPSHOT = "SELECT pg_postmaster_start_time(), pg_current_snapshot()::text"

    def __init__(self, engine: Engine):
        self.key = ("postgresql", engine.url.render_as_string(hide_password=True))

    def token(self, conn: Connection) -> Any | None:
        started, snapshot, written = conn.exec_driver_sql(
            self._SNAPSHOT + ", pg_current_xact_id_if_assigned() IS NOT NULL").one()
        return None if written else (started, snapshot)

    def load(self, engine: Engine, query: sa.Select) -> tuple[Any, Any, list[list]]:
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as loader, loader.begin():
            token = tuple(loader.exec_driver_sql(self._SNAPSHOT).one())  # taken here, read by the query too
            return token, token, _fetch(loader, query)


_WATCHERS: dict[str, _Watcher] = {}
_WATCHERS_LOCK = threading.Lock()


def _source(conn: Connection) -> _Sqlite | _Postgres | None:
    if conn.dialect.name == "postgresql":
        return _Postgres(conn.engine)
    path = next(row[2] for row in conn.exec_driver_sql("PRAGMA database_list") if row[1] == "main")
    if not path:
        return None  # in memory
    with _WATCHERS_LOCK:
        if path not in _WATCHERS:
            _WATCHERS[path] = _Watcher(path)
        return _Sqlite(_WATCHERS[path])


# -- the cache -------------------------------------------------------------------------------------

@dataclass
class _Entry:
    token: Any
    ids: np.ndarray
    columns: dict[Field, _Column | None]


class _Cache:
    """Columns by (database, workspace, entity) and field, least recently used first out."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple, _Entry] = {}
        self._used: OrderedDict[tuple[tuple, Field], None] = OrderedDict()
        self._bytes = 0
        self._seen: dict[tuple, Any] = {}  # database → the token its last count read

    def settled(self, database: tuple, token: Any) -> bool:
        """Whether the database's token is the one its previous count read; notes this one."""
        with self._lock:
            settled = self._seen.get(database) == token
            self._seen[database] = token
            return settled

    def get(self, key: tuple, token: Any, fields: set[Field]) -> tuple[np.ndarray, dict] | None:
        """The ids and the columns of `fields` held for `key`, when they were read at `token`."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry.token != token:
                return None
            found = {field: entry.columns[field] for field in fields if field in entry.columns}
            for field in found:
                self._used.move_to_end((key, field))
            return entry.ids, found

    def put(self, key: tuple, token: Any, ids: np.ndarray, columns: dict[Field, _Column | None], cap: int) -> None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry.token != token or not np.array_equal(entry.ids, ids):
                self._drop(key)
                entry = self._entries[key] = _Entry(token, ids, {})
                self._bytes += ids.nbytes
            for field, column in columns.items():
                self._bytes += _size(column) - _size(entry.columns.get(field))
                entry.columns[field] = column
                self._used[(key, field)] = None
                self._used.move_to_end((key, field))
            while self._bytes > cap and self._used:
                (old_key, field), _ = self._used.popitem(last=False)
                old = self._entries[old_key]
                self._bytes -= _size(old.columns.pop(field))
                if not old.columns:
                    self._drop(old_key)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._used.clear()
            self._bytes = 0

    def _drop(self, key: tuple) -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        for field, column in entry.columns.items():
            self._used.pop((key, field), None)
            self._bytes -= _size(column)
        self._bytes -= entry.ids.nbytes


def _size(column: _Column | None) -> int:
    return 0 if column is None else column.nbytes


_CACHE = _Cache()
