"""The Data Hub's field catalog: fill rates per field, a field's value chart, custom fields.

Fill rates come from `field_health`, which costs one pass per kind of field; it runs under
HEALTH_TIME_LIMIT_MS so a workspace of millions of records never makes the page wait: a part
that runs out of time shows "—" and the page says what it could not compute.
"""

from __future__ import annotations

import asyncio
from typing import ClassVar

import reflex as rx

from audiences_app.core.catalog import ENTITIES
from audiences_app.core.db import write_transaction
from audiences_app.core.fields import CUSTOM_TYPES, FieldHealth, add_custom_field, edit_custom_field, field_health, \
    field_values, set_field_hidden
from audiences_app.ui import db
from audiences_app.ui.state.workspace import WorkspaceState


def _count(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def field_row(health: FieldHealth) -> dict:
    """One table row, formatted in Python (Var f-strings ignore format specs)."""
    percent = health.percent
    values = health.values or []
    shown = ", ".join(f"{v['value']} ({v['count']:,})" for v in values[:6])
    if len(values) > 6:
        shown += f", +{len(values) - 6} more"
    return {
        "key": health.key,
        "label": health.label,
        "type": health.type,
        "source": "core" if health.is_core and health.source in ("", "core") else (health.source or "custom"),
        "is_core": health.is_core,
        "hidden": health.hidden,
        "description": health.description or "",
        "filled": _count(health.filled),
        "percent": "—" if percent is None else f"{percent:g}%",
        "bar": "0%" if percent is None else f"{min(100.0, percent):g}%",
        "known": health.filled is not None,
        "distinct": "" if health.distinct is None else f"{health.distinct:,}",
        "values": shown,
        "updated": health.last_updated.strftime("%Y-%m-%d %H:%M") if health.last_updated else "—",
    }


class DataHubState(WorkspaceState, rx.State):
    """The catalog table of one entity, the open field's detail, and the custom-field forms."""

    HEALTH_TIME_LIMIT_MS: ClassVar[int] = 2_000
    VALUES_TIME_LIMIT_MS: ClassVar[int] = 3_000
    CHART_VALUES: ClassVar[int] = 15

    entity: str = "companies"
    field_rows: list[dict] = []
    total_label: str = ""
    incomplete: str = ""
    loading: bool = False
    notice: str = ""

    # the open field
    detail_open: bool = False
    detail_key: str = ""
    detail_label: str = ""
    detail_type: str = ""
    detail_source: str = ""
    detail_description: str = ""
    detail_hidden: bool = False
    detail_is_core: bool = False
    chart: list[dict] = []
    chart_note: str = ""
    detail_error: str = ""
    edit_label: str = ""
    edit_description: str = ""

    # adding a custom field
    add_open: bool = False
    new_label: str = ""
    new_type: str = "text"
    add_error: str = ""

    # -- loading ------------------------------------------------------------------------------

    def _entity_arg(self, entity: str) -> str:
        if entity not in ENTITIES:
            raise ValueError(f"Unknown entity {entity!r}: use one of {', '.join(ENTITIES)}.")
        return entity

    def _health(self, entity: str) -> tuple[list[dict], str, str]:
        with db.read_connection() as conn:
            ws = self._workspace_id(conn)
            health = field_health(conn, ws, entity, time_limit_ms=self.HEALTH_TIME_LIMIT_MS)
        rows = [field_row(h) for h in health]
        total = health[0].total if health else 0
        missing = [h.label for h in health if h.filled is None]
        note = ""
        if missing:
            seconds = self.HEALTH_TIME_LIMIT_MS / 1000
            note = (f"Not computed within {seconds:g} s (shown as —): {', '.join(missing[:8])}"
                    + (f" and {len(missing) - 8} more" if len(missing) > 8 else "") + ". Reload to try again.")
        return rows, f"{total:,} {entity}", note

    @rx.event
    async def load(self):
        """on_load: ?entity=people opens the people tab."""
        requested = self.router.url.query_parameters.get("entity", "") if self.router else ""
        if requested in ENTITIES:
            self.entity = requested
        self.detail_open, self.add_open, self.notice = False, False, ""
        await self._refresh()

    async def _refresh(self):
        with self._reporting_errors():
            self.loading = True
            try:
                self.field_rows, self.total_label, self.incomplete = await asyncio.to_thread(self._health, self.entity)
            finally:
                self.loading = False

    @rx.event
    async def set_entity(self, entity: str):
        with self._reporting_errors():
            self.entity = self._entity_arg(entity)
            self.detail_open, self.add_open, self.notice = False, False, ""
        if not self.error:
            await self._refresh()

    # -- a field's detail ---------------------------------------------------------------------

    def _values(self, entity: str, key: str) -> dict:
        with db.read_connection() as conn:
            ws = self._workspace_id(conn)
            return field_values(conn, ws, entity, key, limit=self.CHART_VALUES, time_limit_ms=self.VALUES_TIME_LIMIT_MS)

    @rx.event
    async def open_field(self, key: str):
        row = next((f for f in self.field_rows if f["key"] == key), None) if isinstance(key, str) else None
        if row is None:
            self.error = "That field is not in the catalog any more; reload the page."
            return
        self.detail_open, self.detail_error, self.chart, self.chart_note = True, "", [], ""
        self.detail_key, self.detail_label, self.detail_type = row["key"], row["label"], row["type"]
        self.detail_source, self.detail_description = row["source"], row["description"]
        self.detail_hidden, self.detail_is_core = row["hidden"], row["is_core"]
        self.edit_label, self.edit_description = row["label"], row["description"]
        if key == "tags":
            self.chart_note = "Tags have no value chart: open the record browser to see them."
            return
        with self._reporting_errors("detail_error"):
            found = await asyncio.to_thread(self._values, self.entity, key)
            if found["values"] is None:
                self.chart_note = "The distribution took too long to compute for this field."
                return
            self.chart = [{"value": str(v["value"])[:40], "count": v["count"]} for v in found["values"]]
            notes = []
            if found["other"]:
                notes.append(f"{found['other']:,} records hold other values")
            if found["empty"]:
                notes.append(f"{found['empty']:,} are empty")
            self.chart_note = ("; ".join(notes) + ".").capitalize() if notes else ""
            if not self.chart:
                self.chart_note = "No record holds a value for this field yet."

    @rx.event
    def close_field(self):
        self.detail_open = False

    @rx.event
    def set_detail_open(self, value: bool):
        self.detail_open = bool(value)

    @rx.event
    def set_edit_label(self, value: str):
        self.edit_label = str(value)[:120]

    @rx.event
    def set_edit_description(self, value: str):
        self.edit_description = str(value)[:500]

    def _write(self, action, *args, **kwargs) -> dict:
        with write_transaction(db.engine()) as conn:
            ws = self._workspace_id(conn)
            return action(conn, ws, *args, **kwargs)

    @rx.event
    async def save_field(self):
        with self._reporting_errors("detail_error"):
            entry = await asyncio.to_thread(self._write, edit_custom_field, self.entity, self.detail_key,
                                            label=self.edit_label, description=self.edit_description)
            self.detail_label, self.detail_description = entry["label"], entry["description"]
            self.notice = f"Saved the field “{entry['label']}”."
            await self._refresh()

    @rx.event
    async def toggle_hidden(self):
        with self._reporting_errors("detail_error"):
            hide = not self.detail_hidden
            entry = await asyncio.to_thread(self._write, set_field_hidden, self.entity, self.detail_key, hide)
            self.detail_hidden = bool(entry["hidden"])
            self.notice = (f"“{entry['label']}” is hidden; its values stay on every record." if self.detail_hidden
                           else f"“{entry['label']}” is shown again.")
            await self._refresh()

    # -- adding a custom field ----------------------------------------------------------------

    @rx.event
    def open_add(self):
        self.add_open, self.add_error, self.new_label, self.new_type = True, "", "", "text"

    @rx.event
    def set_add_open(self, value: bool):
        self.add_open = bool(value)

    @rx.event
    def set_new_label(self, value: str):
        self.new_label = str(value)[:120]

    @rx.event
    def set_new_type(self, value: str):
        self.new_type = value if value in CUSTOM_TYPES else "text"

    @rx.event
    async def create_field(self, form: dict | None = None):
        with self._reporting_errors("add_error"):
            if self.new_type not in CUSTOM_TYPES:
                raise ValueError(f"Choose a type: {', '.join(CUSTOM_TYPES)}.")
            entry = await asyncio.to_thread(self._write, add_custom_field, self.entity, self.new_label,
                                            self.new_type)
            self.add_open = False
            self.notice = f"Added the {entry['type']} field “{entry['label']}” (key {entry['key']})."
            await self._refresh()
