"""Jobs: long-running work as durable runs with per-item progress (not built yet)."""

from __future__ import annotations

import reflex as rx

from audiences_app.ui import routes
from audiences_app.ui.components.notice import planned_section
from audiences_app.ui.components.shell import page_shell

SUMMARY = (
    "Long work (imports, enrichment runs, sends to a Table, upserts, export syncs) runs as a "
    "durable job in the database, so it survives a restart and never charges twice."
)
COMING = [
    "Every run with its status, progress, attempts and the errors of the items that failed.",
    "Live progress read from the database while a run works.",
    "Runs that pick up where they stopped after a crash or a restart.",
    "Retry of failed items and cancellation of a run.",
]


def page() -> rx.Component:
    return page_shell(
        planned_section(SUMMARY, COMING),
        title="Jobs",
        route=routes.JOBS,
        description="Imports, enrichments and syncs that run in the background.",
    )
