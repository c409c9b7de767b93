"""The Jobs page's state: every durable run of any kind (core.jobs.list_runs) with its status and
progress, refreshed from the database while one is working, and a run's detail with item errors."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import ClassVar

import reflex as rx

from audiences_app.core import jobs
from audiences_app.ui import db, routes
from audiences_app.ui.state.enrichments import duration, id_from, number, when
from audiences_app.ui.state.workspace import WorkspaceState

logger = logging.getLogger(__name__)

KIND_LABELS = {"enrich": "Enrichment", "import": "Import", "export": "Export", "sync": "Sync"}


def job_row(r: dict) -> dict[str, str]:
    total = int(r.get("total_items") or 0)
    finished = int(r.get("done_items") or 0) + int(r.get("failed_items") or 0) + int(r.get("skipped_items") or 0)
    started, ended = r.get("started_at"), r.get("finished_at") or r.get("updated_at")
    seconds = (ended - started).total_seconds() if started and ended else None
    return {
        "id": str(r["id"]), "kind": KIND_LABELS.get(r["kind"], str(r["kind"]).replace("_", " ").capitalize()),
        "title": str(r.get("title") or "")[:200], "status": str(r["status"]),
        "total": number(total), "done": number(r.get("done_items")), "failed": number(r.get("failed_items")),
        "skipped": number(r.get("skipped_items")),
        "percent": str(min(100, round(100 * finished / total))) if total else ("100" if r["status"] in jobs.FINAL else "0"),
        "created": when(r.get("created_at")), "duration": duration(seconds), "by": str(r.get("created_by") or ""),
        "error": str(r.get("error") or "")[:500],
    }


class JobsState(WorkspaceState, rx.State):
    """/jobs."""

    MAX_RUNS: ClassVar[int] = 100
    POLL_SECONDS: ClassVar[float] = 1.0
    WATCH_LIMIT_SECONDS: ClassVar[float] = 6 * 3600

    runs: list[dict[str, str]] = []
    kind_filter: str = "all"
    kinds: list[str] = []
    detail_open: bool = False
    detail: dict[str, str] = {}
    detail_errors: list[dict[str, str]] = []
    _watch_generation: int = 0

    async def load(self):
        with self._reporting_errors():
            self._watch_generation += 1
            rows = await asyncio.to_thread(self._fetch, self.kind_filter)
            self.runs = rows
            if any(r["status"] in jobs.ACTIVE for r in rows):
                return JobsState.watch

    def _fetch(self, kind: str) -> list[dict[str, str]]:
        with db.read_connection() as conn:
            found = jobs.list_runs(conn, self._workspace_id(conn), kind=None if kind == "all" else kind,
                                   limit=self.MAX_RUNS)
        return [job_row(r) for r in found]

    @rx.event
    async def set_kind_filter(self, value: str):
        with self._reporting_errors():
            if value != "all" and value not in jobs_kinds():
                raise ValueError("Choose a kind of job from the list.")
            self.kind_filter = value
            self.runs = await asyncio.to_thread(self._fetch, value)

    @rx.event
    async def refresh(self):
        with self._reporting_errors():
            self.runs = await asyncio.to_thread(self._fetch, self.kind_filter)
            if any(r["status"] in jobs.ACTIVE for r in self.runs):
                return JobsState.watch

    @rx.event(background=True)
    async def watch(self):
        """Re-read the list every POLL_SECONDS while a run is working and the page is open."""
        async with self:
            self._watch_generation += 1
            generation = self._watch_generation
            kind = self.kind_filter
        started = time.monotonic()
        while time.monotonic() - started < self.WATCH_LIMIT_SECONDS:
            await asyncio.sleep(self.POLL_SECONDS)
            async with self:  # the latest state: a newer watch, or the tab on another page, ends this one
                if generation != self._watch_generation or self.router.url.path.rstrip("/") != routes.JOBS:
                    return
            try:
                rows = await asyncio.to_thread(self._fetch, kind)
            except Exception:  # noqa: BLE001 - the list stays; a reload tries again
                logger.exception("reading the jobs failed")
                return
            async with self:
                if generation != self._watch_generation:
                    return
                self.runs = rows
            if not any(r["status"] in jobs.ACTIVE for r in rows):
                return

    @rx.event
    async def open_run(self, run_id: str):
        with self._reporting_errors():
            found = id_from(run_id)

            def read() -> tuple[dict, list[dict]]:
                with db.read_connection() as conn:
                    run = jobs.get_run(conn, found, self._workspace_id(conn))
                    return run, jobs.item_errors(conn, found, limit=100)
            run, errors = await asyncio.to_thread(read)
            self.detail = {**job_row(run), "started": when(run.get("started_at")),
                           "finished": when(run.get("finished_at")), "updated": when(run.get("updated_at"))}
            self.detail_errors = [{"seq": str(e["seq"]), "status": str(e["status"]), "attempts": str(e["attempts"]),
                                   "error": str(e["error"] or "")[:500]} for e in errors]
            self.detail_open = True

    @rx.event
    def close_detail(self):
        self.detail_open = False

    @rx.event
    def set_detail_open(self, value: bool):
        if not value:
            self.detail_open = False


def jobs_kinds() -> tuple[str, ...]:
    return tuple(KIND_LABELS)
