"""The Credits page's state: the balance and monthly limit, spend over time as a chart (by
provider or by run), and the ledger a page at a time (keyset paging on the entry id)."""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

import reflex as rx

from audiences_app.core.db import write_transaction
from audiences_app.core.enrichment import credits
from audiences_app.settings import get_settings
from audiences_app.ui import db
from audiences_app.ui.state.enrichments import number, when
from audiences_app.ui.state.workspace import WorkspaceState

PALETTE = ["#6366f1", "#10b981", "#f59e0b", "#ef4444", "#0ea5e9", "#a855f7", "#64748b"]
DEMO_WORKSPACE = "demo"


def chart(rows: list[dict], days: int, max_series: int) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """spend_over_time rows as one point per day with a column per series (s0…; the rest "other")."""
    totals: dict[Any, float] = {}
    labels: dict[Any, str] = {}
    for r in rows:
        totals[r["key"]] = totals.get(r["key"], 0.0) + float(r["credits"] or 0)
        labels[r["key"]] = str(r["label"])
    ranked = sorted(totals, key=lambda k: -totals[k])
    column = {key: f"s{i}" for i, key in enumerate(ranked[:max_series])}
    series = [{"key": column[k], "label": labels[k][:60], "color": PALETTE[i % len(PALETTE)]}
              for i, k in enumerate(ranked[:max_series])]
    if len(ranked) > max_series:
        series.append({"key": "other", "label": "Other", "color": PALETTE[-1]})
    points: dict[str, dict[str, Any]] = {}
    for r in rows:
        point = points.setdefault(r["day"], {"day": r["day"]})
        key = column.get(r["key"], "other")
        point[key] = round(point.get(key, 0.0) + float(r["credits"] or 0), 3)
    return [points[d] for d in sorted(points)][-days:], series


class CreditsState(WorkspaceState, rx.State):
    """/credits."""

    PAGE_SIZE: ClassVar[int] = 50
    MAX_SERIES: ClassVar[int] = 6
    DAY_CHOICES: ClassVar[tuple[int, ...]] = (7, 30, 90)
    DEMO_GRANT: ClassVar[int] = 1_000

    balance: str = "0"
    month: str = ""
    month_spent: str = "0"
    monthly_limit: str = "none"
    month_left: str = ""
    notice: str = ""
    demo: bool = False

    group_by: str = "provider"
    days: str = "30"
    points: list[dict[str, Any]] = []
    series: list[dict[str, str]] = []
    period_total: str = "0"

    ledger: list[dict[str, str]] = []
    ledger_page: int = 0
    has_next: bool = False
    _next_before: int | None = None
    _cursors: list[int | None] = []  # before_id of each page seen: [None, id, …]

    async def load(self):
        with self._reporting_errors():
            self.notice = ""
            self._cursors = [None]
            self.ledger_page = 0
            await asyncio.to_thread(self._read_all, None)

    def _read_all(self, before_id: int | None) -> None:
        self._read_account()
        self._read_chart()
        self._read_ledger(before_id)

    def _read_account(self) -> None:
        with db.read_connection() as conn:
            info = credits.account(conn, self._workspace_id(conn))
        self.balance = number(info["balance"])
        self.month = str(info["month"])
        self.month_spent = number(info["month_spent"])
        self.monthly_limit = number(info["monthly_limit"]) if info["monthly_limit"] is not None else "No limit"
        self.month_left = number(info["month_left"]) if info["month_left"] is not None else ""
        self.demo = get_settings().workspace == DEMO_WORKSPACE

    def _read_chart(self) -> None:
        days = int(self.days)
        with db.read_connection() as conn:
            rows = credits.spend_over_time(conn, self._workspace_id(conn), days=days, by=self.group_by)
        self.points, self.series = chart(rows, days, self.MAX_SERIES)
        self.period_total = number(sum(float(r["credits"] or 0) for r in rows))

    def _read_ledger(self, before_id: int | None) -> None:
        with db.read_connection() as conn:
            found = credits.ledger_page(conn, self._workspace_id(conn), before_id=before_id, limit=self.PAGE_SIZE)
        self.ledger = [self._entry(e) for e in found["data"]]
        self._next_before = found["next_before_id"]
        self.has_next = found["next_before_id"] is not None

    @staticmethod
    def _entry(e: dict) -> dict[str, str]:
        amount = float(e["amount"] or 0)
        return {
            "id": str(e["id"]), "when": when(e.get("created_at")), "kind": str(e.get("kind") or ""),
            "amount": ("+" if amount > 0 else "") + number(amount), "positive": "1" if amount > 0 else "",
            "balance_after": number(e.get("balance_after")), "provider": str(e.get("provider") or "—"),
            "run_id": str(e.get("run_id") or ""), "record_id": str(e.get("record_id") or ""),
            "note": str(e.get("note") or "")[:200],
        }

    @rx.event
    async def set_group_by(self, value: str | list[str]):
        with self._reporting_errors():
            if not isinstance(value, str) or value not in ("provider", "run"):
                raise ValueError("Group spend by provider or by run.")
            self.group_by = value
            await asyncio.to_thread(self._read_chart)

    @rx.event
    async def set_days(self, value: str | list[str]):
        with self._reporting_errors():
            if not isinstance(value, str) or not value.isdigit() or int(value) not in self.DAY_CHOICES:
                raise ValueError("Choose 7, 30 or 90 days.")
            self.days = str(int(value))
            await asyncio.to_thread(self._read_chart)

    @rx.event
    async def next_page(self):
        with self._reporting_errors():
            if self._next_before is None:
                return
            before = self._next_before
            await asyncio.to_thread(self._read_ledger, before)
            self._cursors = [*self._cursors[: self.ledger_page + 1], before]
            self.ledger_page += 1

    @rx.event
    async def prev_page(self):
        with self._reporting_errors():
            if self.ledger_page == 0:
                return
            self.ledger_page -= 1
            cursors = self._cursors or [None]
            before = cursors[self.ledger_page] if self.ledger_page < len(cursors) else None
            await asyncio.to_thread(self._read_ledger, before)

    @rx.event
    async def first_page(self):
        with self._reporting_errors():
            self.ledger_page = 0
            self._cursors = [None]
            await asyncio.to_thread(self._read_ledger, None)

    @rx.event
    async def grant_demo_credits(self):
        """The demo workspace only: add DEMO_GRANT credits so that paid providers can be tried."""
        with self._reporting_errors():
            if get_settings().workspace != DEMO_WORKSPACE:
                raise ValueError("Demo credits are for the demo workspace only.")

            def grant() -> None:
                with write_transaction(db.engine()) as conn:
                    credits.grant(conn, self._workspace_id(conn), self.DEMO_GRANT, note="Demo credits (Credits page)")
            await asyncio.to_thread(grant)
            self.notice = f"Added {self.DEMO_GRANT:,} demo credits."
            self._cursors = [None]
            self.ledger_page = 0
            await asyncio.to_thread(self._read_all, None)
