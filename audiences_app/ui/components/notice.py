"""Notices: an error a user can act on, and the description of a section not built yet."""

from __future__ import annotations

import reflex as rx


def error_callout(message: rx.Var[str], element_id: str) -> rx.Component:
    """A red callout showing `message`, or nothing while it is empty."""
    return rx.cond(
        message != "",
        rx.callout(
            message,
            icon="circle-alert",
            color_scheme="red",
            role="alert",
            id=element_id,
            width="100%",
        ),
    )


def planned_section(summary: str, coming: list[str]) -> rx.Component:
    """What a section of the app will do once it is built; states plainly that it is not yet."""
    return rx.card(
        rx.vstack(
            rx.badge("Not built yet", color_scheme="gray", variant="soft", radius="full"),
            rx.text(summary, size="3", color=rx.color("gray", 12)),
            rx.text("What will come here", size="2", weight="medium", color=rx.color("gray", 11)),
            rx.el.ul(
                *(rx.el.li(rx.text(point, size="2", color=rx.color("gray", 11))) for point in coming),
                style={"paddingLeft": "1.2em", "listStyle": "disc", "display": "grid", "gap": "6px"},
            ),
            spacing="3",
            align="start",
        ),
        id="planned-section",
        size="3",
        max_width="720px",
    )
