"""Data Hub: imports, exports and syncs that move records in and out (not built yet)."""

from __future__ import annotations

import reflex as rx

from audiences_app.ui import routes
from audiences_app.ui.components.notice import planned_section
from audiences_app.ui.components.shell import page_shell

SUMMARY = (
    "The Data Hub moves records in and out of the workspace: imports from files and CRMs, "
    "and exports of segments to where your team works."
)
COMING = [
    "Import CSV or Parquet files with a column mapping and a preview of the first rows.",
    "Deduplication by domain, email, LinkedIn URL, phone or CRM id; rows without any identity key are listed with the reason, never guessed.",
    "Exports of a segment to a file, and syncs that keep a destination up to date.",
    "The field catalog: every field, its type, where it comes from, and custom fields you add.",
]


def page() -> rx.Component:
    return page_shell(
        planned_section(SUMMARY, COMING),
        title="Data Hub",
        route=routes.DATA_HUB,
        description="Bring records in and send them out.",
    )
