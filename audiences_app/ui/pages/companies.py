"""Companies: browse the workspace's companies, one sortable, searchable page at a time."""

from __future__ import annotations

from typing import ClassVar

import reflex as rx

from audiences_app.ui import routes
from audiences_app.ui.components.record_browser import record_browser
from audiences_app.ui.components.shell import page_shell
from audiences_app.ui.state.record_browser import RecordBrowserState


class CompaniesState(RecordBrowserState, rx.State):
    entity: ClassVar[str] = "companies"
    singular: ClassVar[str] = "Company"
    search_hint: ClassVar[str] = "Search by name or domain"
    title_fields: ClassVar[tuple[str, ...]] = ("name", "domain", "linkedin_url", "crm_id")


def page() -> rx.Component:
    return page_shell(
        record_browser(CompaniesState),
        title="Companies",
        route=routes.COMPANIES,
        description="Every company in the workspace, deduplicated by domain, LinkedIn page or CRM id.",
    )
