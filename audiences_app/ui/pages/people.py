"""People: browse the workspace's people, one sortable, searchable page at a time."""

from __future__ import annotations

from typing import ClassVar

import reflex as rx

from audiences_app.ui import routes
from audiences_app.ui.components.record_browser import record_browser
from audiences_app.ui.components.shell import page_shell
from audiences_app.ui.state.record_browser import RecordBrowserState


class PeopleState(RecordBrowserState, rx.State):
    entity: ClassVar[str] = "people"
    singular: ClassVar[str] = "Person"
    search_hint: ClassVar[str] = "Search by name or email"
    title_fields: ClassVar[tuple[str, ...]] = ("full_name", "email", "linkedin_url", "phone", "crm_id")


def page() -> rx.Component:
    return page_shell(
        record_browser(PeopleState),
        title="People",
        route=routes.PEOPLE,
        description="Every person in the workspace, deduplicated by email, LinkedIn profile, phone or CRM id.",
    )
