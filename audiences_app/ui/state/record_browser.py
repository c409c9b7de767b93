"""The record browser's state: one page of one entity's records, sorted, searched and counted.

Companies and People each subclass this mixin with their entity. Only the page on screen is
in the state (at most page_size rows of display-ready strings); the cursors that lead to it
stay on the server in `_cursors`. A count is shown at once, capped ("10,000+"), and completed
by a background event; a search typed meanwhile makes that result stale, and a generation
counter drops it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, ClassVar

import reflex as rx

from audiences_app.core import records
from audiences_app.core.catalog import catalog
from audiences_app.core.db import QueryTimeout, time_limit
from audiences_app.settings import get_settings
from audiences_app.ui import db
from audiences_app.ui.state.keyset_pager import KeysetPagerState

logger = logging.getLogger(__name__)

# An exact count runs in the background and may take seconds at millions of records; past
# this it gives up and the capped count ("10,000+") stays.
EXACT_COUNT_TIME_LIMIT_MS = 60_000


def record_id_from(value: Any) -> int:
    """A record id from an event argument (the browser sends ids as text); ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError("That record link is not valid.")
    text = str(value).strip()
    if not text.isdigit() or not 0 < int(text) < 2**63:
        raise ValueError("That record link is not valid.")
    return int(text)


class RecordBrowserState(KeysetPagerState, mixin=True):
    """Mixin: a subclass sets `entity` ("companies" or "people") and is a page's state."""

    entity: ClassVar[str]
    singular: ClassVar[str]  # "Company": the drawer's kicker
    search_hint: ClassVar[str]  # the search box's placeholder: which fields it searches
    # Detail fields that name a record in the drawer's title, best first.
    title_fields: ClassVar[tuple[str, ...]]

    columns: list[str] = []
    # Every column the chooser offers: key, label, type, sortable ("yes" or "").
    column_options: list[dict[str, str]] = []
    sort: str = "id"
    descending: bool = False
    search: str = ""
    count_label: str = ""
    count_pending: bool = False

    drawer_open: bool = False
    selected_id: str = ""
    detail_title: str = ""
    detail: list[dict[str, str]] = []  # the record's own fields: label, key, value
    detail_custom: list[dict[str, str]] = []  # its custom and enriched attributes
    detail_error: str = ""

    _count_generation: int = 0  # bumped by every new count; a background result must match it
    _count_started: int = -1  # the generation whose exact count is running or done

    @rx.var
    def header(self) -> list[dict[str, str]]:
        """The shown columns: key, label, align, sortable, sort direction, emphasis (the first)."""
        options = {option["key"]: option for option in self.column_options}
        cells = []
        for position, key in enumerate(self.columns):
            option = options.get(key, {"label": key, "type": "text", "sortable": ""})
            direction = ("desc" if self.descending else "asc") if key == self.sort else ""
            cells.append({
                "key": key,
                "label": option["label"],
                "align": "right" if option["type"] == "number" else "left",
                "sortable": option["sortable"],
                "direction": direction,
                "emphasis": "yes" if position == 0 else "",
            })
        return cells

    # -- events ---------------------------------------------------------------------------
    # Database work runs in a worker thread (asyncio.to_thread): Reflex runs handlers on the
    # server's event loop, and a slow search over millions of rows must not stall every tab.

    @rx.event
    async def load(self):
        """Open the page: the chooser's columns, the first page, and the count."""
        self.drawer_open = False
        with self._reporting_errors():
            self.column_options = await asyncio.to_thread(self._column_options)
            if not self.columns:
                self.columns = list(records.DEFAULT_COLUMNS[self.entity])
            await self._show_page([])
            return await self._refresh_count()

    @rx.event
    async def sort_by(self, key: str):
        """Sort by a column from the first page; the same column again flips the direction."""
        with self._reporting_errors():
            if key not in records.SORTABLE[self.entity]:
                raise ValueError(f"{self.entity.capitalize()} cannot be sorted by {key!r}.")
            descending = not self.descending if key == self.sort else False
            await self._show_page([], sort=key, descending=descending)

    @rx.event
    async def toggle_column(self, key: str, shown: bool):
        """Show or hide a column; the page stays where it is."""
        with self._reporting_errors():
            allowed = records.COLUMNS[self.entity]
            if key not in allowed:
                raise ValueError(f"{self.entity.capitalize()} have no column {key!r}.")
            if not isinstance(shown, bool):
                raise ValueError("Choose whether to show the column or not.")
            chosen = (set(self.columns) | {key}) if shown else (set(self.columns) - {key})
            if not chosen:
                raise ValueError("Keep at least one column.")
            # Keep the chooser's order, so a column comes back where it was.
            await self._show_page(self._cursors, columns=[c for c in allowed if c in chosen])

    @rx.event
    async def set_search(self, value: str):
        """Quick search on name, domain or email; a new search starts from the first page."""
        with self._reporting_errors():
            if not isinstance(value, str):
                raise ValueError("Search for text.")
            if len(value) > records.MAX_SEARCH_LENGTH:
                raise ValueError(f"Search is limited to {records.MAX_SEARCH_LENGTH} characters.")
            await self._show_page([], search=value)
            return await self._refresh_count()

    @rx.event
    async def open_record(self, record_id: int):
        """Show every field of one record in the drawer: its own fields, then custom ones."""
        self.drawer_open = True
        self.detail, self.detail_custom, self.detail_title = [], [], ""
        with self._reporting_errors("detail_error"):
            found = record_id_from(record_id)
            self.selected_id = str(found)
            fields = await asyncio.to_thread(self._record_detail, found)
            own = set(records.TABLES[self.entity].c.keys()) | {"tags"}
            self.detail = [field for field in fields if field["key"] in own]
            self.detail_custom = [field for field in fields if field["key"] not in own]
            values = {field["key"]: field["value"] for field in fields}
            self.detail_title = next(
                (values[key] for key in self.title_fields if values.get(key)), f"#{found}"
            )

    @rx.event
    def close_record(self):
        self.drawer_open = False
        self.selected_id = ""

    @rx.event(background=True)
    async def complete_count(self):
        """Replace the capped count with the exact one, unless the search changed meanwhile."""
        async with self:
            # Any client may send this event: count only what is pending, and only once.
            if not self.count_pending or self._count_started == self._count_generation:
                return
            generation = self._count_started = self._count_generation
            search = self.search
        try:
            total = await asyncio.to_thread(self._exact_count, search)
        except QueryTimeout:
            total = None
        except Exception:
            logger.exception("exact count of %s failed", self.entity)
            total = None
        async with self:
            self._finish_count(generation, total)

    # -- applying results to the state (on the event loop) ----------------------------------

    async def _show_page(self, cursors: list[str], **changes: Any) -> None:
        """Fetch the page `cursors` lead to, with `changes` to columns/sort/search applied.

        The changes reach the state only once the page is fetched, so a failed query leaves
        the page, its header and its paging as they were.
        """
        query = {
            "columns": self.columns, "sort": self.sort,
            "descending": self.descending, "search": self.search,
        } | changes
        page = await asyncio.to_thread(self._fetch_page, cursors[-1] if cursors else None, query)
        for name, value in changes.items():
            setattr(self, name, value)
        self._set_page(cursors, page)

    async def _refresh_count(self):
        """Show the fast count; if it is only a lower bound, the event that completes it."""
        self._count_generation += 1
        count = await asyncio.to_thread(self._quick_count, self.search)
        self.count_label = count.display()
        self.count_pending = count.capped
        return type(self).complete_count if count.capped else None

    def _finish_count(self, generation: int, total: int | None) -> None:
        if generation != self._count_generation:
            return  # the search changed while counting: a newer count is on its way
        self.count_pending = False
        if total is not None:
            self.count_label = f"{total:,}"

    # -- database work (in worker threads; reads the state, never changes it) ---------------

    def _column_options(self) -> list[dict[str, str]]:
        """The catalog's fields that the browser can show as columns, in catalog order."""
        shown = set(records.COLUMNS[self.entity])
        sortable = set(records.SORTABLE[self.entity])
        with db.read_connection() as conn:
            fields = catalog(conn, self._workspace_id(conn), self.entity)
        return [
            {
                "key": field["key"],
                "label": field["label"],
                "type": field["type"],
                "sortable": "yes" if field["key"] in sortable else "",
            }
            for field in fields
            if field["key"] in shown and not field["hidden"]
        ]

    def _fetch_page(self, cursor: str | None, query: dict[str, Any]) -> records.RecordPage:
        with db.read_connection() as conn:
            return records.browse(
                conn, self._workspace_id(conn), self.entity,
                cursor=cursor, page_size=get_settings().page_size, **query,
            )

    def _quick_count(self, search: str) -> records.RecordCount:
        settings = get_settings()
        with db.engine().connect() as conn:
            return records.count_records(
                conn, self._workspace_id(conn), self.entity, search=search,
                cap=settings.count_cap, time_limit_ms=settings.count_time_limit_ms,
            )

    def _exact_count(self, search: str) -> int:
        with db.engine().connect() as conn, conn.begin():
            with time_limit(conn, EXACT_COUNT_TIME_LIMIT_MS):
                return records.exact_count(conn, self._workspace_id(conn), self.entity, search=search)

    def _record_detail(self, record_id: int) -> list[dict[str, str]]:
        with db.read_connection() as conn:
            return records.record_detail(conn, self._workspace_id(conn), self.entity, record_id)
