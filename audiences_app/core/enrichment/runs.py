"""Enrichment runs: the estimate, the 10-row test, the full run, auto-enrichment, and what
the Enrichments, Jobs and Credits pages read.

A run is a durable run of kind "enrich" (core/jobs.py) with one item per record; its spec is
copied into the run, so editing a config never changes a run already started. The rules:

- Every run is estimated first (`estimate`): records × cost, minus what the cache already
  answers, waterfalls by expected cost. A full run whose estimate carries a warning (more
  than 10% of the balance, more than can be spent, above the run's limit) starts only with
  `accept_warnings=True` — the caller has shown the estimate.
- A full run (and auto-enrichment) needs a succeeded test run of the same config version
  with at least one record done: `start_run` raises TestRunRequired otherwise. The test runs
  on the target's first 10 records, is paid and cached like any run, and so costs nothing
  again in the full run.
- Auto-enrichment: one long-lived run (mode "auto") per config, holding a recurring "sweep"
  item. Each sweep (every AUDIENCES_AUTO_ENRICH_SECONDS, default 300, or at once after
  `wake_auto_enrich`) adds an item for each target member that has no result for the config
  yet (marking it queued so the next sweep skips it), then sets itself pending again for the
  next interval. The worker therefore runs auto-enrichment wherever it runs — in the app or
  as `python -m audiences_app worker` — with nothing else to schedule. A sweep that finds
  the config changed (a new version, untested) turns auto-enrichment off, with the reason.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from audiences_app.core.db import write_transaction
from audiences_app.core.enrichment import cache, credits
from audiences_app.core.enrichment.configs import CONFIG, config_plan, get_config, target_members
from audiences_app.core.enrichment.execute import ENRICH_RUN, RESULT, Prepared, RunContext, prepare, process_batch
from audiences_app.core.enrichment.providers.base import SpecError
from audiences_app.core.enrichment.secret_store import SecretError, load_secrets
from audiences_app.core.enrichment.spec import Plan, parse_spec
from audiences_app.core.fields import CATALOG, ensure_custom_fields
from audiences_app.core.jobs import (
    FINAL, ITEM, RUN, ClaimedItem, Worker, add_items, cancel_run, create_run, fail_run, pause_run, resume_run,
    settle_item,
)
from audiences_app.core.models import TABLES, utcnow
from audiences_app.core.run_kinds import register
from audiences_app.settings import get_settings

KIND = "enrich"
TEST_ROWS = 10
MODES = ("test", "full", "auto")
AUTO_SWEEP_LIMIT = 5_000
ESTIMATE_CHUNK = 2_000
LABELS = {"companies": ("name", "domain"), "people": ("full_name", "email")}


class TestRunRequired(RuntimeError):
    """A full run (or auto-enrichment) of a config version without a succeeded 10-row test."""

    __test__ = False  # not a pytest test class


class CostWarning(RuntimeError):
    """The estimate has warnings the caller has not accepted; `.estimate` holds it."""

    def __init__(self, estimate: Estimate):
        super().__init__(" ".join(estimate.warnings))
        self.estimate = estimate


# -- estimate ----------------------------------------------------------------------------------------

@dataclass
class ProviderEstimate:
    provider: str
    cost: float
    calls: float = 0.0          # expected calls (waterfalls: by expected fill rate)
    max_calls: int = 0          # if every waterfall step had to be asked
    cached: int = 0             # records this provider answers from the cache
    no_input: int = 0           # records without the inputs it needs
    fill_rate: float | None = None


@dataclass
class Estimate:
    records: int
    cached_records: int         # records answered from the cache alone (no call)
    no_input_records: int       # records with none of the inputs (skipped)
    calls: float
    credits: float
    max_credits: float
    balance: float
    spendable: float
    run_limit: float | None
    providers: list[ProviderEstimate] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return asdict(self)


def _fill_rates(conn: Connection, workspace_id: int, plan: Plan) -> dict[str, float]:
    rates = {}
    for provider in plan.providers:
        rate = cache.fill_rate(conn, workspace_id, provider.key, provider.version) if provider.cacheable else None
        rates[provider.key] = provider.expected_fill if rate is None else rate
    return rates


def estimate(conn: Connection, workspace_id: int, plan: Plan, record_ids: list[int], *,
             run_limit_milli: int | None = None) -> Estimate:
    """What running `plan` over these records would cost, from the cache and the fill rates."""
    rates = _fill_rates(conn, workspace_id, plan)
    per = {p.key: ProviderEstimate(p.key, p.cost_milli / 1000, fill_rate=rates[p.key]) for p in plan.providers}
    expected_milli = max_milli = 0.0
    calls = 0.0
    cached_records = no_input = 0
    fake = RunContext(0, workspace_id, plan.entity, 0, "estimate", plan, None)
    for start in range(0, len(record_ids), ESTIMATE_CHUNK):
        chunk = record_ids[start:start + ESTIMATE_CHUNK]
        items = [ClaimedItem(0, 0, n, 0, {"record_id": rid}, KIND, workspace_id, {}) for n, rid in enumerate(chunk)]
        prepared: list[Prepared] = prepare(conn, fake, items)
        for p in prepared:
            if p.record is None or all(p.inputs.get(pr.key) is None for pr in plan.providers):
                no_input += 1
                continue
            record_calls = 0.0
            for step in plan.steps:
                reach = 1.0
                for provider in step.providers:
                    info = per[provider.key]
                    if p.inputs.get(provider.key) is None:
                        info.no_input += 1
                        continue
                    if provider.key in p.cached:
                        info.cached += 1
                        answered = p.cached[provider.key]
                        if all(answered.get(m.output) is not None for m in step.mapping.values()
                               if m.output in provider.outputs):
                            reach = 0.0
                        continue
                    if not provider.network:
                        continue
                    info.calls += reach
                    info.max_calls += 1
                    record_calls += reach
                    expected_milli += reach * provider.cost_milli
                    max_milli += provider.cost_milli
                    reach *= 1 - rates[provider.key]
            calls += record_calls
            if record_calls == 0 and p.cached:
                cached_records += 1
    account = credits.account(conn, workspace_id)
    spendable, _ = credits.budget_milli(conn, workspace_id)
    result = Estimate(
        records=len(record_ids), cached_records=cached_records, no_input_records=no_input, calls=round(calls, 1),
        credits=round(expected_milli / 1000, 3), max_credits=max_milli / 1000, balance=account["balance"],
        spendable=spendable / 1000, run_limit=None if run_limit_milli is None else run_limit_milli / 1000,
        providers=list(per.values()))
    result.warnings = _warnings(result)
    return result


def _credits_text(value: float) -> str:
    """1234.5 → '1,234.5'; never scientific notation."""
    return f"{value:,.3f}".rstrip("0").rstrip(".")


def _warnings(e: Estimate) -> list[str]:
    c = _credits_text
    warnings = []
    if e.credits > 0 and e.credits > credits.WARN_SHARE * max(e.balance, 0):
        share = f"{100 * e.credits / e.balance:.0f}% of" if e.balance > 0 else "more than"
        warnings.append(f"This run is expected to use {c(e.credits)} credits, {share} the balance of "
                        f"{c(e.balance)} credits.")
    if e.max_credits > e.spendable:
        warnings.append(f"It may need up to {c(e.max_credits)} credits but only {c(e.spendable)} can be spent now: "
                        "it will stop cleanly when the budget runs out.")
    if e.run_limit is not None and e.max_credits > e.run_limit:
        warnings.append(f"Its spend limit of {c(e.run_limit)} credits may stop it before it ends "
                        f"(up to {c(e.max_credits)} may be needed).")
    return warnings


# -- starting runs ------------------------------------------------------------------------------------

def _member_ids(conn: Connection, workspace_id: int, config: dict, target: dict | None, limit: int | None = None) -> list[int]:
    query = target_members(conn, workspace_id, config["entity"], target if target is not None else config["target"])
    query = query.order_by(query.selected_columns[0])
    if limit is not None:
        query = query.limit(limit)
    return list(conn.execute(query).scalars())


def has_passed_test(conn: Connection, config: dict) -> bool:
    """Whether the config's current version has a succeeded test run with a record done."""
    return conn.execute(sa.select(sa.literal(1)).select_from(ENRICH_RUN.join(RUN, RUN.c.id == ENRICH_RUN.c.run_id)).where(
        ENRICH_RUN.c.config_id == config["id"], ENRICH_RUN.c.config_version == config["version"],
        ENRICH_RUN.c.mode == "test", RUN.c.status == "succeeded", RUN.c.done_items > 0).limit(1)).first() is not None


def _require_test(conn: Connection, config: dict) -> None:
    if not has_passed_test(conn, config):
        raise TestRunRequired(
            f"Config {config['name']!r} version {config['version']} has no succeeded 10-row test run: "
            "run it on 10 rows first (`enrich test`), check the results, then start the full run.")


def ensure_fields(conn: Connection, workspace_id: int, plan: Plan) -> list[str]:
    """Add the plan's target fields to the catalog (source "enrichment"); refuse a key that
    exists with another type."""
    fields = plan.fields
    existing = dict(conn.execute(sa.select(CATALOG.c.key, CATALOG.c.type).where(
        CATALOG.c.workspace_id == workspace_id, CATALOG.c.entity == plan.entity,
        CATALOG.c.key.in_(list(fields)))).all())
    for key, target in fields.items():
        if key in existing and existing[key] != target.type:
            raise SpecError(f"field {key!r} already exists as {existing[key]}, but {target.output!r} is "
                            f"{target.type}: map it to another field")
    return ensure_custom_fields(conn, workspace_id, plan.entity,
                                {key: (t.type, t.label) for key, t in fields.items()}, source="enrichment")


def _create(conn: Connection, workspace_id: int, config: dict, plan: Plan, mode: str, payloads: list[dict],
            spend_limit_milli: int | None, created_by: str) -> int:
    ensure_fields(conn, workspace_id, plan)
    labels = {"test": "test on 10 rows", "full": "full run", "auto": "auto-enrich"}
    run_id = create_run(
        conn, workspace_id=workspace_id, kind=KIND, title=f"Enrich {config['name']} ({labels[mode]})",
        params={"config_id": config["id"], "config_version": config["version"], "mode": mode,
                "entity": config["entity"], "spec": config["spec"]},
        payloads=payloads, created_by=created_by)
    conn.execute(sa.insert(ENRICH_RUN).values(
        run_id=run_id, workspace_id=workspace_id, config_id=config["id"], config_version=config["version"], mode=mode,
        cached_items=0, calls=0, credits_milli=0, spend_limit_milli=spend_limit_milli))
    return run_id


def _limit(config: dict, plan: Plan, spend_limit: float | None) -> int | None:
    if spend_limit is not None:
        return credits.to_milli(spend_limit)
    return plan.run_spend_limit_milli


def start_test_run(engine: Engine, workspace_id: int, config_id: int, *, target: dict | None = None,
                   rows: int = TEST_ROWS, created_by: str = "system") -> int:
    """Queue the config's test on the target's first `rows` records (10); returns the run id."""
    with write_transaction(engine) as conn:
        config = get_config(conn, workspace_id, config_id)
        plan = config_plan(config)
        ids = _member_ids(conn, workspace_id, config, target, limit=rows)
        if not ids:
            raise LookupError("The target has no records to test on.")
        return _create(conn, workspace_id, config, plan, "test", [{"record_id": i} for i in ids],
                       _limit(config, plan, None), created_by)


def estimate_run(conn: Connection, workspace_id: int, config_id: int, *, target: dict | None = None,
                 spend_limit: float | None = None) -> Estimate:
    """The estimate of a full run of the config over its target (or `target`)."""
    config = get_config(conn, workspace_id, config_id)
    plan = config_plan(config)
    return estimate(conn, workspace_id, plan, _member_ids(conn, workspace_id, config, target),
                    run_limit_milli=_limit(config, plan, spend_limit))


def start_run(engine: Engine, workspace_id: int, config_id: int, *, target: dict | None = None,
              accept_warnings: bool = False, spend_limit: float | None = None, created_by: str = "system") -> int:
    """Queue the full run over the target's members; returns the run id.

    TestRunRequired without a succeeded test of this version; CostWarning when the estimate
    warns and `accept_warnings` is False (show `error.estimate`, then call again accepting)."""
    with engine.connect() as conn:
        config = get_config(conn, workspace_id, config_id)
        _require_test(conn, config)
        found = estimate_run(conn, workspace_id, config_id, target=target, spend_limit=spend_limit)
    if found.warnings and not accept_warnings:
        raise CostWarning(found)
    with write_transaction(engine) as conn:
        config = get_config(conn, workspace_id, config_id)
        _require_test(conn, config)
        plan = config_plan(config)
        ids = _member_ids(conn, workspace_id, config, target)
        return _create(conn, workspace_id, config, plan, "full", [{"record_id": i} for i in ids],
                       _limit(config, plan, spend_limit), created_by)


def run_until_done(engine: Engine, run_id: int, workspace_id: int, *, batch_size: int = 200,
                   timeout_seconds: float | None = None, progress=None) -> dict:
    """Work the run in this process until it ends or pauses (the CLI; tests); its summary."""
    worker = Worker(engine, {KIND: handle_enrich_items}, batch_size=batch_size)
    deadline = None if timeout_seconds is None else time.monotonic() + timeout_seconds
    while deadline is None or time.monotonic() < deadline:
        with engine.connect() as conn:
            summary = run_summary(conn, workspace_id, run_id)
        if progress:
            progress(summary)
        if summary["status"] in (*FINAL, "paused"):
            return summary
        if not worker.run_once():
            time.sleep(0.1)  # items wait for a retry or for another worker's lease
    with engine.connect() as conn:
        return run_summary(conn, workspace_id, run_id)


def _set_enrichment_status(conn: Connection, workspace_id: int, run_id: int, action) -> None:
    run_summary(conn, workspace_id, run_id)  # LookupError for another workspace's run or another kind
    action(conn, run_id, workspace_id)


def pause_enrichment(conn: Connection, workspace_id: int, run_id: int) -> None:
    _set_enrichment_status(conn, workspace_id, run_id, pause_run)


def resume_enrichment(conn: Connection, workspace_id: int, run_id: int, *, spend_limit: float | None = None) -> None:
    """Resume a paused run (a stop at a limit too: raise the limit with `spend_limit`)."""
    _set_enrichment_status(conn, workspace_id, run_id, resume_run)
    values: dict[str, Any] = {"stopped_reason": None}
    if spend_limit is not None:
        values["spend_limit_milli"] = credits.to_milli(spend_limit)
    conn.execute(sa.update(ENRICH_RUN).where(ENRICH_RUN.c.run_id == run_id).values(**values))
    conn.execute(sa.update(RUN).where(RUN.c.id == run_id).values(error=None))


def cancel_enrichment(conn: Connection, workspace_id: int, run_id: int) -> None:
    """Cancel: pending items are skipped and never called nor charged."""
    _set_enrichment_status(conn, workspace_id, run_id, cancel_run)
    mode, config_id = conn.execute(sa.select(ENRICH_RUN.c.mode, ENRICH_RUN.c.config_id)
                                   .where(ENRICH_RUN.c.run_id == run_id)).one()
    if mode == "auto":
        _auto_off(conn, config_id)


# -- auto-enrichment -------------------------------------------------------------------------------------

def auto_interval_seconds() -> int:
    return get_settings().auto_enrich_seconds


def set_auto_enrich(engine: Engine, workspace_id: int, config_id: int, enabled: bool, *,
                    created_by: str = "system") -> dict:
    """Turn auto-enrichment of new target members on (needs a passed test) or off."""
    with write_transaction(engine) as conn:
        config = get_config(conn, workspace_id, config_id)
        if not enabled:
            if config["auto_run_id"]:
                status = conn.execute(sa.select(RUN.c.status).where(RUN.c.id == config["auto_run_id"])).scalar()
                if status not in FINAL:
                    cancel_run(conn, config["auto_run_id"], workspace_id)
            _auto_off(conn, config_id)
            return get_config(conn, workspace_id, config_id)
        _require_test(conn, config)
        if config["auto_enrich"] and config["auto_run_id"]:
            return config
        plan = config_plan(config)
        run_id = _create(conn, workspace_id, config, plan, "auto", [{"sweep": True}], _limit(config, plan, None), created_by)
        conn.execute(sa.update(CONFIG).where(CONFIG.c.id == config_id).values(
            auto_enrich=True, auto_run_id=run_id, updated_at=utcnow()))
        return get_config(conn, workspace_id, config_id)


def _auto_off(conn: Connection, config_id: int) -> None:
    conn.execute(sa.update(CONFIG).where(CONFIG.c.id == config_id).values(
        auto_enrich=False, auto_run_id=None, updated_at=utcnow()))
    conn.execute(sa.delete(RESULT).where(RESULT.c.config_id == config_id, RESULT.c.status == "queued"))


def wake_auto_enrich(conn: Connection, workspace_id: int, config_id: int | None = None) -> int:
    """Make the auto-enrich sweeps of the workspace (or of one config) due now — e.g. right
    after an import; returns how many were woken."""
    runs = sa.select(CONFIG.c.auto_run_id).where(CONFIG.c.workspace_id == workspace_id, CONFIG.c.auto_enrich.is_(True))
    if config_id is not None:
        runs = runs.where(CONFIG.c.id == config_id)
    run_ids = [r for r in conn.execute(runs).scalars() if r]
    if not run_ids:
        return 0
    return conn.execute(sa.update(ITEM).where(ITEM.c.run_id.in_(run_ids), ITEM.c.seq == 0, ITEM.c.status == "pending")
                        .values(available_at=utcnow())).rowcount


def _sweep(engine: Engine, item: ClaimedItem, owner: str) -> None:
    """Queue the target's members that have no result for the config, then re-arm."""
    params = item.params
    with write_transaction(engine) as conn:
        config = conn.execute(sa.select(CONFIG).where(CONFIG.c.id == params["config_id"])).first()
        if config is None or not config.auto_enrich or config.auto_run_id != item.run_id:
            settle_item(conn, item, owner=owner, status="done", result={"stopped": True})
            return
        if config.version != params["config_version"]:
            reason = (f"Config {config.name!r} changed (version {config.version}): auto-enrichment is off until the "
                      "new version passes its 10-row test and is turned on again.")
            if settle_item(conn, item, owner=owner, status="skipped", error=reason):
                _auto_off(conn, config.id)
                fail_run(conn, item.run_id, reason)
            return
        members = target_members(conn, item.workspace_id, config.entity, config.target)
        known = sa.select(RESULT.c.record_id).where(RESULT.c.config_id == config.id)
        table = TABLES[config.entity].__table__
        ids = list(conn.execute(members.where(table.c.id.not_in(known)).order_by(table.c.id)
                                .limit(AUTO_SWEEP_LIMIT)).scalars())
        if ids:
            now = utcnow()
            conn.execute(sa.insert(RESULT), [{"workspace_id": item.workspace_id, "config_id": config.id,
                                              "record_id": i, "status": "queued", "data": {}, "winners": {},
                                              "run_id": item.run_id, "enriched_at": now} for i in ids])
            add_items(conn, item.run_id, [{"record_id": i} for i in ids])
        delay = 0 if len(ids) == AUTO_SWEEP_LIMIT else auto_interval_seconds()
        conn.execute(sa.update(ITEM).where(ITEM.c.id == item.id, ITEM.c.lease_owner == owner).values(
            status="pending", attempts=0, lease_owner=None, lease_expires_at=None, error=None,
            result={"queued": len(ids), "at": now_text()}, available_at=utcnow() + timedelta(seconds=delay)))


def now_text() -> str:
    return utcnow().isoformat(timespec="seconds")


# -- the handler -----------------------------------------------------------------------------------------

def _context(conn: Connection, item: ClaimedItem) -> RunContext:
    params = item.params
    limit = conn.execute(sa.select(ENRICH_RUN.c.spend_limit_milli).where(ENRICH_RUN.c.run_id == item.run_id)).scalar()
    return RunContext(item.run_id, item.workspace_id, params["entity"], params["config_id"], params["mode"],
                      parse_spec(params["spec"], params["entity"]), limit)


def _fail_items(engine: Engine, items: list[ClaimedItem], owner: str, error: str) -> None:
    with write_transaction(engine) as conn:
        for item in items:
            settle_item(conn, item, owner=owner, status="failed", error=error)
        fail_run(conn, items[0].run_id, error)


def handle_enrich_items(engine: Engine, items: list[ClaimedItem], owner: str) -> None:
    """The run-kind handler: sweeps re-arm themselves; record items are enriched as a batch."""
    records = [i for i in items if "record_id" in i.payload]
    for item in items:
        if item.payload.get("sweep"):
            _sweep(engine, item, owner)
    if not records:
        return
    try:
        with engine.connect() as conn:
            ctx = _context(conn, records[0])
            secrets = load_secrets(conn, ctx.workspace_id, ctx.plan.secret_names)
        for provider in ctx.plan.providers:
            provider.prepare()  # e.g. load a reference file, before any call starts
    except (SpecError, SecretError, OSError) as exc:
        _fail_items(engine, records, owner, str(exc))
        return
    process_batch(engine, ctx, records, owner, secrets)


register(KIND, handle_enrich_items)


# -- reading: the Enrichments, Jobs and Credits pages -------------------------------------------------------

_SUMMARY_COLUMNS = (RUN.c.id.label("run_id"), RUN.c.title, RUN.c.status, RUN.c.total_items, RUN.c.done_items,
                    RUN.c.failed_items, RUN.c.skipped_items, RUN.c.error, RUN.c.created_by, RUN.c.created_at,
                    RUN.c.started_at, RUN.c.finished_at, RUN.c.updated_at, ENRICH_RUN.c.config_id,
                    ENRICH_RUN.c.config_version, ENRICH_RUN.c.mode, ENRICH_RUN.c.cached_items, ENRICH_RUN.c.calls,
                    ENRICH_RUN.c.credits_milli, ENRICH_RUN.c.spend_limit_milli, ENRICH_RUN.c.stopped_reason,
                    CONFIG.c.name.label("config_name"), CONFIG.c.entity)


def _summary_query(workspace_id: int) -> sa.Select:
    return (sa.select(*_SUMMARY_COLUMNS).select_from(
        RUN.join(ENRICH_RUN, ENRICH_RUN.c.run_id == RUN.c.id).join(CONFIG, CONFIG.c.id == ENRICH_RUN.c.config_id))
        .where(RUN.c.workspace_id == workspace_id))


def _summary(row: sa.Row) -> dict:
    data = dict(row._mapping)
    data["credits"] = data.pop("credits_milli") / 1000
    limit = data.pop("spend_limit_milli")
    data["spend_limit"] = None if limit is None else limit / 1000
    data["total"], data["done"] = data.pop("total_items"), data.pop("done_items")
    data["failed"], data["skipped"] = data.pop("failed_items"), data.pop("skipped_items")
    data["cached"] = data.pop("cached_items")
    end = data["finished_at"] or (utcnow() if data["status"] == "running" else data["updated_at"])
    data["duration_seconds"] = (end - data["started_at"]).total_seconds() if data["started_at"] else None
    if data["mode"] == "auto":
        data["total"] -= 1  # the recurring sweep item is not a record
    return data


def run_summary(conn: Connection, workspace_id: int, run_id: int) -> dict:
    """One enrichment run's status and counts: run_id, title, status, mode, config_id,
    config_name, config_version, entity, total, done, failed, skipped, cached, calls, credits,
    spend_limit, stopped_reason, error, created_at, started_at, finished_at, duration_seconds."""
    row = conn.execute(_summary_query(workspace_id).where(RUN.c.id == run_id)).first()
    if row is None:
        raise LookupError(f"There is no enrichment run #{run_id} in this workspace.")
    return _summary(row)


def list_enrichment_runs(conn: Connection, workspace_id: int, *, config_id: int | None = None,
                         limit: int = 50) -> list[dict]:
    """Newest first, as `run_summary`."""
    query = _summary_query(workspace_id).order_by(RUN.c.id.desc()).limit(limit)
    if config_id is not None:
        query = query.where(ENRICH_RUN.c.config_id == config_id)
    return [_summary(row) for row in conn.execute(query)]


def _labels(conn: Connection, workspace_id: int, entity: str, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    table = TABLES[entity].__table__
    first, second = LABELS[entity]
    rows = conn.execute(sa.select(table.c.id, table.c[first], table.c[second]).where(
        table.c.workspace_id == workspace_id, table.c.id.in_(ids)))
    return {rid: (a or b or f"#{rid}") for rid, a, b in rows}


def run_detail(conn: Connection, workspace_id: int, run_id: int, *, errors_limit: int = 100) -> dict:
    """`run_summary` plus `providers` (calls charged and credits per provider, from the ledger)
    and `errors`: the failed and skipped records with their reasons, [{record_id, label,
    status, attempts, error}]."""
    summary = run_summary(conn, workspace_id, run_id)
    ledger = credits.LEDGER
    spent = conn.execute(sa.select(ledger.c.provider, sa.func.count(), sa.func.sum(-ledger.c.amount_milli)).where(
        ledger.c.run_id == run_id, ledger.c.workspace_id == workspace_id, ledger.c.kind.in_(("charge", "refund")))
        .group_by(ledger.c.provider).order_by(ledger.c.provider)).all()
    summary["providers"] = [{"provider": p, "entries": n, "credits": (m or 0) / 1000} for p, n, m in spent]
    rows = conn.execute(sa.select(ITEM.c.payload, ITEM.c.status, ITEM.c.attempts, ITEM.c.error).where(
        ITEM.c.run_id == run_id, ITEM.c.error.is_not(None), ITEM.c.seq > (0 if summary["mode"] == "auto" else -1))
        .order_by(ITEM.c.seq).limit(errors_limit)).all()
    ids = [r.payload.get("record_id") for r in rows if r.payload.get("record_id")]
    labels = _labels(conn, workspace_id, summary["entity"], ids)
    summary["errors"] = [{"record_id": r.payload.get("record_id"), "label": labels.get(r.payload.get("record_id"), ""),
                          "status": r.status, "attempts": r.attempts, "error": r.error} for r in rows]
    return summary


def run_results(conn: Connection, workspace_id: int, run_id: int) -> list[dict]:
    """A run's records with what each got — the 10-row test's table: [{record_id, label,
    status, values, winners, calls, credits, cached, error}] in run order (first 200)."""
    summary = run_summary(conn, workspace_id, run_id)
    rows = conn.execute(sa.select(ITEM.c.payload, ITEM.c.status, ITEM.c.result, ITEM.c.error).where(
        ITEM.c.run_id == run_id).order_by(ITEM.c.seq).limit(200)).all()
    rows = [r for r in rows if "record_id" in r.payload]
    labels = _labels(conn, workspace_id, summary["entity"], [r.payload["record_id"] for r in rows])
    out = []
    for r in rows:
        result = r.result or {}
        out.append({"record_id": r.payload["record_id"], "label": labels.get(r.payload["record_id"], ""),
                    "status": r.status, "values": result.get("values", {}), "winners": result.get("winners", {}),
                    "calls": result.get("calls", 0), "credits": result.get("credits", 0.0),
                    "cached": result.get("cached", False), "error": r.error})
    return out


def list_configs(conn: Connection, workspace_id: int) -> list[dict]:
    """Every config: id, name, entity, version, tested (this version passed its test),
    auto_enrich, fields [{key, type, label}], providers [key], run_spend_limit, last_run."""
    out = []
    for row in conn.execute(sa.select(CONFIG.c.id).where(CONFIG.c.workspace_id == workspace_id).order_by(CONFIG.c.name)):
        config = get_config(conn, workspace_id, row.id)
        try:
            plan = config_plan(config)
            fields = [{"key": k, "type": m.type, "label": m.label} for k, m in plan.fields.items()]
            providers = [p.key for p in plan.providers]
        except SpecError as exc:
            fields, providers, config["problem"] = [], [], str(exc)
        last = list_enrichment_runs(conn, workspace_id, config_id=row.id, limit=1)
        out.append({**{k: config[k] for k in ("id", "name", "entity", "version", "auto_enrich", "auto_run_id",
                                              "run_spend_limit", "target", "updated_at")},
                    "tested": has_passed_test(conn, config), "fields": fields, "providers": providers,
                    "problem": config.get("problem"), "last_run": last[0] if last else None})
    return out


def record_results(conn: Connection, workspace_id: int, entity: str, record_id: int) -> list[dict]:
    """What each config wrote on one record (for the record panel): [{config, status, values,
    winners, enriched_at}]."""
    rows = conn.execute(sa.select(CONFIG.c.name, RESULT.c.status, RESULT.c.data, RESULT.c.winners, RESULT.c.enriched_at)
                        .join(CONFIG, CONFIG.c.id == RESULT.c.config_id).where(
        RESULT.c.workspace_id == workspace_id, RESULT.c.record_id == record_id, CONFIG.c.entity == entity))
    return [{"config": n, "status": s, "values": d, "winners": w, "enriched_at": t} for n, s, d, w, t in rows]

