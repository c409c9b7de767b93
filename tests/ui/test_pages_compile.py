"""Every page compiles, and the app is wired as the rest of the project expects."""

from __future__ import annotations

from pathlib import Path

from audiences_app.settings import Settings
from audiences_app.ui import routes
from audiences_app.ui.pages.settings import configuration_rows

ROOT = Path(__file__).resolve().parents[2]
SECTION_ROUTES = [
    routes.COMPANIES, routes.PEOPLE, routes.SEGMENTS, routes.TABLES, routes.ENRICHMENTS,
    routes.JOBS, routes.CREDITS, routes.DATA_HUB, routes.SETTINGS,
]


def test_every_page_compiles(monkeypatch):
    from reflex.utils import prerequisites

    monkeypatch.chdir(ROOT)
    app = prerequisites.get_compiled_app(dry_run=True, use_rich=False).app
    compiled = set(app._pages)
    assert {route.strip("/") for route in SECTION_ROUTES} | {"index"} <= compiled


def test_the_reflex_config_keeps_telemetry_off_and_origins_narrow(monkeypatch):
    from reflex.config import get_config

    monkeypatch.chdir(ROOT)
    config = get_config()
    assert config.app_name == "audiences_app"
    assert config.telemetry_enabled is False
    assert "*" not in config.cors_allowed_origins


def test_settings_page_names_the_database_backend_but_never_its_password():
    settings = Settings(database_url="postgresql+psycopg://audiences:s3cret@db.internal:5432/gtm")
    rows = {row["label"]: row["value"] for row in configuration_rows(settings)}
    assert rows["Database"] == "PostgreSQL"
    assert rows["Database name"] == "gtm on db.internal:5432"
    assert "s3cret" not in repr(rows) and "audiences" not in rows["Database name"]


def test_settings_page_shows_the_sqlite_file():
    rows = {r["label"]: r["value"] for r in configuration_rows(Settings(database_url="sqlite:////srv/a.db"))}
    assert rows["Database"] == "SQLite" and rows["Database name"] == "/srv/a.db"
