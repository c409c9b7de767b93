"""Working one claimed batch of an enrichment run: read, admit within budget, call, write.

1. Read (one read transaction): the records, their normalized inputs, and the cache entries
   that are still fresh for every provider of the config.
2. Admit: items whose worst-case cost (every uncached paid call, waterfalls in full) still
   fits the run's limit, the workspace's monthly limit and the balance go on; the first
   that does not fit stops the run cleanly — it is paused with the reason, and the items
   not admitted are handed back untouched (no call, no charge), to go on after a resume.
3. Call: the items' coroutines run on the call service's event loop (runner.py), outside
   any transaction. Two records of a batch with the same input share one call.
4. Write: finished items are written in groups (up to 100, or every 0.25 s), one
   transaction per group holding, for each item, its settlement (`settle_items`), its
   attribute values, its per-config result, its cache entries and its credit charges. An
   item whose lease was lost (`settle_items` leaves it out) writes nothing. A worker killed at any moment therefore leaves
   each item either wholly written and charged, or untouched and still leased — claimed
   again when the lease expires, called again, and charged then, once.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection, Engine

from audiences_app.core.db import is_sqlite, write_transaction
from audiences_app.core.enrichment import cache, credits
from audiences_app.core.enrichment.providers.base import CallContext, Provider, ProviderError
from audiences_app.core.enrichment.providers.waterfall import run_step
from audiences_app.core.enrichment.runner import HttpRunner, call_service
from audiences_app.core.enrichment.secret_store import SecretValue
from audiences_app.core.enrichment.spec import Plan
from audiences_app.core.jobs import ITEM, RUN, ClaimedItem, Settlement, pause_run, renew_leases, settle_items
from audiences_app.core.models import TABLES, EnrichmentResult, EnrichmentRun, utcnow

log = logging.getLogger("audiences_app.core.enrichment")
RESULT = EnrichmentResult.__table__
ENRICH_RUN = EnrichmentRun.__table__
FLUSH_ITEMS = 100
FLUSH_SECONDS = 0.25
RENEW_SECONDS = 10
"""Lease heartbeat while a batch works (well inside the workers' 60-second leases)."""
RECORD_GONE = "the record was deleted or archived"


@dataclass
class RunContext:
    run_id: int
    workspace_id: int
    entity: str
    config_id: int
    mode: str
    plan: Plan
    spend_limit_milli: int | None


@dataclass
class Prepared:
    item: ClaimedItem
    record_id: int
    record: dict | None
    inputs: dict[str, dict | None] = field(default_factory=dict)
    hashes: dict[str, str] = field(default_factory=dict)
    cached: dict[str, dict] = field(default_factory=dict)

    def worst_cost_milli(self, plan: Plan) -> int:
        return sum(p.cost_milli for p in plan.providers
                   if p.network and self.inputs.get(p.key) is not None and p.key not in self.cached)


@dataclass
class Call:
    provider: str
    cost_milli: int
    charge_key: str


@dataclass
class ItemOutcome:
    item: ClaimedItem
    record_id: int
    status: str = "done"
    values: dict[str, Any] = field(default_factory=dict)
    winners: dict[str, str] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    cache_writes: list[tuple[str, str, str, dict]] = field(default_factory=list)
    hits: int = 0
    error: str | None = None

    @property
    def cached(self) -> bool:
        """Served entirely from the cache: no call made, at least one cached answer used."""
        return self.status == "done" and not self.calls and self.hits > 0

    @property
    def credits_milli(self) -> int:
        return sum(c.cost_milli for c in self.calls)

    def result(self) -> dict:
        return {"values": self.values, "winners": self.winners, "calls": len(self.calls),
                "credits": self.credits_milli / 1000, "cached": self.cached}


# -- 1. read -----------------------------------------------------------------------------------------

def load_records(conn: Connection, workspace_id: int, entity: str, ids: list[int]) -> dict[int, dict]:
    """Live records by id (archived and deleted ones are absent)."""
    table = TABLES[entity].__table__
    rows = conn.execute(sa.select(table).where(
        table.c.workspace_id == workspace_id, table.c.id.in_(ids), table.c.archived_at.is_(None)))
    return {row.id: dict(row._mapping) for row in rows}


def prepare(conn: Connection, ctx: RunContext, items: list[ClaimedItem]) -> list[Prepared]:
    records = load_records(conn, ctx.workspace_id, ctx.entity, [i.payload["record_id"] for i in items])
    prepared = [Prepared(item, item.payload["record_id"], records.get(item.payload["record_id"])) for item in items]
    now = utcnow()
    for step in ctx.plan.steps:
        max_age = step.max_age_days
        for provider in step.providers:
            for p in prepared:
                if p.record is not None:
                    inputs = provider.read_inputs(p.record)
                    p.inputs[provider.key] = inputs
                    if inputs is not None and provider.cacheable:
                        p.hashes[provider.key] = provider.input_hash(inputs)
            if not provider.cacheable:
                continue
            entries = cache.lookup(conn, ctx.workspace_id, provider.key, provider.version,
                                   [p.hashes[provider.key] for p in prepared if provider.key in p.hashes])
            for p in prepared:
                entry = entries.get(p.hashes.get(provider.key, ""))
                if entry and (max_age is None or entry[1] >= now - timedelta(days=max_age)):
                    p.cached[provider.key] = entry[0]
    return prepared


# -- 2. admit -----------------------------------------------------------------------------------------

def admit(conn: Connection, ctx: RunContext, prepared: list[Prepared]) -> tuple[list[Prepared], list[Prepared], str | None]:
    """(admitted, refused, why the run must stop) — the items whose worst case fits the budget."""
    budget, binding = credits.budget_milli(conn, ctx.workspace_id)
    if ctx.spend_limit_milli is not None:
        spent = conn.execute(sa.select(ENRICH_RUN.c.credits_milli).where(ENRICH_RUN.c.run_id == ctx.run_id)).scalar() or 0
        if ctx.spend_limit_milli - spent < budget:
            budget, binding = max(0, ctx.spend_limit_milli - spent), "the run's spend limit"
    admitted: list[Prepared] = []
    for position, p in enumerate(prepared):
        worst = p.worst_cost_milli(ctx.plan)
        if worst > budget:
            return admitted, prepared[position:], _stop_reason(conn, ctx, binding)
        budget -= worst
        admitted.append(p)
    return admitted, [], None


def _stop_reason(conn: Connection, ctx: RunContext, binding: str) -> str:
    info = credits.account(conn, ctx.workspace_id)
    if binding == "the run's spend limit":
        return (f"Stopped at the run's spend limit of {ctx.spend_limit_milli / 1000:g} credits. "
                "Raise the limit and resume to go on.")
    if binding == "the workspace's monthly spend limit":
        return (f"Stopped at the workspace's monthly spend limit of {info['monthly_limit']:g} credits "
                f"({info['month_spent']:g} spent in {info['month']}). Raise the limit and resume to go on.")
    return (f"Stopped: the workspace's balance ({info['balance']:g} credits) cannot pay for the next records. "
            "Add credits and resume to go on.")


def stop_for_budget(engine: Engine, ctx: RunContext, refused: list[Prepared], reason: str, owner: str) -> None:
    """Pause the run with the reason and hand the refused items back as they were claimed."""
    ids = [p.item.id for p in refused]
    with write_transaction(engine) as conn:
        conn.execute(sa.update(ITEM).where(ITEM.c.id.in_(ids), ITEM.c.lease_owner == owner, ITEM.c.status == "running")
                     .values(status="pending", attempts=ITEM.c.attempts - 1, lease_owner=None, lease_expires_at=None,
                             updated_at=utcnow()))
        status = conn.execute(sa.select(RUN.c.status).where(RUN.c.id == ctx.run_id)).scalar()
        if status in ("queued", "running"):
            pause_run(conn, ctx.run_id, ctx.workspace_id)
            conn.execute(sa.update(RUN).where(RUN.c.id == ctx.run_id).values(error=reason))
            conn.execute(sa.update(ENRICH_RUN).where(ENRICH_RUN.c.run_id == ctx.run_id).values(stopped_reason=reason))
    log.info("enrichment run #%s stopped: %s", ctx.run_id, reason)


# -- 3. call ------------------------------------------------------------------------------------------

def idempotency_header(charge_key: str) -> str:
    return hashlib.sha256(charge_key.encode()).hexdigest()[:32]


class BatchCalls:
    """The calls of one batch, on the event loop: one call per (provider, input), shared."""

    def __init__(self, ctx: RunContext, runner: HttpRunner, secrets: dict[str, SecretValue]):
        self.ctx, self.runner, self.secrets = ctx, runner, secrets
        self.shared: dict[tuple[str, str], asyncio.Future] = {}

    async def enrich(self, p: Prepared) -> ItemOutcome:
        outcome = ItemOutcome(p.item, p.record_id)
        if p.record is None:
            outcome.status, outcome.error = "skipped", RECORD_GONE
            return outcome
        if all(p.inputs.get(provider.key) is None for provider in self.ctx.plan.providers):
            inputs = sorted({name for provider in self.ctx.plan.providers for name in provider.inputs})
            outcome.status, outcome.error = "skipped", f"the record has none of the inputs ({', '.join(inputs)})"
            return outcome
        errors: list[str] = []
        try:
            for step in self.ctx.plan.steps:
                done = await run_step(step, lambda provider: self._answer(provider, p, outcome))
                outcome.values.update(done.values)
                outcome.winners.update(done.winners)
                errors.extend(done.errors)
        except Exception as exc:  # a bug must fail one item, not the batch
            log.exception("enrichment of record %s failed", p.record_id)
            errors.append(f"internal error: {type(exc).__name__}: {exc}")
        if errors:
            outcome.status, outcome.error = "failed", "; ".join(errors)[:2000]
        return outcome

    async def _answer(self, provider: Provider, p: Prepared, outcome: ItemOutcome) -> dict[str, Any] | None:
        inputs = p.inputs.get(provider.key)
        if inputs is None:
            return None
        if provider.key in p.cached:
            outcome.hits += 1
            return p.cached[provider.key]
        if not provider.network:
            return provider.coerce_outputs(await provider.fetch(inputs, CallContext(None)))
        key = (provider.key, p.hashes[provider.key])
        if key in self.shared:
            found = await asyncio.shield(self.shared[key])
            outcome.hits += 1
            return found
        future = self.shared[key] = asyncio.get_running_loop().create_future()
        charge_key = credits.charge_key(self.ctx.workspace_id, self.ctx.run_id, p.record_id, provider.key)
        try:
            raw = await provider.fetch(inputs, CallContext(self.runner, self.secrets, idempotency_header(charge_key)))
            found = provider.coerce_outputs(raw)
        except ProviderError as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: records sharing it see the same error
            raise
        except Exception as exc:
            error = ProviderError(f"{type(exc).__name__}: {exc}")
            future.set_exception(error)
            future.exception()
            raise error from exc
        future.set_result(found)
        cost = provider.cost_milli if (found or provider.charge_on_miss) else 0
        outcome.calls.append(Call(provider.key, cost, charge_key))
        outcome.cache_writes.append((provider.key, provider.version, key[1], found))
        return found


# -- 4. write ------------------------------------------------------------------------------------------

def _merge_json(conn: Connection, column: Any, patch: Any) -> Any:
    """`column` with the keys of the JSON object `patch` set (SQLite json_patch, PostgreSQL ||)."""
    if is_sqlite(conn):
        return sa.func.json_patch(column, patch)
    return sa.type_coerce(column, JSONB).op("||")(sa.cast(patch, JSONB))


def _write_values(conn: Connection, ctx: RunContext, outcomes: list[ItemOutcome]) -> None:
    """Attribute values onto the records, and each record's result for the config."""
    table, now = TABLES[ctx.entity].__table__, utcnow()
    patches = [{"b_id": o.record_id, "b_patch": json.dumps(o.values, allow_nan=False)} for o in outcomes if o.values]
    if patches:
        conn.execute(sa.update(table).where(table.c.id == sa.bindparam("b_id"), table.c.workspace_id == ctx.workspace_id)
                     .values(attributes=_merge_json(conn, table.c.attributes, sa.bindparam("b_patch", type_=sa.Text)),
                             updated_at=now), patches)
    results = [{"workspace_id": ctx.workspace_id, "config_id": ctx.config_id, "record_id": o.record_id,
                "status": o.status, "data": o.values, "winners": o.winners, "run_id": ctx.run_id, "enriched_at": now}
               for o in outcomes if o.error != RECORD_GONE]
    if results:
        insert = (sqlite if is_sqlite(conn) else postgresql).insert(RESULT)
        conn.execute(insert.on_conflict_do_update(index_elements=["config_id", "record_id"], set_={
            "status": insert.excluded.status, "winners": insert.excluded.winners, "run_id": insert.excluded.run_id,
            "enriched_at": insert.excluded.enriched_at,
            "data": _merge_json(conn, RESULT.c.data, insert.excluded.data)}), results)


def write_outcomes(engine: Engine, ctx: RunContext, outcomes: list[ItemOutcome], owner: str) -> int:
    """Write finished items in one transaction: each item is settled (`settle_items`) and, if
    this worker still holds its lease, its values, result, cache entries and charges are
    written with it; an item whose lease was lost writes nothing. Returns how many were written."""
    with write_transaction(engine) as conn:
        settled = {s.item.id for s in settle_items(
            conn, [Settlement(o.item, o.status, o.result(), o.error) for o in outcomes], owner=owner)}
        owned = [o for o in outcomes if o.item.id in settled]
        if len(owned) < len(outcomes):
            log.warning("run #%s: %d item leases lost; their new owner writes them", ctx.run_id, len(outcomes) - len(owned))
        if not owned:
            return 0
        _write_values(conn, ctx, owned)
        cache.store(conn, ctx.workspace_id, [entry for o in owned for entry in o.cache_writes])
        spent = credits.charge_calls(conn, ctx.workspace_id, [
            {"amount_milli": c.cost_milli, "key": c.charge_key, "run_id": ctx.run_id, "provider": c.provider,
             "entity": ctx.entity, "record_id": o.record_id} for o in owned for c in o.calls])
        conn.execute(sa.update(ENRICH_RUN).where(ENRICH_RUN.c.run_id == ctx.run_id).values(
            calls=ENRICH_RUN.c.calls + sum(len(o.calls) for o in owned),
            credits_milli=ENRICH_RUN.c.credits_milli + spent,
            cached_items=ENRICH_RUN.c.cached_items + sum(o.cached for o in owned)))
    return len(owned)


# -- the batch ------------------------------------------------------------------------------------------

def process_batch(engine: Engine, ctx: RunContext, items: list[ClaimedItem], owner: str,
                  secrets: dict[str, SecretValue]) -> None:
    with engine.connect() as conn:
        prepared = prepare(conn, ctx, items)
        admitted, refused, reason = admit(conn, ctx, prepared)
    if refused:
        stop_for_budget(engine, ctx, refused, reason or "spend limit", owner)
    if not admitted:
        return
    service = call_service()
    calls = BatchCalls(ctx, service.runner, secrets)
    futures = {asyncio.run_coroutine_threadsafe(calls.enrich(p), service.loop): p.item.id for p in admitted}
    pending, buffer = set(futures), []
    last_flush = last_renew = time.monotonic()
    while pending:
        done, pending = concurrent.futures.wait(pending, timeout=FLUSH_SECONDS,
                                                return_when=concurrent.futures.FIRST_COMPLETED)
        buffer.extend(future.result() for future in done)
        now = time.monotonic()
        if buffer and (len(buffer) >= FLUSH_ITEMS or now - last_flush >= FLUSH_SECONDS or not pending):
            write_outcomes(engine, ctx, buffer, owner)
            buffer, last_flush = [], time.monotonic()
        if pending and now - last_renew >= RENEW_SECONDS:
            renew_leases(engine, owner=owner, item_ids=[futures[f] for f in pending])
            last_renew = now
