"""The command line: enrich estimate/test/run, runs list/show, credits show/ledger, secret set."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from audiences_app.cli import main
from audiences_app.core.db import make_engine
from audiences_app.core.models import Secret
from tests.core.enrichment.helpers import add_companies, api_step


@pytest.fixture
def cli(tmp_path, server):
    url = f"sqlite:///{tmp_path / 'cli.db'}"

    def invoke(*args: str, input: str | None = None):
        return CliRunner().invoke(main, ["--database-url", url, *args, "--workspace", "acme"], input=input,
                                  catch_exceptions=False)

    invoke("credits", "show")  # creates the schema and the workspace
    engine = make_engine(url)
    add_companies(engine, 1, 15, industry="software")
    add_companies(engine, 1, 5, prefix="bio", industry="biotech")
    config = tmp_path / "firmo.json"
    config.write_text(json.dumps({"name": "Firmo", "steps": [api_step(server.url)]}))
    invoke.config, invoke.engine = str(config), engine
    yield invoke
    engine.dispose()


def _target(cli) -> list[str]:
    return ["--entity", "companies", "--filter", '{"field": "industry", "op": "eq", "value": "software"}',
            "--config", cli.config]


def test_estimate_test_then_run_with_the_estimate_accepted(cli):
    assert "balance 40 credits" in cli("credits", "grant", "40", "--note", "top-up").output
    estimate = json.loads(cli("enrich", "estimate", *_target(cli), "--json").output)
    assert (estimate["records"], estimate["calls"], estimate["credits"]) == (15, 15, 15)
    refused = cli("enrich", "run", *_target(cli))
    assert refused.exit_code == 1 and "10-row test" in refused.output
    tested = cli("enrich", "test", *_target(cli))
    assert "test run #1 succeeded: 10 done" in tested.output and "firmo_employees=" in tested.output
    warned = cli("enrich", "run", *_target(cli))
    assert warned.exit_code == 1 and "--yes" in warned.output
    done = json.loads(cli("enrich", "run", *_target(cli), "--yes", "--json").output)
    assert (done["status"], done["done"], done["cached"], done["credits"]) == ("succeeded", 15, 10, 5)


def test_runs_and_credits_are_listed_and_shown(cli):
    cli("credits", "grant", "50")
    cli("enrich", "test", *_target(cli))
    listed = json.loads(cli("runs", "list", "--json").output)
    assert listed[0]["kind"] == "enrich" and listed[0]["status"] == "succeeded"
    shown = json.loads(cli("runs", "show", str(listed[0]["id"]), "--json").output)
    assert shown["providers"] == [{"provider": "http_api:firmo", "entries": 10, "credits": 10.0}]
    ledger = json.loads(cli("credits", "ledger", "--json", "--limit", "5").output)
    assert [e["kind"] for e in ledger["data"]] == ["charge"] * 5 and ledger["next_before_id"]
    assert json.loads(cli("credits", "show", "--json").output)["balance"] == 40
    assert "monthly limit 25 credits" in cli("credits", "limit", "25").output


def test_secret_set_reads_the_value_from_stdin_and_stores_it_encrypted(cli):
    stored = cli("secret", "set", "firmo_key", "--hosts", "api.example.com", input="sk-live-abcdef\n")
    assert stored.exit_code == 0 and "sk-live" not in stored.output
    listed = json.loads(cli("secret", "list", "--json").output)
    assert [(s["name"], s["hosts"]) for s in listed] == [("firmo_key", ["api.example.com"])]
    assert "sk-live" not in json.dumps(listed)
    with cli.engine.connect() as conn:
        ciphertext = conn.execute(sa.select(Secret.__table__.c.ciphertext)).scalar_one()
    assert "sk-live" not in ciphertext
