"""Durable runs: long work as a run row plus items that workers claim under expiring leases.

A worker claims a batch of pending items (SQLite: inside BEGIN IMMEDIATE; PostgreSQL:
FOR UPDATE SKIP LOCKED), renews its lease while it works, and settles each item with
`settle_item` (or a batch with `settle_items`) in the same transaction as the item's own writes — so a result, its charge
and the item's status land together or not at all. An item whose lease expired (its worker
died) is claimed again; `attempts` counts claims, and an item that keeps failing ends failed
with its last error instead of looping forever. The UI only reads what is written here.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from audiences_app.core.db import is_sqlite, write_transaction
from audiences_app.core.models import Run, RunItem, utcnow

log = logging.getLogger(__name__)

RUN = Run.__table__
ITEM = RunItem.__table__
ACTIVE = ("queued", "running")
FINAL = ("succeeded", "failed", "cancelled")
DEFAULT_LEASE_SECONDS = 60
DEFAULT_MAX_ATTEMPTS = 3
INSERT_CHUNK = 5_000
SETTLED_COUNTERS = {"done": RUN.c.done_items, "failed": RUN.c.failed_items, "skipped": RUN.c.skipped_items}


class RunStateError(ValueError):
    """An action that the run's current status does not allow (e.g. resuming a finished run)."""


@dataclass(frozen=True)
class ClaimedItem:
    id: int
    run_id: int
    seq: int
    attempts: int
    payload: dict
    kind: str
    workspace_id: int
    params: dict


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


# -- creating and steering runs ----------------------------------------------------------------

def create_run(
    conn: Connection,
    *,
    workspace_id: int,
    kind: str,
    title: str = "",
    params: dict | None = None,
    payloads: Iterable[dict] = (),
    created_by: str = "system",
) -> int:
    """A queued run with one item per payload (in order); returns the run id."""
    now = utcnow()
    run_id = conn.execute(
        sa.insert(RUN).values(
            workspace_id=workspace_id, kind=kind, title=title or kind, status="queued",
            params=params or {}, created_by=created_by, created_at=now, updated_at=now,
        ).returning(RUN.c.id)
    ).scalar_one()
    add_items(conn, run_id, payloads)
    return run_id


def add_items(conn: Connection, run_id: int, payloads: Iterable[dict]) -> int:
    """Append items to a run (numbered after its last one); returns how many were added."""
    start = conn.execute(sa.select(sa.func.coalesce(sa.func.max(ITEM.c.seq), -1)).where(ITEM.c.run_id == run_id)).scalar_one() + 1
    now, added, batch = utcnow(), 0, []
    for seq, payload in enumerate(payloads, start=start):
        batch.append({"run_id": run_id, "seq": seq, "status": "pending", "attempts": 0,
                      "payload": payload, "available_at": now, "updated_at": now})
        if len(batch) >= INSERT_CHUNK:
            conn.execute(sa.insert(ITEM), batch)
            added += len(batch)
            batch = []
    if batch:
        conn.execute(sa.insert(ITEM), batch)
        added += len(batch)
    if added:
        conn.execute(sa.update(RUN).where(RUN.c.id == run_id).values(
            total_items=RUN.c.total_items + added, updated_at=now))
    return added


def _set_status(conn: Connection, run_id: int, workspace_id: int, allowed: tuple[str, ...], status: str) -> None:
    current = conn.execute(sa.select(RUN.c.status).where(
        RUN.c.id == run_id, RUN.c.workspace_id == workspace_id)).scalar()
    if current is None:
        raise LookupError(f"No run #{run_id} in this workspace.")
    if current not in allowed:
        raise RunStateError(f"Run #{run_id} is {current}; it cannot become {status}.")
    values: dict[str, Any] = {"status": status, "updated_at": utcnow()}
    if status in FINAL:
        values["finished_at"] = utcnow()
    conn.execute(sa.update(RUN).where(RUN.c.id == run_id).values(**values))


def pause_run(conn: Connection, run_id: int, workspace_id: int) -> None:
    """Stop handing out the run's items; items already claimed finish normally."""
    _set_status(conn, run_id, workspace_id, ACTIVE, "paused")


def resume_run(conn: Connection, run_id: int, workspace_id: int) -> None:
    _set_status(conn, run_id, workspace_id, ("paused",), "running")


def cancel_run(conn: Connection, run_id: int, workspace_id: int) -> None:
    """End the run now: its pending items are skipped and never charged."""
    _set_status(conn, run_id, workspace_id, (*ACTIVE, "paused"), "cancelled")
    skipped = conn.execute(sa.update(ITEM).where(ITEM.c.run_id == run_id, ITEM.c.status == "pending")
                           .values(status="skipped", updated_at=utcnow())).rowcount
    conn.execute(sa.update(RUN).where(RUN.c.id == run_id).values(skipped_items=RUN.c.skipped_items + skipped))


def fail_run(conn: Connection, run_id: int, error: str) -> None:
    """Mark a run failed with a reason a user can read; its pending items are skipped."""
    skipped = conn.execute(sa.update(ITEM).where(ITEM.c.run_id == run_id, ITEM.c.status == "pending")
                           .values(status="skipped", updated_at=utcnow())).rowcount
    conn.execute(sa.update(RUN).where(RUN.c.id == run_id).values(
        status="failed", error=error, finished_at=utcnow(), updated_at=utcnow(),
        skipped_items=RUN.c.skipped_items + skipped))


# -- claiming and settling items -----------------------------------------------------------------

def claim_items(
    engine: Engine,
    *,
    owner: str,
    limit: int = 50,
    kinds: Iterable[str] | None = None,
    lease_seconds: int = DEFAULT_LEASE_SECONDS,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> list[ClaimedItem]:
    """Lease up to `limit` items of active runs: pending ones, or running ones whose lease expired."""
    now = utcnow()
    with write_transaction(engine) as conn:
        _fail_exhausted(conn, now, max_attempts)
        claimable = sa.or_(
            sa.and_(ITEM.c.status == "pending", ITEM.c.available_at <= now),
            sa.and_(ITEM.c.status == "running", ITEM.c.lease_expires_at < now),
        )
        query = (
            sa.select(ITEM.c.id)
            .join(RUN, RUN.c.id == ITEM.c.run_id)
            .where(claimable, RUN.c.status.in_(ACTIVE))
            .order_by(ITEM.c.run_id, ITEM.c.seq)
            .limit(limit)
        )
        if kinds is not None:
            query = query.where(RUN.c.kind.in_(list(kinds)))
        if not is_sqlite(conn):
            query = query.with_for_update(of=ITEM, skip_locked=True)
        ids = list(conn.execute(query).scalars())
        if not ids:
            return []
        conn.execute(sa.update(ITEM).where(ITEM.c.id.in_(ids)).values(
            status="running", attempts=ITEM.c.attempts + 1, lease_owner=owner,
            lease_expires_at=now + timedelta(seconds=lease_seconds), updated_at=now))
        run_ids = conn.execute(sa.select(ITEM.c.run_id).where(ITEM.c.id.in_(ids)).distinct()).scalars().all()
        conn.execute(sa.update(RUN).where(RUN.c.id.in_(run_ids), RUN.c.status == "queued")
                     .values(status="running", started_at=now, updated_at=now))
        rows = conn.execute(
            sa.select(ITEM.c.id, ITEM.c.run_id, ITEM.c.seq, ITEM.c.attempts, ITEM.c.payload,
                      RUN.c.kind, RUN.c.workspace_id, RUN.c.params)
            .join(RUN, RUN.c.id == ITEM.c.run_id).where(ITEM.c.id.in_(ids))
            .order_by(ITEM.c.run_id, ITEM.c.seq)
        )
        return [ClaimedItem(**row._mapping) for row in rows]


def _fail_exhausted(conn: Connection, now: datetime, max_attempts: int) -> None:
    """Items whose worker died `max_attempts` times are failed, not claimed forever."""
    exhausted = list(conn.execute(
        sa.select(ITEM.c.id, ITEM.c.run_id).where(
            ITEM.c.status == "running", ITEM.c.lease_expires_at < now, ITEM.c.attempts >= max_attempts)
    ))
    for item_id, run_id in exhausted:
        conn.execute(sa.update(ITEM).where(ITEM.c.id == item_id).values(
            status="failed", error="the worker stopped while processing this item, too many times",
            lease_owner=None, updated_at=now))
        conn.execute(sa.update(RUN).where(RUN.c.id == run_id).values(failed_items=RUN.c.failed_items + 1))


def renew_leases(engine: Engine, *, owner: str, item_ids: list[int], lease_seconds: int = DEFAULT_LEASE_SECONDS) -> None:
    """Heartbeat: keep the items this worker still holds from being claimed by another."""
    if not item_ids:
        return
    with write_transaction(engine) as conn:
        conn.execute(sa.update(ITEM).where(
            ITEM.c.id.in_(item_ids), ITEM.c.lease_owner == owner, ITEM.c.status == "running",
        ).values(lease_expires_at=utcnow() + timedelta(seconds=lease_seconds)))


@dataclass(frozen=True)
class Settlement:
    """How one claimed item ends: done, failed or skipped, with its result or error."""

    item: ClaimedItem
    status: str
    result: dict | None = None
    error: str | None = None


def settle_item(
    conn: Connection,
    item: ClaimedItem,
    *,
    owner: str,
    status: str,
    result: dict | None = None,
    error: str | None = None,
) -> bool:
    """Record an item's outcome inside the caller's transaction; False if the lease was lost.

    When this returns False the caller must roll back its own writes: another worker owns
    the item now, and writing both would apply the work twice.
    """
    return bool(settle_items(conn, [Settlement(item, status, result, error)], owner=owner))


def settle_items(conn: Connection, settlements: list[Settlement], *, owner: str) -> list[Settlement]:
    """`settle_item` for a batch in three statements instead of two per item; returns the
    settlements applied — those whose item `owner` still holds under the same claim. The
    caller must not write the work of the others (another worker owns them now).

    The held items are read under a row lock (PostgreSQL FOR UPDATE; SQLite's write
    transaction already excludes other writers), so no claim can slip in between the check
    and the update.
    """
    for settlement in settlements:
        if settlement.status not in SETTLED_COUNTERS:
            raise ValueError(f"an item settles as done, failed or skipped, not {settlement.status!r}")
    if not settlements:
        return []
    query = sa.select(ITEM.c.id, ITEM.c.attempts).where(
        ITEM.c.id.in_([s.item.id for s in settlements]), ITEM.c.lease_owner == owner, ITEM.c.status == "running")
    if not is_sqlite(conn):
        query = query.with_for_update()
    held = dict(conn.execute(query).all())
    applied = [s for s in settlements if held.get(s.item.id) == s.item.attempts]
    if not applied:
        return []
    now = utcnow()
    conn.execute(
        sa.update(ITEM).where(ITEM.c.id == sa.bindparam("b_id")).values(
            status=sa.bindparam("b_status"), result=sa.bindparam("b_result", type_=ITEM.c.result.type),
            error=sa.bindparam("b_error"), lease_owner=None, lease_expires_at=None, updated_at=now),
        [{"b_id": s.item.id, "b_status": s.status, "b_result": s.result, "b_error": s.error} for s in applied],
    )
    for run_id in {s.item.run_id for s in applied}:
        added = {status: sum(1 for s in applied if s.item.run_id == run_id and s.status == status)
                 for status in SETTLED_COUNTERS}
        conn.execute(sa.update(RUN).where(RUN.c.id == run_id).values(
            {counter: counter + added[status] for status, counter in SETTLED_COUNTERS.items() if added[status]}
            | {"updated_at": now}))
    return applied


def retry_later(engine: Engine, item: ClaimedItem, *, owner: str, error: str, delay_seconds: float,
                max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> None:
    """Give an item back after a passing failure, or fail it when its attempts are used up."""
    with write_transaction(engine) as conn:
        if item.attempts >= max_attempts:
            settle_item(conn, item, owner=owner, status="failed", error=error)
            return
        conn.execute(sa.update(ITEM).where(ITEM.c.id == item.id, ITEM.c.lease_owner == owner).values(
            status="pending", error=error, lease_owner=None, lease_expires_at=None,
            available_at=utcnow() + timedelta(seconds=delay_seconds), updated_at=utcnow()))


def finish_completed_runs(conn: Connection) -> list[int]:
    """Runs whose every item is settled become succeeded (or failed, if any item failed)."""
    open_items = sa.select(ITEM.c.id).where(ITEM.c.run_id == RUN.c.id, ITEM.c.status.in_(("pending", "running")))
    rows = list(conn.execute(sa.select(RUN.c.id, RUN.c.failed_items, RUN.c.done_items).where(
        RUN.c.status == "running", ~sa.exists(open_items))))
    now = utcnow()
    for run_id, failed, done in rows:
        status = "failed" if failed and not done else "succeeded"
        error = f"{failed:,} items failed" if failed else None
        conn.execute(sa.update(RUN).where(RUN.c.id == run_id).values(
            status=status, error=error, finished_at=now, updated_at=now))
    return [row[0] for row in rows]


# -- reading -----------------------------------------------------------------------------------------

def list_runs(conn: Connection, workspace_id: int, *, kind: str | None = None, limit: int = 100) -> list[dict]:
    query = sa.select(RUN).where(RUN.c.workspace_id == workspace_id).order_by(RUN.c.id.desc()).limit(limit)
    if kind:
        query = query.where(RUN.c.kind == kind)
    return [dict(row._mapping) for row in conn.execute(query)]


def get_run(conn: Connection, run_id: int, workspace_id: int) -> dict:
    row = conn.execute(sa.select(RUN).where(RUN.c.id == run_id, RUN.c.workspace_id == workspace_id)).first()
    if row is None:
        raise LookupError(f"No run #{run_id} in this workspace.")
    return dict(row._mapping)


def item_errors(conn: Connection, run_id: int, *, limit: int = 100) -> list[dict]:
    rows = conn.execute(sa.select(ITEM.c.seq, ITEM.c.status, ITEM.c.attempts, ITEM.c.error).where(
        ITEM.c.run_id == run_id, ITEM.c.error.is_not(None)).order_by(ITEM.c.seq).limit(limit))
    return [dict(row._mapping) for row in rows]


# -- the worker ----------------------------------------------------------------------------------------

Handler = Callable[[Engine, list[ClaimedItem], str], None]


@dataclass
class Worker:
    """Claims items of the kinds it has handlers for and hands each batch to its handler.

    A handler gets (engine, items, owner) and settles every item it finishes with
    `settle_item` inside the transaction that writes the item's results.
    """

    engine: Engine
    handlers: dict[str, Handler]
    owner: str = field(default_factory=worker_name)
    batch_size: int = 200
    """Items per claim. An enrichment batch keeps up to its providers' concurrency in flight and
    idles as its last calls finish, so a claim of a few times the concurrency keeps the slots
    busy: at 20 in flight (bench_enrichment.py) 50 items reached 0.74x of the ideal rate, 200 0.91x."""
    lease_seconds: int = DEFAULT_LEASE_SECONDS
    max_attempts: int = DEFAULT_MAX_ATTEMPTS

    def run_once(self) -> int:
        """Claim and process one batch; returns how many items it claimed."""
        items = claim_items(self.engine, owner=self.owner, limit=self.batch_size, kinds=list(self.handlers),
                            lease_seconds=self.lease_seconds, max_attempts=self.max_attempts)
        by_run: dict[int, list[ClaimedItem]] = {}
        for item in items:
            by_run.setdefault(item.run_id, []).append(item)
        for run_items in by_run.values():
            kind = run_items[0].kind
            try:
                self.handlers[kind](self.engine, run_items, self.owner)
            except Exception as exc:  # a bug in one run must not stop the worker serving the others
                log.exception("handler for %s run #%s failed", kind, run_items[0].run_id)
                for item in run_items:
                    retry_later(self.engine, item, owner=self.owner, error=f"{type(exc).__name__}: {exc}",
                                delay_seconds=2 ** item.attempts, max_attempts=self.max_attempts)
        with write_transaction(self.engine) as conn:
            finish_completed_runs(conn)
        return len(items)

    def run_forever(self, stop: threading.Event, idle_seconds: float = 1.0) -> None:
        while not stop.is_set():
            try:
                claimed = self.run_once()
            except Exception:  # the database may be restarting; try again after a pause
                log.exception("worker loop error")
                claimed = 0
            if not claimed:
                stop.wait(idle_seconds)
