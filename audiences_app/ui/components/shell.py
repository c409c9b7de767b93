"""The frame of every page: the sidebar with the app's sections, and a header with the title."""

from __future__ import annotations

from dataclasses import dataclass

import reflex as rx

from audiences_app.ui import routes

SIDEBAR_WIDTH = "232px"


@dataclass(frozen=True)
class NavItem:
    name: str  # the stable part of the element id: nav-<name>
    label: str
    route: str
    icon: str


NAV_GROUPS: list[tuple[str, list[NavItem]]] = [
    ("Audiences", [
        NavItem("companies", "Companies", routes.COMPANIES, "building-2"),
        NavItem("people", "People", routes.PEOPLE, "users"),
    ]),
    ("Workspace", [
        NavItem("segments", "Segments", routes.SEGMENTS, "funnel"),
        NavItem("tables", "Tables", routes.TABLES, "table-2"),
        NavItem("enrichments", "Enrichments", routes.ENRICHMENTS, "sparkles"),
    ]),
    ("Operations", [
        NavItem("jobs", "Jobs", routes.JOBS, "list-checks"),
        NavItem("credits", "Credits", routes.CREDITS, "coins"),
        NavItem("data-hub", "Data Hub", routes.DATA_HUB, "database"),
    ]),
]
SETTINGS_ITEM = NavItem("settings", "Settings", routes.SETTINGS, "settings")


def _nav_link(item: NavItem, active_route: str) -> rx.Component:
    active = item.route == active_route
    return rx.link(
        rx.hstack(
            rx.icon(item.icon, size=16, stroke_width=1.75),
            rx.text(item.label, size="2", weight="medium" if active else "regular"),
            align="center",
            spacing="2",
        ),
        href=item.route,
        id=f"nav-{item.name}",
        custom_attrs={"data-active": "true" if active else "false"},
        underline="none",
        color=rx.color("accent", 11) if active else rx.color("gray", 11),
        background=rx.color("accent", 3) if active else "transparent",
        border_radius="6px",
        padding="6px 10px",
        width="100%",
        display="block",
        _hover={
            "background": rx.color("accent", 4) if active else rx.color("gray", 3),
            "color": rx.color("accent", 11) if active else rx.color("gray", 12),
        },
    )


def _nav_group(title: str, items: list[NavItem], active_route: str) -> rx.Component:
    return rx.vstack(
        rx.text(
            title.upper(), size="1", weight="medium", color=rx.color("gray", 9),
            letter_spacing="0.06em", padding_x="10px",
        ),
        *(_nav_link(item, active_route) for item in items),
        spacing="1",
        width="100%",
    )


def _brand() -> rx.Component:
    return rx.hstack(
        rx.image(src="/logo.svg", width="26px", height="26px", alt=""),
        rx.text("Audiences", size="3", weight="bold", color=rx.color("gray", 12)),
        align="center",
        spacing="2",
        padding_x="10px",
        padding_bottom="8px",
    )


def sidebar(active_route: str) -> rx.Component:
    return rx.vstack(
        _brand(),
        *(_nav_group(title, items, active_route) for title, items in NAV_GROUPS),
        rx.spacer(),
        rx.box(_nav_link(SETTINGS_ITEM, active_route), width="100%"),
        id="sidebar",
        spacing="5",
        width=SIDEBAR_WIDTH,
        min_width=SIDEBAR_WIDTH,
        height="100vh",
        position="sticky",
        top="0",
        padding="16px 12px",
        background=rx.color("gray", 2),
        border_right=f"1px solid {rx.color('gray', 5)}",
    )


def page_header(title: str, description: str, actions: rx.Component | None) -> rx.Component:
    return rx.hstack(
        rx.vstack(
            rx.heading(title, as_="h1", size="6", weight="bold", id="page-title"),
            rx.text(description, size="2", color=rx.color("gray", 10)) if description else rx.fragment(),
            spacing="1",
        ),
        rx.spacer(),
        actions if actions is not None else rx.fragment(),
        align="end",
        width="100%",
        padding_bottom="16px",
    )


def page_shell(
    *children: rx.Component,
    title: str,
    route: str,
    description: str = "",
    actions: rx.Component | None = None,
) -> rx.Component:
    """A page in the app's frame: `route` marks the active sidebar item."""
    return rx.flex(
        sidebar(route),
        rx.box(
            page_header(title, description, actions),
            *children,
            flex="1",
            min_width="0",
            padding="24px 32px",
        ),
        width="100%",
        min_height="100vh",
        background=rx.color("gray", 1),
    )
