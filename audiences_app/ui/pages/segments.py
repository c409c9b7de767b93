"""Segments: the saved, live filters over Companies or People, with their last counts."""

from __future__ import annotations

import asyncio
from typing import Any

import reflex as rx

from audiences_app.core.db import QueryTimeout, write_transaction
from audiences_app.core.segments import saved
from audiences_app.settings import get_settings
from audiences_app.ui import db, routes
from audiences_app.ui.components.notice import error_callout
from audiences_app.ui.components.shell import page_shell
from audiences_app.ui.state.segment_builder import WEB_OWNER, count_text, segment_id_from, when
from audiences_app.ui.state.workspace import WorkspaceState

MUTED = rx.color("gray", 10)


class SegmentsState(WorkspaceState, rx.State):
    """The list: one row per saved segment (archived ones on request)."""

    rows: list[dict[str, str]] = []
    show_archived: bool = False
    notice: str = ""

    @rx.event
    async def load(self):
        self.notice = ""
        with self._reporting_errors():
            await self._reload()

    @rx.event
    async def set_show_archived(self, value: bool):
        with self._reporting_errors():
            if not isinstance(value, bool):
                raise ValueError("Choose whether to show archived segments.")
            self.show_archived = value
            await self._reload()

    @rx.event
    async def archive(self, segment_id: str):
        with self._reporting_errors():
            found = segment_id_from(segment_id)
            await asyncio.to_thread(self._write, saved.archive_segment, found)
            self.notice = f"Archived “{self._name(found)}”."
            await self._reload()

    @rx.event
    async def unarchive(self, segment_id: str):
        with self._reporting_errors():
            found = segment_id_from(segment_id)
            await asyncio.to_thread(self._write, saved.unarchive_segment, found)
            self.notice = f"Restored “{self._name(found)}”."
            await self._reload()

    @rx.event
    async def duplicate(self, segment_id: str):
        with self._reporting_errors():
            copy = await asyncio.to_thread(self._duplicate, segment_id_from(segment_id))
            self.notice = f"Duplicated as “{copy['name']}”."
            await self._reload()

    @rx.event
    async def refresh(self, segment_id: str):
        """Count a segment's members now (the list shows the count as of its last evaluation)."""
        with self._reporting_errors():
            found = segment_id_from(segment_id)
            try:
                await asyncio.to_thread(self._refresh, found)
            except QueryTimeout:
                raise ValueError("Counting took too long; the last count stays. Try again later.") from None
            await self._reload()

    async def _reload(self) -> None:
        self.rows = await asyncio.to_thread(self._list, self.show_archived)

    def _name(self, segment_id: int) -> str:
        return next((row["name"] for row in self.rows if row["id"] == str(segment_id)), f"#{segment_id}")

    # -- database work (in worker threads) -------------------------------------------------------

    def _list(self, include_archived: bool) -> list[dict[str, str]]:
        with db.read_connection() as conn:
            found = saved.list_segments(conn, self._workspace_id(conn), include_archived=include_archived)
        return [segment_row(segment) for segment in found]

    def _write(self, action, segment_id: int) -> Any:
        with write_transaction(db.engine()) as conn:
            return action(conn, self._workspace_id(conn), segment_id)

    def _duplicate(self, segment_id: int) -> dict:
        with write_transaction(db.engine()) as conn:
            return saved.duplicate_segment(conn, self._workspace_id(conn), segment_id, owner=WEB_OWNER)

    def _refresh(self, segment_id: int) -> int:
        with write_transaction(db.engine()) as conn:
            return saved.refresh_count(
                conn, self._workspace_id(conn), segment_id, time_limit_ms=get_settings().query_time_limit_ms,
            )


def segment_row(segment: dict) -> dict[str, str]:
    return {
        "id": str(segment["id"]),
        "name": str(segment["name"]),
        "entity": str(segment["entity"]),
        "count": count_text(segment.get("last_count")),
        "owner": str(segment.get("owner") or ""),
        "evaluated": when(segment.get("last_evaluated_at")) or "never",
        "updated": when(segment.get("updated_at")),
        "version": str(segment.get("version") or ""),
        "archived": "yes" if segment.get("archived_at") else "",
        "href": routes.segment(segment["id"]),
    }


# -- page -----------------------------------------------------------------------------------------

def _new_menu() -> rx.Component:
    return rx.menu.root(
        rx.menu.trigger(
            rx.button(rx.icon("plus", size=15), "New segment", rx.icon("chevron-down", size=14), id="new-segment"),
        ),
        rx.menu.content(
            rx.menu.item(
                rx.hstack(rx.icon("building-2", size=14), rx.text("Companies"), spacing="2", align="center"),
                on_click=rx.redirect(routes.new_segment("companies")),
                id="new-segment-companies",
            ),
            rx.menu.item(
                rx.hstack(rx.icon("users", size=14), rx.text("People"), spacing="2", align="center"),
                on_click=rx.redirect(routes.new_segment("people")),
                id="new-segment-people",
            ),
            align="end",
        ),
    )


def _action(icon: str, label: str, name: str, row: rx.Var, event) -> rx.Component:
    return rx.tooltip(
        rx.icon_button(
            rx.icon(icon, size=14),
            on_click=event,
            id=f"{name}-{row['id']}",
            variant="ghost",
            color_scheme="gray",
            size="1",
            aria_label=label,
        ),
        content=label,
    )


def _row(row: rx.Var) -> rx.Component:
    archived = row["archived"] == "yes"
    return rx.table.row(
        rx.table.cell(
            rx.link(row["name"], href=row["href"], weight="medium", id=f"open-segment-{row['id']}",
                    color=rx.color("gray", 12), underline="hover"),
            rx.cond(archived, rx.badge("Archived", variant="soft", color_scheme="gray", margin_left="8px")),
        ),
        rx.table.cell(
            rx.badge(
                rx.cond(row["entity"] == "people", rx.icon("users", size=12), rx.icon("building-2", size=12)),
                row["entity"], variant="soft", color_scheme="gray",
            ),
        ),
        rx.table.cell(
            rx.cond(row["count"] != "", row["count"], rx.text("—", as_="span", color=rx.color("gray", 8))),
            text_align="right",
            font_variant_numeric="tabular-nums",
            custom_attrs={"data-column": "count"},
        ),
        rx.table.cell(row["owner"], color=rx.color("gray", 11)),
        rx.table.cell(row["evaluated"], color=rx.color("gray", 11), white_space="nowrap"),
        rx.table.cell(rx.text("v", row["version"], size="1", color=MUTED)),
        rx.table.cell(
            rx.hstack(
                _action("refresh-cw", "Count now", "refresh", row, SegmentsState.refresh(row["id"])),
                _action("copy", "Duplicate", "duplicate", row, SegmentsState.duplicate(row["id"])),
                rx.cond(
                    archived,
                    _action("archive-restore", "Restore", "unarchive", row, SegmentsState.unarchive(row["id"])),
                    _action("archive", "Archive", "archive", row, SegmentsState.archive(row["id"])),
                ),
                spacing="3",
                justify="end",
            ),
        ),
        id=f"segment-row-{row['id']}",
        opacity=rx.cond(archived, "0.6", "1"),
        _hover={"background": rx.color("accent", 2)},
    )


HEADERS = [("Name", "left"), ("Entity", "left"), ("Members", "right"), ("Owner", "left"),
           ("Last evaluated", "left"), ("Version", "left"), ("", "right")]


def _table() -> rx.Component:
    return rx.box(
        rx.table.root(
            rx.table.header(rx.table.row(*(
                rx.table.column_header_cell(
                    rx.text(label, size="1", weight="medium", color=rx.color("gray", 11)),
                    text_align=align, background=rx.color("gray", 2),
                )
                for label, align in HEADERS
            ))),
            rx.table.body(rx.foreach(SegmentsState.rows, _row)),
            id="segments-table",
            variant="ghost",
            size="2",
            width="100%",
        ),
        rx.cond(
            (SegmentsState.rows.length() == 0) & (SegmentsState.error == ""),
            rx.center(
                rx.vstack(
                    rx.icon("funnel", size=30, color=rx.color("gray", 8)),
                    rx.text("No segments yet", size="3", weight="medium"),
                    rx.text(
                        "A segment is a saved filter over Companies or People. Nothing is copied: its members "
                        "are whatever records match right now.",
                        size="2", color=MUTED, text_align="center", max_width="420px",
                    ),
                    align="center",
                    spacing="2",
                ),
                id="segments-empty",
                padding="48px",
                width="100%",
            ),
        ),
        width="100%",
        border=f"1px solid {rx.color('gray', 5)}",
        border_radius="8px",
        background=rx.color("gray", 1),
        overflow="hidden",
    )


def page() -> rx.Component:
    return page_shell(
        rx.vstack(
            error_callout(SegmentsState.error, "segments-error"),
            rx.cond(
                SegmentsState.notice != "",
                rx.callout(SegmentsState.notice, icon="circle-check", color_scheme="green", size="1",
                           id="segments-notice", width="100%"),
            ),
            rx.hstack(
                rx.spacer(),
                rx.text("Show archived", size="2", color=MUTED),
                rx.switch(checked=SegmentsState.show_archived, on_change=SegmentsState.set_show_archived,
                          id="show-archived", size="1"),
                align="center",
                spacing="2",
                width="100%",
            ),
            _table(),
            spacing="3",
            width="100%",
        ),
        title="Segments",
        route=routes.SEGMENTS,
        description="Saved, live filters over Companies or People: members are re-evaluated, never copied.",
        actions=_new_menu(),
    )
