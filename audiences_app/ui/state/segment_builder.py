"""The segment builder's state: one filter being edited, its live count and members, and saving.

The filter is `nodes`, a flat list of groups and conditions (see ui/filter_tree.py), edited
by handlers that each check their arguments (node ids that exist, fields from the catalog,
operators of the field's type, sized values) and then re-evaluate: the runnable part of the
filter, its English description, a capped count and the first page of members, all at once.
The exact count and the per-clause counts follow in a background event; every edit bumps a
generation counter, and a background result for an older generation is dropped.

The filter also lives in the URL (`?f=`), rewritten in place after every edit, so that a
reload or a shared link opens the same builder. Only one page of members, the nodes (at most
MAX_NODES) and at most 50 suggestions are in the state.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import reflex as rx

from audiences_app.core import exports, records
from audiences_app.core.catalog import ENTITIES
from audiences_app.core.db import QueryTimeout, time_limit, write_transaction
from audiences_app.core.segments import FilterError, describe, filter_fields, filter_sql, parse_filter
from audiences_app.core.segments import explain, members, saved
from audiences_app.core.segments.fields import resolve_field
from audiences_app.settings import get_settings
from audiences_app.ui import db, downloads, filter_tree, routes
from audiences_app.ui.filter_tree import ROOT_ID, SEGMENT_FIELD, SEGMENT_LABEL, FieldChoice, FilterNode
from audiences_app.ui.state.record_browser import record_id_from
from audiences_app.ui.state.keyset_pager import KeysetPagerState

logger = logging.getLogger(__name__)

EXACT_COUNT_TIME_LIMIT_MS = 60_000  # the background count gives up past this; "10,000+" stays
CLAUSE_COUNT_TIME_LIMIT_MS = 30_000
MAX_SUGGESTIONS = 50
SAMPLE_SIZE = 5
# Who saves: there are no accounts yet, so every save is the web app's. When login arrives,
# `_owner` returns the session's user, next to `_workspace_id`'s membership check.
WEB_OWNER = "web"

TYPE_GROUPS = [
    ("text", "Text"), ("number", "Numbers"), ("date", "Dates"), ("datetime", "Dates and times"),
    ("boolean", "Yes / no"), ("list", "Lists and tags"), ("segment", "Segments"),
]
_SEGMENT_PATH = re.compile(r"/segments/(?P<ref>[^/]+)/?")


def when(value: Any) -> str:
    """A timestamp as the lists show it."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value or "")


def count_text(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else ""


def segment_id_from(value: Any) -> int:
    """A saved segment's id from an event argument or a URL; ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError("That segment link is not valid.")
    text = str(value).strip()
    if not text.isdigit() or not 0 < int(text) < 2**63:
        raise ValueError("That segment link is not valid.")
    return int(text)


@dataclass
class Evaluation:
    """What one edit changes on the page, computed in a worker thread."""

    compiled: filter_tree.Compiled
    description: str
    count: records.RecordCount
    page: records.RecordPage


class SegmentBuilderState(KeysetPagerState, rx.State):
    """The builder page: /segments/new?entity=… and /segments/<id>."""

    entity: str = "companies"
    segment_id: int = 0  # 0 until saved
    segment_name: str = ""
    saved_version: int = 0
    saved_owner: str = ""
    archived: bool = False
    notice: str = ""  # what just happened: "Saved version 3"
    dirty: bool = False  # the filter differs from the saved one

    nodes: list[FilterNode] = []
    # The field picker: every filterable field, grouped by type; filtered by `field_search`.
    field_options: list[dict[str, str]] = []
    field_search: str = ""
    segment_options: list[dict[str, str]] = []  # id, name: other saved segments of this entity
    suggestions_for: str = ""  # the node whose value box shows suggestions
    suggestions: list[dict[str, str]] = []  # value, count

    description: str = ""
    count_label: str = ""
    count_pending: bool = False
    counts_pending: bool = False  # per-clause counts on their way

    # Members: one page (rows and paging come from KeysetPagerState).
    columns: list[str] = []
    header: list[dict[str, str]] = []
    sort: str = "id"
    descending: bool = False
    selected_id: str = ""

    # "Why is this record in or out?"
    why_open: bool = False
    why_title: str = ""
    why_member: bool = False
    why_nodes: list[dict[str, str]] = []
    why_error: str = ""

    sql_open: bool = False
    sql_text: str = ""

    save_open: bool = False
    save_mode: str = "save"  # "save": this segment (a new version) | "save_as": a new segment
    save_name: str = ""
    save_note: str = ""
    save_error: str = ""
    diff_ready: bool = False
    diff_version: str = ""  # the saved version the draft is compared with
    diff_added: str = ""
    diff_removed: str = ""
    diff_added_sample: list[dict[str, str]] = []
    diff_removed_sample: list[dict[str, str]] = []
    diff_error: str = ""

    versions_open: bool = False
    versions: list[dict[str, str]] = []

    exporting: bool = False
    export_url: str = ""
    export_label: str = ""
    export_error: str = ""

    _fields: dict[str, dict[str, Any]] = {}
    _filter: dict = {"and": []}  # the runnable part of `nodes`
    _complete: bool = True  # every condition is in `_filter`
    _node_paths: dict[str, str] = {}
    _column_labels: dict[str, str] = {}
    _export_path: str = ""  # this tab's last export: replaced by the next one, so a tab holds one file
    _saved_filter: str = ""  # the saved version's filter, compact JSON
    _generation: int = 0  # bumped by every edit; background results must match it
    _counts_started: int = -1

    # -- display ------------------------------------------------------------------------------

    @rx.var
    def field_menu(self) -> list[dict[str, str]]:
        """The picker's rows: a heading per type, then its fields matching the search."""
        term = self.field_search.strip().casefold()
        rows: list[dict[str, str]] = []
        for field_type, heading in TYPE_GROUPS:
            matching = [
                option for option in self.field_options
                if option["type"] == field_type
                and (not term or term in option["label"].casefold() or term in option["key"].casefold())
            ]
            if matching:
                rows.append({"kind": "heading", "key": f"heading-{field_type}", "label": heading, "type": field_type})
                rows.extend({"kind": "field", **option} for option in matching)
        return rows

    @rx.var
    def title(self) -> str:
        return self.segment_name or f"New {self.entity} segment"

    @rx.var
    def incomplete(self) -> int:
        return sum(1 for node in self.nodes if node["problem"])

    @rx.var
    def incomplete_note(self) -> str:
        count = self.incomplete
        if not count:
            return ""
        return f"{count} unfinished condition{'s are' if count > 1 else ' is'} left out until complete."

    # -- opening the page ---------------------------------------------------------------------

    @rx.event
    async def load(self):
        """Open /segments/new?entity=… or /segments/<id>, with the URL's `?f=` filter if any."""
        url = self.router.url
        self.reset()  # the state is per tab and outlives navigation: a page load starts over
        with self._reporting_errors():
            return await self._open(url.path, dict(url.query_parameters))

    async def _open(self, path: str, params: dict[str, str]):
        match = _SEGMENT_PATH.fullmatch(path)
        ref = match.group("ref") if match else "new"
        segment_id = 0 if ref == "new" else segment_id_from(ref)
        entity = params.get("entity", "companies")
        opened = await asyncio.to_thread(self._opening, segment_id, entity)
        self.entity = opened["entity"]
        self._fields = opened["fields"]
        self.field_options = opened["field_options"]
        self.segment_options = opened["segment_options"]
        self.columns = list(records.DEFAULT_COLUMNS[self.entity])
        self._column_labels = opened["column_labels"]
        self._set_header()
        nodes, problem = filter_tree.new_tree(), ""
        if segment_id:
            segment = opened["segment"]
            self.segment_id, self.segment_name = segment_id, segment["name"]
            self.saved_version, self.saved_owner = segment["version"], segment.get("owner") or ""
            self.archived = segment.get("archived_at") is not None
            self.versions = opened["versions"]
            self._saved_filter = filter_tree.canonical(segment["filter"])
            try:
                nodes = self._nodes_of(segment["filter"], "The saved filter")
            except ValueError as error:  # a field it uses left the catalog, say
                problem = f"{error} Build it again and save a new version."
        if "f" in params:
            try:
                nodes = self._nodes_of(filter_tree.decode_link(params["f"]), "The filter in this link")
            except ValueError as error:
                problem = f"{error} Showing {'the saved filter' if segment_id and not problem else 'an empty filter'} instead."
        events = await self._apply(nodes)
        self.error = problem
        return events

    def _nodes_of(self, filter_json: Any, what: str) -> list[FilterNode]:
        """Builder nodes for a filter from a link or the database, or ValueError saying why not."""
        try:
            return filter_tree.from_filter(
                filter_json, entity=self.entity, fields=self._fields, label=self._label_and_type,
            )
        except FilterError as error:
            raise filter_tree.BrokenLink(f"{what} cannot be used: {error.path or 'filter'}: {error.message}.") from None
        except (TypeError, KeyError, AttributeError):
            raise filter_tree.BrokenLink(f"{what} is not a filter this page can read.") from None

    # -- editing the tree ---------------------------------------------------------------------

    @rx.event
    async def add_condition(self, group_id: str):
        with self._reporting_errors():
            nodes, _ = filter_tree.add_condition(self.nodes, group_id)
            return await self._apply(nodes)

    @rx.event
    async def add_group(self, group_id: str):
        with self._reporting_errors():
            nodes, _ = filter_tree.add_group(self.nodes, group_id)
            return await self._apply(nodes)

    @rx.event
    async def remove_node(self, node_id: str):
        with self._reporting_errors():
            return await self._apply(filter_tree.remove(self.nodes, node_id))

    @rx.event
    async def move_node(self, node_id: str, direction: str):
        with self._reporting_errors():
            return await self._apply(filter_tree.move(self.nodes, node_id, direction))

    @rx.event
    async def set_group_kind(self, group_id: str, kind: str):
        with self._reporting_errors():
            return await self._apply(filter_tree.set_group_kind(self.nodes, group_id, kind))

    @rx.event
    async def toggle_not(self, node_id: str):
        with self._reporting_errors():
            return await self._apply(filter_tree.toggle_negated(self.nodes, node_id))

    @rx.event
    async def set_field(self, node_id: str, key: str):
        with self._reporting_errors():
            nodes = filter_tree.set_field(self.nodes, node_id, self._choice(key))
            self.field_search = ""
            self.suggestions_for, self.suggestions = "", []
            return await self._apply(nodes)

    @rx.event
    async def set_operator(self, node_id: str, op: str):
        with self._reporting_errors():
            return await self._apply(filter_tree.set_operator(self.nodes, node_id, op))

    @rx.event
    async def set_value(self, node_id: str, value: str):
        with self._reporting_errors():
            return await self._apply(filter_tree.set_value(self.nodes, node_id, value))

    @rx.event
    async def set_value2(self, node_id: str, value: str):
        """The upper end of a range, or the unit of a relative date."""
        with self._reporting_errors():
            return await self._apply(filter_tree.set_value(self.nodes, node_id, value, second=True))

    @rx.event
    async def add_list_value(self, node_id: str, value: str):
        with self._reporting_errors():
            return await self._apply(filter_tree.add_list_value(self.nodes, node_id, value))

    @rx.event
    async def submit_list_value(self, form: dict):
        """A value box's Enter: its form holds the node's id and the typed value."""
        with self._reporting_errors():
            if not isinstance(form, dict):
                raise ValueError("Type a value, then press Enter.")
            nodes = filter_tree.add_list_value(self.nodes, form.get("node"), form.get("value", ""))
            events = await self._apply(nodes)
            if self.suggestions_for == form.get("node"):  # the box is empty again: all suggestions
                await self._suggest(self.suggestions_for, "")
            return events

    @rx.event
    async def remove_list_value(self, node_id: str, value: str):
        with self._reporting_errors():
            return await self._apply(filter_tree.remove_list_value(self.nodes, node_id, value))

    @rx.event
    async def pick_suggestion(self, node_id: str, value: str):
        """A suggested value: added to a list, or the value of a single-value condition."""
        with self._reporting_errors():
            node = filter_tree.condition(self.nodes, node_id)
            if node["shape"] == "text_list":
                nodes = filter_tree.add_list_value(self.nodes, node_id, value)
            else:
                nodes = filter_tree.set_value(self.nodes, node_id, value)
            return await self._apply(nodes)

    @rx.event
    def set_field_search(self, value: str):
        if isinstance(value, str):
            self.field_search = value[:100]

    # -- suggestions --------------------------------------------------------------------------

    @rx.event
    async def suggest(self, node_id: str, prefix: str = ""):
        """Up to 50 of the field's most common values (starting with `prefix`) for this node."""
        with self._reporting_errors():
            if not isinstance(prefix, str) or len(prefix) > filter_tree.MAX_TEXT_LENGTH:
                raise ValueError("Type a shorter value.")
            await self._suggest(node_id, prefix)

    async def _suggest(self, node_id: str, prefix: str) -> None:
        node = filter_tree.condition(self.nodes, node_id)
        if node["field_type"] not in ("text", "list") or node["shape"] not in ("text", "text_list"):
            self.suggestions_for, self.suggestions = "", []
            return
        if prefix.strip().casefold() in {value.casefold() for value in node["values"]}:
            # The typing pause that sent this prefix can arrive after Enter added it as a
            # value and emptied the box: suggest from an empty box, as the user sees it.
            prefix = ""
        found = await asyncio.to_thread(self._distinct_values, node["field"], prefix.strip())
        self.suggestions_for = node["id"]
        self.suggestions = [{"value": value, "count": f"{count:,}"} for value, count in found[:MAX_SUGGESTIONS]]

    @rx.event
    def close_suggestions(self):
        self.suggestions_for, self.suggestions = "", []

    # -- members ------------------------------------------------------------------------------

    @rx.event
    async def sort_by(self, key: str):
        with self._reporting_errors():
            if key not in records.SORTABLE[self.entity]:
                raise ValueError(f"{self.entity.capitalize()} cannot be sorted by {str(key)[:40]!r}.")
            descending = not self.descending if key == self.sort else False
            page = await asyncio.to_thread(self._fetch_page, self._filter, None, key, descending)
            self.sort, self.descending = key, descending
            self._set_page([], page)
            self._set_header()

    @rx.event
    async def open_record(self, record_id: str):
        """Why this record is in (or out of) the segment: every condition's result for it."""
        self.why_open = True
        self.why_nodes, self.why_title = [], ""
        with self._reporting_errors("why_error"):
            found = record_id_from(record_id)
            self.selected_id = str(found)
            title = next(
                (row.get("name") or row.get("full_name") or row.get("email") for row in self.rows
                 if row.get("id") == str(found)), "",
            )
            result = await asyncio.to_thread(self._why, found)
            self.why_title = title or f"#{found}"
            self.why_member = bool(result["member"])
            self.why_nodes = [
                {
                    "path": str(node.get("path", "")),
                    "indent": str(int(node.get("depth", 0)) * 18),
                    "label": str(node.get("label", "")),
                    "result": "yes" if node.get("result") else "no",
                    "kind": str(node.get("kind", "")),
                    "value": "" if node.get("value") is None else str(node.get("value"))[:200],
                }
                for node in result["nodes"][: filter_tree.MAX_NODES]
            ]

    @rx.event
    def close_record(self):
        self.why_open = False
        self.selected_id = ""

    # -- counts in the background -------------------------------------------------------------

    @rx.event(background=True)
    async def complete_counts(self):
        """The exact count (when the quick one was capped) and each clause's count."""
        async with self:
            # Any client may send this event: count only the current filter, and only once.
            if self._counts_started == self._generation:
                return
            generation = self._counts_started = self._generation
            filter_json, entity, exact = self._filter, self.entity, self.count_pending
            node_paths = dict(self._node_paths)
        if exact:
            total = await asyncio.to_thread(self._background, self._exact_count, entity, filter_json)
            async with self:
                if generation != self._generation:
                    return  # the filter changed meanwhile: a newer count is on its way
                self.count_pending = False
                if total is not None:
                    self.count_label = f"{total:,}"
        counts = await asyncio.to_thread(self._background, self._clause_counts, entity, filter_json)
        async with self:
            if generation != self._generation:
                return  # the filter changed meanwhile: a newer count is on its way
            self.counts_pending = False
            if counts is not None:
                self.nodes = filter_tree.with_counts(self.nodes, clause_labels(counts, node_paths, entity))

    # -- View SQL -----------------------------------------------------------------------------

    @rx.event
    async def open_sql(self):
        with self._reporting_errors():
            self.sql_text = await asyncio.to_thread(self._sql, self._filter)
            self.sql_open = True

    @rx.event
    def set_sql_open(self, value: bool):
        self.sql_open = bool(value)
        if not self.sql_open:
            self.sql_text = ""

    # -- saving -------------------------------------------------------------------------------

    @rx.event
    async def open_save(self, mode: str):
        """The save dialog: a name, a note and, for a new version, what changes against the saved one."""
        with self._reporting_errors():
            if mode not in ("save", "save_as"):
                raise ValueError("Save this segment or save it as a new one.")
            if mode == "save" and self.archived:
                raise ValueError("This segment is archived: restore it from the Segments page, or save it as a new one.")
            self.save_mode = mode if self.segment_id else "save_as"
            self.save_name = (
                self.segment_name if self.save_mode == "save"
                else (f"{self.segment_name} (copy)" if self.segment_id else "")
            )
            self.save_note, self.save_error = "", ""
            self._clear_diff()
            if not self._complete:
                self.save_error = (
                    f"{self.incomplete} condition{'s' if self.incomplete != 1 else ''} "
                    "still need a value or have a problem (marked in red): finish or remove them first."
                )
            self.save_open = True
            if self.save_mode == "save" and self._complete:
                await self._load_diff()

    @rx.event
    def set_save_open(self, value: bool):
        self.save_open = bool(value)

    @rx.event
    def set_save_name(self, value: str):
        if isinstance(value, str):
            self.save_name = value[: saved.MAX_NAME_LENGTH]

    @rx.event
    def set_save_note(self, value: str):
        if isinstance(value, str):
            self.save_note = value[: saved.MAX_NOTE_LENGTH]

    @rx.event
    async def confirm_save(self):
        """Save the filter: a new version of this segment, or a new segment (then open it)."""
        with self._reporting_errors("save_error"):
            if not self.save_open:
                return
            if not self._complete:
                raise ValueError("Finish or remove the conditions marked in red first.")
            name = self.save_name.strip()
            if not name:
                raise ValueError("Give the segment a name.")
            as_new = self.save_mode == "save_as" or not self.segment_id
            segment = await asyncio.to_thread(
                self._save, name, None if as_new else self.segment_id, self.save_note.strip(), self._filter,
            )
            self.save_open = False
            if as_new:
                return rx.redirect(routes.segment(segment["id"]))
            self.segment_name, self.saved_version = segment["name"], segment["version"]
            self.saved_owner = segment.get("owner") or self.saved_owner
            self._saved_filter = filter_tree.canonical(self._filter)
            self.versions = await asyncio.to_thread(self._versions, self.segment_id)
            self.dirty = False
            self.notice = f"Saved version {self.saved_version}."
            return self._url_script()

    # -- versions -----------------------------------------------------------------------------

    @rx.event
    async def compare_version(self, version: str):
        """Who the draft adds to and removes from one saved version."""
        with self._reporting_errors():
            found = self._version_number(version)
            if not self._complete:
                raise ValueError("Finish or remove the conditions marked in red first.")
            self._clear_diff()
            await self._load_diff(found)

    @rx.event
    def set_versions_open(self, value: bool):
        self.versions_open = bool(value)
        self._clear_diff()

    def _version_number(self, version: Any) -> int:
        if not self.segment_id:
            raise ValueError("Only a saved segment has versions.")
        text = str(version).strip() if isinstance(version, int | str) and not isinstance(version, bool) else ""
        if not text.isdigit() or not 0 < int(text) < 2**31:
            raise ValueError("That version does not exist.")
        return int(text)

    @rx.event
    async def restore_version(self, version: str):
        """Load an earlier version into the builder; it is saved only when you save it."""
        with self._reporting_errors():
            found = await asyncio.to_thread(self._version, self._version_number(version))
            nodes = self._nodes_of(found["filter"], f"Version {found['version']}")
            self.versions_open = False
            self.notice = f"Loaded version {found['version']}: save to make it the current one."
            return await self._apply(nodes)

    # -- export -------------------------------------------------------------------------------

    @rx.event(background=True)
    async def export_csv(self):
        """Write the members to a CSV file and show a link to it (never through the websocket)."""
        async with self:
            if self.exporting:
                return
            if not self._complete:
                self.export_error = "Finish or remove the conditions marked in red before exporting."
                return
            self.exporting, self.export_url, self.export_label, self.export_error = True, "", "", ""
            filter_json, entity = self._filter, self.entity
            title = self.segment_name or f"{entity} segment"
            previous = self._export_path
        try:
            rows, path, url = await asyncio.to_thread(self._export, entity, filter_json, title, previous)
        except (ValueError, LookupError) as error:
            async with self:
                self.exporting, self.export_error = False, str(error)
            return
        except Exception:
            logger.exception("segment export failed")
            async with self:
                self.exporting = False
                self.export_error = "The export failed on the server; the details are in its log. Try again."
            return
        async with self:
            self.exporting = False
            self._export_path = path
            self.export_url = url
            self.export_label = f"{rows:,} {entity} · CSV"

    # -- applying an edit ---------------------------------------------------------------------

    async def _apply(self, nodes: list[FilterNode]):
        """Show `nodes` and everything that follows from them; the background counts follow."""
        self.nodes = nodes
        self.notice = "" if self.notice.startswith("Saved") else self.notice
        evaluation = await asyncio.to_thread(self._evaluation, nodes)
        compiled = evaluation.compiled
        self._generation += 1
        self._filter, self._complete = compiled.filter, compiled.complete
        self._node_paths = compiled.node_paths
        self.nodes = filter_tree.with_problems(nodes, compiled)
        self.description = evaluation.description
        self.count_label, self.count_pending = evaluation.count.display(), evaluation.count.capped
        self.counts_pending = True
        self._set_page([], evaluation.page)
        self.dirty = not compiled.complete or filter_tree.canonical(compiled.filter) != self._baseline()
        self.export_url, self.export_label, self.export_error = "", "", ""
        return [self._url_script(), type(self).complete_counts]

    def _url_script(self):
        """Rewrite the address bar (no navigation) so that it reopens this filter."""
        path = routes.segment(self.segment_id) if self.segment_id else routes.SEGMENT_NEW
        query = [] if self.segment_id else [f"entity={self.entity}"]
        current = filter_tree.canonical(self._filter)
        link = filter_tree.encode_link(self._filter)
        if current != self._baseline() and len(link) <= filter_tree.MAX_LINK_LENGTH:
            query.append(f"f={link}")
        url = path + ("?" + "&".join(query) if query else "")
        return rx.call_script(f"window.history.replaceState(window.history.state, '', {json.dumps(url)})")

    def _baseline(self) -> str:
        """The filter the page opens with when the URL has none: the saved one, or all records."""
        return self._saved_filter or filter_tree.canonical({"and": []})

    async def _show_page(self, cursors: list[str]) -> None:
        page = await asyncio.to_thread(
            self._fetch_page, self._filter, cursors[-1] if cursors else None, self.sort, self.descending,
        )
        self._set_page(cursors, page)

    def _set_header(self) -> None:
        sortable = set(records.SORTABLE[self.entity])
        labels = self._column_labels
        self.header = [
            {
                "key": key,
                "label": labels.get(key, key),
                "align": "right" if key in ("employee_count", "annual_revenue", "founded_year") else "left",
                "sortable": "yes" if key in sortable else "",
                "direction": ("desc" if self.descending else "asc") if key == self.sort else "",
                "emphasis": "yes" if position == 0 else "",
            }
            for position, key in enumerate(self.columns)
        ]

    def _clear_diff(self) -> None:
        self.diff_ready, self.diff_added, self.diff_removed, self.diff_error = False, "", "", ""
        self.diff_version = ""
        self.diff_added_sample, self.diff_removed_sample = [], []

    async def _load_diff(self, version: int | None = None) -> None:
        """Who the draft adds to and removes from the saved segment (or one of its versions)."""
        self.diff_version = str(version or self.saved_version)
        try:
            diff = await asyncio.to_thread(self._diff, self.segment_id, self._filter, version)
        except QueryTimeout:
            self.diff_error = "Counting the difference took too long; you can still save."
            return
        except (ValueError, LookupError) as error:
            self.diff_error = str(error)
            return
        self.diff_added, self.diff_removed = f"{diff['added']:,}", f"{diff['removed']:,}"
        self.diff_added_sample = sample_rows(diff.get("added_sample", []))
        self.diff_removed_sample = sample_rows(diff.get("removed_sample", []))
        self.diff_ready = True

    def _choice(self, key: Any) -> FieldChoice:
        """A field of the picker, checked against the catalog."""
        if key == SEGMENT_FIELD:
            return FieldChoice(SEGMENT_FIELD, SEGMENT_LABEL, "segment")
        spec = self._fields.get(key) if isinstance(key, str) else None
        if spec is None or spec.get("hidden"):
            raise ValueError(f"{self.entity.capitalize()} have no field {str(key)[:60]!r}.")
        label, field_type = self._label_and_type(key)
        return FieldChoice(key, label, field_type)

    def _label_and_type(self, key: str) -> tuple[str, str]:
        field = resolve_field(key, entity=self.entity, fields=self._fields, path="")
        return field.label, field.type

    def _owner(self) -> str:
        return WEB_OWNER

    # -- database work (in worker threads; reads the state, never changes it) -----------------

    def _opening(self, segment_id: int, entity: str) -> dict[str, Any]:
        with db.read_connection() as conn:
            ws = self._workspace_id(conn)
            segment = saved.get_segment(conn, ws, segment_id) if segment_id else None
            if segment is not None:
                entity = segment["entity"]
            elif entity not in ENTITIES:
                raise ValueError(f"There are no {str(entity)[:40]!r} to segment: choose companies or people.")
            fields = {
                key: {"key": key, "label": spec.get("label") or key, "type": spec.get("type"), "hidden": bool(spec.get("hidden"))}
                for key, spec in filter_fields(conn, ws, entity).items()
            }
            others = [
                s for s in saved.list_segments(conn, ws)
                if s["entity"] == entity and s["id"] != segment_id
            ]
            versions = saved.segment_versions(conn, ws, segment_id) if segment_id else []
        options = []
        for key, spec in fields.items():
            if spec["hidden"]:
                continue
            try:
                field = resolve_field(key, entity=entity, fields=fields, path="")
            except FilterError:
                continue  # a custom field of a type filters do not support
            options.append({"key": key, "label": field.label, "type": field.type})
        if others:
            options.append({"key": SEGMENT_FIELD, "label": SEGMENT_LABEL, "type": "segment"})
        return {
            "entity": entity,
            "segment": segment,
            "fields": fields,
            "field_options": options,
            "segment_options": [{"id": str(s["id"]), "name": s["name"]} for s in others],
            "column_labels": {key: spec["label"] for key, spec in fields.items()},
            "versions": version_rows(versions),
        }

    def _evaluation(self, nodes: list[FilterNode]) -> Evaluation:
        settings = get_settings()
        with db.read_connection() as conn:
            ws = self._workspace_id(conn)
            compiled = self._runnable(conn, ws, nodes)
            text = describe(
                compiled.filter, entity=self.entity, fields=self._fields, segment_names=saved.segment_names(conn, ws),
            )
            page = members.member_page(
                conn, ws, self.entity, compiled.filter, columns=self.columns, sort=self.sort,
                descending=self.descending, page_size=settings.page_size,
            )
        with db.engine().connect() as conn:
            count = members.member_count(
                conn, self._workspace_id(conn), self.entity, compiled.filter,
                cap=settings.count_cap, time_limit_ms=settings.count_time_limit_ms,
            )
        return Evaluation(compiled, text[:1].upper() + text[1:], count, page)

    def _runnable(self, conn, ws: int, nodes: list[FilterNode]) -> filter_tree.Compiled:
        """The filter of the complete conditions, checked as a whole (saved segments looked
        up): a node the core refuses is left out with its message, and the rest runs."""
        resolve = saved.resolver(conn, ws, entity=self.entity)
        refused: dict[str, str] = {}
        for _ in range(filter_tree.MAX_NODES):
            compiled = filter_tree.to_filter(nodes, entity=self.entity, fields=self._fields, refused=refused)
            try:
                parse_filter(compiled.filter, entity=self.entity, fields=self._fields, segment_resolver=resolve)
            except FilterError as error:
                node_id = filter_tree.node_at(compiled.paths, error.path)
                if node_id is None or node_id == ROOT_ID or node_id in refused:
                    raise ValueError(f"This filter cannot run: {error.message}.") from None
                refused[node_id] = filter_tree.readable(error)
                continue
            return compiled
        raise ValueError("This filter cannot run.")

    def _fetch_page(self, filter_json: dict, cursor: str | None, sort: str, descending: bool) -> records.RecordPage:
        with db.read_connection() as conn:
            return members.member_page(
                conn, self._workspace_id(conn), self.entity, filter_json, columns=self.columns,
                sort=sort, descending=descending, cursor=cursor, page_size=get_settings().page_size,
            )

    def _background(self, work, *args) -> Any:
        """Background work's result, or None when it took too long or failed (logged)."""
        try:
            return work(*args)
        except QueryTimeout:
            return None
        except Exception:
            logger.exception("%s failed", getattr(work, "__name__", "background work"))
            return None

    def _exact_count(self, entity: str, filter_json: dict) -> int:
        with db.engine().connect() as conn, conn.begin():
            with time_limit(conn, EXACT_COUNT_TIME_LIMIT_MS):
                return members.exact_member_count(conn, self._workspace_id(conn), entity, filter_json)

    def _clause_counts(self, entity: str, filter_json: dict) -> list[dict]:
        with db.engine().connect() as conn, conn.begin():
            with time_limit(conn, CLAUSE_COUNT_TIME_LIMIT_MS):
                return explain.clause_counts(conn, self._workspace_id(conn), entity, filter_json)

    def _distinct_values(self, field_key: str, prefix: str) -> list[tuple[str, int]]:
        with db.read_connection() as conn:
            return members.distinct_values(
                conn, self._workspace_id(conn), self.entity, field_key, limit=MAX_SUGGESTIONS, prefix=prefix,
            )

    def _why(self, record_id: int) -> dict:
        with db.read_connection() as conn:
            return explain.why(conn, self._workspace_id(conn), self.entity, self._filter, record_id)

    def _sql(self, filter_json: dict) -> str:
        with db.read_connection() as conn:
            ws = self._workspace_id(conn)
            return filter_sql(
                filter_json, entity=self.entity, fields=self._fields, dialect_name=conn.dialect.name,
                workspace_id=ws, segment_resolver=saved.resolver(conn, ws, entity=self.entity),
            )

    def _diff(self, segment_id: int, filter_json: dict, version: int | None) -> dict:
        with db.read_connection() as conn:
            return saved.diff_against_saved(
                conn, self._workspace_id(conn), segment_id, filter_json, sample=SAMPLE_SIZE, version=version,
                time_limit_ms=get_settings().query_time_limit_ms,
            )

    def _save(self, name: str, segment_id: int | None, note: str, filter_json: dict) -> dict:
        with write_transaction(db.engine()) as conn:
            ws = self._workspace_id(conn)
            segment = saved.save_segment(
                conn, ws, name=name, entity=self.entity, filter_json=filter_json, owner=self._owner(),
                segment_id=segment_id, note=note,
            )
        try:  # the list shows the count as of saving; a slow count leaves it for later
            with db.engine().connect() as conn:
                saved.refresh_count(
                    conn, ws, segment["id"], time_limit_ms=get_settings().query_time_limit_ms,
                )
        except QueryTimeout:
            pass
        return segment

    def _versions(self, segment_id: int) -> list[dict[str, str]]:
        with db.read_connection() as conn:
            return version_rows(saved.segment_versions(conn, self._workspace_id(conn), segment_id))

    def _version(self, version: int) -> dict:
        with db.read_connection() as conn:
            return saved.get_version(conn, self._workspace_id(conn), self.segment_id, version)

    def _export(self, entity: str, filter_json: dict, title: str, previous: str) -> tuple[int, str, str]:
        """Every visible field of every member, to a new file under the downloads folder
        (replacing this tab's previous export): rows, the file's path and its URL."""
        path, url = downloads.new_file(title)
        with db.engine().connect() as conn, conn.begin():
            ws = self._workspace_id(conn)
            rows = members.export_members(
                conn, ws, entity, filter_json, fields=exports.export_fields(conn, ws, entity), path=path, fmt="csv",
            )
        downloads.remove(previous)
        return rows, str(path), url


def sample_rows(sample: list[dict]) -> list[dict[str, str]]:
    return [{"id": str(row.get("id", "")), "label": str(row.get("label") or f"#{row.get('id')}")} for row in sample]


def version_rows(versions: list[dict]) -> list[dict[str, str]]:
    """Newest first, display-ready."""
    rows = [
        {
            "version": str(v["version"]),
            "note": str(v.get("note") or ""),
            "owner": str(v.get("owner") or ""),
            "created": when(v.get("created_at")),
        }
        for v in versions
    ]
    return sorted(rows, key=lambda row: int(row["version"]), reverse=True)


def clause_labels(counts: list[dict], node_paths: dict[str, str], entity: str) -> dict[str, tuple[str, str]]:
    """Each node's funnel label from `clause_counts`, matched by the node's filter path.

    Inside an AND group the label is how many records are left after this condition and the
    ones above it (the funnel narrowing step by step); elsewhere, how many it keeps on its own.
    """
    by_path = {str(entry.get("path", "")): entry for entry in counts}
    labels = {}
    for node_id, path in node_paths.items():
        entry = by_path.get(path)
        if entry is None or node_id == ROOT_ID or entry.get("count") is None:
            continue
        alone = f"{entry['count']:,} {entity} match this on its own"
        running = entry.get("running")
        if running is None:
            labels[node_id] = (f"{entry['count']:,}", alone + ".")
        else:
            labels[node_id] = (f"{running:,}", f"{running:,} left after this and the conditions above it; {alone}.")
    return labels
