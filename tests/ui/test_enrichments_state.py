"""The Enrichments page without a browser: a derived-fields config over a saved segment, its
estimate, the required 10-row test and its results, the full run with progress read from the
database, pause/resume/cancel, auto-enrich, a run's detail, and handlers refusing bad input."""

from __future__ import annotations

import asyncio

import pytest
from reflex.istate.data import ReflexURL, RouterData

from audiences_app.core import enrichment
from audiences_app.core.db import write_transaction
from audiences_app.core.enrichment.runs import run_until_done
from audiences_app.core.segments import count_matching, saved
from audiences_app.ui import db
from audiences_app.ui.state.enrichments import EnrichmentsState


def act(call):
    return asyncio.run(call)


def background(state, handler) -> None:
    asyncio.run(getattr(type(state), handler).fn(state))


def opened() -> EnrichmentsState:
    state = EnrichmentsState()
    state.router = RouterData(url=ReflexURL("http://localhost:3000/enrichments"))
    act(state.load())
    return state


@pytest.fixture
def segment(workspace) -> int:
    with write_transaction(db.engine()) as conn:
        found = saved.save_segment(conn, workspace.id, name="German companies", entity="companies",
                                   filter_json={"field": "country", "op": "eq", "value": "DE"}, owner="test")
    return found["id"]


def work(state: EnrichmentsState, run_id: int) -> None:
    """What the app's worker thread does: process the run to its end."""
    with db.engine().connect() as conn:
        ws = state._workspace_id(conn)
    run_until_done(db.engine(), run_id, ws, timeout_seconds=60)


def configured(state: EnrichmentsState, segment: int, name: str = "Firmographics") -> None:
    act(state.new_config())
    state.set_form_name(name)
    state.set_form_target(str(segment))
    state.toggle_output("lookalike_group", False)
    state.set_output_field("world_region", "geo_region")
    act(state.save_config())
    assert state.form_error == "", state.form_error


def test_empty_page(workspace):
    state = opened()
    assert state.error == ""
    assert state.configs == [] and state.runs == []
    assert [o["output"] for o in state.outputs] == ["size_band", "world_region", "lookalike_group"]


def test_config_estimate_test_and_full_run(workspace, segment):
    state = opened()
    act(state.new_config())
    assert {"id": str(segment), "name": "German companies"} in state.segment_options
    configured(state, segment)
    assert state.notice.startswith("Saved Firmographics")
    assert [c["name"] for c in state.configs] == ["Firmographics"]
    row = state.configs[0]
    assert row["fields"] == "size_band, geo_region" and row["tested"] == "" and row["target"] == "Segment: German companies"
    with db.engine().connect() as conn:
        members = count_matching(conn, workspace.id, "companies", {"segment": segment, "op": "in_segment"},
                                 segment_resolver=saved.resolver(conn, workspace.id))
    assert state.estimate["records"] == f"{members:,}"
    assert state.estimate["credits"] == "0"  # derived fields are offline and free

    # The full run is refused until the 10-row test has passed — by core, whatever the UI shows.
    act(state.start_full_run())
    assert "10 rows first" in state.error and state.run_id == 0

    act(state.run_test())
    assert state.error == "" and state.test_run_id > 0 and state.test_status == "queued"
    work(state, state.test_run_id)
    background(state, "watch_run")
    assert state.test_status == "succeeded" and not state.watching
    assert len(state.test_results) == 10
    assert all(r["status"] == "done" for r in state.test_results)
    assert any("size_band:" in r["values"] for r in state.test_results)
    assert state.config_tested

    act(state.start_full_run())
    assert state.error == "", state.error
    run_id = state.run_id
    assert run_id > 0 and state.progress["status"] == "queued"
    work(state, run_id)
    background(state, "watch_run")
    assert state.progress["status"] == "succeeded"
    assert state.progress["done"] == f"{members:,}" and state.progress["percent"] == "100"
    assert [r["mode"] for r in state.runs][:2] == ["full", "test"]

    # The new field filters at once.
    with db.engine().connect() as conn:
        banded = count_matching(conn, workspace.id, "companies", {"field": "size_band", "op": "is_not_empty"})
    assert 0 < banded <= members

    act(state.open_run(str(run_id)))
    assert state.detail_open and state.detail["status"] == "succeeded" and state.detail["run_id"] == str(run_id)
    state.set_detail_open(False)
    assert not state.detail_open

    # Reopening the page finds the selected config's test and run again.
    again = opened()
    act(again.select_config(str(state.config_id)))
    assert again.config_tested and again.test_run_id == state.test_run_id and again.run_id == run_id
    assert len(again.test_results) == 10


def test_pause_resume_cancel_and_auto(workspace, segment):
    state = opened()
    configured(state, segment)
    act(state.set_auto(True))
    assert "needs a passed 10-row test" in state.error and not state.config_auto
    act(state.run_test())
    work(state, state.test_run_id)
    background(state, "watch_run")
    act(state.start_full_run())
    act(state.pause_run())
    assert state.error == "" and state.progress["status"] == "paused"
    act(state.pause_run())
    assert "cannot become paused" in state.error
    act(state.resume_run())
    assert state.progress["status"] in ("queued", "running")
    act(state.cancel_run())
    assert state.progress["status"] == "cancelled"
    act(state.set_auto(True))
    assert state.error == "" and state.config_auto and state.configs[0]["auto"] == "1"
    act(state.set_auto(False))
    assert not state.config_auto


def test_handlers_refuse_bad_input(workspace, segment):
    state = opened()
    act(state.open_run("12; drop table"))
    assert "not valid" in state.error
    act(state.open_run("999999"))
    assert "no enrichment run" in state.error.lower()
    act(state.select_config("-1"))
    assert "not valid" in state.error
    act(state.set_form_entity("accounts"))
    assert state.form_error == "Choose companies or people." and state.form_entity == "companies"
    state.set_form_target("424242")
    assert "saved segment" in state.form_error and state.form_target == "all"
    act(state.new_config())
    state.set_form_name("Bad")
    state.set_output_field("size_band", "employee_count")  # a core field
    act(state.save_config())
    assert "core field" in state.form_error
    state.set_advanced_spec("{not json")
    act(state.save_config())
    assert "not valid JSON" in state.form_error
    state.set_advanced_spec('{"steps": [{"provider": {"kind": "nope"}, "map": {"a": "b"}}]}')
    act(state.save_config())
    assert "unknown provider kind" in state.form_error
    act(state.run_test())
    assert "Choose a configuration" in state.error
    act(state.pause_run())
    assert "no run" in state.error
    assert state.configs == []


def test_other_workspaces_runs_are_hidden(workspace, segment, engine):
    from audiences_app.core.workspaces import ensure_workspace
    with write_transaction(engine) as conn:
        other = ensure_workspace(conn, "someone-else")
        config = enrichment.save_config(conn, other, "Theirs", "companies",
                                        {"steps": [{"provider": {"kind": "derived"}, "map": {"size_band": "size_band"}}]})
    state = opened()
    act(state.select_config(str(config["id"])))
    assert "no enrichment config" in state.error.lower()
    assert state.configs == []


def test_editing_a_config_makes_a_new_version_that_needs_its_own_test(workspace, segment):
    state = opened()
    configured(state, segment)
    act(state.run_test())
    work(state, state.test_run_id)
    background(state, "watch_run")
    assert state.config_tested
    act(state.edit_config())
    assert state.editor_open and state.form_name == "Firmographics" and state.form_target == str(segment)
    assert {o["output"]: (o["enabled"], o["field"]) for o in state.outputs} == {
        "size_band": ("1", "size_band"), "world_region": ("1", "geo_region"), "lookalike_group": ("", "lookalike_group")}
    state.toggle_output("lookalike_group", True)
    act(state.save_config())
    assert state.form_error == "" and state.config_version == 2 and not state.config_tested
    assert state.configs[0]["version"] == "2" and state.configs[0]["tested"] == ""
    act(state.start_full_run())
    assert "10 rows first" in state.error

    # A spec other than the derived fields opens as JSON.
    with write_transaction(db.engine()) as conn:
        enrichment.save_config(conn, workspace.id, "Firmographics", "companies", {"steps": [
            {"provider": {"kind": "derived", "name": "bands"}, "map": {"size_band": "size_band"}}]})
    act(state.edit_config())
    assert '"name": "bands"' in state.advanced_spec
