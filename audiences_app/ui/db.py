"""The process's one database engine, and the read connection every UI event uses."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from functools import lru_cache

from sqlalchemy.engine import Connection, Engine

from audiences_app.core.db import make_engine, time_limit
from audiences_app.settings import get_settings


@lru_cache(maxsize=1)
def engine() -> Engine:
    return make_engine(get_settings().database_url)


@contextlib.contextmanager
def read_connection() -> Iterator[Connection]:
    """A connection in a read transaction whose statements must end within the query time limit.

    A user's click must never hold a worker for minutes: a statement that runs past
    AUDIENCES_QUERY_TIME_LIMIT_MS raises QueryTimeout, which the states turn into a message.
    """
    with engine().connect() as conn, conn.begin():
        with time_limit(conn, get_settings().query_time_limit_ms):
            yield conn
