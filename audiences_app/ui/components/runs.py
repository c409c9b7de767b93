"""Pieces the Enrichments, Jobs and Credits pages share: status badges, stat tiles, tables."""

from __future__ import annotations

import reflex as rx

MUTED = rx.color("gray", 10)
BORDER = f"1px solid {rx.color('gray', 5)}"


def status_badge(status: rx.Var, element_id: str | rx.Var | None = None) -> rx.Component:
    return rx.badge(
        status,
        color_scheme=rx.match(
            status,
            ("succeeded", "green"), ("running", "blue"), ("queued", "gray"), ("paused", "amber"),
            ("failed", "red"), ("cancelled", "gray"), ("done", "green"), ("skipped", "gray"),
            "gray",
        ),
        variant="soft",
        radius="full",
        id=element_id,
        custom_attrs={"data-status": status},
    )


def stat(label: str, value: rx.Var | str, element_id: str, hint: rx.Var | str | None = None) -> rx.Component:
    return rx.vstack(
        rx.text(label, size="1", weight="medium", color=MUTED),
        rx.text(value, size="5", weight="bold", id=element_id, font_variant_numeric="tabular-nums"),
        rx.text(hint, size="1", color=MUTED) if hint is not None else rx.fragment(),
        spacing="0",
        min_width="96px",
    )


def table(headers: list[tuple[str, str]], body: rx.Component, element_id: str, empty: rx.Component | None = None,
          empty_when: rx.Var | None = None) -> rx.Component:
    return rx.box(
        rx.table.root(
            rx.table.header(rx.table.row(*(
                rx.table.column_header_cell(
                    rx.text(label, size="1", weight="medium", color=rx.color("gray", 11)),
                    text_align=align, background=rx.color("gray", 2), white_space="nowrap",
                )
                for label, align in headers
            ))),
            rx.table.body(body),
            id=element_id,
            variant="ghost",
            size="1",
            width="100%",
        ),
        rx.cond(empty_when, empty) if empty is not None and empty_when is not None else rx.fragment(),
        width="100%",
        border=BORDER,
        border_radius="8px",
        background=rx.color("gray", 1),
        overflow_x="auto",
    )


def empty_state(icon: str, title: str, text: str, element_id: str) -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.icon(icon, size=28, color=rx.color("gray", 8)),
            rx.text(title, size="3", weight="medium"),
            rx.text(text, size="2", color=MUTED, text_align="center", max_width="440px"),
            align="center",
            spacing="2",
        ),
        id=element_id,
        padding="36px",
        width="100%",
    )


def num_cell(value: rx.Var, **props) -> rx.Component:
    return rx.table.cell(value, text_align="right", font_variant_numeric="tabular-nums", white_space="nowrap", **props)


def section(title: str, *children: rx.Component, actions: rx.Component | None = None,
            element_id: str | None = None) -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.heading(title, as_="h2", size="4", weight="bold"),
            rx.spacer(),
            actions if actions is not None else rx.fragment(),
            align="center",
            width="100%",
        ),
        *children,
        spacing="3",
        width="100%",
        id=element_id,
    )


def notice_callout(message: rx.Var, element_id: str) -> rx.Component:
    return rx.cond(
        message != "",
        rx.callout(message, icon="circle-check", color_scheme="green", size="1", id=element_id, width="100%"),
    )


def progress_bar(percent: rx.Var, element_id: str | None = None, width: str = "100%", height: str = "8px") -> rx.Component:
    """A bar filled to `percent` (a string of 0–100), drawn without animation so it is exact."""
    return rx.box(
        rx.box(
            width=percent.to(str) + "%",
            height="100%",
            background=rx.color("accent", 9),
            border_radius="999px",
        ),
        id=element_id,
        custom_attrs={"data-percent": percent},
        width=width,
        height=height,
        background=rx.color("gray", 4),
        border_radius="999px",
        overflow="hidden",
    )
