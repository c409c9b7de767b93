"""The Data Hub without a browser: fill rates per field, the value chart, custom fields."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from reflex.istate.data import ReflexURL, RouterData

from audiences_app.core.db import write_transaction
from audiences_app.core.models import FieldDef
from audiences_app.ui import db
from audiences_app.ui.state.data_hub import DataHubState
from tests.ui.conftest import COMPANIES, PEOPLE


def act(call):
    return asyncio.run(call) if asyncio.iscoroutine(call) else call


def opened(path: str = "/data-hub") -> DataHubState:
    state = DataHubState()
    state.router = RouterData(url=ReflexURL(f"http://localhost:3000{path}"))
    act(state.load())
    return state


def row(state, key):
    return next(r for r in state.field_rows if r["key"] == key)


def test_the_catalog_shows_every_field_with_its_fill_rate(workspace):
    state = opened()
    assert state.error == ""
    assert state.entity == "companies" and state.total_label == f"{COMPANIES:,} companies"
    name = row(state, "name")
    assert name["filled"] == f"{COMPANIES:,}" and name["percent"] == "100%" and name["bar"] == "100%"
    employees = row(state, "employee_count")  # every 10th is empty
    assert employees["filled"] == f"{COMPANIES - COMPANIES // 10:,}" and employees["percent"] == "90%"
    industry = row(state, "industry")  # low cardinality: its values are listed
    assert "software" in industry["values"] and industry["distinct"] == "4"
    assert name["source"] == "core" and name["type"] == "text" and name["updated"] != "—"
    assert state.incomplete == ""


def test_the_people_tab_from_the_url_and_the_switch(workspace):
    state = opened("/data-hub?entity=people")
    assert state.entity == "people" and state.total_label == f"{PEOPLE:,} people"
    act(state.set_entity("companies"))
    assert state.total_label == f"{COMPANIES:,} companies"
    act(state.set_entity("secrets; drop table"))
    assert "Unknown entity" in state.error and state.entity == "companies"


def test_a_field_that_times_out_is_shown_as_unknown_and_named(workspace, monkeypatch):
    from audiences_app.ui.state import data_hub

    real = data_hub.field_health

    def slow(conn, ws, entity, **kwargs):
        assert kwargs["time_limit_ms"] == DataHubState.HEALTH_TIME_LIMIT_MS
        rows = real(conn, ws, entity, **kwargs)
        import dataclasses
        return [dataclasses.replace(h, filled=None) if h.key == "industry" else h for h in rows]

    monkeypatch.setattr(data_hub, "field_health", slow)
    state = opened()
    assert row(state, "industry")["filled"] == "—" and row(state, "industry")["known"] is False
    assert "Industry" in state.incomplete and "Not computed" in state.incomplete


def test_a_field_detail_charts_its_values(workspace):
    state = opened()
    act(state.open_field("industry"))
    assert state.detail_open and state.detail_label == "Industry" and state.detail_error == ""
    counts = {v["value"]: v["count"] for v in state.chart}
    assert set(counts) == {"software", "biotech", "retail", "logistics"}
    assert sum(counts.values()) == COMPANIES - COMPANIES // 5
    assert "empty" in state.chart_note
    act(state.open_field("no_such_field"))
    assert "not in the catalog" in state.error


def test_add_edit_hide_and_show_a_custom_field_without_losing_data(workspace):
    state = opened()
    state.open_add()
    state.set_new_label("Lead score")
    state.set_new_type("number")
    act(state.create_field({}))
    assert state.add_error == "" and not state.add_open
    assert row(state, "lead_score")["source"] == "custom" and row(state, "lead_score")["type"] == "number"
    act(state.open_field("lead_score"))
    state.set_edit_label("Lead score (2026)")
    state.set_edit_description("From the SDR sheet")
    act(state.save_field())
    assert row(state, "lead_score")["label"] == "Lead score (2026)"
    act(state.open_field("lead_score"))
    act(state.toggle_hidden())
    assert row(state, "lead_score")["hidden"] is True and "values stay" in state.notice
    act(state.toggle_hidden())
    assert row(state, "lead_score")["hidden"] is False
    # the same label twice, a bad type, a core field
    state.set_new_label("Lead score")
    act(state.create_field({}))
    assert "already" in state.add_error
    state.set_new_type("json")
    assert state.new_type == "text"
    act(state.open_field("name"))
    act(state.toggle_hidden())
    assert "core field" in state.detail_error


def test_hiding_keeps_every_value(workspace):
    with write_transaction(db.engine()) as conn:
        conn.execute(sa.insert(FieldDef.__table__).values(
            workspace_id=workspace.id, entity="companies", key="funding_stage", label="Funding stage", type="text",
            source="import", description="", is_core=False, hidden=False))
    state = opened()
    assert row(state, "funding_stage")["filled"] == f"{COMPANIES:,}"
    act(state.open_field("funding_stage"))
    assert state.chart == [{"value": "series_a", "count": COMPANIES}]
    act(state.toggle_hidden())
    assert row(state, "funding_stage")["hidden"] and row(state, "funding_stage")["filled"] == f"{COMPANIES:,}"
