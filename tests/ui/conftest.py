"""UI fixtures: a small seeded workspace per test, wired into the UI's engine and settings.

State classes are instantiated directly (Reflex allows that under pytest) and their event
handlers called as methods; the UI's engine accessor is pointed at the test engine. Like the
core tests, they run on SQLite, and on PostgreSQL too when AUDIENCES_TEST_POSTGRES_URL is set.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from audiences_app.core.db import write_transaction
from audiences_app.core.models import Company, CompanyTag, Person, Tag
from audiences_app.core.workspaces import ensure_workspace
from audiences_app.settings import get_settings
from audiences_app.ui import db

COMPANIES, PEOPLE = 260, 120
INDUSTRIES = ["software", "biotech", "retail", "logistics", None]


@dataclass(frozen=True)
class SeededWorkspace:
    slug: str
    id: int
    company_ids: list[int]
    person_ids: list[int]


def _seed(conn, ws: int) -> tuple[list[int], list[int]]:
    start = datetime(2026, 1, 1)
    companies = Company.__table__
    company_ids = list(conn.execute(
        sa.insert(companies).returning(companies.c.id, sort_by_parameter_order=True),
        [
            {
                "workspace_id": ws, "name": f"Acme {i:03d}", "domain": f"acme{i:03d}.example",
                "industry": INDUSTRIES[i % len(INDUSTRIES)],
                "employee_count": None if i % 10 == 0 else (i * 37) % 5000,
                "country": ["US", "DE", "FR"][i % 3], "city": "Springfield",
                "created_at": start + timedelta(hours=i), "updated_at": start + timedelta(hours=i),
                "attributes": {"funding_stage": "series_a", "tech_stack": ["python", "postgres"]},
            }
            for i in range(COMPANIES)
        ],
    ).scalars())
    people = Person.__table__
    person_ids = list(conn.execute(
        sa.insert(people).returning(people.c.id, sort_by_parameter_order=True),
        [
            {
                "workspace_id": ws, "first_name": "Ada", "last_name": f"Lovelace {i:03d}",
                "full_name": f"Ada Lovelace {i:03d}", "email": f"ada{i:03d}@acme{i:03d}.example",
                "title": "VP Engineering", "company_id": company_ids[i],
                "company_domain": f"acme{i:03d}.example", "country": "GB",
                "created_at": start, "updated_at": start, "attributes": {},
            }
            for i in range(PEOPLE)
        ],
    ).scalars())
    tag_id = conn.execute(
        sa.insert(Tag.__table__).values(workspace_id=ws, name="customer").returning(Tag.__table__.c.id)
    ).scalar_one()
    conn.execute(sa.insert(CompanyTag.__table__), [{"company_id": company_ids[0], "tag_id": tag_id}])
    return company_ids, person_ids


@pytest.fixture
def workspace(engine, monkeypatch) -> SeededWorkspace:
    """A seeded workspace that the UI's states open, through the UI's own engine accessor."""
    slug = f"ui-{uuid.uuid4().hex[:8]}"
    with write_transaction(engine) as conn:
        ws = ensure_workspace(conn, slug)
        company_ids, person_ids = _seed(conn, ws)
    monkeypatch.setattr(db, "engine", lambda: engine)
    monkeypatch.setenv("AUDIENCES_WORKSPACE", slug)
    monkeypatch.setenv("AUDIENCES_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    yield SeededWorkspace(slug, ws, company_ids, person_ids)
    get_settings.cache_clear()


@pytest.fixture
def settings_env(monkeypatch):
    """Set AUDIENCES_* variables for one test: `settings_env(COUNT_CAP="100")`."""

    def set_(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(f"AUDIENCES_{name}", value)
        get_settings.cache_clear()

    yield set_
    get_settings.cache_clear()
