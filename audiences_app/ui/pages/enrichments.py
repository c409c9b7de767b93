"""Enrichments: providers that turn a record's inputs into new fields (not built yet)."""

from __future__ import annotations

import reflex as rx

from audiences_app.ui import routes
from audiences_app.ui.components.notice import planned_section
from audiences_app.ui.components.shell import page_shell

SUMMARY = (
    "An enrichment turns a record's inputs (a domain, an email) into new fields. Results are "
    "stored on the record and cached, so running the same thing again costs nothing."
)
COMING = [
    "Built-in providers: normalizers and derived fields, a lookup in reference data you supply (CSV or Parquet), website metadata, a generic HTTP API column, and an AI prompt column over any OpenAI-compatible endpoint.",
    "Waterfalls that try providers in order until one finds a value.",
    "A cost estimate before every run, and a test run on 10 rows first.",
    "Results cached by provider, version and input: a re-run costs zero calls and zero credits.",
]


def page() -> rx.Component:
    return page_shell(
        planned_section(SUMMARY, COMING),
        title="Enrichments",
        route=routes.ENRICHMENTS,
        description="Providers that add fields to records, paid for once.",
    )
