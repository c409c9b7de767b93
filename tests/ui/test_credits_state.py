"""The Credits page without a browser: balance, spend over time by provider and by run, the
ledger with keyset paging, the demo grant, and bad input refused."""

from __future__ import annotations

import asyncio

from audiences_app.core import jobs
from audiences_app.core.db import write_transaction
from audiences_app.core.enrichment import credits
from audiences_app.ui import db
from audiences_app.ui.state.credits import CreditsState, chart


def act(call):
    return asyncio.run(call)


def opened() -> CreditsState:
    state = CreditsState()
    act(state.load())
    return state


def charges(workspace, n: int, provider: str = "http_api:acme", title: str = "Run A") -> None:
    with write_transaction(db.engine()) as conn:
        run_id = jobs.create_run(conn, workspace_id=workspace.id, kind="enrich", title=title, params={}, payloads=[])
        credits.grant(conn, workspace.id, 1000, note="start")
        for i in range(n):
            credits.charge(conn, workspace.id, 500, key=f"k-{provider}-{i}", run_id=run_id, provider=provider,
                           entity="companies", record_id=workspace.company_ids[i])


def test_balance_chart_and_ledger_paging(workspace):
    charges(workspace, 60)
    charges(workspace, 3, provider="website:home", title="Run B")
    state = opened()
    assert state.error == ""
    assert state.balance == "1,968.5"
    assert state.period_total == "31.5"
    assert [s["label"] for s in state.series] == ["http_api:acme", "website:home"]
    assert len(state.points) == 1 and state.points[0]["s0"] == 30.0 and state.points[0]["s1"] == 1.5

    act(state.set_group_by("run"))
    assert [s["label"] for s in state.series] == ["Run A", "Run B"]
    act(state.set_days("7"))
    assert state.days == "7"

    # 65 entries, 50 a page, newest first.
    assert len(state.ledger) == 50 and state.has_next and state.ledger_page == 0
    first_ids = [int(e["id"]) for e in state.ledger]
    assert first_ids == sorted(first_ids, reverse=True)
    assert state.ledger[0]["kind"] == "charge" and state.ledger[0]["amount"] == "-0.5"
    act(state.next_page())
    assert state.ledger_page == 1 and len(state.ledger) == 15 and not state.has_next
    assert max(int(e["id"]) for e in state.ledger) < min(first_ids)
    assert state.ledger[-1]["kind"] == "grant" and state.ledger[-1]["amount"] == "+1,000"
    act(state.next_page())  # nothing older: stays
    assert state.ledger_page == 1
    act(state.prev_page())
    assert state.ledger_page == 0 and [int(e["id"]) for e in state.ledger] == first_ids
    act(state.next_page())
    act(state.first_page())
    assert state.ledger_page == 0 and [int(e["id"]) for e in state.ledger] == first_ids


def test_empty_and_bad_input(workspace):
    state = opened()
    assert state.balance == "0" and state.ledger == [] and state.points == [] and not state.has_next
    act(state.set_group_by("record"))
    assert "provider or by run" in state.error and state.group_by == "provider"
    act(state.set_days("100000"))
    assert "7, 30 or 90" in state.error and state.days == "30"
    act(state.set_days(["7"]))
    assert state.days == "30"
    act(state.prev_page())
    assert state.ledger_page == 0


def test_demo_grant_only_in_the_demo_workspace(workspace, settings_env):
    state = opened()
    assert not state.demo
    act(state.grant_demo_credits())
    assert "demo workspace only" in state.error and state.balance == "0"


def test_chart_groups_the_smallest_series_as_other():
    rows = [{"day": "2026-12-01", "key": f"p{i}", "label": f"p{i}", "credits": float(i + 1)} for i in range(8)]
    points, series = chart(rows, 30, 6)
    assert [s["label"] for s in series] == ["p7", "p6", "p5", "p4", "p3", "p2", "Other"]
    assert points[0]["other"] == 3.0 and points[0]["s0"] == 8.0
