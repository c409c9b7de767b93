"""Data Hub: every catalog field with its health (fill rate, values, last update), custom fields,
and the way into the import wizard."""

from __future__ import annotations

import reflex as rx

from audiences_app.core.fields import CUSTOM_TYPES
from audiences_app.ui import routes
from audiences_app.ui.components.notice import error_callout
from audiences_app.ui.components.record_browser import side_panel_header, side_panel_style
from audiences_app.ui.components.shell import page_shell
from audiences_app.ui.state.data_hub import DataHubState as S

MUTED = rx.color("gray", 10)
SOURCE_COLORS = {"core": "gray", "import": "blue", "crm": "orange", "enrichment": "purple", "custom": "green"}


def _tab(entity: str, label: str) -> rx.Component:
    active = S.entity == entity
    return rx.button(
        label,
        id=f"data-hub-tab-{entity}",
        on_click=S.set_entity(entity),
        variant=rx.cond(active, "solid", "soft"),
        color_scheme=rx.cond(active, "indigo", "gray"),
        size="2",
        custom_attrs={"data-active": rx.cond(active, "true", "false")},
    )


def _source_badge(source: rx.Var) -> rx.Component:
    return rx.match(
        source,
        *((name, rx.badge(name, color_scheme=color, variant="soft", radius="full"))
          for name, color in SOURCE_COLORS.items()),
        rx.badge(source, color_scheme="gray", variant="soft", radius="full"),
    )


def _fill(row: rx.Var) -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.text(row["percent"], size="2", weight="medium"),
            rx.text(row["filled"], size="1", color=MUTED),
            spacing="2",
            align="baseline",
        ),
        rx.box(
            rx.box(width=row["bar"], height="100%", background=rx.color("indigo", 9), border_radius="3px"),
            width="120px",
            height="6px",
            background=rx.color("gray", 4),
            border_radius="3px",
            overflow="hidden",
        ),
        spacing="1",
        custom_attrs={"data-fill": row["percent"]},
    )


def _field_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.vstack(
                rx.hstack(
                    rx.text(row["label"], size="2", weight="medium"),
                    rx.cond(row["hidden"], rx.badge("hidden", color_scheme="gray", variant="outline", size="1")),
                    spacing="2",
                    align="center",
                ),
                rx.code(row["key"], size="1", variant="ghost", color_scheme="gray"),
                spacing="0",
            ),
        ),
        rx.table.cell(rx.text(row["type"], size="2", color=MUTED)),
        rx.table.cell(_source_badge(row["source"])),
        rx.table.cell(_fill(row)),
        rx.table.cell(
            rx.cond(
                row["values"] != "",
                rx.text(row["values"], size="1", color=rx.color("gray", 11), max_width="320px", trim="end"),
                rx.text("—", size="1", color=rx.color("gray", 8)),
            ),
            max_width="340px",
        ),
        rx.table.cell(rx.text(row["updated"], size="1", color=MUTED, white_space="nowrap")),
        id="field-row-" + row["key"].to(str),
        custom_attrs={"data-hidden": rx.cond(row["hidden"], "true", "false")},
        on_click=S.open_field(row["key"]),
        cursor="pointer",
        opacity=rx.cond(row["hidden"], "0.6", "1"),
        background=rx.cond(S.detail_open & (S.detail_key == row["key"]), rx.color("accent", 3), "transparent"),
        _hover={"background": rx.color("accent", 2)},
    )


def _fields_table() -> rx.Component:
    head = ["Field", "Type", "Source", "Fill rate", "Values (low cardinality)", "Last updated"]
    return rx.box(
        rx.table.root(
            rx.table.header(rx.table.row(*(rx.table.column_header_cell(h) for h in head))),
            rx.table.body(rx.foreach(S.field_rows, _field_row)),
            id="fields-table",
            variant="ghost",
            size="1",
            width="100%",
        ),
        width="100%",
        border=f"1px solid {rx.color('gray', 5)}",
        border_radius="8px",
        background=rx.color("gray", 1),
        overflow="auto",
    )


def _add_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Add a custom field"),
            rx.dialog.description(
                "Its values live on each record; imports and enrichments can fill it.", size="2", color=MUTED,
            ),
            rx.el.form(
                rx.vstack(
                    rx.text("Label", size="2", weight="medium"),
                    rx.input(value=S.new_label, on_change=S.set_new_label, id="new-field-label",
                             placeholder="e.g. Lead score", width="100%", auto_focus=True),
                    rx.text("Type", size="2", weight="medium"),
                    rx.select(list(CUSTOM_TYPES), value=S.new_type, on_change=S.set_new_type, id="new-field-type"),
                    error_callout(S.add_error, "add-field-error"),
                    rx.hstack(
                        rx.dialog.close(rx.button("Cancel", variant="soft", color_scheme="gray", type="button")),
                        rx.button("Add field", type="submit", id="add-field-submit"),
                        justify="end",
                        width="100%",
                    ),
                    spacing="3",
                    width="100%",
                ),
                on_submit=S.create_field,
            ),
            max_width="440px",
            id="add-field-dialog",
        ),
        open=S.add_open,
        on_open_change=S.set_add_open,
    )


def _detail() -> rx.Component:
    editable = ~S.detail_is_core
    return rx.cond(
        S.detail_open,
        rx.vstack(
            side_panel_header(S.detail_key, S.detail_label, S.close_field, "field-detail"),
            rx.hstack(
                rx.badge(S.detail_type, variant="soft", color_scheme="gray"),
                _source_badge(S.detail_source),
                rx.cond(S.detail_hidden, rx.badge("hidden", variant="outline", color_scheme="gray")),
                spacing="2",
            ),
            rx.separator(size="4"),
            error_callout(S.detail_error, "field-detail-error"),
            rx.text("Value distribution", size="2", weight="medium"),
            rx.cond(
                S.chart.length() > 0,
                rx.box(
                    rx.recharts.bar_chart(
                        rx.recharts.cartesian_grid(stroke_dasharray="3 3", vertical=False),
                        rx.recharts.x_axis(type_="number", allow_decimals=False),
                        rx.recharts.y_axis(data_key="value", type_="category", width=130, interval=0,
                                           tick={"fontSize": 11}),
                        rx.recharts.graphing_tooltip(),
                        rx.recharts.bar(data_key="count", fill=rx.color("indigo", 9), radius=[0, 3, 3, 0],
                                        is_animation_active=False),
                        data=S.chart,
                        layout="vertical",
                        width="100%",
                        height=360,
                        margin={"left": 0, "right": 12, "top": 4, "bottom": 4},
                    ),
                    id="field-chart",
                    width="100%",
                ),
            ),
            rx.cond(S.chart_note != "", rx.text(S.chart_note, size="1", color=MUTED, id="field-chart-note")),
            rx.cond(
                editable,
                rx.vstack(
                    rx.separator(size="4"),
                    rx.text("Edit custom field", size="2", weight="medium"),
                    rx.text("Label", size="1", color=MUTED),
                    rx.input(value=S.edit_label, on_change=S.set_edit_label, id="edit-field-label", width="100%"),
                    rx.text("Description", size="1", color=MUTED),
                    rx.text_area(value=S.edit_description, on_change=S.set_edit_description,
                                 id="edit-field-description", width="100%", rows="3"),
                    rx.hstack(
                        rx.button("Save", on_click=S.save_field, id="save-field", size="2"),
                        rx.button(
                            rx.cond(S.detail_hidden, "Show field", "Hide field"),
                            on_click=S.toggle_hidden,
                            id="toggle-field-hidden",
                            variant="soft",
                            color_scheme="gray",
                            size="2",
                        ),
                        spacing="2",
                    ),
                    rx.text("Hiding never deletes data: the values stay on every record.", size="1", color=MUTED),
                    spacing="2",
                    width="100%",
                ),
                rx.text(S.detail_description, size="2", color=MUTED),
            ),
            **side_panel_style("field-detail", "Field"),
        ),
    )


def page() -> rx.Component:
    return page_shell(
        rx.vstack(
            error_callout(S.error, "data-hub-error"),
            rx.hstack(
                _tab("companies", "Companies"),
                _tab("people", "People"),
                rx.text(S.total_label, size="2", color=MUTED, id="data-hub-total", padding_left="8px"),
                rx.cond(S.loading, rx.spinner(size="2")),
                rx.spacer(),
                rx.button(rx.icon("plus", size=15), "Custom field", on_click=S.open_add, id="open-add-field",
                          variant="soft", size="2"),
                align="center",
                spacing="2",
                width="100%",
            ),
            rx.cond(S.notice != "", rx.callout(S.notice, icon="check", color_scheme="green", size="1",
                                               id="data-hub-notice", width="100%")),
            rx.cond(S.incomplete != "", rx.callout(S.incomplete, icon="clock", color_scheme="amber", size="1",
                                                   id="data-hub-incomplete", width="100%")),
            _fields_table(),
            _add_dialog(),
            _detail(),
            spacing="3",
            width="100%",
        ),
        title="Data Hub",
        route=routes.DATA_HUB,
        description="Every field of your records: where it comes from and how full it is.",
        actions=rx.link(
            rx.button(rx.icon("upload", size=15), "Import a file", size="2", id="open-import"),
            href=routes.DATA_HUB_IMPORT,
        ),
    )
