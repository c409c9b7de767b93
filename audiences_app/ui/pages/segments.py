"""Segments: saved, live filters over Companies or People (not built yet)."""

from __future__ import annotations

import reflex as rx

from audiences_app.ui import routes
from audiences_app.ui.components.notice import planned_section
from audiences_app.ui.components.shell import page_shell

SUMMARY = (
    "A segment is a saved filter over Companies or People. Nothing is copied: its members are "
    "whatever records match right now, so it never goes stale."
)
COMING = [
    "A filter builder with and / or / not groups over every field of the catalog, custom and enriched fields included.",
    "Operators that fit each field type: text, numbers, dates (within the last 30 days, …), tags, and membership of another segment.",
    "People filtered by their company's fields (company.industry is software).",
    "A live count and a preview of the first matching records before you save.",
    "The filter in plain English, and View SQL to see exactly what runs.",
]


def page() -> rx.Component:
    return page_shell(
        planned_section(SUMMARY, COMING),
        title="Segments",
        route=routes.SEGMENTS,
        description="Saved, live filters over Companies or People.",
    )
