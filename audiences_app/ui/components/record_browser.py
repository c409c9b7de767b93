"""The record browser: search, count, column chooser, one sortable page of rows, and the drawer.

Parametrized by the page's state class (a RecordBrowserState subclass), so Companies and
People render the same component over their own state.
"""

from __future__ import annotations

import reflex as rx

from audiences_app.core import records
from audiences_app.ui.components.notice import error_callout
from audiences_app.ui.state.record_browser import RecordBrowserState

Browser = type[RecordBrowserState]

MUTED = rx.color("gray", 10)


def _search_box(state: Browser) -> rx.Component:
    return rx.input(
        rx.input.slot(rx.icon("search", size=15, color=MUTED)),
        placeholder=state.search_hint,
        value=state.search,
        on_change=state.set_search,
        debounce_timeout=350,
        max_length=records.MAX_SEARCH_LENGTH,
        id="search-input",
        size="2",
        width="340px",
        aria_label=state.search_hint,
    )


def _count(state: Browser) -> rx.Component:
    return rx.hstack(
        rx.cond(state.count_pending, rx.spinner(size="1")),
        rx.text(state.count_label, id="record-count", size="2", weight="medium"),
        rx.text(state.entity, size="2", color=MUTED),
        align="center",
        spacing="1",
        id="record-count-box",
    )


def _column_choice(state: Browser, option: rx.Var) -> rx.Component:
    return rx.checkbox(
        option["label"],
        checked=state.columns.contains(option["key"]),
        on_change=lambda shown: state.toggle_column(option["key"], shown),
        id=f"column-{option['key']}",
        size="2",
    )


def _column_chooser(state: Browser) -> rx.Component:
    return rx.popover.root(
        rx.popover.trigger(
            rx.button(
                rx.icon("columns-3", size=15),
                "Columns",
                variant="surface",
                color_scheme="gray",
                id="column-chooser",
            ),
        ),
        rx.popover.content(
            rx.vstack(
                rx.text("Shown columns", size="2", weight="medium"),
                rx.foreach(state.column_options, lambda option: _column_choice(state, option)),
                spacing="2",
            ),
            id="column-chooser-menu",
            align="end",
            max_height="420px",
            overflow_y="auto",
        ),
    )


def _toolbar(state: Browser) -> rx.Component:
    return rx.hstack(
        _search_box(state),
        rx.spacer(),
        _count(state),
        _column_chooser(state),
        align="center",
        spacing="4",
        width="100%",
    )


def _sort_icon(direction: rx.Var) -> rx.Component:
    return rx.match(
        direction,
        ("asc", rx.icon("arrow-up", size=13)),
        ("desc", rx.icon("arrow-down", size=13)),
        rx.icon("arrow-up-down", size=13, opacity="0.35"),
    )


HEADER_LABEL_STYLE = {"display": "inline-flex", "alignItems": "center", "gap": "4px", "lineHeight": "20px"}


def _header_cell(state: Browser, column: rx.Var) -> rx.Component:
    label = rx.text(column["label"], as_="span", size="1", weight="medium")
    return rx.table.column_header_cell(
        rx.cond(
            column["sortable"] == "yes",
            rx.el.button(
                label,
                _sort_icon(column["direction"]),
                id=f"sort-{column['key']}",
                on_click=state.sort_by(column["key"]),
                title="Sort",
                style={
                    "all": "unset",
                    "cursor": "pointer",
                    **HEADER_LABEL_STYLE,
                    "color": rx.cond(
                        column["direction"] != "", rx.color("accent", 11), rx.color("gray", 11)
                    ),
                },
            ),
            rx.el.span(label, style={**HEADER_LABEL_STYLE, "color": rx.color("gray", 11)}),
        ),
        text_align=column["align"],
        vertical_align="middle",
        white_space="nowrap",
        background=rx.color("gray", 2),
        position="sticky",
        top="0",
        z_index="1",
    )


def _cell(row: rx.Var, column: rx.Var) -> rx.Component:
    value = row[column["key"]].to(str)
    return rx.table.cell(
        rx.cond(value != "", value, rx.text("—", as_="span", color=rx.color("gray", 8))),
        custom_attrs={"data-column": column["key"]},
        title=value,  # the whole value when the cell cuts it short
        text_align=column["align"],
        font_weight=rx.cond(column["emphasis"] == "yes", "500", "400"),
        color=rx.cond(column["emphasis"] == "yes", rx.color("gray", 12), rx.color("gray", 11)),
        white_space="nowrap",
        max_width="320px",
        overflow="hidden",
        text_overflow="ellipsis",
    )


def _row(state: Browser, row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.foreach(state.header, lambda column: _cell(row, column)),
        id=f"row-{row['id']}",
        on_click=state.open_record(row["id"]),
        cursor="pointer",
        background=rx.cond(state.selected_id == row["id"], rx.color("accent", 3), "transparent"),
        _hover={"background": rx.color("accent", 2)},
    )


def _empty(state: Browser) -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.icon("search-x", size=28, color=rx.color("gray", 8)),
            rx.cond(
                state.search != "",
                rx.text("No ", state.entity, " match this search.", size="2", color=MUTED),
                rx.text("No ", state.entity, " in this workspace yet.", size="2", color=MUTED),
            ),
            align="center",
            spacing="2",
        ),
        id="records-empty",
        padding="48px",
        width="100%",
    )


def records_table(state: Browser, empty: rx.Component | None = None) -> rx.Component:
    """One page of rows with sortable headers; `empty` replaces the "no records" notice.

    Any state with the attributes used here fits (the segment builder's member table too).
    """
    return rx.box(
        rx.table.root(
            rx.table.header(
                rx.table.row(rx.foreach(state.header, lambda column: _header_cell(state, column))),
            ),
            rx.table.body(rx.foreach(state.rows, lambda row: _row(state, row))),
            id="records-table",
            variant="ghost",
            size="1",
            width="100%",
        ),
        # After a failed query the callout above says why; "no companies" would mislead.
        rx.cond((state.rows.length() == 0) & (state.error == ""), _empty(state) if empty is None else empty),
        width="100%",
        max_height="calc(100vh - 210px)",
        overflow="auto",
        border=f"1px solid {rx.color('gray', 5)}",
        border_radius="8px",
        background=rx.color("gray", 1),
    )


def records_pager(state: Browser) -> rx.Component:
    return rx.hstack(
        rx.text(
            rx.text(state.range_label, id="page-range", as_="span"),
            rx.cond(state.rows.length() > 0, rx.text(" of ", state.count_label, as_="span")),
            size="2",
            color=MUTED,
        ),
        rx.spacer(),
        rx.button(
            rx.icon("chevron-left", size=15),
            "Previous",
            id="prev-page",
            on_click=state.prev_page,
            disabled=state.page_index == 0,
            variant="surface",
            color_scheme="gray",
            size="2",
        ),
        rx.button(
            "Next",
            rx.icon("chevron-right", size=15),
            id="next-page",
            on_click=state.next_page,
            disabled=~state.has_next,
            variant="surface",
            color_scheme="gray",
            size="2",
        ),
        align="center",
        spacing="2",
        width="100%",
    )


def _detail_field(field: rx.Var) -> rx.Component:
    value = field["value"]
    return rx.data_list.item(
        rx.data_list.label(field["label"], min_width="140px"),
        rx.data_list.value(
            rx.cond(value != "", value, rx.text("—", as_="span", color=rx.color("gray", 8))),
            word_break="break-word",
        ),
        custom_attrs={"data-field": field["key"]},
    )


def record_drawer(state: Browser) -> rx.Component:
    """A side panel with every field of the selected record; rows stay clickable beside it."""
    return rx.cond(
        state.drawer_open,
        rx.vstack(
            side_panel_header(state.singular, state.detail_title, state.close_record, "record-drawer"),
            rx.separator(size="4"),
            error_callout(state.detail_error, "record-drawer-error"),
            rx.data_list.root(rx.foreach(state.detail, _detail_field), size="2", width="100%"),
            rx.cond(
                state.detail_custom.length() > 0,
                rx.vstack(
                    rx.text("Custom and enriched fields", size="2", weight="medium",
                            color=rx.color("gray", 11)),
                    rx.data_list.root(
                        rx.foreach(state.detail_custom, _detail_field), size="2", width="100%",
                    ),
                    id="record-drawer-custom",
                    spacing="3",
                    width="100%",
                    padding_top="12px",
                    border_top=f"1px solid {rx.color('gray', 4)}",
                ),
            ),
            **side_panel_style("record-drawer", "Record"),
        ),
    )


def side_panel_header(kicker, title, on_close, element_id: str) -> rx.Component:
    """A side panel's kicker, title (`<id>-title`) and close button (`<id>-close`)."""
    return rx.hstack(
        rx.vstack(
            rx.text(kicker, size="1", weight="medium", color=MUTED, text_transform="uppercase", letter_spacing="0.06em"),
            rx.heading(title, size="5", id=f"{element_id}-title"),
            spacing="1",
            min_width="0",
        ),
        rx.spacer(),
        rx.icon_button(
            rx.icon("x", size=16),
            on_click=on_close,
            id=f"{element_id}-close",
            variant="ghost",
            color_scheme="gray",
            aria_label="Close",
        ),
        width="100%",
        align="start",
    )


def side_panel_style(element_id: str, label: str) -> dict:
    """A panel fixed to the right edge over the page (the rows stay clickable beside it)."""
    return {
        "id": element_id,
        "role": "dialog",
        "aria_label": label,
        "spacing": "4",
        "position": "fixed",
        "top": "0",
        "right": "0",
        "height": "100vh",
        "width": "460px",
        "max_width": "100vw",
        "padding": "20px 24px",
        "overflow_y": "auto",
        "background": rx.color("gray", 1),
        "border_left": f"1px solid {rx.color('gray', 5)}",
        "box_shadow": "-12px 0 32px rgba(15, 23, 42, 0.08)",
        "z_index": "30",
    }


def record_browser(state: Browser) -> rx.Component:
    return rx.vstack(
        error_callout(state.error, "records-error"),
        _toolbar(state),
        records_table(state),
        records_pager(state),
        record_drawer(state),
        spacing="3",
        width="100%",
    )
