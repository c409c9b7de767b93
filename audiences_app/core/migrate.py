"""Schema migrations (Alembic) run from code, so the CLI and the tests share one path."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

from audiences_app.core.text_search import is_index_object

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def include_name(name: str | None, type_: str, parent_names: dict) -> bool:
    """What autogenerate and schema checks compare: everything but what the models cannot
    describe and migrations create by hand — the trigram search index (0005: FTS5 virtual
    tables, GIN indexes) and the folded-text expression indexes (0007, `*_folded`)."""
    if type_ not in ("table", "index") or not name:
        return True
    return not (is_index_object(name) or name.endswith("_folded"))


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to `revision` (the newest by default)."""
    config = alembic_config(engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
