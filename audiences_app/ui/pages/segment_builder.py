"""The segment builder page: the filter, its live count and description, its members, and
saving, versions, View SQL and export."""

from __future__ import annotations

import reflex as rx

from audiences_app.ui import routes
from audiences_app.ui.components.filter_builder import filter_builder
from audiences_app.ui.components.notice import error_callout
from audiences_app.ui.components.record_browser import (
    records_pager, records_table, side_panel_header, side_panel_style,
)
from audiences_app.ui.components.shell import page_shell
from audiences_app.ui.state.segment_builder import SegmentBuilderState as S

MUTED = rx.color("gray", 10)
MONO = "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace"


def _card(*children: rx.Component, **props) -> rx.Component:
    return rx.box(
        *children,
        border=f"1px solid {rx.color('gray', 5)}",
        border_radius="10px",
        background=rx.color("gray", 1),
        box_shadow="0 1px 2px rgba(15, 23, 42, 0.04)",
        width="100%",
        **props,
    )


def _section_title(text: str, *extra: rx.Component) -> rx.Component:
    return rx.hstack(
        rx.text(text, size="2", weight="bold", color=rx.color("gray", 12)),
        *extra,
        align="center",
        spacing="2",
        width="100%",
    )


# -- header ----------------------------------------------------------------------------------

def _actions() -> rx.Component:
    return rx.hstack(
        rx.cond(
            S.segment_id > 0,
            rx.button(
                rx.icon("history", size=15), "Versions",
                rx.badge(S.versions.length(), variant="soft", color_scheme="gray", radius="full"),
                on_click=S.set_versions_open(True),
                id="open-versions",
                variant="surface",
                color_scheme="gray",
            ),
        ),
        rx.button(rx.icon("code", size=15), "View SQL", on_click=S.open_sql, id="view-sql",
                  variant="surface", color_scheme="gray"),
        rx.cond(
            S.segment_id > 0,
            rx.button(rx.icon("copy-plus", size=15), "Save as", on_click=S.open_save("save_as"),
                      id="save-as", variant="surface", color_scheme="gray"),
        ),
        rx.button(
            rx.icon("save", size=15),
            rx.cond(S.segment_id > 0, "Save", "Save segment"),
            on_click=S.open_save("save"),
            id="save-segment",
            disabled=(S.segment_id > 0) & ~S.dirty,
        ),
        spacing="2",
        align="center",
    )


def _subheader() -> rx.Component:
    return rx.hstack(
        rx.link(
            rx.hstack(rx.icon("arrow-left", size=14), rx.text("Segments", size="2"), spacing="1", align="center"),
            href=routes.SEGMENTS,
            id="back-to-segments",
            color=MUTED,
            underline="none",
        ),
        rx.text("/", size="2", color=rx.color("gray", 8)),
        rx.badge(
            rx.cond(S.entity == "people", rx.icon("users", size=12), rx.icon("building-2", size=12)),
            S.entity,
            variant="soft", color_scheme="gray", id="segment-entity",
        ),
        rx.cond(
            S.segment_id > 0,
            rx.badge("Version ", S.saved_version, variant="soft", color_scheme="indigo", id="segment-version"),
            rx.badge("Not saved yet", variant="soft", color_scheme="amber"),
        ),
        rx.cond(S.archived, rx.badge("Archived", variant="soft", color_scheme="gray")),
        rx.cond(
            (S.segment_id > 0) & S.dirty,
            rx.badge(rx.icon("pencil", size=11), "Unsaved changes", variant="soft", color_scheme="amber", id="dirty-badge"),
        ),
        rx.cond(S.saved_owner != "", rx.text("Owner: ", S.saved_owner, size="1", color=MUTED)),
        spacing="2",
        align="center",
        margin_top="-8px",
        padding_bottom="16px",
    )


def _notices() -> rx.Component:
    return rx.vstack(
        error_callout(S.error, "builder-error"),
        rx.cond(
            S.notice != "",
            rx.callout(S.notice, icon="circle-check", color_scheme="green", id="builder-notice", width="100%", size="1"),
        ),
        width="100%",
        spacing="2",
    )


# -- summary: live count and description -----------------------------------------------------------

def _summary() -> rx.Component:
    return _card(
        rx.hstack(
            rx.vstack(
                rx.text("Matching", size="1", weight="medium", color=MUTED, text_transform="uppercase",
                        letter_spacing="0.06em"),
                rx.hstack(
                    rx.text(S.count_label, id="live-count", size="8", weight="bold",
                            color=rx.color("gray", 12), line_height="1"),
                    rx.text(S.entity, size="3", color=MUTED),
                    rx.cond(S.count_pending, rx.spinner(size="2")),
                    align="end",
                    spacing="2",
                ),
                spacing="2",
                min_width="220px",
            ),
            rx.separator(orientation="vertical", size="4"),
            rx.vstack(
                rx.text("In plain English", size="1", weight="medium", color=MUTED, text_transform="uppercase",
                        letter_spacing="0.06em"),
                rx.text(S.description, id="description", size="3", color=rx.color("gray", 12)),
                rx.cond(
                    S.incomplete > 0,
                    rx.text(
                        rx.icon("circle-alert", size=13),
                        S.incomplete_note,
                        size="1", color=rx.color("amber", 11), display="flex", align_items="center", gap="4px",
                        id="incomplete-note",
                    ),
                ),
                spacing="2",
                flex="1",
                min_width="0",
            ),
            spacing="5",
            align="stretch",
            width="100%",
        ),
        padding="16px 20px",
    )


def _filter_card() -> rx.Component:
    return _card(
        rx.vstack(
            _section_title(
                "Filter",
                rx.spacer(),
                rx.button(
                    rx.icon("link", size=14), "Copy link",
                    on_click=rx.call_script("navigator.clipboard && navigator.clipboard.writeText(window.location.href)"),
                    id="copy-link",
                    size="1",
                    variant="ghost",
                    color_scheme="gray",
                ),
            ),
            filter_builder(),
            spacing="3",
            width="100%",
        ),
        padding="14px 16px",
    )


# -- members ---------------------------------------------------------------------------------

def _export() -> rx.Component:
    return rx.hstack(
        rx.cond(S.export_error != "", rx.text(S.export_error, size="1", color=rx.color("red", 11), id="export-error")),
        rx.cond(
            S.export_url != "",
            rx.link(
                rx.icon("download", size=14),
                "Download ", S.export_label,
                # A document request (not client-side routing), so the browser downloads it.
                reload_document=True,
                href=rx.Var(
                    _js_expr=f"new URL({S.export_url!s}, getBackendURL(env.PING)).href",
                    _var_type=str,
                    _var_data=rx.vars.VarData.merge(
                        S.export_url._get_all_var_data(),
                        rx.vars.VarData(imports={
                            "$/utils/state": "getBackendURL",
                            "$/env.json": rx.ImportVar(tag="env", is_default=True),
                        }),
                    ),
                ),
                download=True,
                id="export-link",
                size="2",
                weight="medium",
                display="inline-flex",
                align_items="center",
                gap="6px",
            ),
        ),
        rx.button(
            rx.cond(S.exporting, rx.spinner(size="1"), rx.icon("file-down", size=14)),
            "Export CSV",
            on_click=S.export_csv,
            id="export-csv",
            disabled=S.exporting,
            size="1",
            variant="surface",
            color_scheme="gray",
        ),
        spacing="3",
        align="center",
    )


def _members_empty() -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.icon("filter-x", size=28, color=rx.color("gray", 8)),
            rx.text("No ", S.entity, " match this filter.", size="2", color=MUTED),
            align="center",
            spacing="2",
        ),
        id="records-empty",
        padding="40px",
        width="100%",
    )


def _members() -> rx.Component:
    return rx.vstack(
        _section_title(
            "Members",
            rx.text("click a row to see why it is in", size="1", color=MUTED),
            rx.spacer(),
            _export(),
        ),
        records_table(S, empty=_members_empty()),
        records_pager(S),
        spacing="3",
        width="100%",
    )


# -- dialogs and the explanation drawer ------------------------------------------------------------

def _sql_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("SQL"),
            rx.dialog.description(
                "The query that selects this segment's members, with its values written in. "
                "For reading only: the app runs it with bound parameters.",
                size="2", color=MUTED,
            ),
            rx.el.pre(
                rx.el.code(S.sql_text),
                id="sql-code",
                style={
                    "fontFamily": MONO, "fontSize": "12.5px", "lineHeight": "1.55", "whiteSpace": "pre-wrap",
                    "wordBreak": "break-word", "background": rx.color("gray", 2), "color": rx.color("gray", 12),
                    "border": f"1px solid {rx.color('gray', 5)}", "borderRadius": "8px", "padding": "14px 16px",
                    "maxHeight": "60vh", "overflow": "auto", "margin": "14px 0",
                },
            ),
            rx.hstack(
                rx.button(
                    rx.icon("copy", size=14), "Copy",
                    on_click=rx.set_clipboard(S.sql_text),
                    variant="surface", color_scheme="gray", id="copy-sql",
                ),
                rx.dialog.close(rx.button("Close", id="close-sql")),
                justify="end",
                spacing="2",
            ),
            id="sql-dialog",
            max_width="860px",
        ),
        open=S.sql_open,
        on_open_change=S.set_sql_open,
    )


def _sample(title: str, sign: str, color: str, count: rx.Var, sample: rx.Var, element_id: str) -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.text(sign, count, size="6", weight="bold", color=rx.color(color, 11), id=element_id),
            rx.text(title, size="2", color=MUTED),
            align="end",
            spacing="2",
        ),
        rx.foreach(
            sample,
            lambda row: rx.text(row["label"], size="1", color=rx.color("gray", 11), white_space="nowrap",
                                overflow="hidden", text_overflow="ellipsis", max_width="100%"),
        ),
        spacing="1",
        flex="1",
        min_width="0",
        padding="12px",
        border_radius="8px",
        background=rx.color(color, 2),
        border=f"1px solid {rx.color(color, 5)}",
    )


def _difference(element_id: str) -> rx.Component:
    """+added / −removed against a saved version, with a few of each by name."""
    return rx.vstack(
        rx.text("Compared with version ", S.diff_version, size="2", weight="medium"),
        rx.cond(
            S.diff_ready,
            rx.hstack(
                _sample("added", "+", "green", S.diff_added, S.diff_added_sample, "diff-added"),
                _sample("removed", "−", "red", S.diff_removed, S.diff_removed_sample, "diff-removed"),
                spacing="3",
                width="100%",
            ),
            rx.cond(
                S.diff_error != "",
                rx.text(S.diff_error, size="2", color=rx.color("amber", 11)),
                rx.hstack(rx.spinner(size="1"), rx.text("Comparing…", size="2")),
            ),
        ),
        id=element_id,
        spacing="2",
        width="100%",
    )


def _save_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(rx.cond(S.save_mode == "save", "Save a new version", "Save as a new segment")),
            rx.vstack(
                error_callout(S.save_error, "save-error"),
                rx.text("Name", size="2", weight="medium"),
                rx.input(
                    value=S.save_name,
                    on_change=S.set_save_name,
                    placeholder="e.g. US software, 50–500 employees",
                    id="segment-name",
                    max_length=200,
                    width="100%",
                ),
                rx.text("Note (optional)", size="2", weight="medium"),
                rx.input(
                    value=S.save_note,
                    on_change=S.set_save_note,
                    placeholder="What changed and why",
                    id="save-note",
                    max_length=1000,
                    width="100%",
                ),
                rx.cond((S.save_mode == "save") & (S.diff_version != ""), _difference("diff-summary")),
                rx.text(S.description, size="1", color=MUTED),
                rx.hstack(
                    rx.dialog.close(rx.button("Cancel", variant="soft", color_scheme="gray", id="save-cancel")),
                    rx.button(
                        rx.cond(
                            S.save_mode == "save",
                            rx.text("Save version ", S.saved_version + 1, as_="span"),
                            "Save segment",
                        ),
                        on_click=S.confirm_save,
                        id="save-confirm",
                    ),
                    justify="end",
                    spacing="2",
                    width="100%",
                ),
                spacing="3",
                width="100%",
            ),
            id="save-dialog",
            max_width="620px",
        ),
        open=S.save_open,
        on_open_change=S.set_save_open,
    )


def _version_row(version: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.badge("v", version["version"], variant="soft",
                               color_scheme=rx.cond(version["version"] == S.saved_version.to_string(), "indigo", "gray"))),
        rx.table.cell(
            rx.cond(version["note"] != "", rx.text(version["note"], size="2"), rx.text("—", color=rx.color("gray", 8))),
            max_width="280px",
        ),
        rx.table.cell(version["owner"]),
        rx.table.cell(version["created"], white_space="nowrap"),
        rx.table.cell(
            rx.hstack(
                rx.button(
                    "Compare", on_click=S.compare_version(version["version"]),
                    id=f"compare-version-{version['version']}", size="1", variant="soft", color_scheme="gray",
                ),
                rx.button(
                    "Load", on_click=S.restore_version(version["version"]),
                    id=f"restore-version-{version['version']}", size="1", variant="soft", color_scheme="gray",
                ),
                spacing="2",
                justify="end",
            ),
        ),
        id=f"version-{version['version']}",
    )


def _versions_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Versions"),
            rx.dialog.description(
                "Every save is a version. Load one to see and edit it; it becomes current when you save.",
                size="2", color=MUTED,
            ),
            rx.table.root(
                rx.table.header(rx.table.row(
                    *(rx.table.column_header_cell(label) for label in ("Version", "Note", "Owner", "Saved", "")),
                )),
                rx.table.body(rx.foreach(S.versions, _version_row)),
                id="versions",
                size="1",
                width="100%",
                margin_top="12px",
            ),
            rx.cond(
                S.diff_version != "",
                rx.box(
                    rx.text("Your current filter against a saved version:", size="1", color=MUTED),
                    _difference("version-diff"),
                    padding_top="14px",
                ),
            ),
            rx.hstack(rx.dialog.close(rx.button("Close", variant="soft", color_scheme="gray")), justify="end",
                      padding_top="12px"),
            max_width="720px",
        ),
        open=S.versions_open,
        on_open_change=S.set_versions_open,
    )


def _why_node(node: rx.Var) -> rx.Component:
    return rx.hstack(
        rx.cond(
            node["result"] == "yes",
            rx.icon("circle-check", size=15, color=rx.color("green", 10)),
            rx.icon("circle-x", size=15, color=rx.color("red", 10)),
        ),
        rx.vstack(
            rx.text(node["label"], size="2", weight=rx.cond(node["kind"] == "group", "medium", "regular")),
            rx.cond(node["value"] != "", rx.text("Value: ", node["value"], size="1", color=MUTED)),
            spacing="0",
            min_width="0",
        ),
        spacing="2",
        align="start",
        padding_left=node["indent"] + "px",
        custom_attrs={"data-result": node["result"]},
    )


def _why_drawer() -> rx.Component:
    return rx.cond(
        S.why_open,
        rx.vstack(
            side_panel_header("Why this record", S.why_title, S.close_record, "why-drawer"),
            error_callout(S.why_error, "why-error"),
            rx.cond(
                S.why_nodes.length() > 0,
                rx.callout(
                    rx.cond(S.why_member, "In this segment", "Not in this segment"),
                    icon=rx.cond(S.why_member, "circle-check", "circle-x"),
                    color_scheme=rx.cond(S.why_member, "green", "red"),
                    size="1",
                    width="100%",
                ),
            ),
            rx.vstack(rx.foreach(S.why_nodes, _why_node), spacing="2", width="100%"),
            **side_panel_style("why-drawer", "Why this record"),
        ),
    )


def page() -> rx.Component:
    return page_shell(
        _subheader(),
        rx.vstack(
            _notices(),
            _summary(),
            _filter_card(),
            _members(),
            spacing="4",
            width="100%",
        ),
        _sql_dialog(),
        _save_dialog(),
        _versions_dialog(),
        _why_drawer(),
        title=S.title,
        route=routes.SEGMENTS,
        actions=_actions(),
    )
