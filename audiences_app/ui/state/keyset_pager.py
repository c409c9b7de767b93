"""One page of rows and the keyset cursors behind it: Next/Previous for every record table.

Only the page on screen is in the state; the cursors that lead to it stay on the server in
`_cursors` (the cursor of every page after the first, up to the one shown). A state that
mixes this in fetches pages in `_show_page(cursors)` and applies each with `_set_page`.
"""

from __future__ import annotations

import reflex as rx

from audiences_app.core import records
from audiences_app.settings import get_settings
from audiences_app.ui.state.workspace import WorkspaceState


class KeysetPagerState(WorkspaceState, mixin=True):
    rows: list[dict[str, str]] = []
    page_index: int = 0
    has_next: bool = False

    _cursors: list[str] = []
    _next_cursor: str | None = None

    async def _show_page(self, cursors: list[str]) -> None:
        raise NotImplementedError  # each table knows how to fetch its own page

    @rx.var
    def range_label(self) -> str:
        if not self.rows:
            return "No rows"
        first = self.page_index * get_settings().page_size + 1
        return f"Rows {first:,}–{first + len(self.rows) - 1:,}"

    def _set_page(self, cursors: list[str], page: records.RecordPage) -> None:
        self.rows = page.rows
        self._cursors = list(cursors)
        self._next_cursor = page.next_cursor
        self.page_index = len(cursors)
        self.has_next = page.next_cursor is not None

    @rx.event
    async def next_page(self):
        with self._reporting_errors():
            if self._next_cursor is not None:
                await self._show_page([*self._cursors, self._next_cursor])

    @rx.event
    async def prev_page(self):
        with self._reporting_errors():
            if self._cursors:
                await self._show_page(self._cursors[:-1])
