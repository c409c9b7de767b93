"""Engines for SQLite and PostgreSQL, write transactions, and per-query time limits.

SQLite is tuned as DESIGN.md says: WAL so readers never wait for the writer, a busy timeout,
synchronous=NORMAL, and BEGIN IMMEDIATE for write transactions so two writers queue up at
BEGIN instead of failing with "database is locked" half-way through.
"""

from __future__ import annotations

import contextlib
import functools
import json
import time
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

SQLITE_BUSY_TIMEOUT_MS = 30_000
# NaN and Infinity are not JSON: SQLite would store them and then fail every JSON query of the
# workspace ("malformed JSON"), PostgreSQL refuses them. Refuse them at write time everywhere.
_json_serializer = functools.partial(json.dumps, allow_nan=False)


class QueryTimeout(Exception):
    """A query ran past the time limit its caller allowed."""


def is_sqlite(bind: Engine | Connection) -> bool:
    return bind.dialect.name == "sqlite"


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """One engine per process and database URL; callers pass connections to core functions."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        path = sa.engine.make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            url, echo=echo, connect_args={"timeout": 30}, json_serializer=_json_serializer
        )
        _tune_sqlite(engine)
        return engine
    return sa.create_engine(
        url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=10,
        json_serializer=_json_serializer,
    )


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Take transaction control from the driver so that BEGIN is ours to choose.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection):
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


@contextlib.contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection inside one write transaction (BEGIN IMMEDIATE on SQLite), committed on exit."""
    with engine.connect() as conn:
        if is_sqlite(engine):
            conn = conn.execution_options(sqlite_begin="IMMEDIATE")
        with conn.begin():
            yield conn


@contextlib.contextmanager
def time_limit(conn: Connection, milliseconds: int) -> Iterator[None]:
    """Abort any statement on `conn` that runs longer than `milliseconds`; raise QueryTimeout.

    SQLite: a progress handler interrupts the running statement. PostgreSQL: a
    transaction-local statement_timeout (so it must run inside a transaction).
    """
    if is_sqlite(conn):
        raw = conn.connection.dbapi_connection
        deadline = time.monotonic() + milliseconds / 1000
        raw.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
        try:
            yield
        except sa.exc.OperationalError as exc:
            if "interrupted" in str(exc):
                raise QueryTimeout(f"query took longer than {milliseconds} ms") from exc
            raise
        finally:
            raw.set_progress_handler(None, 0)
    else:
        previous = conn.exec_driver_sql("SHOW statement_timeout").scalar()
        conn.exec_driver_sql(f"SET LOCAL statement_timeout = {int(milliseconds)}")
        try:
            yield
        except sa.exc.OperationalError as exc:
            if "statement timeout" in str(exc):
                raise QueryTimeout(f"query took longer than {milliseconds} ms") from exc
            raise
        conn.execute(
            sa.text("SELECT set_config('statement_timeout', :previous, true)"),
            {"previous": previous},
        )
