"""One module per page; PAGES lists them for the app to register."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import reflex as rx

from audiences_app.ui import routes
from audiences_app.ui.pages import (
    companies, credits, data_hub, enrichments, import_wizard, jobs, people, segment_builder, segments, settings,
    tables,
)
from audiences_app.ui.state.data_hub import DataHubState
from audiences_app.ui.state.import_wizard import ImportWizardState
from audiences_app.ui.state.credits import CreditsState
from audiences_app.ui.state.enrichments import EnrichmentsState
from audiences_app.ui.state.jobs import JobsState
from audiences_app.ui.state.segment_builder import SegmentBuilderState


@dataclass(frozen=True)
class Page:
    route: str
    title: str
    component: Callable[[], rx.Component]
    on_load: Any = None


PAGES: list[Page] = [
    Page(routes.COMPANIES, "Companies", companies.page, companies.CompaniesState.load),
    Page(routes.PEOPLE, "People", people.page, people.PeopleState.load),
    Page(routes.SEGMENTS, "Segments", segments.page, segments.SegmentsState.load),
    # Reflex wants a dynamic route added before a static one that shares its page function;
    # in the browser /segments/new still wins over /segments/[segment_ref].
    Page(routes.SEGMENT, "Segment", segment_builder.page, SegmentBuilderState.load),
    Page(routes.SEGMENT_NEW, "New segment", segment_builder.page, SegmentBuilderState.load),
    Page(routes.TABLES, "Tables", tables.page),
    Page(routes.ENRICHMENTS, "Enrichments", enrichments.page, EnrichmentsState.load),
    Page(routes.JOBS, "Jobs", jobs.page, JobsState.load),
    Page(routes.CREDITS, "Credits", credits.page, CreditsState.load),
    Page(routes.DATA_HUB, "Data Hub", data_hub.page, DataHubState.load),
    Page(routes.DATA_HUB_IMPORT, "Import a file", import_wizard.page, ImportWizardState.load),
    Page(routes.SETTINGS, "Settings", settings.page, settings.SettingsState.load),
]
