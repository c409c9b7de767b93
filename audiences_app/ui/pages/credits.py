"""Credits: the ledger of what enrichment runs cost (not built yet)."""

from __future__ import annotations

import reflex as rx

from audiences_app.ui import routes
from audiences_app.ui.components.notice import planned_section
from audiences_app.ui.components.shell import page_shell

SUMMARY = (
    "Credits pay for enrichment calls. Every charge is a ledger entry tied to the item it paid "
    "for, so a retried item is never charged twice."
)
COMING = [
    "The workspace balance and every charge and top-up in a ledger.",
    "Spend limits per workspace and per run.",
    "The estimate shown before a run next to what it really cost.",
]


def page() -> rx.Component:
    return page_shell(
        planned_section(SUMMARY, COMING),
        title="Credits",
        route=routes.CREDITS,
        description="What enrichment runs cost, and the limits you set.",
    )
