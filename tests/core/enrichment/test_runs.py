"""Bulk enrichment runs: estimate, the 10-row test, durable full runs, cache, limits, auto-enrich."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from audiences_app.core.db import write_transaction
from audiences_app.core.enrichment import credits, runs
from audiences_app.core.enrichment.configs import target_for
from audiences_app.core.jobs import ITEM, utcnow
from audiences_app.core.segments import matching_ids
from audiences_app.settings import get_settings
from tests.core.enrichment.helpers import (
    COMPANY, add_companies, api_step, attributes, charged, grant, save, test_then_run,
)


def test_a_full_run_without_a_passed_test_of_the_same_version_is_refused(engine, workspace_id, server):
    add_companies(engine, workspace_id, 12)
    config = save(engine, workspace_id, [api_step(server.url)])
    grant(engine, workspace_id, 1000)
    with pytest.raises(runs.TestRunRequired, match="10-row test"):
        runs.start_run(engine, workspace_id, config["id"], accept_warnings=True)
    test_id = runs.start_test_run(engine, workspace_id, config["id"])
    summary = runs.run_until_done(engine, test_id, workspace_id, timeout_seconds=30)
    assert (summary["status"], summary["total"], summary["done"]) == ("succeeded", 10, 10)
    runs.start_run(engine, workspace_id, config["id"], accept_warnings=True)
    changed = save(engine, workspace_id, [api_step(server.url, cost=2)])
    assert changed["version"] == config["version"] + 1
    with pytest.raises(runs.TestRunRequired, match="version 2"):
        runs.start_run(engine, workspace_id, config["id"], accept_warnings=True)


def test_a_run_writes_fields_that_segments_filter_on_at_once(engine, workspace_id, server):
    add_companies(engine, workspace_id, 30)
    grant(engine, workspace_id, 1000)
    config = save(engine, workspace_id, [api_step(server.url), {"provider": {"kind": "derived"},
                                                              "map": {"world_region": "world_region"}}])
    summary = test_then_run(engine, workspace_id, config["id"])
    assert (summary["status"], summary["done"], summary["failed"]) == ("succeeded", 30, 0)
    values = attributes(engine, workspace_id)
    assert values["co7.com"]["firmo_employees"] == server_company("co7.com")["employees"]
    with engine.connect() as conn:
        middle = sorted(a["firmo_employees"] for a in values.values())[15]
        big = matching_ids(conn, workspace_id, "companies", {"field": "firmo_employees", "op": "gt", "value": middle})
        ids = dict(conn.execute(sa.select(COMPANY.c.domain, COMPANY.c.id).where(COMPANY.c.workspace_id == workspace_id)).all())
    expected = {ids[d] for d, a in values.items() if a["firmo_employees"] > middle}
    assert set(big) == expected and expected


def server_company(domain: str) -> dict:
    from tests.core.enrichment.loopback import company_for

    return company_for(domain)["company"]


def test_running_again_makes_no_call_and_costs_nothing(engine, workspace_id, server):
    add_companies(engine, workspace_id, 25)
    grant(engine, workspace_id, 1000)
    config = save(engine, workspace_id, [api_step(server.url)])
    first = test_then_run(engine, workspace_id, config["id"])
    assert first["calls"] == 15 and first["credits"] == 15  # the test's 10 came from the cache
    calls_before = server.ok_calls
    run_id = runs.start_run(engine, workspace_id, config["id"], accept_warnings=True)
    again = runs.run_until_done(engine, run_id, workspace_id, timeout_seconds=30)
    assert (again["calls"], again["credits"], again["cached"], again["done"]) == (0, 0, 25, 25)
    assert server.ok_calls == calls_before
    assert charged(engine, workspace_id) == 25


def test_a_refresh_interval_re_enriches_stale_values_on_purpose(engine, workspace_id, server):
    add_companies(engine, workspace_id, 5)
    grant(engine, workspace_id, 1000)
    step = api_step(server.url)
    step["map"]["employees"]["refresh_days"] = 30
    config = save(engine, workspace_id, [step])
    test_then_run(engine, workspace_id, config["id"])
    with write_transaction(engine) as conn:  # age the cache past the interval
        conn.execute(sa.update(runs.cache.CACHE).where(runs.cache.CACHE.c.workspace_id == workspace_id)
                     .values(fetched_at=utcnow().replace(year=2000)))
    run_id = runs.start_run(engine, workspace_id, config["id"], accept_warnings=True)
    assert runs.run_until_done(engine, run_id, workspace_id)["calls"] == 5


def test_the_estimate_counts_rows_times_cost_minus_the_cached_ones(engine, workspace_id, server):
    add_companies(engine, workspace_id, 40)
    add_companies(engine, workspace_id, 5, prefix="nodomain", domain=None)  # no input
    grant(engine, workspace_id, 10_000)
    config = save(engine, workspace_id, [api_step(server.url, cost=2)])
    with engine.connect() as conn:
        before = runs.estimate_run(conn, workspace_id, config["id"])
    assert (before.records, before.calls, before.credits, before.cached_records) == (45, 40, 80, 0)
    assert before.no_input_records == 5 and before.warnings == []
    test_id = runs.start_test_run(engine, workspace_id, config["id"])
    runs.run_until_done(engine, test_id, workspace_id)
    with engine.connect() as conn:
        after = runs.estimate_run(conn, workspace_id, config["id"])
    assert (after.calls, after.credits, after.cached_records) == (30, 60, 10)


def test_a_waterfall_is_estimated_by_expected_fill_and_records_its_winner(engine, workspace_id, server):
    add_companies(engine, workspace_id, 4)
    add_companies(engine, workspace_id, 2, prefix="unknown")
    grant(engine, workspace_id, 100)
    cheap = api_step(server.url, name="cheap", cost=1, expected_fill=0.5)["provider"]
    cheap["url"] = f"{server.url}/company?domain=unknown{{{{domain}}}}"  # never finds anything
    dear = api_step(server.url, name="dear", cost=3)["provider"]
    step = {"waterfall": [cheap, dear], "map": {"employees": "employees_any"}}
    config = save(engine, workspace_id, [step])
    with engine.connect() as conn:
        found = runs.estimate_run(conn, workspace_id, config["id"])
    assert found.credits == pytest.approx(6 * (1 + 0.5 * 3))
    assert found.max_credits == 6 * 4
    summary = test_then_run(engine, workspace_id, config["id"])
    with engine.connect() as conn:
        results = runs.run_results(conn, workspace_id, summary["run_id"] - 1)
    winners = {r["label"]: r["winners"].get("employees_any") for r in results}
    assert winners == {**{f"Co {i}": "http_api:dear" for i in range(4)}, "Unknown 0": None, "Unknown 1": None}
    assert charged(engine, workspace_id) == 4 * 3  # misses are free here (charge_on_miss false)


def test_a_run_spend_limit_stops_the_run_cleanly_and_resume_goes_on(engine, workspace_id, server):
    add_companies(engine, workspace_id, 40)
    grant(engine, workspace_id, 1000)
    config = save(engine, workspace_id, [api_step(server.url)])
    test_id = runs.start_test_run(engine, workspace_id, config["id"])
    runs.run_until_done(engine, test_id, workspace_id)
    run_id = runs.start_run(engine, workspace_id, config["id"], accept_warnings=True, spend_limit=12)
    stopped = runs.run_until_done(engine, run_id, workspace_id, batch_size=5)
    assert stopped["status"] == "paused" and "spend limit of 12" in stopped["stopped_reason"]
    assert stopped["credits"] <= 12 and charged(engine, workspace_id, run_id) == stopped["credits"]
    with engine.connect() as conn:
        running = conn.execute(sa.select(sa.func.count()).where(ITEM.c.run_id == run_id, ITEM.c.status == "running")).scalar()
    assert running == 0
    with write_transaction(engine) as conn:
        runs.resume_enrichment(conn, workspace_id, run_id, spend_limit=100)
    done = runs.run_until_done(engine, run_id, workspace_id)
    assert (done["status"], done["done"], done["credits"]) == ("succeeded", 40, 30)


def test_an_empty_balance_stops_paid_calls_but_free_fields_still_run(engine, workspace_id, server):
    add_companies(engine, workspace_id, 3, employee_count=120, country="DE", industry="Software")
    config = save(engine, workspace_id, [{"provider": {"kind": "derived"},
                                          "map": {"size_band": "size_band", "lookalike_group": "lookalike"}}])
    summary = test_then_run(engine, workspace_id, config["id"])
    assert summary["status"] == "succeeded" and summary["credits"] == 0
    assert attributes(engine, workspace_id)["co0.com"]["lookalike"] == "software · 51-200 · EMEA"
    paid = save(engine, workspace_id, [api_step(server.url)], name="Paid")
    test_id = runs.start_test_run(engine, workspace_id, paid["id"])
    stopped = runs.run_until_done(engine, test_id, workspace_id)
    assert stopped["status"] == "paused" and "balance" in stopped["stopped_reason"]


def test_a_workspace_monthly_limit_stops_runs(engine, workspace_id, server):
    add_companies(engine, workspace_id, 20)
    grant(engine, workspace_id, 1000)
    with write_transaction(engine) as conn:
        credits.set_monthly_limit(conn, workspace_id, 5)
    config = save(engine, workspace_id, [api_step(server.url)])
    test_id = runs.start_test_run(engine, workspace_id, config["id"])
    stopped = runs.run_until_done(engine, test_id, workspace_id, batch_size=3)
    assert stopped["status"] == "paused" and "monthly spend limit of 5" in stopped["stopped_reason"]
    with engine.connect() as conn:
        assert credits.account(conn, workspace_id)["month_spent"] <= 5


def test_a_large_estimate_is_a_warning_the_caller_must_accept(engine, workspace_id, server):
    add_companies(engine, workspace_id, 20)
    grant(engine, workspace_id, 100)
    config = save(engine, workspace_id, [api_step(server.url)])
    test_id = runs.start_test_run(engine, workspace_id, config["id"])
    runs.run_until_done(engine, test_id, workspace_id)
    with pytest.raises(runs.CostWarning, match="10 credits, 11% of the balance") as raised:
        runs.start_run(engine, workspace_id, config["id"])
    assert raised.value.estimate.calls == 10
    assert runs.start_run(engine, workspace_id, config["id"], accept_warnings=True)


def test_failures_are_per_item_with_their_reason_and_are_not_charged(engine, workspace_id, server):
    add_companies(engine, workspace_id, 12)
    grant(engine, workspace_id, 100)
    config = save(engine, workspace_id, [api_step(server.url, path="/malformed", max_attempts=1)])
    test_id = runs.start_test_run(engine, workspace_id, config["id"])
    summary = runs.run_until_done(engine, test_id, workspace_id)
    assert (summary["status"], summary["failed"], summary["credits"]) == ("failed", 10, 0)
    with engine.connect() as conn:
        detail = runs.run_detail(conn, workspace_id, test_id)
    assert len(detail["errors"]) == 10 and "malformed JSON" in detail["errors"][0]["error"]
    assert detail["errors"][0]["label"] == "Co 0"


def test_records_without_inputs_are_skipped_with_the_reason(engine, workspace_id, server):
    add_companies(engine, workspace_id, 3, prefix="crm", domain=None)
    config = save(engine, workspace_id, [api_step(server.url)])
    test_id = runs.start_test_run(engine, workspace_id, config["id"])
    summary = runs.run_until_done(engine, test_id, workspace_id)
    assert (summary["skipped"], summary["calls"]) == (3, 0)
    with engine.connect() as conn:
        assert "none of the inputs (domain)" in runs.run_detail(conn, workspace_id, test_id)["errors"][0]["error"]


def test_pause_hands_out_nothing_and_cancel_skips_the_rest_uncharged(engine, workspace_id, server):
    add_companies(engine, workspace_id, 30)
    grant(engine, workspace_id, 1000)
    config = save(engine, workspace_id, [api_step(server.url)])
    test_id = runs.start_test_run(engine, workspace_id, config["id"])
    runs.run_until_done(engine, test_id, workspace_id)
    run_id = runs.start_run(engine, workspace_id, config["id"], accept_warnings=True)
    with write_transaction(engine) as conn:
        runs.pause_enrichment(conn, workspace_id, run_id)
    assert runs.run_until_done(engine, run_id, workspace_id)["done"] == 0
    with write_transaction(engine) as conn:
        runs.resume_enrichment(conn, workspace_id, run_id)
        runs.cancel_enrichment(conn, workspace_id, run_id)
    with engine.connect() as conn:
        summary = runs.run_summary(conn, workspace_id, run_id)
    assert (summary["status"], summary["skipped"], summary["credits"]) == ("cancelled", 30, 0)


def test_a_run_targets_a_saved_segment_and_reads_its_current_filter(engine, workspace_id, server):
    from audiences_app.core.segments import saved

    add_companies(engine, workspace_id, 6, industry="software")
    add_companies(engine, workspace_id, 4, prefix="bio", industry="biotech")
    with write_transaction(engine) as conn:
        segment = saved.save_segment(conn, workspace_id, name="Bio", entity="companies",
                                     filter_json={"field": "industry", "op": "eq", "value": "biotech"}, owner="t")
    config = save(engine, workspace_id, [{"provider": {"kind": "derived"}, "map": {"world_region": "world_region"}}],
                  target=target_for(segment_id=segment["id"]))
    assert runs.run_until_done(engine, runs.start_test_run(engine, workspace_id, config["id"]), workspace_id)["total"] == 4
    with write_transaction(engine) as conn:
        saved.save_segment(conn, workspace_id, name="Bio", entity="companies", segment_id=segment["id"], owner="t",
                           filter_json={"field": "industry", "op": "in", "value": ["biotech", "software"]})
    assert runs.run_until_done(engine, runs.start_test_run(engine, workspace_id, config["id"]), workspace_id)["total"] == 10


def test_auto_enrich_enriches_records_that_join_the_segment(engine, workspace_id, server, monkeypatch):
    grant(engine, workspace_id, 1000)
    add_companies(engine, workspace_id, 5, industry="software")
    target = target_for(filter_json={"field": "industry", "op": "eq", "value": "software"})
    config = save(engine, workspace_id, [api_step(server.url)], target=target)
    with pytest.raises(runs.TestRunRequired):
        runs.set_auto_enrich(engine, workspace_id, config["id"], True)
    test_id = runs.start_test_run(engine, workspace_id, config["id"])
    runs.run_until_done(engine, test_id, workspace_id)
    config = runs.set_auto_enrich(engine, workspace_id, config["id"], True)
    auto = config["auto_run_id"]
    worker = runs.Worker(engine, {runs.KIND: runs.handle_enrich_items}, batch_size=50)
    while worker.run_once():
        pass
    add_companies(engine, workspace_id, 3, prefix="late", industry="software")
    add_companies(engine, workspace_id, 2, prefix="other", industry="retail")
    with write_transaction(engine) as conn:
        assert runs.wake_auto_enrich(conn, workspace_id) == 1
    while worker.run_once():
        pass
    values = attributes(engine, workspace_id)
    assert all("firmo_employees" in values[f"late{i}.com"] for i in range(3))
    assert not any("firmo_employees" in values[f"other{i}.com"] for i in range(2))
    with engine.connect() as conn:
        summary = runs.run_summary(conn, workspace_id, auto)
    # the 5 tested records already had their result: only the 3 that joined were new
    assert (summary["status"], summary["total"], summary["done"]) == ("running", 3, 3)
    assert charged(engine, workspace_id) == 5 + 3
    runs.set_auto_enrich(engine, workspace_id, config["id"], False)
    with engine.connect() as conn:
        assert runs.run_summary(conn, workspace_id, auto)["status"] == "cancelled"


def test_changing_only_how_a_provider_is_called_keeps_its_cache(engine, workspace_id, server):
    add_companies(engine, workspace_id, 10)
    grant(engine, workspace_id, 100)
    config = save(engine, workspace_id, [api_step(server.url)])
    runs.run_until_done(engine, runs.start_test_run(engine, workspace_id, config["id"]), workspace_id)
    cheaper = save(engine, workspace_id, [api_step(server.url, cost=0.5, concurrency=3, rate_per_second=50)],
                   spend_limit=20)
    assert cheaper["version"] == config["version"] + 1 and cheaper["run_spend_limit"] == 20
    again = runs.run_until_done(engine, runs.start_test_run(engine, workspace_id, config["id"]), workspace_id)
    assert (again["calls"], again["cached"], again["credits"]) == (0, 10, 0)
    assert save(engine, workspace_id, [api_step(server.url, cost=0.5, concurrency=3, rate_per_second=50)],
                spend_limit=30)["version"] == cheaper["version"]  # a new spend limit needs no new test


def test_a_run_whose_secret_is_missing_fails_with_the_reason_and_costs_nothing(engine, workspace_id, server):
    add_companies(engine, workspace_id, 3)
    step = api_step(server.url)
    step["provider"]["headers"] = {"Authorization": "Bearer {{secret:firmo_key}}"}
    config = save(engine, workspace_id, [step])
    summary = runs.run_until_done(engine, runs.start_test_run(engine, workspace_id, config["id"]), workspace_id)
    assert (summary["status"], summary["calls"]) == ("failed", 0)
    assert "Missing secret(s): firmo_key" in summary["error"]


def test_reference_data_enriches_from_the_users_file(engine, workspace_id, tmp_path, monkeypatch):
    monkeypatch.setenv("AUDIENCES_REFERENCE_DIRS", str(tmp_path))
    get_settings.cache_clear()
    (tmp_path / "firms.csv").write_text("domain,tier\nco1.com,gold\nco2.com,silver\n")
    add_companies(engine, workspace_id, 4)
    config = save(engine, workspace_id, [{"provider": {"kind": "reference", "path": str(tmp_path / "firms.csv"),
                                                       "columns": {"tier": "tier"}}, "map": {"tier": "tier"}}])
    summary = runs.run_until_done(engine, runs.start_test_run(engine, workspace_id, config["id"]), workspace_id)
    assert (summary["status"], summary["done"], summary["credits"]) == ("succeeded", 4, 0)
    assert [attributes(engine, workspace_id)[f"co{i}.com"].get("tier") for i in range(4)] == [None, "gold", "silver", None]
    (tmp_path / "firms.csv").unlink()
    again = runs.run_until_done(engine, runs.start_test_run(engine, workspace_id, config["id"]), workspace_id)
    assert again["status"] == "failed" and "firms.csv" in again["error"]
