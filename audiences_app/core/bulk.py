"""The one bulk write path: rows as tuples into a table, inside the caller's transaction.

Imports, the demo loader and enrichment all write through `bulk_insert`, so that speed,
value encoding and error handling are decided once:

- SQLite: the raw sqlite3 `executemany` over tuples with one prepared INSERT, in chunks.
  Measured on 100k company rows (bench/README.md): raw executemany 77-82k rows/s,
  multi-row VALUES 65-69k, `Connection.exec_driver_sql` 55-65k, Core `insert()` with
  dicts 37k.
- PostgreSQL: `COPY … FROM STDIN` through psycopg 3 (`write_row`, text format), which
  beats any INSERT; JSON goes as its text, which the server parses into JSONB.

For a large load into an empty table, `indexes_deferred` stops maintaining secondary
indexes (and, on PostgreSQL, foreign keys) row by row and builds them once at the end;
`claim_next_id`/`reset_id_sequence` let a loader assign ids itself, so that rows loaded
later can refer to rows loaded earlier without reading them back.

Values are stored exactly as SQLAlchemy Core would store them, so rows written here and rows
written by the ORM compare equal in SQL: datetimes become naive UTC (an aware datetime is
converted to UTC first) and, on SQLite, SQLAlchemy's text format; JSON columns take Python
values and are serialized here (`None` becomes SQL NULL, on both backends); any other type
with a SQLAlchemy bind processor goes through it.

Errors from the driver are raised as SQLAlchemy exceptions (`sa.exc.IntegrityError`, …), as
`Connection.execute` would raise them, so callers handle one family of errors.
"""

from __future__ import annotations

import contextlib
import gc
import json
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from itertools import islice
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.schema import AddConstraint, CreateIndex, DropIndex

from audiences_app.core import text_search
from audiences_app.core.db import is_sqlite, write_transaction
from audiences_app.core.models import naive_utc

DEFAULT_CHUNK_ROWS = 10_000
"""Rows handed to the driver at a time: large enough to amortize the call, small enough that
memory stays flat however many rows the iterable yields."""

INDEX_BUILD_MEMORY = "256MB"
"""PostgreSQL maintenance_work_mem while an index is rebuilt after a load (default: 64MB)."""

Encoder = Callable[[Any], Any]

BULK_GC_THRESHOLD = 100_000
"""Allocations between young-generation collections while `fewer_collections` holds (CPython's
default is 700)."""
_gc_lock = threading.Lock()
_gc_holders = 0
_gc_saved: tuple[int, ...] = ()

# The same text as the engines' json_serializer (db.py), NaN refused the same way; one encoder
# object, because json.dumps with any option builds a new one per call (3x slower).
_JSON = json.JSONEncoder(allow_nan=False)


def bulk_insert(
    conn: Connection,
    table: sa.Table,
    columns: Sequence[str],
    rows: Iterable[tuple],
    *,
    chunk_size: int | None = None,
) -> int:
    """Insert `rows` (tuples in the order of `columns`) into `table`; return how many.

    `conn` must already be inside a transaction: nothing is committed here, and a failure
    leaves the transaction for the caller to roll back. `rows` may be any iterable (a
    generator keeps memory flat); it is consumed `chunk_size` rows at a time.
    """
    if not conn.in_transaction():
        raise RuntimeError(
            "bulk_insert needs a connection inside a transaction: "
            "use `with write_transaction(engine) as conn:`"
        )
    columns = tuple(columns)
    unknown = [name for name in columns if name not in table.c]
    if unknown:
        raise ValueError(f"table {table.name!r} has no column {', '.join(map(repr, unknown))}")
    chunk_size = chunk_size or DEFAULT_CHUNK_ROWS
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, not {chunk_size}")

    chunks = _encoded_chunks(rows, columns, _encoders(conn.dialect, table, columns), chunk_size)
    preparer = conn.dialect.identifier_preparer
    target = f"{preparer.format_table(table)} ({', '.join(preparer.quote(c) for c in columns)})"
    raw = conn.connection.dbapi_connection
    if is_sqlite(conn):
        statement = f"INSERT INTO {target} VALUES ({', '.join('?' * len(columns))})"
        write = _executemany
    elif conn.dialect.name == "postgresql":
        statement = f"COPY {target} FROM STDIN"
        write = _copy
    else:
        raise NotImplementedError(
            f"bulk_insert supports SQLite and PostgreSQL, not {conn.dialect.name}"
        )
    try:
        return write(raw, statement, chunks)
    except conn.dialect.loaded_dbapi.Error as exc:
        raise sa.exc.DBAPIError.instance(
            statement, None, exc, conn.dialect.loaded_dbapi.Error
        ) from exc


def _executemany(raw: Any, statement: str, chunks: Iterator[list[tuple]]) -> int:
    count = 0
    cursor = raw.cursor()
    try:
        for chunk in chunks:
            cursor.executemany(statement, chunk)
            count += len(chunk)
    finally:
        cursor.close()
    return count


def _copy(raw: Any, statement: str, chunks: Iterator[list[tuple]]) -> int:
    count = 0
    with raw.cursor() as cursor, cursor.copy(statement) as copy:
        write_row = copy.write_row
        for chunk in chunks:
            for row in chunk:
                write_row(row)
            count += len(chunk)
    return count


def _encoded_chunks(
    rows: Iterable[tuple],
    columns: tuple[str, ...],
    encoders: list[tuple[int, Encoder]],
    chunk_size: int,
) -> Iterator[list[tuple]]:
    """Lists of at most `chunk_size` rows, with the columns that need it encoded.

    Encoding works column-wise (transpose, `map` one encoder over a column, transpose back),
    which costs two C-level passes per chunk instead of rebuilding every tuple in Python.
    """
    iterator = iter(rows)
    width = len(columns)
    while chunk := list(islice(iterator, chunk_size)):
        if encoders:
            try:
                values = list(zip(*chunk, strict=True))
            except ValueError:
                values = []
            if len(values) != width:
                bad = next((r for r in chunk if len(r) != width), chunk[0])
                raise ValueError(
                    f"row {bad!r} has {len(bad)} values for {width} columns {', '.join(columns)}"
                )
            for index, encode in encoders:
                values[index] = map(encode, values[index])
            chunk = list(zip(*values))
        yield chunk


def _encoders(dialect: sa.Dialect, table: sa.Table, columns: tuple[str, ...]) -> list[tuple[int, Encoder]]:
    """(column position, encoder) for every column whose values need converting first."""
    sqlite = dialect.name == "sqlite"
    found = []
    for index, name in enumerate(columns):
        column_type = table.c[name].type
        processor = column_type.dialect_impl(dialect).bind_processor(dialect)
        if isinstance(column_type, sa.JSON):
            found.append((index, _json_text))
        elif isinstance(column_type, sa.DateTime):
            found.append((index, _sqlite_datetime(processor) if sqlite else _naive_utc))
        elif processor is not None:
            found.append((index, processor))
    return found


def _json_text(value: Any) -> str | None:
    if value.__class__ is dict and not value:  # most records have no custom fields
        return "{}"
    return None if value is None else _JSON.encode(value)


def _naive_utc(value: Any) -> Any:
    return naive_utc(value) if isinstance(value, datetime) else value


def _sqlite_datetime(processor: Encoder | None) -> Encoder:
    """SQLAlchemy's SQLite text format ('YYYY-MM-DD HH:MM:SS.ffffff') without its cost.

    Plain naive datetimes take the C `isoformat`, which writes exactly that text; anything
    else (None, dates, aware datetimes once in UTC, subclasses such as pandas Timestamp,
    wrong types) goes through SQLAlchemy's own processor, which formats it or raises a
    clear TypeError. The last datetime's text is kept: the rows of one write mostly share
    one timestamp object (created_at, updated_at).
    """
    assert processor is not None
    last: list[Any] = [None, None]  # (datetime, its text)

    def encode(value: Any) -> Any:
        if value.__class__ is datetime and value.tzinfo is None:
            if value is not last[0]:
                last[:] = value, value.isoformat(" ", "microseconds")
            return last[1]
        return processor(_naive_utc(value))

    return encode


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """Run bulk row work with the cyclic garbage collector's young generation collected every
    BULK_GC_THRESHOLD allocations instead of every 700.

    A chunk of parsed rows is hundreds of thousands of live containers, and every collection
    walks the ones that survived the last: measured on imports (bench/README.md), the collector
    took 20–35% of the CPU time. Memory is still reclaimed by reference counting; only
    reference cycles wait longer. The threshold is process-wide, so holders are counted and
    the first one's saved threshold comes back when the last one leaves, whatever thread
    they run on.
    """
    global _gc_holders, _gc_saved
    with _gc_lock:
        if _gc_holders == 0:
            _gc_saved = gc.get_threshold()
            gc.set_threshold(BULK_GC_THRESHOLD, *_gc_saved[1:])
        _gc_holders += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_holders -= 1
            if _gc_holders == 0:
                gc.set_threshold(*_gc_saved)


@contextlib.contextmanager
def indexes_deferred(
    engine: Engine, table: sa.Table, *, on_rebuilt: Callable[[str], None] | None = None
) -> Iterator[list[str]]:
    """For a large load into an EMPTY table: stop maintaining row by row what is cheaper to
    build once afterwards, and build it on exit.

    Deferred: the secondary (non-unique) indexes, because one sort beats millions of inserts
    in random key order; the trigram search index of companies and people
    (`text_search.suspend`/`resume`); on PostgreSQL the foreign keys, because each checks
    every row with a trigger that locks the parent row, while adding one back validates the
    whole table in one join (as pg_restore does). Kept: the primary key and the unique
    constraints, so identity keys are still checked row by row, CHECK constraints, and
    SQLite's foreign keys (cheap lookups there, and SQLite cannot drop them).

    Yields the names of what it deferred: nothing if the table holds any rows (of any
    workspace), since rebuilding over existing rows costs more than it saves and other users
    would search without the indexes meanwhile. Everything is rebuilt on exit, also after an
    error, one transaction each so that other writers wait seconds, not minutes;
    `on_rebuilt(name)` follows each one. If the process dies first, `ensure_indexes` (which
    loaders call before they start) rebuilds what is missing.
    """
    preparer = engine.dialect.identifier_preparer
    quoted = preparer.format_table(table)
    with write_transaction(engine) as conn:
        empty = conn.execute(sa.select(sa.literal(1)).select_from(table).limit(1)).first() is None
        present = _index_names(conn, table) if empty else set()
        indexes = [index for index in table.indexes if not index.unique and index.name in present]
        foreign_keys = _foreign_keys(conn, table) if empty and not is_sqlite(conn) else []
        for index in indexes:
            conn.execute(DropIndex(index))
        for name, _ in foreign_keys:
            conn.exec_driver_sql(f"ALTER TABLE {quoted} DROP CONSTRAINT {preparer.quote_identifier(name)}")
        if empty:
            text_search.suspend(conn, table)
    search = [f"{table.name} text search"] if empty and table.name in text_search.SEARCHABLE else []
    try:
        yield [index.name for index in indexes] + search + [name for name, _ in foreign_keys]
    finally:
        for index in indexes:
            with write_transaction(engine) as conn:
                if not is_sqlite(conn):  # sort in memory, not in temporary files
                    conn.exec_driver_sql(f"SET LOCAL maintenance_work_mem = '{INDEX_BUILD_MEMORY}'")
                conn.execute(CreateIndex(index, if_not_exists=True))
            if on_rebuilt:
                on_rebuilt(index.name)
        if empty:
            with write_transaction(engine) as conn:
                text_search.resume(conn, table)
            for name in search:
                if on_rebuilt:
                    on_rebuilt(name)
        broken = []
        for name, definition in foreign_keys:
            try:
                _restore_foreign_key(engine, quoted, name, definition)
            except sa.exc.IntegrityError as exc:
                broken.append(exc)
            else:
                if on_rebuilt:
                    on_rebuilt(name)
        if broken:
            raise broken[0]


def _restore_foreign_key(engine: Engine, quoted_table: str, name: str, definition: str) -> None:
    """Add a foreign key back; if loaded rows break it, keep it for new rows (NOT VALID) and
    raise the violation, which names the key and a row."""
    quoted_name = engine.dialect.identifier_preparer.quote_identifier(name)
    add = f"ALTER TABLE {quoted_table} ADD CONSTRAINT {quoted_name} {definition}"
    try:
        with write_transaction(engine) as conn:
            conn.exec_driver_sql(add)
    except sa.exc.IntegrityError:
        with write_transaction(engine) as conn:
            conn.exec_driver_sql(add + " NOT VALID")
        raise


def ensure_indexes(engine: Engine, table: sa.Table) -> None:
    """Rebuild whatever an interrupted load left out: the indexes of `table`, its trigram
    search index and, on PostgreSQL, its foreign keys (as the models declare them)."""
    with write_transaction(engine) as conn:
        for index in table.indexes:
            conn.execute(CreateIndex(index, if_not_exists=True))
        text_search.resume(conn, table)
        if not is_sqlite(conn):
            present = {
                (tuple(fk["constrained_columns"]), fk["referred_table"])
                for fk in sa.inspect(conn).get_foreign_keys(table.name, schema=table.schema)
            }
            for constraint in table.foreign_key_constraints:
                if (tuple(constraint.column_keys), constraint.referred_table.name) not in present:
                    conn.execute(AddConstraint(constraint))


def _index_names(conn: Connection, table: sa.Table) -> set[str]:
    """Names of the indexes the database has on `table` (without reflecting them)."""
    if is_sqlite(conn):
        query = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = :table"
    else:
        query = "SELECT indexname FROM pg_indexes WHERE tablename = :table AND schemaname = current_schema()"
    return set(conn.execute(sa.text(query), {"table": table.name}).scalars())


def _foreign_keys(conn: Connection, table: sa.Table) -> list[tuple[str, str]]:
    """(name, definition) of the foreign keys declared on a PostgreSQL table."""
    return [
        (row.conname, row.definition)
        for row in conn.execute(
            sa.text(
                "SELECT conname, pg_get_constraintdef(oid) AS definition FROM pg_constraint"
                " WHERE conrelid = CAST(:table AS regclass) AND contype = 'f' ORDER BY conname"
            ),
            {"table": conn.dialect.identifier_preparer.format_table(table)},
        )
    ]


def analyze(conn: Connection, tables: Sequence[sa.Table]) -> None:
    """Fresh planner statistics after a large load.

    Without them PostgreSQL takes a freshly loaded table for nearly empty and picks nested
    loops. On SQLite, `analysis_limit` makes ANALYZE sample each index instead of reading
    all of it (seconds instead of minutes at millions of rows).
    """
    preparer = conn.dialect.identifier_preparer
    names = [preparer.format_table(table) for table in tables]
    if is_sqlite(conn):
        limit = conn.exec_driver_sql("PRAGMA analysis_limit").scalar()
        conn.exec_driver_sql("PRAGMA analysis_limit=1000")
        try:
            for name in names:
                conn.exec_driver_sql(f"ANALYZE {name}")
        finally:
            conn.exec_driver_sql(f"PRAGMA analysis_limit={int(limit)}")
    else:
        conn.exec_driver_sql(f"ANALYZE {', '.join(names)}")


def claim_next_id(conn: Connection, table: sa.Table) -> int:
    """The first free id of `table` (max(id) + 1) for a load that assigns ids itself.

    The ids stay free until the transaction ends: on SQLite a write transaction (BEGIN
    IMMEDIATE) already excludes other writers; on PostgreSQL the table is locked against
    other writers (readers go on). Call `reset_id_sequence` before committing, so that rows
    inserted later with default ids continue after the ones loaded here.
    """
    if not is_sqlite(conn):
        conn.exec_driver_sql(
            f"LOCK TABLE {conn.dialect.identifier_preparer.format_table(table)}"
            " IN SHARE ROW EXCLUSIVE MODE"
        )
    pk = _integer_primary_key(table)
    return (conn.execute(sa.select(sa.func.max(pk))).scalar() or 0) + 1


def reset_id_sequence(conn: Connection, table: sa.Table) -> None:
    """Point the id sequence of `table` past max(id) after rows were loaded with explicit ids.

    PostgreSQL only: SQLite gives an INTEGER PRIMARY KEY max(rowid) + 1 by itself.
    """
    if is_sqlite(conn):
        return
    pk = _integer_primary_key(table)
    quoted = conn.dialect.identifier_preparer.format_table(table)
    conn.execute(
        sa.text(
            "SELECT setval(pg_get_serial_sequence(:table, :column),"
            f" COALESCE((SELECT max({conn.dialect.identifier_preparer.quote(pk.name)})"
            f" FROM {quoted}), 0) + 1, false)"
        ),
        {"table": quoted, "column": pk.name},
    )


def _integer_primary_key(table: sa.Table) -> sa.Column:
    columns = list(table.primary_key.columns)
    if len(columns) != 1 or not isinstance(columns[0].type, sa.Integer):
        raise ValueError(f"table {table.name!r} has no single integer primary key")
    return columns[0]
