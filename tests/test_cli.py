"""The command line over the same core: db upgrade, demo, stats, --database-url."""

from __future__ import annotations

import json
from datetime import UTC, datetime

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


def test_the_demo_history_ends_today_unless_an_epoch_is_given(run):
    recent = json.dumps({"field": "created_at", "op": "within_last", "value": {"amount": 30, "unit": "day"}})
    future = json.dumps({"field": "created_at", "op": "after", "value": datetime.now(UTC).date().isoformat()})
    assert run("demo", "--companies", "300", "--people", "0").exit_code == 0
    count = json.loads(run("segment", "count", "--entity", "companies", "--filter", recent, "--json").output)["count"]
    assert 0 < count < 300  # the newest demo companies were created in the last 30 days
    assert json.loads(run("segment", "count", "--entity", "companies", "--filter", future, "--json").output)["count"] == 0
    today = datetime.now(UTC).date().isoformat()
    now = run("segment", "count", "--entity", "companies", "--filter", recent, "--json", "--as-of", today)
    assert run("demo", "--workspace", "old", "--companies", "300", "--people", "0", "--epoch", "2026-01-01").exit_code == 0
    old = run("segment", "count", "--workspace", "old", "--entity", "companies", "--filter", recent, "--json",
              "--as-of", "2026-01-01")
    assert json.loads(old.output)["count"] == json.loads(now.output)["count"]  # the same history, ending earlier
    bad = run("demo", "--workspace", "bad", "--epoch", "yesterday")
    assert bad.exit_code == 2 and "--epoch" in bad.output


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
