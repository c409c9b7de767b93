"""The import wizard: upload → mapping with a 10-row preview → dry run → the run's progress → result.

The file streams to disk in chunks (rx.upload_files_chunk) under an upload folder with a
random name; the server stops at MAX_UPLOAD_BYTES whatever the browser claims. The client's
file name is only ever shown, never used in a path. The import itself is a durable run that
the app's worker thread processes; this state only starts it and reads its progress.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from pathlib import Path
from typing import ClassVar

import reflex as rx

from audiences_app.core.catalog import ENTITIES, catalog
from audiences_app.core.fields import CUSTOM_TYPES
from audiences_app.core.imports import (
    POLICIES, ImportPlan, UpsertPolicy, dry_run, import_progress, plan_import, preview_import, reject_lines,
    start_import, write_reject_report,
)
from audiences_app.core.imports.mapping import CORE_TARGETS, LOCATION, custom_key, is_custom
from audiences_app.settings import get_settings
from audiences_app.ui import downloads, routes
from audiences_app.ui import db
from audiences_app.ui.state.workspace import WorkspaceState

logger = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 200 * 1024 * 1024
"""The largest file the wizard accepts (a module constant: there is no setting for it yet)."""
SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".parquet")
SKIP = "__skip__"
CUSTOM = "__custom__:"  # + type: a new custom field named after the column
POLICY_LABELS = {"overwrite": "Overwrite", "fill_blanks": "Only fill blanks", "never": "Never change"}
FINISHED = ("succeeded", "failed", "cancelled")


def upload_dir() -> Path:
    """Where uploads wait while their import runs: beside the downloads folder, never served."""
    return get_settings().downloads_dir.parent / "uploads"


def _suffix(name: str) -> str:
    suffix = Path(name or "").suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(f"Upload a CSV, XLSX or Parquet file (not {suffix or 'a file without extension'}).")
    return ".csv" if suffix in (".tsv", ".txt") else suffix


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB" if size >= 100_000 else f"{size / 1024:.1f} KB"


class ImportWizardState(WorkspaceState, rx.State):
    """One import at a time per tab; everything the client sends is checked again here."""

    POLL_SECONDS: ClassVar[float] = 0.5
    WATCH_LIMIT_SECONDS: ClassVar[float] = 6 * 3600
    SAMPLES: ClassVar[int] = 5
    REJECTS_SHOWN: ClassVar[int] = 20

    step: str = "upload"  # upload, map, running, done
    entity: str = "companies"
    uploading: bool = False
    upload_error: str = ""
    file_label: str = ""
    file_note: str = ""

    columns: list[dict] = []  # column, choice, samples, policy, custom(bool)
    field_options: list[dict] = []  # value, label
    preview_fields: list[str] = []  # field keys, in column order
    preview_labels: list[str] = []  # their labels, for the header
    preview_rows: list[dict] = []  # line, cells, rejected, issues
    warnings: list[str] = []
    skip_empty: bool = True
    busy: bool = False

    dry_done: bool = False
    dry_message: str = ""
    dry_counts: list[dict] = []  # label, value
    dry_samples: list[dict] = []  # kind, text

    run_id: int = 0
    status: str = ""
    progress: int = 0
    progress_label: str = ""
    result_message: str = ""
    result_counts: list[dict] = []
    rejects: list[dict] = []
    reject_url: str = ""
    watching: bool = False

    _path: str = ""
    _overrides: dict[str, str] = {}
    _types: dict[str, str] = {}
    _policies: dict[str, str] = {}
    _watch_generation: int = 0

    # -- opening ------------------------------------------------------------------------------

    @rx.event
    def load(self):
        """on_load: a run still going in this tab is watched again; otherwise the wizard starts over."""
        requested = self.router.url.query_parameters.get("entity", "") if self.router else ""
        if self.step == "running" and self.run_id:
            return ImportWizardState.watch_run
        if self.step in ("upload", "done"):
            self._start_over()
            if requested in ENTITIES:
                self.entity = requested
        return None

    def _start_over(self):
        entity = self.entity
        if self.step in ("upload", "map"):
            self._forget_file()  # no run uses it
        self.reset()
        self.entity = entity

    @rx.event
    def start_over(self):
        self._start_over()

    @rx.event
    async def set_entity(self, entity: str):
        if entity not in ENTITIES:
            self.error = f"Unknown entity {entity!r}."
            return
        if self.step not in ("upload", "map"):
            return
        self.entity = entity
        if self.step == "map":
            self._overrides, self._types, self._policies = {}, {}, {}
            await self._replan()

    # -- upload -------------------------------------------------------------------------------

    @rx.event(background=True)
    async def upload_file(self, chunks: rx.UploadChunkIterator):
        """Stream the file to a random name; stop at MAX_UPLOAD_BYTES (the rest is drained unread)."""
        async with self:
            if self.uploading or self.step not in ("upload", "map"):
                refused = True
            else:
                refused = False
                self.uploading, self.upload_error, self.error = True, "", ""
        folder = upload_dir()
        path: Path | None = None
        handle = None
        size, name, problem = 0, "", ""
        try:
            async for chunk in chunks:
                if refused or problem:
                    continue  # drain: Reflex wants every chunk consumed
                if path is None:
                    name = chunk.filename or ""
                    try:
                        suffix = _suffix(name)
                    except ValueError as exc:
                        problem = str(exc)
                        continue
                    folder.mkdir(parents=True, exist_ok=True)
                    path = folder / f"{secrets.token_urlsafe(16)}{suffix}"
                    handle = await asyncio.to_thread(path.open, "wb")
                elif chunk.filename != name:
                    problem = "Upload one file at a time."
                    continue
                size += len(chunk.data)
                if size > MAX_UPLOAD_BYTES:
                    limit = MAX_UPLOAD_BYTES // 1024 // 1024
                    problem = f"The file is larger than {limit} MB, the most an upload may be."
                    continue
                await asyncio.to_thread(handle.write, chunk.data)
        except Exception:
            logger.exception("upload failed")
            problem = problem or "The upload broke off; try again."
        finally:
            if handle is not None:
                await asyncio.to_thread(handle.close)
        if refused:
            return
        if path is None and not problem:
            problem = "No file arrived; choose a CSV, XLSX or Parquet file."
        if problem:
            if path is not None:
                path.unlink(missing_ok=True)
            async with self:
                self.uploading, self.upload_error = False, problem
            return
        async with self:
            self._forget_file()
            self._path = str(path)
            self.file_label = Path(name).name[:120]
            self.file_note = _megabytes(size)
            self._overrides, self._types, self._policies = {}, {}, {}
            self.uploading = False
            await self._replan()
            if self.upload_error or self.error:
                self._forget_file()
                self.step = "upload"

    def _forget_file(self, finished: bool = False):
        """Delete the previous upload, unless a run still reads it."""
        if self._path and (finished or not self.run_id):
            path = Path(self._path)
            if path.parent == upload_dir():
                path.unlink(missing_ok=True)
        self._path = ""

    # -- mapping ------------------------------------------------------------------------------

    def _plan(self, conn, ws) -> ImportPlan:
        policy = UpsertPolicy(default="overwrite", fields=dict(self._policies), skip_empty=self.skip_empty)
        return plan_import(self._path, self.entity, conn=conn, workspace_id=ws, overrides=dict(self._overrides),
                           types=dict(self._types), policy=policy)

    def _planning(self) -> dict:
        with db.read_connection() as conn:
            ws = self._workspace_id(conn)
            plan = self._plan(conn, ws)
            fields = catalog(conn, ws, self.entity)
        preview = preview_import(plan)
        labels = {f["key"]: f["label"] for f in fields}
        options = [{"value": key, "label": labels.get(key, key.replace("_", " ").capitalize())}
                   for key in CORE_TARGETS[self.entity]]
        options.append({"value": LOCATION, "label": "Location (city, region, country)"})
        options += [{"value": f["key"], "label": f"{f['label']} (custom)"} for f in fields if not f["is_core"]]
        known = {o["value"] for o in options}
        columns = []
        for c in preview.columns:
            custom = bool(c["field"]) and is_custom(self.entity, c["field"])
            if c["field"] is None:
                choice = SKIP
            elif custom and c["field"] not in known:
                choice = f"{CUSTOM}{c['type'] or 'text'}"
            else:
                choice = c["field"]
            columns.append({
                "column": c["column"], "choice": choice, "field": c["field"] or "",
                "samples": " · ".join(s[:40] for s in c["samples"]) or "(empty)",
                "policy": self._policies.get(c["field"] or "", "overwrite"),
                "mapped": c["field"] is not None,
            })
        shown_fields = [c["field"] for c in preview.columns if c["field"]]
        targets = [f for f in shown_fields if f != LOCATION]
        # location fills city/region/country: show whatever keys the parsed rows hold
        extra = sorted({k for r in preview.rows for k in r["values"]} - set(targets))
        targets += extra
        rows = [{
            "line": str(r["line"]),
            "cells": [str(r["values"].get(k, ""))[:80] for k in targets],
            "rejected": r["rejected"] or "",
            "issues": "; ".join(r["issues"])[:300],
        } for r in preview.rows]
        names = {o["value"]: o["label"].removesuffix(" (custom)") for o in options}
        names.update({k: k.replace("_", " ").capitalize() for k in targets if k not in names})
        return {"columns": columns, "options": options, "fields": targets, "rows": rows,
                "labels": [names[k] for k in targets],
                "warnings": [str(w) for w in preview.warnings][:10]}

    async def _replan(self):
        with self._reporting_errors():
            if not self._path:
                raise ValueError("Upload a file first.")
            found = await asyncio.to_thread(self._planning)
            self.columns, self.field_options = found["columns"], found["options"]
            self.preview_fields, self.preview_rows, self.warnings = found["fields"], found["rows"], found["warnings"]
            self.preview_labels = found["labels"]
            self.step = "map"
            self.dry_done, self.dry_counts, self.dry_samples, self.dry_message = False, [], [], ""

    def _column(self, column: str) -> dict:
        found = next((c for c in self.columns if c["column"] == column), None) if isinstance(column, str) else None
        if found is None:
            raise ValueError("The file has no such column.")
        return found

    @rx.event
    async def set_choice(self, column: str, choice: str):
        """A column's target: a field key, SKIP, or CUSTOM + type (a new field named after the column)."""
        with self._reporting_errors():
            if self.step != "map":
                raise ValueError("Upload a file first.")
            self._column(column)
            choice = str(choice)
            overrides, types = dict(self._overrides), dict(self._types)
            types.pop(column, None)
            if choice == SKIP:
                overrides[column] = ""
            elif choice.startswith(CUSTOM):
                kind = choice[len(CUSTOM):]
                if kind not in CUSTOM_TYPES:
                    raise ValueError(f"Choose a custom field type: {', '.join(CUSTOM_TYPES)}.")
                key = custom_key(column)
                while not is_custom(self.entity, key):
                    key = f"{key}_2"[:80]
                overrides[column], types[column] = key, kind
            elif choice in {o["value"] for o in self.field_options}:
                overrides[column] = choice
            else:
                raise ValueError("Choose a field from the list.")
            self._overrides, self._types = overrides, types
            await self._replan()

    @rx.event
    async def set_policy(self, column: str, policy: str):
        with self._reporting_errors():
            field = self._column(column)["field"]
            if policy not in POLICIES:
                raise ValueError(f"Choose one of: {', '.join(POLICY_LABELS.values())}.")
            if not field:
                raise ValueError("Map the column to a field before choosing its policy.")
            self._policies = {**self._policies, field: policy}
            self.columns = [{**c, "policy": policy} if c["column"] == column else c for c in self.columns]
            self.dry_done = False

    @rx.event
    def set_skip_empty(self, value: bool):
        self.skip_empty = bool(value)
        self.dry_done = False

    # -- dry run ------------------------------------------------------------------------------

    def _dry_run(self):
        with db.read_connection() as conn:
            ws = self._workspace_id(conn)
            plan = self._plan(conn, ws)
        return dry_run(db.engine(), ws, plan, samples=self.SAMPLES)

    @rx.event(background=True)
    async def run_dry_run(self):
        async with self:
            if self.busy or self.step != "map":
                return
            self.busy, self.error = True, ""
        try:
            summary = await asyncio.to_thread(self._dry_run)
        except Exception as exc:  # noqa: BLE001 — reported like _reporting_errors does
            async with self:
                self.busy = False
                with self._reporting_errors():
                    raise exc
            return
        async with self:
            self.busy = False
            self.dry_done = True
            self.dry_message = summary.message
            self.dry_counts = _counts(summary)
            self.dry_samples = _samples(summary.samples)

    # -- the run ------------------------------------------------------------------------------

    def _start(self) -> int:
        with db.read_connection() as conn:
            ws = self._workspace_id(conn)
            plan = self._plan(conn, ws)
        return start_import(db.engine(), ws, plan, created_by="ui")

    @rx.event
    async def start_run(self):
        with self._reporting_errors():
            if self.step != "map" or self.busy:
                raise ValueError("Map a file before importing it.")
            self.run_id = await asyncio.to_thread(self._start)
            self.step, self.status, self.progress, self.progress_label = "running", "queued", 0, "Starting…"
            return ImportWizardState.watch_run

    def _read_progress(self, run_id: int) -> dict:
        with db.read_connection() as conn:
            ws = self._workspace_id(conn)
            summary = import_progress(conn, run_id, ws)
            done = summary.status in FINISHED
            found = {"summary": summary, "done": done, "rejects": [], "url": ""}
            if done and (summary.rejected or summary.warnings):
                found["rejects"] = reject_lines(conn, run_id, limit=self.REJECTS_SHOWN)
                path, url = downloads.new_file(f"import-{run_id}-rejects")
                write_reject_report(conn, run_id, ws, path)
                found["url"] = url
        return found

    @rx.event(background=True)
    async def watch_run(self):
        """Read the run's progress every POLL_SECONDS until it ends or the page is left."""
        async with self:
            if not self.run_id or self.step != "running":
                return
            self._watch_generation += 1
            generation, run_id = self._watch_generation, self.run_id
            self.watching = True
        started = time.monotonic()
        while time.monotonic() - started < self.WATCH_LIMIT_SECONDS:
            try:
                found = await asyncio.to_thread(self._read_progress, run_id)
            except Exception as exc:  # noqa: BLE001
                async with self:
                    self.watching = False
                    with self._reporting_errors():
                        raise exc
                return
            async with self:
                if generation != self._watch_generation or self.run_id != run_id:
                    return
                path = self.router.url.path.rstrip("/") if self.router else ""
                summary = found["summary"]
                self.status = summary.status
                self.progress = int(round(summary.progress * 100))
                self.progress_label = f"{summary.rows_read:,} rows read · {self.progress}%"
                if found["done"]:
                    self._forget_file(finished=True)  # the run no longer reads it
                    self.watching = False
                    self.step = "done"
                    self.result_message = summary.message
                    self.result_counts = _counts(summary)
                    self.rejects = [{**r, "line": str(r["line"])} for r in found["rejects"]]
                    self.reject_url = found["url"]
                    return
                if path and path != routes.DATA_HUB_IMPORT:
                    self.watching = False  # the page was left: on_load watches again on return
                    return
            await asyncio.sleep(self.POLL_SECONDS)
        async with self:
            self.watching = False


def _counts(summary) -> list[dict]:
    return [
        {"label": "Rows read", "value": f"{summary.rows_read:,}", "tone": "gray"},
        {"label": "Created", "value": f"{summary.created:,}", "tone": "green"},
        {"label": "Updated", "value": f"{summary.updated:,}", "tone": "blue"},
        {"label": "Unchanged", "value": f"{summary.unchanged:,}", "tone": "gray"},
        {"label": "Duplicates merged", "value": f"{summary.duplicates:,}", "tone": "amber"},
        {"label": "Rejected", "value": f"{summary.rejected:,}", "tone": "red"},
    ]


def _samples(samples: dict) -> list[dict]:
    shown = []
    for record in samples.get("created", []):
        values = ", ".join(f"{k}: {v}" for k, v in list(record["values"].items())[:5])
        shown.append({"kind": "create", "text": f"Line {record['line']}: {values}"[:240]})
    for record in samples.get("updated", []):
        changes = ", ".join(f"{k}: {old or '∅'} → {new or '∅'}"
                            for k, (old, new) in list(record["changes"].items())[:4])
        shown.append({"kind": "update", "text": f"Record #{record['id']}: {changes}"[:240]})
    for issue in samples.get("rejected", []):
        column = f" ({issue['column']})" if issue.get("column") else ""
        shown.append({"kind": "reject", "text": f"Line {issue['line']}{column}: {issue['reason']}"[:240]})
    return shown
