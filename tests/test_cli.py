"""The command line over the same core: db upgrade, demo, stats, --database-url."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from audiences_app.cli import main


@pytest.fixture
def run(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"

    def invoke(*args: str):
        return CliRunner().invoke(main, ["--database-url", url, *args], catch_exceptions=False)

    return invoke


def test_db_upgrade_reports_the_newest_revision(run):
    from alembic.script import ScriptDirectory

    from audiences_app.core.migrate import MIGRATIONS

    result = run("db", "upgrade")
    assert result.exit_code == 0
    assert f"database at revision {ScriptDirectory(str(MIGRATIONS)).get_current_head()}" in result.output


def test_stats_on_a_missing_workspace_says_what_to_do(run):
    run("db", "upgrade")
    result = run("stats")
    assert result.exit_code == 1
    assert "no workspace 'demo'" in result.output and "demo" in result.output


def test_demo_then_stats_json_counts_each_entity(run):
    assert run("demo", "--companies", "60", "--people", "150", "--seed", "3").exit_code == 0
    result = run("stats", "--json")
    assert result.exit_code == 0
    assert json.loads(result.output) == {"workspace": "demo", "companies": 60, "people": 150}


def test_demo_if_empty_leaves_a_loaded_workspace_alone(run):
    run("demo", "--companies", "20", "--people", "20")
    result = run("demo", "--if-empty", "--companies", "999")
    assert result.exit_code == 0 and "nothing loaded" in result.output
    assert json.loads(run("stats", "--json").output)["companies"] == 20


def test_database_url_option_overrides_the_environment(run, monkeypatch, tmp_path):
    monkeypatch.setenv("AUDIENCES_DATABASE_URL", "sqlite:////nonexistent/dir/never.db")
    assert run("db", "upgrade").exit_code == 0
    assert (tmp_path / "cli.db").exists()


def test_demo_into_a_loaded_workspace_is_refused_in_one_line(run):
    run("demo", "--companies", "5", "--people", "5")
    result = run("demo", "--companies", "5", "--people", "5")
    assert result.exit_code == 1
    assert "Traceback" not in result.output and "--if-empty" in result.output
