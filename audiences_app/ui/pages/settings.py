"""Settings: the configuration this server runs with (read-only; secrets never shown)."""

from __future__ import annotations

import reflex as rx
import sqlalchemy as sa

from audiences_app.settings import Settings, get_settings
from audiences_app.ui import routes
from audiences_app.ui.components.shell import page_shell


def configuration_rows(settings: Settings) -> list[dict[str, str]]:
    """The non-secret configuration as label/value/variable rows.

    The database is shown as its backend and database name only: a URL can carry a password.
    """
    url = sa.engine.make_url(settings.database_url)
    backend = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}.get(url.get_backend_name(), url.get_backend_name())
    database = url.database or ""
    if url.get_backend_name() != "sqlite" and url.host:
        database = f"{database} on {url.host}" + (f":{url.port}" if url.port else "")
    return [
        {"label": "Database", "value": backend, "variable": "AUDIENCES_DATABASE_URL"},
        {"label": "Database name", "value": database, "variable": "AUDIENCES_DATABASE_URL"},
        {"label": "Workspace", "value": settings.workspace, "variable": "AUDIENCES_WORKSPACE"},
        {"label": "Rows per page", "value": str(settings.page_size), "variable": "AUDIENCES_PAGE_SIZE"},
        {"label": "Exact counts up to", "value": f"{settings.count_cap:,}", "variable": "AUDIENCES_COUNT_CAP"},
        {
            "label": "Time for a quick count",
            "value": f"{settings.count_time_limit_ms:,} ms",
            "variable": "AUDIENCES_COUNT_TIME_LIMIT_MS",
        },
        {
            "label": "Time limit per query",
            "value": f"{settings.query_time_limit_ms:,} ms",
            "variable": "AUDIENCES_QUERY_TIME_LIMIT_MS",
        },
    ]


class SettingsState(rx.State):
    entries: list[dict[str, str]] = []

    @rx.event
    def load(self):
        self.entries = configuration_rows(get_settings())


def _entry(entry: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(entry["label"], white_space="nowrap"),
        rx.table.cell(rx.text(entry["value"], weight="medium"), custom_attrs={"data-setting": entry["variable"]}),
        rx.table.cell(rx.code(entry["variable"], variant="ghost", color_scheme="gray")),
    )


def page() -> rx.Component:
    return page_shell(
        rx.card(
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        rx.table.column_header_cell("Setting"),
                        rx.table.column_header_cell("Value"),
                        rx.table.column_header_cell("Environment variable"),
                    ),
                ),
                rx.table.body(rx.foreach(SettingsState.entries, _entry)),
                id="settings-table",
                variant="ghost",
                size="2",
            ),
            max_width="860px",
        ),
        rx.text(
            "Set these as AUDIENCES_* environment variables (or in a .env file) and restart the server.",
            size="2",
            color=rx.color("gray", 10),
            margin_top="12px",
        ),
        title="Settings",
        route=routes.SETTINGS,
        description="The configuration this server runs with.",
    )
