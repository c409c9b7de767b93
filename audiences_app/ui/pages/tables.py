"""Tables: a workspace for experiments of up to 50,000 rows (not built yet)."""

from __future__ import annotations

import reflex as rx

from audiences_app.ui import routes
from audiences_app.ui.components.notice import planned_section
from audiences_app.ui.components.shell import page_shell

SUMMARY = (
    "A Table is a scratch workspace: rows pulled from a segment or an import, where you try "
    "columns and enrichments without touching Companies and People."
)
COMING = [
    "Send a segment to a new Table, with a 10-row preview first.",
    "Add formula and enrichment columns, and run them on 10 rows before the rest.",
    "Write results back to Companies or People, with a preview of every field that will change.",
    "At most 50,000 rows per Table; larger audiences stay in Companies and People.",
]


def page() -> rx.Component:
    return page_shell(
        planned_section(SUMMARY, COMING),
        title="Tables",
        route=routes.TABLES,
        description="Experiments on up to 50,000 rows, apart from the durable data.",
    )
