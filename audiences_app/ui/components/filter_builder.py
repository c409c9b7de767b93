"""The filter builder: the flat node list drawn as an indented tree of groups and conditions.

Each row is one node of SegmentBuilderState.nodes. A group row has its AND/OR switch, NOT,
and the buttons that add to it; a condition row has its field picker, operator, the value
inputs its operator takes, its clause count and its problem, if any. Indent guides (one per
level) draw the nesting, since the rows themselves are not nested.
"""

from __future__ import annotations

import reflex as rx

from audiences_app.core.segments import operators_for
from audiences_app.ui.filter_tree import UNITS
from audiences_app.ui.state.segment_builder import TYPE_GROUPS, SegmentBuilderState as S

MUTED = rx.color("gray", 10)
INDENT_PX = 22
# The operator menu of each field type, rendered once into the page (no state needed).
OPERATOR_MENU = rx.Var.create({
    field_type: [{"key": op.key, "label": op.label} for op in operators_for(field_type)]
    for field_type, _ in TYPE_GROUPS
})
TYPE_ICONS = {
    "text": "type", "number": "hash", "date": "calendar", "datetime": "calendar-clock",
    "boolean": "toggle-left", "list": "tags", "segment": "funnel",
}


def _type_icon(field_type: rx.Var) -> rx.Component:
    return rx.match(
        field_type,
        *((key, rx.icon(icon, size=14, color=MUTED)) for key, icon in TYPE_ICONS.items()),
        rx.icon("list-filter", size=14, color=MUTED),
    )


# -- pieces shared by group and condition rows ---------------------------------------------------

def _guides(node: rx.Var) -> rx.Component:
    """One vertical line per level of nesting, so that each group's extent is visible."""
    return rx.foreach(
        rx.Var.range(node["depth"].to(int) - 1),
        lambda _: rx.box(
            width=f"{INDENT_PX}px",
            min_width=f"{INDENT_PX}px",
            align_self="stretch",
            border_left=f"2px solid {rx.color('gray', 5)}",
            margin_left="10px",
        ),
    )


def _lead(node: rx.Var) -> rx.Component:
    """'Where' before a group's first member, then that group's 'and' / 'or'."""
    return rx.text(
        node["lead"],
        size="1",
        weight="medium",
        color=rx.cond(node["lead"] == "or", rx.color("amber", 11), rx.color("gray", 10)),
        text_transform="uppercase",
        letter_spacing="0.05em",
        width="60px",
        min_width="60px",
        white_space="nowrap",
        text_align="right",
        padding_right="10px",
    )


def _not_toggle(node: rx.Var) -> rx.Component:
    return rx.button(
        "NOT",
        on_click=S.toggle_not(node["id"]),
        id=f"not-{node['id']}",
        size="1",
        variant=rx.cond(node["negated"], "solid", "soft"),
        color_scheme=rx.cond(node["negated"], "red", "gray"),
        title="Match the records this does not match",
        custom_attrs={"aria-pressed": rx.cond(node["negated"], "true", "false")},
        font_family="ui-monospace, SFMono-Regular, Menlo, monospace",
        letter_spacing="0.04em",
    )


def _clause_count(node: rx.Var) -> rx.Component:
    return rx.cond(
        node["count"] != "",
        rx.tooltip(
            rx.badge(
                rx.icon("filter", size=11),
                node["count"],
                id=f"clause-count-{node['id']}",
                variant="soft",
                color_scheme="indigo",
                radius="full",
                size="1",
            ),
            content=node["count_hint"],
        ),
        rx.cond(S.counts_pending & (node["problem"] == ""), rx.spinner(size="1")),
    )


def _row_actions(node: rx.Var) -> rx.Component:
    def action(icon: str, name: str, label: str, event, disabled=False) -> rx.Component:
        return rx.icon_button(
            rx.icon(icon, size=14),
            on_click=event,
            id=f"{name}-{node['id']}",
            disabled=disabled,
            variant="ghost",
            color_scheme="gray",
            size="1",
            title=label,
            aria_label=label,
        )

    return rx.hstack(
        action("arrow-up", "move-up", "Move up", S.move_node(node["id"], "up"), node["first"]),
        action("arrow-down", "move-down", "Move down", S.move_node(node["id"], "down"), node["last"]),
        action("trash-2", "remove", "Remove", S.remove_node(node["id"])),
        spacing="2",
        align="center",
        padding_left="4px",
    )


# -- group rows ----------------------------------------------------------------------------------

def _group_row(node: rx.Var) -> rx.Component:
    is_root = node["parent"] == ""
    return rx.hstack(
        rx.cond(is_root, rx.fragment(), _lead(node)),
        _not_toggle(node),
        rx.segmented_control.root(
            rx.segmented_control.item("AND", value="and"),
            rx.segmented_control.item("OR", value="or"),
            value=node["group"],
            on_change=lambda kind: S.set_group_kind(node["id"], kind),
            id=f"group-kind-{node['id']}",
            size="1",
        ),
        rx.text(
            rx.cond(node["group"] == "and", "all of these match", "any of these match"),
            size="2",
            color=MUTED,
        ),
        rx.cond(
            node["problem"] != "",
            rx.text(node["problem"], id=f"problem-{node['id']}", size="1", color=rx.color("gray", 10)),
        ),
        rx.spacer(),
        rx.cond(is_root, rx.fragment(), _clause_count(node)),
        rx.button(
            rx.icon("plus", size=14), "Condition",
            on_click=S.add_condition(node["id"]),
            id=f"add-condition-{node['id']}",
            size="1",
            variant="soft",
        ),
        rx.button(
            rx.icon("list-tree", size=14), "Group",
            on_click=S.add_group(node["id"]),
            id=f"add-group-{node['id']}",
            size="1",
            variant="soft",
            color_scheme="gray",
        ),
        rx.cond(is_root, rx.fragment(), _row_actions(node)),
        align="center",
        spacing="2",
        flex="1",
        min_width="0",
        padding="6px 8px",
        border_radius="6px",
        background=rx.cond(is_root, "transparent", rx.color("gray", 2)),
        border=rx.cond(is_root, "none", f"1px solid {rx.color('gray', 4)}"),
    )


# -- condition rows: field, operator, value --------------------------------------------------------

def _field_item(node: rx.Var, item: rx.Var) -> rx.Component:
    return rx.cond(
        item["kind"] == "heading",
        rx.text(
            item["label"], size="1", weight="medium", color=MUTED, text_transform="uppercase",
            letter_spacing="0.06em", padding="10px 8px 4px",
        ),
        rx.popover.close(
            rx.el.button(
                _type_icon(item["type"]),
                rx.text(item["label"], size="2", as_="span"),
                rx.spacer(),
                rx.text(item["key"], size="1", color=rx.color("gray", 9), as_="span",
                        font_family="ui-monospace, SFMono-Regular, Menlo, monospace"),
                on_click=S.set_field(node["id"], item["key"]),
                id=f"field-option-{item['key']}",
                style={
                    "all": "unset", "boxSizing": "border-box", "display": "flex", "alignItems": "center",
                    "gap": "8px", "width": "100%", "padding": "6px 8px", "borderRadius": "4px",
                    "cursor": "pointer", "_hover": {"background": rx.color("accent", 3)},
                },
                custom_attrs={"data-field": item["key"]},
            ),
        ),
    )


def _field_picker(node: rx.Var) -> rx.Component:
    """A searchable list of the catalog's fields, grouped by type."""
    return rx.popover.root(
        rx.popover.trigger(
            rx.button(
                rx.cond(node["field"] != "", _type_icon(node["field_type"]), rx.icon("plus", size=14)),
                rx.text(
                    rx.cond(node["field"] != "", node["field_label"], "Choose field"),
                    as_="span", overflow="hidden", text_overflow="ellipsis", white_space="nowrap",
                ),
                rx.icon("chevron-down", size=14, color=MUTED),
                id=f"field-select-{node['id']}",
                variant="surface",
                color_scheme=rx.cond(node["field"] != "", "gray", "indigo"),
                size="2",
                width="210px",
                justify_content="start",
            ),
        ),
        rx.popover.content(
            rx.vstack(
                rx.input(
                    rx.input.slot(rx.icon("search", size=14, color=MUTED)),
                    placeholder="Search fields",
                    value=S.field_search,
                    on_change=S.set_field_search,
                    id="field-search",
                    size="2",
                    width="100%",
                    auto_focus=True,
                ),
                rx.box(
                    rx.foreach(S.field_menu, lambda item: _field_item(node, item)),
                    rx.cond(
                        S.field_menu.length() == 0,
                        rx.text("No field matches.", size="2", color=MUTED, padding="8px"),
                    ),
                    max_height="340px",
                    overflow_y="auto",
                    width="100%",
                ),
                spacing="2",
                width="100%",
            ),
            id="field-menu",
            width="340px",
            align="start",
            padding="8px",
        ),
        on_open_change=lambda _: S.set_field_search(""),
    )


def _operator_select(node: rx.Var) -> rx.Component:
    return rx.select.root(
        rx.select.trigger(id=f"op-select-{node['id']}", width="170px"),
        rx.select.content(
            rx.foreach(
                OPERATOR_MENU[node["field_type"]].to(list[dict[str, str]]),
                lambda op: rx.select.item(op["label"], value=op["key"], id=f"op-option-{op['key']}"),
            ),
        ),
        value=node["op"],
        on_change=lambda op: S.set_operator(node["id"], op),
        size="2",
    )


def _input(node: rx.Var, *, second: bool = False, **props) -> rx.Component:
    """One typed-in value, sent after a pause in typing (or at Enter)."""
    key = "value2" if second else "value"
    handler = S.set_value2 if second else S.set_value
    return rx.input(
        value=node[key],
        on_change=lambda value: handler(node["id"], value),
        debounce_timeout=450,
        id=f"value-input{'2' if second else ''}-{node['id']}",
        max_length=1000,
        size="2",
        **props,
    )


def _and() -> rx.Component:
    return rx.text("and", size="2", color=MUTED)


def _chip(node: rx.Var, value: rx.Var) -> rx.Component:
    return rx.badge(
        value,
        rx.icon(
            "x", size=12, cursor="pointer",
            on_click=S.remove_list_value(node["id"], value),
            aria_label="Remove value",
        ),
        variant="soft",
        color_scheme="indigo",
        size="2",
        radius="full",
        custom_attrs={"data-chip": value},
        class_name="value-chip",
    )


def _list_input(node: rx.Var) -> rx.Component:
    """Chosen values as chips, and a box to add one (Enter) or pick a suggestion."""
    return rx.hstack(
        rx.foreach(node["values"].to(list[str]), lambda value: _chip(node, value)),
        rx.el.form(
            rx.el.input(
                name="value",
                placeholder=rx.cond(node["values"].to(list[str]).length() == 0, "Type a value, press Enter", "Add…"),
                id=f"value-input-{node['id']}",
                max_length=1000,
                auto_complete="off",
                on_focus=S.suggest(node["id"], ""),
                on_blur=S.close_suggestions,
                on_change=lambda text: S.suggest(node["id"], text).debounce(300),
                style={
                    "border": "none", "outline": "none", "background": "transparent", "minWidth": "140px",
                    "fontSize": "14px", "padding": "4px 2px", "color": rx.color("gray", 12),
                },
            ),
            # The node's id rides in the form: a handler closing over `node` would be hoisted
            # out of the foreach by Reflex, where `node` does not exist.
            rx.el.input(type="hidden", name="node", value=node["id"]),
            on_submit=S.submit_list_value,
            reset_on_submit=True,
        ),
        wrap="wrap",
        spacing="1",
        align="center",
        flex="1",
        min_width="240px",
        max_width="560px",
        padding="3px 6px",
        border=f"1px solid {rx.color('gray', 7)}",
        border_radius="6px",
        background=rx.color("gray", 1),
        id=f"value-box-{node['id']}",
    )


def _relative(node: rx.Var) -> rx.Component:
    return rx.hstack(
        _input(node, type="number", min="1", step="1", width="90px", placeholder="30"),
        rx.select.root(
            rx.select.trigger(id=f"unit-select-{node['id']}", width="110px"),
            rx.select.content(*(rx.select.item(f"{unit}s", value=unit) for unit in UNITS)),
            value=rx.cond(node["value2"] != "", node["value2"], "day"),
            on_change=lambda unit: S.set_value2(node["id"], unit),
            size="2",
        ),
        spacing="2",
        align="center",
    )


def _segment_select(node: rx.Var) -> rx.Component:
    return rx.select.root(
        rx.select.trigger(placeholder="Choose a segment", id=f"value-input-{node['id']}", width="240px"),
        rx.select.content(
            rx.foreach(S.segment_options, lambda option: rx.select.item(option["name"], value=option["id"])),
        ),
        value=node["value"],
        on_change=lambda value: S.set_value(node["id"], value),
        size="2",
    )


def _value(node: rx.Var) -> rx.Component:
    """The inputs the operator takes: none, text, a list, a number or range, dates, an amount."""
    return rx.match(
        node["shape"],
        ("text", _input(
            node, placeholder="Value", width="220px", on_focus=S.suggest(node["id"], ""),
            on_blur=S.close_suggestions,
        )),
        ("text_list", _list_input(node)),
        ("number", _input(node, type="number", placeholder="0", width="130px")),
        ("number_range", rx.hstack(
            _input(node, type="number", placeholder="from", width="110px"), _and(),
            _input(node, second=True, type="number", placeholder="to", width="110px"),
            spacing="2", align="center",
        )),
        ("date", _input(node, type="date", width="160px")),
        ("date_range", rx.hstack(
            _input(node, type="date", width="160px"), _and(),
            _input(node, second=True, type="date", width="160px"),
            spacing="2", align="center",
        )),
        ("relative", _relative(node)),
        ("segment", _segment_select(node)),
        rx.fragment(),
    )


def _suggestions(node: rx.Var) -> rx.Component:
    """The field's most common values under the box being typed in; a click picks one."""
    return rx.cond(
        (S.suggestions_for == node["id"]) & (S.suggestions.length() > 0),
        rx.hstack(
            rx.text("Suggestions", size="1", color=MUTED, weight="medium", padding_right="4px"),
            rx.foreach(
                S.suggestions,
                lambda item: rx.button(
                    item["value"],
                    rx.text(item["count"], as_="span", size="1", color=rx.color("gray", 9)),
                    on_click=S.pick_suggestion(node["id"], item["value"]),
                    # Keep the focus in the value box, so that the suggestions stay open.
                    on_mouse_down=rx.prevent_default,
                    size="1",
                    variant=rx.cond(node["values"].to(list[str]).contains(item["value"]), "soft", "outline"),
                    color_scheme=rx.cond(node["values"].to(list[str]).contains(item["value"]), "indigo", "gray"),
                    radius="full",
                    custom_attrs={"data-suggestion": item["value"]},
                ),
            ),
            id=f"suggestions-{node['id']}",
            wrap="wrap",
            spacing="1",
            align="center",
            max_height="96px",
            overflow_y="auto",
            padding_top="6px",
            padding_left="68px",
        ),
    )


def _condition_row(node: rx.Var) -> rx.Component:
    return rx.vstack(
        rx.hstack(
            _lead(node),
            _not_toggle(node),
            _field_picker(node),
            rx.cond(node["field"] != "", _operator_select(node)),
            rx.cond(node["field"] != "", _value(node)),
            rx.hstack(_clause_count(node), _row_actions(node), spacing="2", align="center", margin_left="auto"),
            align="center",
            spacing="2",
            wrap="wrap",
            width="100%",
        ),
        rx.cond(
            node["problem"] != "",
            rx.text(
                rx.cond(node["invalid"], rx.icon("circle-alert", size=13), rx.icon("info", size=13)),
                node["problem"],
                id=f"problem-{node['id']}",
                size="1",
                color=rx.cond(node["invalid"], rx.color("red", 11), rx.color("gray", 10)),
                custom_attrs={"data-invalid": rx.cond(node["invalid"], "true", "false")},
                display="flex",
                align_items="center",
                gap="4px",
                padding_left="68px",
            ),
        ),
        _suggestions(node),
        spacing="0",
        flex="1",
        min_width="0",
        padding="4px 8px",
        border_radius="6px",
        background=rx.cond(node["invalid"], rx.color("red", 2), "transparent"),
        _hover={"background": rx.cond(node["invalid"], rx.color("red", 2), rx.color("gray", 2))},
    )


def _node_row(node: rx.Var) -> rx.Component:
    return rx.hstack(
        _guides(node),
        rx.cond(node["kind"] == "group", _group_row(node), _condition_row(node)),
        id=f"node-{node['id']}",
        custom_attrs={"data-kind": node["kind"], "data-depth": node["depth"].to_string()},
        spacing="0",
        align="stretch",
        width="100%",
    )


def _empty_hint() -> rx.Component:
    return rx.cond(
        S.nodes.length() == 1,
        rx.text(
            "No conditions yet: every ", rx.cond(S.entity == "people", "person", "company"),
            " matches. Add a condition, or a group of conditions to combine with OR.",
            size="2", color=MUTED, padding="6px 0 4px 12px", id="builder-empty",
        ),
    )


def filter_builder() -> rx.Component:
    return rx.vstack(
        rx.foreach(S.nodes, _node_row),
        _empty_hint(),
        id="builder-root",
        spacing="1",
        width="100%",
    )
