"""The Jobs page without a browser: every durable run with status and progress, a run's detail
with item errors, polling while a run works, and bad input refused."""

from __future__ import annotations

import asyncio

from reflex.istate.data import ReflexURL, RouterData

from audiences_app.core import enrichment, jobs
from audiences_app.core.db import write_transaction
from audiences_app.core.enrichment.runs import run_until_done
from audiences_app.ui import db
from audiences_app.ui.state.jobs import JobsState

SPEC = {"steps": [{"provider": {"kind": "derived"}, "map": {"size_band": "size_band"}}]}


def act(call):
    return asyncio.run(call)


def opened() -> tuple[JobsState, object]:
    state = JobsState()
    state.router = RouterData(url=ReflexURL("http://localhost:3000/jobs"))
    return state, act(state.load())


def test_lists_runs_of_every_kind(workspace):
    engine = db.engine()
    with write_transaction(engine) as conn:
        config = enrichment.save_config(conn, workspace.id, "Bands", "companies", SPEC)
        other = jobs.create_run(conn, workspace_id=workspace.id, kind="import", title="Import companies.csv",
                                params={}, payloads=[{"n": 1}, {"n": 2}])
    test = enrichment.start_test_run(engine, workspace.id, config["id"])
    state, events = opened()
    assert state.error == ""
    assert [r["id"] for r in state.runs] == [str(test), str(other)]
    assert state.runs[0]["kind"] == "Enrichment" and state.runs[0]["status"] == "queued"
    assert state.runs[1]["kind"] == "Import" and state.runs[1]["total"] == "2"
    assert events is not None  # a run is working: the page polls

    run_until_done(engine, test, workspace.id, timeout_seconds=60)
    act(state.refresh())
    assert state.runs[0]["status"] == "succeeded" and state.runs[0]["percent"] == "100"
    assert state.runs[0]["done"] == "10"

    act(state.set_kind_filter("import"))
    assert [r["id"] for r in state.runs] == [str(other)]
    act(state.set_kind_filter("all"))
    assert len(state.runs) == 2

    act(state.open_run(str(test)))
    assert state.detail_open and state.detail["title"].startswith("Enrich Bands")
    assert state.detail_errors == []
    state.set_detail_open(False)
    assert not state.detail_open


def test_item_errors_and_bad_input(workspace):
    engine = db.engine()
    with write_transaction(engine) as conn:
        run = jobs.create_run(conn, workspace_id=workspace.id, kind="import", title="Broken", params={},
                              payloads=[{"n": 1}])
        conn.execute(jobs.ITEM.update().where(jobs.ITEM.c.run_id == run).values(status="failed", error="bad row",
                                                                                 attempts=3))
    state, _ = opened()
    act(state.open_run(str(run)))
    assert state.detail_errors == [{"seq": state.detail_errors[0]["seq"], "status": "failed", "attempts": "3",
                                    "error": "bad row"}]
    act(state.open_run("abc"))
    assert "not valid" in state.error
    act(state.open_run("987654"))
    assert "No run #987654" in state.error
    act(state.set_kind_filter("<script>"))
    assert "kind of job" in state.error and state.kind_filter == "all"


def test_watch_stops_when_the_page_is_left(workspace):
    engine = db.engine()
    with write_transaction(engine) as conn:
        jobs.create_run(conn, workspace_id=workspace.id, kind="import", title="Waiting", params={}, payloads=[{"n": 1}])
    state, _ = opened()
    state.router = RouterData(url=ReflexURL("http://localhost:3000/companies"))
    asyncio.run(asyncio.wait_for(JobsState.watch.fn(state), timeout=5))  # returns after one poll
