"""Credits: a workspace balance, a ledger with idempotency keys, and spend limits.

Amounts are kept in thousandths of a credit (exact integers on every backend; providers may
cost fractions). Every change of balance is one ledger row whose `idempotency_key` is UNIQUE:
the same charge can never be written twice, whatever retries or crashes happen. A charge is
written in the same transaction as the result it pays for (runs.py), so nothing is charged
without its result and no result is kept without its charge.

Key formats (one place, so they can be read back):
    charge:<workspace>:<run>:<record>:<provider key>     one provider call for one record in one run
    refund:<charge key>                                  at most one refund per charge
    grant:<workspace>:<caller's key or a random id>

Limits: a workspace may set a monthly limit (UTC calendar month); a run may have its own
limit. Both, and the balance, are checked before calls are made (runs.py admits only the
items whose worst-case cost still fits), so a run stops cleanly at a limit instead of
overspending it.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from audiences_app.core.db import is_sqlite
from audiences_app.core.models import CreditLedger, Run, WorkspaceCredit, utcnow

LEDGER = CreditLedger.__table__
ACCOUNT = WorkspaceCredit.__table__
RUN = Run.__table__
MILLI = 1000
WARN_SHARE = 0.10
"""A run whose estimate exceeds this share of the balance shows a warning before it starts."""


class CreditError(ValueError):
    """A credit operation that cannot be done (unknown charge, second refund, bad amount)."""


def to_milli(credits: float | int | str) -> int:
    value = float(credits)
    if value != value or abs(value) > 1e12:
        raise CreditError(f"{credits!r} is not an amount of credits")
    return round(value * MILLI)


def to_credits(milli: int | None) -> float | None:
    return None if milli is None else milli / MILLI


def _month(now: datetime | None = None) -> str:
    return (now or utcnow()).strftime("%Y-%m")


def _ensure_account(conn: Connection, workspace_id: int) -> None:
    insert = (sqlite if is_sqlite(conn) else postgresql).insert(ACCOUNT)
    conn.execute(insert.on_conflict_do_nothing(index_elements=["workspace_id"]).values(
        workspace_id=workspace_id, balance_milli=0, month=_month(), month_spent_milli=0, updated_at=utcnow()))


def _locked_account(conn: Connection, workspace_id: int) -> sa.Row:
    """The account row, locked until the caller's transaction ends (SQLite: the write lock
    of BEGIN IMMEDIATE already serializes writers)."""
    _ensure_account(conn, workspace_id)
    query = sa.select(ACCOUNT).where(ACCOUNT.c.workspace_id == workspace_id)
    if not is_sqlite(conn):
        query = query.with_for_update()
    return conn.execute(query).one()


def _post(conn: Connection, workspace_id: int, entries: list[dict]) -> list[dict | None]:
    """Write ledger entries (kind, amount_milli, idempotency_key, run_id…) and move the
    balance, in the caller's transaction; an entry whose key was used before is not written
    (None in its place)."""
    account = _locked_account(conn, workspace_id)
    keys = [e["idempotency_key"] for e in entries]
    used: set[str] = set()
    for start in range(0, len(keys), 500):
        used.update(conn.execute(sa.select(LEDGER.c.idempotency_key).where(
            LEDGER.c.idempotency_key.in_(keys[start:start + 500]))).scalars())
    month, now = _month(), utcnow()
    balance = account.balance_milli
    spent = account.month_spent_milli if account.month == month else 0
    written: list[dict | None] = []
    rows = []
    for entry in entries:
        if entry["idempotency_key"] in used:
            written.append(None)
            continue
        used.add(entry["idempotency_key"])
        amount = entry["amount_milli"]
        balance += amount
        if entry["kind"] == "charge":
            spent -= amount  # charges are negative amounts
        elif entry["kind"] == "refund":
            spent = max(0, spent - amount)
        row = {"workspace_id": workspace_id, "run_id": None, "provider": None, "entity": None, "record_id": None,
               "note": "", **entry, "balance_after_milli": balance, "created_at": now}
        row["note"] = row["note"][:500]
        rows.append(row)
        written.append(row)
    if rows:
        conn.execute(sa.update(ACCOUNT).where(ACCOUNT.c.workspace_id == workspace_id).values(
            balance_milli=balance, month=month, month_spent_milli=spent, updated_at=now))
        conn.execute(sa.insert(LEDGER), rows)
    return written


def _apply(conn: Connection, workspace_id: int, **entry: Any) -> dict | None:
    """One ledger entry: the row written, or None when its key was used before."""
    row = _post(conn, workspace_id, [entry])[0]
    if row is not None:
        row["id"] = conn.execute(sa.select(LEDGER.c.id).where(
            LEDGER.c.idempotency_key == row["idempotency_key"])).scalar_one()
    return row


def charge_key(workspace_id: int, run_id: int, record_id: int, provider: str) -> str:
    return f"charge:{workspace_id}:{run_id}:{record_id}:{provider}"


def charge_calls(conn: Connection, workspace_id: int, calls: list[dict]) -> int:
    """Charge calls ({amount_milli, key, run_id, provider, entity, record_id}) in the caller's
    transaction; returns what was charged (a key charged before is skipped)."""
    entries = [{"kind": "charge", "amount_milli": -c["amount_milli"], "idempotency_key": c["key"],
                "run_id": c["run_id"], "provider": c["provider"], "entity": c["entity"], "record_id": c["record_id"]}
               for c in calls if c["amount_milli"] > 0]
    if not entries:
        return 0
    return sum(-row["amount_milli"] for row in _post(conn, workspace_id, entries) if row is not None)


def charge(conn: Connection, workspace_id: int, amount_milli: int, *, key: str, run_id: int, provider: str,
           entity: str, record_id: int) -> bool:
    """Charge one call inside the caller's transaction; False when this key was charged before."""
    return charge_calls(conn, workspace_id, [{"amount_milli": amount_milli, "key": key, "run_id": run_id,
                                              "provider": provider, "entity": entity, "record_id": record_id}]) > 0


def grant(conn: Connection, workspace_id: int, credits: float, *, key: str | None = None, note: str = "") -> dict:
    """Add credits to the balance (a purchase, a top-up). With `key`, granting twice adds once."""
    amount = to_milli(credits)
    if amount <= 0:
        raise CreditError("A grant adds a positive number of credits.")
    full_key = f"grant:{workspace_id}:{key or uuid.uuid4().hex}"
    entry = _apply(conn, workspace_id, kind="grant", amount_milli=amount, idempotency_key=full_key, note=note)
    if entry is None:
        entry = dict(conn.execute(sa.select(LEDGER).where(LEDGER.c.idempotency_key == full_key)).one()._mapping)
    return _entry(entry)


def refund(conn: Connection, workspace_id: int, charge_id: int, *, note: str = "") -> dict:
    """Give back one charge (once: a second refund of it is refused)."""
    original = conn.execute(sa.select(LEDGER).where(LEDGER.c.id == charge_id, LEDGER.c.workspace_id == workspace_id)).first()
    if original is None or original.kind != "charge":
        raise CreditError(f"There is no charge #{charge_id} in this workspace.")
    entry = _apply(conn, workspace_id, kind="refund", amount_milli=-original.amount_milli,
                   idempotency_key=f"refund:{original.idempotency_key}", run_id=original.run_id, provider=original.provider,
                   entity=original.entity, record_id=original.record_id, note=note)
    if entry is None:
        raise CreditError(f"Charge #{charge_id} was already refunded.")
    if original.run_id is not None:
        from audiences_app.core.models import EnrichmentRun

        table = EnrichmentRun.__table__
        conn.execute(sa.update(table).where(table.c.run_id == original.run_id).values(
            credits_milli=table.c.credits_milli + original.amount_milli))
    return _entry(entry)


def set_monthly_limit(conn: Connection, workspace_id: int, credits: float | None) -> None:
    """Cap what the workspace may spend per calendar month (UTC); None removes the cap."""
    _locked_account(conn, workspace_id)
    limit = None if credits is None else to_milli(credits)
    if limit is not None and limit < 0:
        raise CreditError("A spend limit cannot be negative.")
    conn.execute(sa.update(ACCOUNT).where(ACCOUNT.c.workspace_id == workspace_id).values(
        monthly_limit_milli=limit, updated_at=utcnow()))


def account(conn: Connection, workspace_id: int) -> dict:
    """balance, monthly_limit (None: no limit), month_spent, month_left (None: no limit), in credits."""
    row = conn.execute(sa.select(ACCOUNT).where(ACCOUNT.c.workspace_id == workspace_id)).first()
    balance = row.balance_milli if row else 0
    spent = row.month_spent_milli if row and row.month == _month() else 0
    limit = row.monthly_limit_milli if row else None
    return {"balance": to_credits(balance), "monthly_limit": to_credits(limit), "month": _month(),
            "month_spent": to_credits(spent), "month_left": None if limit is None else to_credits(max(0, limit - spent)),
            "balance_milli": balance, "month_left_milli": None if limit is None else max(0, limit - spent)}


def budget_milli(conn: Connection, workspace_id: int) -> tuple[int, str]:
    """What may still be spent now (the lower of balance and monthly allowance) and which binds."""
    info = account(conn, workspace_id)
    if info["month_left_milli"] is not None and info["month_left_milli"] < info["balance_milli"]:
        return info["month_left_milli"], "the workspace's monthly spend limit"
    return max(0, info["balance_milli"]), "the workspace's credit balance"


def _entry(row: Any) -> dict:
    data = dict(row)
    data["amount"] = to_credits(data.pop("amount_milli"))
    data["balance_after"] = to_credits(data.pop("balance_after_milli"))
    return data


def ledger_page(conn: Connection, workspace_id: int, *, before_id: int | None = None, limit: int = 50,
                run_id: int | None = None, kind: str | None = None) -> dict:
    """Newest entries first, a page at a time: {"data": [...], "next_before_id": id or None}."""
    query = sa.select(LEDGER).where(LEDGER.c.workspace_id == workspace_id)
    if before_id is not None:
        query = query.where(LEDGER.c.id < before_id)
    if run_id is not None:
        query = query.where(LEDGER.c.run_id == run_id)
    if kind is not None:
        query = query.where(LEDGER.c.kind == kind)
    rows = [_entry(r._mapping) for r in conn.execute(query.order_by(LEDGER.c.id.desc()).limit(limit + 1))]
    return {"data": rows[:limit], "next_before_id": rows[limit - 1]["id"] if len(rows) > limit else None}


def spend_over_time(conn: Connection, workspace_id: int, *, days: int = 30, by: str = "provider",
                    now: datetime | None = None) -> list[dict]:
    """Credits spent per UTC day and per provider (by="provider") or per run (by="run"),
    charges net of refunds, oldest day first: [{"day": "2026-12-01", "key": ..., "label": ..., "credits": 3.0}]."""
    if by not in ("provider", "run"):
        raise ValueError("spend is grouped by 'provider' or by 'run'")
    since = (now or utcnow()).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=days - 1)
    day = sa.func.date(LEDGER.c.created_at)
    key = LEDGER.c.provider if by == "provider" else LEDGER.c.run_id
    query = (sa.select(day.label("day"), key.label("key"), sa.func.sum(-LEDGER.c.amount_milli).label("spent"))
             .where(LEDGER.c.workspace_id == workspace_id, LEDGER.c.kind.in_(("charge", "refund")),
                    LEDGER.c.created_at >= since)
             .group_by(day, key).order_by(day, key))
    rows = conn.execute(query).all()
    titles = {}
    if by == "run":
        ids = {r.key for r in rows if r.key is not None}
        titles = dict(conn.execute(sa.select(RUN.c.id, RUN.c.title).where(
            RUN.c.id.in_(ids), RUN.c.workspace_id == workspace_id)).all()) if ids else {}
    return [{"day": str(r.day)[:10], "key": r.key,
             "label": (titles.get(r.key, f"Run #{r.key}") if by == "run" else r.key) or "—",
             "credits": to_credits(int(r.spent))} for r in rows]
