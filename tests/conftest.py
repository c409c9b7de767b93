"""Shared fixtures: a migrated database per backend, and a fresh workspace per test.

Core tests run on SQLite always and on PostgreSQL when AUDIENCES_TEST_POSTGRES_URL is set
(each test session creates its own PostgreSQL database and drops it at the end). Tests share
a database per backend and isolate themselves by workspace, as the product does.
"""

from __future__ import annotations

import itertools
import os
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from audiences_app.core.db import make_engine, write_transaction
from audiences_app.core.migrate import upgrade
from audiences_app.core.workspaces import ensure_workspace
from audiences_app.settings import get_settings

@pytest.fixture(autouse=True)
def settings_from_this_tests_environment():
    """Settings are read once per process (`get_settings` is cached): each test starts from
    the environment as it is, and one that changes it (monkeypatch.setenv, then
    `get_settings.cache_clear()`) leaves nothing cached behind for the next."""
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


SHARED_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
POSTGRES_URL = os.environ.get("AUDIENCES_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", "postgres"]


def _postgres_database() -> tuple[str, callable]:
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"audiences_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.engine.make_url(POSTGRES_URL).set(database=name)

    def drop():
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    return url.render_as_string(hide_password=False), drop


@pytest.fixture(scope="session", params=BACKENDS)
def engine(request, tmp_path_factory):
    """A migrated engine: SQLite in a temp folder, or a throw-away PostgreSQL database."""
    if request.param == "sqlite":
        url, drop = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}", None
    else:
        if not POSTGRES_URL:
            pytest.skip("AUDIENCES_TEST_POSTGRES_URL is not set")
        url, drop = _postgres_database()
    eng = make_engine(url)
    upgrade(eng)
    yield eng
    eng.dispose()
    if drop:
        drop()


@pytest.fixture(scope="session")
def sqlite_engine(tmp_path_factory):
    """A migrated SQLite engine, for tests that are about SQLite itself (or the UI)."""
    eng = make_engine(f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'test.db'}")
    upgrade(eng)
    yield eng
    eng.dispose()


_workspace_numbers = itertools.count(1)


@pytest.fixture
def workspace_id(engine) -> int:
    """A new, empty workspace (with its core field catalog) for one test."""
    with write_transaction(engine) as conn:
        return ensure_workspace(conn, f"test-{next(_workspace_numbers)}-{uuid.uuid4().hex[:6]}")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real-data folder {SHARED_DATA} is absent")
    return SHARED_DATA
