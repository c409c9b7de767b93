"""Bulk enrichment and credits: providers turn a record's inputs into fields, written to the
record durably, cached so they are paid for once, charged against a credit ledger.

    providers/   the interface (base.py) and the built-ins: derived, reference, website,
                 http_api, ai_prompt; waterfall.py runs steps and waterfalls
    spec.py      an enrichment spec (steps, field mapping) parsed into a Plan
    configs.py   saved configs: versioned spec, target (filter or saved segment)
    runs.py      estimate, 10-row test (required), full run, auto-enrich, progress and detail
    execute.py   one claimed batch: read, admit within budget, call, write in one transaction
    runner.py    async httpx calls: concurrency cap, rate limit, retries, deadline, size cap
    net.py       the outbound URL guard (SSRF): every hop and every DNS answer checked
    cache.py     answers by (provider, version, normalized input)
    credits.py   balance, ledger with idempotency keys, monthly and per-run limits, spend charts
    secret_store.py   Fernet-encrypted API keys, the key outside the database

What the UI calls (all take a Connection, or an Engine where they open write transactions):

    save_config(conn, ws, name, entity, spec, target=) / get_config / list_configs(conn, ws)
    target_for(filter_json=… | segment_id=…)
    estimate_run(conn, ws, config_id, target=, spend_limit=) -> Estimate (.warnings)
    start_test_run(engine, ws, config_id, target=) -> run id;  run_results(conn, ws, run_id)
    start_run(engine, ws, config_id, target=, accept_warnings=, spend_limit=) -> run id
        (TestRunRequired, CostWarning)
    run_summary / list_enrichment_runs / run_detail(conn, ws, run_id)
    pause_enrichment / resume_enrichment(…, spend_limit=) / cancel_enrichment(conn, ws, run_id)
    set_auto_enrich(engine, ws, config_id, enabled); wake_auto_enrich(conn, ws)
    credits.account(conn, ws), credits.ledger_page(conn, ws, before_id=, limit=),
    credits.spend_over_time(conn, ws, days=, by="provider"|"run"), credits.grant / refund /
    set_monthly_limit;  set_secret / list_secrets / delete_secret
"""

from audiences_app.core.enrichment import credits
from audiences_app.core.enrichment.configs import find_config, get_config, save_config, set_target, target_for
from audiences_app.core.enrichment.providers.base import ProviderError, SpecError
from audiences_app.core.enrichment.runs import (
    KIND, CostWarning, Estimate, TestRunRequired, cancel_enrichment, estimate, estimate_run, has_passed_test,
    list_configs, list_enrichment_runs, pause_enrichment, record_results, resume_enrichment, run_detail,
    run_results, run_summary, run_until_done, set_auto_enrich, start_run, start_test_run, wake_auto_enrich,
)
from audiences_app.core.enrichment.secret_store import SecretError, delete_secret, list_secrets, set_secret

__all__ = [
    "KIND", "CostWarning", "Estimate", "ProviderError", "SecretError", "SpecError", "TestRunRequired",
    "cancel_enrichment", "credits", "delete_secret", "estimate", "estimate_run", "find_config", "get_config",
    "has_passed_test", "list_configs", "list_enrichment_runs", "list_secrets", "pause_enrichment", "record_results",
    "resume_enrichment", "run_detail", "run_results", "run_summary", "run_until_done", "save_config",
    "set_auto_enrich", "set_secret", "set_target", "start_run", "start_test_run", "target_for", "wake_auto_enrich",
]
