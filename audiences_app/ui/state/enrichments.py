"""The Enrichments page's state: configurations, the estimate, the 10-row test, the full run with
live progress (pause, resume, cancel), auto-enrich, and the runs with their detail.

Runs are durable: the app's worker thread processes them, and this state only reads their
progress from the database in a background event (`watch_run`), every POLL_SECONDS, until the
run ends, the page is left, or another run is watched (a generation counter). Only one page of
rows is kept in the state: at most MAX_RUNS runs, the test's 10 results and 100 item errors.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any, ClassVar

import reflex as rx

from audiences_app.core import enrichment
from audiences_app.core.catalog import ENTITIES
from audiences_app.core.db import write_transaction
from audiences_app.core.enrichment import CostWarning, SpecError, TestRunRequired
from audiences_app.core.enrichment.providers.derived import OUTPUTS as DERIVED_OUTPUTS
from audiences_app.core.enrichment.runs import TEST_ROWS
from audiences_app.core.jobs import FINAL, RunStateError
from audiences_app.core.segments import saved
from audiences_app.ui import db, routes
from audiences_app.ui.state.workspace import WorkspaceState

logger = logging.getLogger(__name__)

# Who starts runs: no accounts yet, so every run is the web app's (see segment_builder.WEB_OWNER).
WEB_OWNER = "web"
ALL_RECORDS = "all"
KEEP_TARGET = "keep"  # editing a config whose target is a filter: leave it as it is


def number(value: Any, digits: int = 3) -> str:
    """A count or an amount of credits as the page shows it: 1,234 or 12.5."""
    if value is None:
        return "—"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.{digits}f}".rstrip("0").rstrip(".")
    return f"{int(value):,}"


def duration(seconds: Any) -> str:
    if not isinstance(seconds, int | float):
        return "—"
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds // 60 % 60} min"


def when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if hasattr(value, "strftime") else str(value or "")


def id_from(value: Any, what: str = "run") -> int:
    """A positive database id from an event argument; ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"That {what} is not valid.")
    text = str(value).strip()
    if not text.isdigit() or not 0 < int(text) < 2**63:
        raise ValueError(f"That {what} is not valid.")
    return int(text)


def values_text(values: Any) -> str:
    if not isinstance(values, dict) or not values:
        return "—"
    return " · ".join(f"{k}: {v}" for k, v in values.items() if v not in (None, "")) or "—"


def run_row(s: dict) -> dict[str, str]:
    """An enrichment run summary as one row of strings."""
    total = max(int(s.get("total") or 0), 0)
    finished = int(s.get("done") or 0) + int(s.get("failed") or 0) + int(s.get("skipped") or 0)
    return {
        "run_id": str(s["run_id"]), "title": str(s.get("title") or ""), "status": str(s["status"]),
        "mode": str(s.get("mode") or ""), "config": str(s.get("config_name") or ""),
        "total": number(total), "done": number(s.get("done")), "failed": number(s.get("failed")),
        "skipped": number(s.get("skipped")), "cached": number(s.get("cached")), "calls": number(s.get("calls")),
        "credits": number(s.get("credits")), "duration": duration(s.get("duration_seconds")),
        "percent": str(round(100 * finished / total)) if total else ("100" if s["status"] in FINAL else "0"),
        "stopped": str(s.get("stopped_reason") or s.get("error") or ""), "created": when(s.get("created_at")),
    }


class EnrichmentsState(WorkspaceState, rx.State):
    """/enrichments: configs, estimate, test, full run with live progress, runs and their detail."""

    MAX_RUNS: ClassVar[int] = 50
    POLL_SECONDS: ClassVar[float] = 0.7
    WATCH_LIMIT_SECONDS: ClassVar[float] = 6 * 3600
    ENTITY_CHOICES: ClassVar[tuple[str, ...]] = tuple(e for e in ("companies", "people") if e in ENTITIES)

    notice: str = ""
    balance: str = "0"
    configs: list[dict[str, str]] = []
    runs: list[dict[str, str]] = []

    # The editor: a new config or the selected one.
    editor_open: bool = False
    editing: bool = False  # the editor holds the selected config, not a new one
    form_name: str = ""
    form_entity: str = "companies"
    form_target: str = ALL_RECORDS  # "all" or a saved segment's id
    segment_options: list[dict[str, str]] = []  # id, name
    outputs: list[dict[str, str]] = []  # output, label, field, enabled ("1"/"")
    advanced_spec: str = ""  # JSON spec for other providers; overrides the derived outputs
    form_error: str = ""

    # The selected config: its estimate, its 10-row test, its full run.
    config_id: int = 0
    config_name: str = ""
    config_version: int = 0
    config_tested: bool = False
    config_auto: bool = False
    estimate: dict[str, str] = {}
    warnings: list[str] = []
    accept_warnings: bool = False
    test_run_id: int = 0
    test_status: str = ""
    test_results: list[dict[str, str]] = []
    run_id: int = 0  # the full run being watched
    progress: dict[str, str] = {}
    watching: bool = False

    # One run's detail (dialog).
    detail_open: bool = False
    detail: dict[str, str] = {}
    detail_providers: list[dict[str, str]] = []
    detail_errors: list[dict[str, str]] = []

    _watch_generation: int = 0

    # -- loading ---------------------------------------------------------------------------------

    async def load(self):
        with self._reporting_errors():
            self.notice = ""
            self._watch_generation += 1
            self.watching = False
            await asyncio.to_thread(self._refresh)
            if not self.outputs:
                self._reset_outputs()
            await asyncio.to_thread(self._load_segments)
            if self.config_id:
                await asyncio.to_thread(self._load_selected)
            active = self.run_id or self.test_run_id
            if active and self._is_active(active):
                return EnrichmentsState.watch_run

    def _is_active(self, run_id: int) -> bool:
        status = self.progress.get("status") if run_id == self.run_id else self.test_status
        return bool(status) and status not in FINAL and status != "paused"

    def _fetch_lists(self) -> tuple[str, list[dict[str, str]], list[dict[str, str]]]:
        with db.read_connection() as conn:
            ws = self._workspace_id(conn)
            configs = enrichment.list_configs(conn, ws)
            runs = enrichment.list_enrichment_runs(conn, ws, limit=self.MAX_RUNS)
            account = enrichment.credits.account(conn, ws)
            names = saved.segment_names(conn, ws)
        return number(account["balance"]), [self._config_row(c, names) for c in configs][:200], [run_row(r) for r in runs]

    def _refresh(self) -> None:
        self.balance, self.configs, self.runs = self._fetch_lists()

    @staticmethod
    def _config_row(c: dict, names: dict[int, str]) -> dict[str, str]:
        target = (c.get("target") or {}).get("filter") or {}
        if isinstance(target, dict) and target.get("op") == "in_segment":
            target_text = f"Segment: {names.get(target.get('segment'), '#' + str(target.get('segment')))}"
        elif target in ({}, {"and": []}):
            target_text = f"All {c['entity']}"
        else:
            target_text = "A filter"
        last = c.get("last_run") or {}
        return {
            "id": str(c["id"]), "name": c["name"], "entity": c["entity"], "version": str(c["version"]),
            "tested": "1" if c["tested"] else "", "auto": "1" if c["auto_enrich"] else "",
            "fields": ", ".join(f["key"] for f in c["fields"]) or "—",
            "providers": ", ".join(c["providers"]) or "—", "target": target_text,
            "problem": str(c.get("problem") or ""),
            "last_status": str(last.get("status") or ""), "last_run": str(last.get("run_id") or ""),
        }

    def _load_segments(self) -> None:
        with db.read_connection() as conn:
            ws = self._workspace_id(conn)
            segments = saved.list_segments(conn, ws)
        self.segment_options = [{"id": str(s["id"]), "name": s["name"]} for s in segments
                                if s["entity"] == self.form_entity][:200]

    def _reset_outputs(self) -> None:
        self.outputs = [{"output": key, "label": label, "field": key, "enabled": "1"}
                        for key, label in DERIVED_OUTPUTS[self.form_entity].items()]

    # -- the editor ----------------------------------------------------------------------------------

    @rx.event
    async def new_config(self):
        with self._reporting_errors("form_error"):
            self.editor_open = True
            self.editing = False
            self.form_name = ""
            self.form_entity = "companies"
            self.form_target = ALL_RECORDS
            self.advanced_spec = ""
            self._reset_outputs()
            await asyncio.to_thread(self._load_segments)

    @rx.event
    async def edit_config(self):
        """Open the editor on the selected config: saving it under the same name makes the next
        version when the spec changed (which then needs its own 10-row test)."""
        with self._reporting_errors():
            if not self.config_id:
                raise ValueError("Choose a configuration first.")

            def read() -> dict:
                with db.read_connection() as conn:
                    return enrichment.get_config(conn, self._workspace_id(conn), self.config_id)
            config = await asyncio.to_thread(read)
            self.form_name, self.form_entity, self.form_error = config["name"], config["entity"], ""
            self._reset_outputs()
            await asyncio.to_thread(self._load_segments)
            target = (config.get("target") or {}).get("filter") or {}
            if isinstance(target, dict) and target.get("op") == "in_segment" and \
                    str(target.get("segment")) in {o["id"] for o in self.segment_options}:
                self.form_target = str(target["segment"])
            elif target in ({}, {"and": []}):
                self.form_target = ALL_RECORDS
            else:
                self.form_target = KEEP_TARGET
            steps = config["spec"].get("steps") if isinstance(config["spec"], dict) else None
            derived = (isinstance(steps, list) and len(steps) == 1 and isinstance(steps[0], dict)
                       and (steps[0].get("provider") or {}).get("kind") == "derived" and len(config["spec"]) == 1
                       and set(steps[0]) == {"provider", "map"} and len(steps[0]["provider"]) == 1)
            if derived:
                mapping = steps[0]["map"]
                self.outputs = [{**o, "enabled": "1" if o["output"] in mapping else "",
                                 "field": str(mapping.get(o["output"], o["field"]) if isinstance(
                                     mapping.get(o["output"], ""), str) else o["field"])} for o in self.outputs]
                self.advanced_spec = ""
            else:
                self.advanced_spec = json.dumps(config["spec"], indent=2)[:20_000]
            self.editing = True
            self.editor_open = True

    @rx.event
    def set_editor_open(self, value: bool):
        if not value:
            self.editor_open = False
            self.form_error = ""

    @rx.event
    def set_detail_open(self, value: bool):
        if not value:
            self.detail_open = False

    @rx.event
    def close_editor(self):
        self.editor_open = False
        self.form_error = ""

    @rx.event
    def set_form_name(self, value: str):
        self.form_name = str(value)[:120]

    @rx.event
    async def set_form_entity(self, value: str):
        with self._reporting_errors("form_error"):
            if value not in self.ENTITY_CHOICES:
                raise ValueError("Choose companies or people.")
            self.form_entity = value
            self.form_target = ALL_RECORDS
            self._reset_outputs()
            await asyncio.to_thread(self._load_segments)

    @rx.event
    def set_form_target(self, value: str):
        value = str(value)
        if value not in (ALL_RECORDS, KEEP_TARGET) and value not in {s["id"] for s in self.segment_options}:
            self.form_error = "Choose a saved segment from the list."
            return
        self.form_error = ""
        self.form_target = value

    @rx.event
    def toggle_output(self, output: str, enabled: bool):
        self.outputs = [{**o, "enabled": "1" if bool(enabled) else ""} if o["output"] == output else o
                        for o in self.outputs]

    @rx.event
    def set_output_field(self, output: str, field: str):
        field = str(field).strip()[:80]
        self.outputs = [{**o, "field": field} if o["output"] == output else o for o in self.outputs]

    @rx.event
    def set_advanced_spec(self, value: str):
        self.advanced_spec = str(value)[:20_000]

    def _spec(self) -> dict:
        if self.advanced_spec.strip():
            try:
                spec = json.loads(self.advanced_spec)
            except json.JSONDecodeError as exc:
                raise ValueError(f"The spec is not valid JSON: {exc.msg} (line {exc.lineno}).") from None
            if not isinstance(spec, dict):
                raise ValueError("The spec is a JSON object with 'steps'.")
            return spec
        mapping = {o["output"]: o["field"] for o in self.outputs if o["enabled"]}
        if not mapping:
            raise ValueError("Choose at least one output to write.")
        return {"steps": [{"provider": {"kind": "derived"}, "map": mapping}]}

    def _target(self) -> dict | None:
        if self.form_target == KEEP_TARGET:
            return None
        if self.form_target == ALL_RECORDS:
            return enrichment.target_for()
        return enrichment.target_for(segment_id=id_from(self.form_target, "segment"))

    @rx.event
    async def save_config(self):
        with self._reporting_errors("form_error"):
            spec, target = self._spec(), self._target()
            config = await asyncio.to_thread(self._save, self.form_name, self.form_entity, spec, target)
            self.editor_open = False
            self.notice = f"Saved {config['name']} (version {config['version']})."
            self.config_id = config["id"]
            self.test_run_id, self.test_status, self.test_results = 0, "", []
            self.run_id, self.progress = 0, {}
            await asyncio.to_thread(self._refresh)
            await asyncio.to_thread(self._load_selected)

    def _save(self, name: str, entity: str, spec: dict, target: dict | None) -> dict:
        with write_transaction(db.engine()) as conn:
            return enrichment.save_config(conn, self._workspace_id(conn), name, entity, spec, target=target)

    # -- the selected config ---------------------------------------------------------------------------

    @rx.event
    async def select_config(self, config_id: str):
        with self._reporting_errors():
            self.config_id = id_from(config_id, "configuration")
            self._watch_generation += 1
            self.watching = False
            self.test_run_id, self.test_status, self.test_results = 0, "", []
            self.run_id, self.progress, self.accept_warnings = 0, {}, False
            await asyncio.to_thread(self._load_selected)
            if (self.run_id and self._is_active(self.run_id)) or (self.test_run_id and self._is_active(self.test_run_id)):
                return EnrichmentsState.watch_run

    def _load_selected(self) -> None:
        """The config's estimate, its latest test and its latest full run (a LookupError when gone)."""
        with db.read_connection() as conn:
            ws = self._workspace_id(conn)
            config = enrichment.get_config(conn, ws, self.config_id)
            found = enrichment.estimate_run(conn, ws, self.config_id)
            tested = enrichment.has_passed_test(conn, config)
            runs = enrichment.list_enrichment_runs(conn, ws, config_id=self.config_id, limit=self.MAX_RUNS)
            test = next((r for r in runs if r["mode"] == "test" and r["config_version"] == config["version"]), None)
            full = next((r for r in runs if r["mode"] == "full"), None)
            results = enrichment.run_results(conn, ws, test["run_id"]) if test else []
        self.config_name, self.config_version = config["name"], config["version"]
        self.config_tested, self.config_auto = tested, bool(config["auto_enrich"])
        self._set_estimate(found)
        if test and not self.test_run_id:
            self.test_run_id = test["run_id"]
        if test and test["run_id"] == self.test_run_id:
            self.test_status = test["status"]
            self.test_results = [self._result_row(r) for r in results][:TEST_ROWS]
        if full and not self.run_id:
            self.run_id = full["run_id"]
        if full and full["run_id"] == self.run_id:
            self.progress = run_row(full)

    def _set_estimate(self, e: enrichment.Estimate) -> None:
        self.estimate = {
            "records": number(e.records), "calls": number(e.calls), "credits": number(e.credits),
            "max_credits": number(e.max_credits), "cached": number(e.cached_records),
            "no_input": number(e.no_input_records), "balance": number(e.balance), "spendable": number(e.spendable),
            "run_limit": number(e.run_limit) if e.run_limit is not None else "none",
        }
        self.warnings = list(e.warnings)[:10]

    @staticmethod
    def _result_row(r: dict) -> dict[str, str]:
        return {"record_id": str(r["record_id"]), "label": str(r["label"] or f"#{r['record_id']}")[:120],
                "status": str(r["status"]), "values": values_text(r["values"])[:300],
                "credits": number(r["credits"]), "cached": "yes" if r["cached"] else "",
                "error": str(r["error"] or "")[:300]}

    @rx.event
    def set_accept_warnings(self, value: bool):
        self.accept_warnings = bool(value)

    @rx.event
    async def run_test(self):
        with self._reporting_errors():
            if not self.config_id:
                raise ValueError("Choose a configuration first.")
            self.test_run_id = await asyncio.to_thread(
                enrichment.start_test_run, db.engine(), await self._ws(), self.config_id, created_by=WEB_OWNER)
            self.test_status, self.test_results = "queued", []
            self.notice = "Testing on 10 rows…"
            return EnrichmentsState.watch_run

    async def _ws(self) -> int:
        def find() -> int:
            with db.read_connection() as conn:
                return self._workspace_id(conn)
        return await asyncio.to_thread(find)

    @rx.event
    async def start_full_run(self):
        with self._reporting_errors():
            if not self.config_id:
                raise ValueError("Choose a configuration first.")
            try:
                self.run_id = await asyncio.to_thread(
                    enrichment.start_run, db.engine(), await self._ws(), self.config_id,
                    accept_warnings=self.accept_warnings, created_by=WEB_OWNER)
            except TestRunRequired:
                raise ValueError("Run it on 10 rows first and check the results: the full run needs a "
                                 "passed test of this version.") from None
            except CostWarning as warning:
                self._set_estimate(warning.estimate)
                raise ValueError("Read the warnings above and tick “I accept” to start the full run.") from None
            self.progress = {"status": "queued", "run_id": str(self.run_id)}
            self.notice = "The full run has started."
            self.accept_warnings = False
            return EnrichmentsState.watch_run

    async def _control(self, action: str):
        with self._reporting_errors():
            if not self.run_id:
                raise ValueError("There is no run to control.")
            run_id = self.run_id

            def act() -> None:
                with write_transaction(db.engine()) as conn:
                    ws = self._workspace_id(conn)
                    {"pause": enrichment.pause_enrichment, "resume": enrichment.resume_enrichment,
                     "cancel": enrichment.cancel_enrichment}[action](conn, ws, run_id)
            try:
                await asyncio.to_thread(act)
            except RunStateError as exc:
                raise ValueError(str(exc)) from None
            self.notice = {"pause": "Paused.", "resume": "Resumed.", "cancel": "Cancelled."}[action]
            await asyncio.to_thread(self._read_progress)
            if action == "resume":
                return EnrichmentsState.watch_run

    @rx.event
    async def pause_run(self):
        return await self._control("pause")

    @rx.event
    async def resume_run(self):
        return await self._control("resume")

    @rx.event
    async def cancel_run(self):
        return await self._control("cancel")

    @rx.event
    async def set_auto(self, enabled: bool):
        with self._reporting_errors():
            if not self.config_id:
                raise ValueError("Choose a configuration first.")
            try:
                config = await asyncio.to_thread(
                    enrichment.set_auto_enrich, db.engine(), await self._ws(), self.config_id, bool(enabled),
                    created_by=WEB_OWNER)
            except TestRunRequired:
                raise ValueError("Auto-enrich needs a passed 10-row test of this version first.") from None
            self.config_auto = bool(config["auto_enrich"])
            self.notice = "New members will be enriched as they join." if self.config_auto else "Auto-enrich is off."
            await asyncio.to_thread(self._refresh)

    # -- live progress -------------------------------------------------------------------------------

    def _fetch_progress(self, test_run_id: int, run_id: int, config_id: int) -> dict:
        """The watched runs' progress, read in a worker thread (nothing in the state changes)."""
        out: dict[str, Any] = {"working": False}
        with db.read_connection() as conn:
            ws = self._workspace_id(conn)
            if test_run_id:
                test = enrichment.run_summary(conn, ws, test_run_id)
                out["test_status"] = test["status"]
                if test["status"] in FINAL or test["status"] == "paused":
                    out["test_results"] = [self._result_row(r) for r in
                                           enrichment.run_results(conn, ws, test_run_id)][:TEST_ROWS]
                    if config_id:
                        out["tested"] = enrichment.has_passed_test(conn, enrichment.get_config(conn, ws, config_id))
                else:
                    out["working"] = True
            if run_id:
                summary = enrichment.run_summary(conn, ws, run_id)
                out["progress"] = run_row(summary)
                out["working"] = out["working"] or summary["status"] not in (*FINAL, "paused")
            out["balance"] = number(enrichment.credits.account(conn, ws)["balance"])
        return out

    def _apply_progress(self, found: dict) -> bool:
        if "test_status" in found:
            self.test_status = found["test_status"]
        if "test_results" in found:
            self.test_results = found["test_results"]
        if "tested" in found:
            self.config_tested = found["tested"]
        if "progress" in found:
            self.progress = found["progress"]
        self.balance = found["balance"]
        return found["working"]

    def _finished_notice(self) -> str:
        if self.run_id and self.progress.get("status"):
            return f"Full run #{self.run_id}: {self.progress['status']}."
        if self.test_status:
            return f"Test on 10 rows: {self.test_status}. Check the results below."
        return ""

    def _read_progress(self) -> bool:
        return self._apply_progress(self._fetch_progress(self.test_run_id, self.run_id, self.config_id))

    @rx.event(background=True)
    async def watch_run(self):
        """Read progress every POLL_SECONDS until the runs stop, the page is left, or a newer watch starts."""
        async with self:
            self._watch_generation += 1
            generation = self._watch_generation
            self.watching = True
            watched = (self.test_run_id, self.run_id, self.config_id)
        started = time.monotonic()
        while time.monotonic() - started < self.WATCH_LIMIT_SECONDS:
            await asyncio.sleep(self.POLL_SECONDS)
            async with self:  # the latest state: a newer watch, or the tab on another page, ends this one
                if generation != self._watch_generation or self.router.url.path.rstrip("/") != routes.ENRICHMENTS:
                    if generation == self._watch_generation:
                        self.watching = False
                    return
            try:
                found = await asyncio.to_thread(self._fetch_progress, *watched)
            except Exception:  # noqa: BLE001 - shown as a notice below, and the watch ends
                found = None
            async with self:
                if generation != self._watch_generation:
                    return
                if found is None:
                    self.error = "Progress could not be read; reload the page to try again."
                    self.watching = False
                    return
                if not self._apply_progress(found):
                    self.watching = False
                    self.notice = self._finished_notice()
                    break
        else:
            async with self:
                if generation == self._watch_generation:
                    self.watching = False
            return
        # The run ended: refresh the lists once.
        try:
            lists = await asyncio.to_thread(self._fetch_lists)
            found = await asyncio.to_thread(self._fetch_estimate, watched[2]) if watched[2] else None
        except Exception:  # noqa: BLE001 - the lists stay as they were; a reload refreshes them
            logger.exception("refreshing the enrichment lists failed")
            return
        async with self:
            if generation == self._watch_generation:
                self.balance, self.configs, self.runs = lists
                if found is not None and self.config_id == watched[2]:
                    self._set_estimate(found)

    def _fetch_estimate(self, config_id: int) -> enrichment.Estimate:
        """The full run's estimate now (after a test, its records come from the cache)."""
        with db.read_connection() as conn:
            return enrichment.estimate_run(conn, self._workspace_id(conn), config_id)

    # -- runs and their detail ---------------------------------------------------------------------------

    @rx.event
    async def refresh(self):
        with self._reporting_errors():
            await asyncio.to_thread(self._refresh)

    @rx.event
    async def open_run(self, run_id: str):
        with self._reporting_errors():
            found = id_from(run_id)

            def read() -> dict:
                with db.read_connection() as conn:
                    return enrichment.run_detail(conn, self._workspace_id(conn), found)
            d = await asyncio.to_thread(read)
            self.detail = {**run_row(d), "entity": str(d["entity"]), "version": str(d["config_version"]),
                           "spend_limit": number(d["spend_limit"]) if d["spend_limit"] is not None else "none",
                           "started": when(d.get("started_at")), "finished": when(d.get("finished_at"))}
            self.detail_providers = [{"provider": str(p["provider"]), "entries": number(p["entries"]),
                                      "credits": number(p["credits"])} for p in d["providers"]][:50]
            self.detail_errors = [{"record_id": str(e["record_id"] or ""), "label": str(e["label"] or "")[:120],
                                   "status": str(e["status"]), "attempts": str(e["attempts"]),
                                   "error": str(e["error"] or "")[:500]} for e in d["errors"]][:100]
            self.detail_open = True

    @rx.event
    def close_detail(self):
        self.detail_open = False
