"""Import wizard: upload a file, map its columns (with the first rows as they would land),
dry run, import as a durable run with a progress bar, and the result with its reject report."""

from __future__ import annotations

import reflex as rx

from audiences_app.core.fields import CUSTOM_TYPES
from audiences_app.ui import routes
from audiences_app.ui.components.notice import error_callout
from audiences_app.ui.components.shell import page_shell
from audiences_app.ui.state.import_wizard import CUSTOM, MAX_UPLOAD_BYTES, POLICY_LABELS, SKIP
from audiences_app.ui.state.import_wizard import ImportWizardState as S

MUTED = rx.color("gray", 10)
UPLOAD_ID = "import-upload"
SELECT_STYLE = {
    "border": f"1px solid {rx.color('gray', 6)}", "borderRadius": "6px", "padding": "4px 8px",
    "fontSize": "13px", "background": rx.color("gray", 1), "color": rx.color("gray", 12), "maxWidth": "240px",
}
TONES = {"green": "green", "blue": "blue", "gray": "gray", "amber": "amber", "red": "red"}


def _card(*children, **props) -> rx.Component:
    return rx.card(rx.vstack(*children, spacing="3", width="100%"), width="100%", size="2", **props)


def _step_title(number: str, title: str, hint: str = "") -> rx.Component:
    return rx.hstack(
        rx.badge(number, radius="full", variant="solid", color_scheme="indigo"),
        rx.text(title, size="3", weight="bold"),
        rx.text(hint, size="2", color=MUTED) if hint else rx.fragment(),
        align="center",
        spacing="2",
    )


def _entity_choice() -> rx.Component:
    return rx.hstack(
        rx.text("Import into", size="2", color=MUTED),
        rx.el.select(
            rx.el.option("Companies", value="companies"),
            rx.el.option("People", value="people"),
            value=S.entity,
            on_change=S.set_entity,
            id="import-entity",
            disabled=S.uploading | S.busy,
            style=SELECT_STYLE,
        ),
        align="center",
        spacing="2",
    )


def _upload_step() -> rx.Component:
    limit = f"{MAX_UPLOAD_BYTES // 1024 // 1024} MB"
    return _card(
        _step_title("1", "Upload a file", f"CSV, XLSX or Parquet, up to {limit}"),
        _entity_choice(),
        rx.upload.root(
            rx.vstack(
                rx.icon("file-up", size=28, color=rx.color("indigo", 9)),
                rx.cond(
                    S.uploading,
                    rx.hstack(rx.spinner(size="2"), rx.text("Uploading…", size="2"), align="center"),
                    rx.text("Drop a file here, or click to choose one", size="2", weight="medium"),
                ),
                rx.cond(S.file_label != "",
                        rx.text(S.file_label, " · ", S.file_note, size="1", color=MUTED, id="import-file-label")),
                align="center",
                spacing="2",
            ),
            id=UPLOAD_ID,
            multiple=False,
            accept={
                "text/csv": [".csv", ".tsv", ".txt"],
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": [".xlsx"],
                "application/octet-stream": [".parquet"],
            },
            on_drop=S.upload_file(rx.upload_files_chunk(upload_id=UPLOAD_ID)),
            border=f"1.5px dashed {rx.color('indigo', 7)}",
            border_radius="10px",
            padding="28px",
            width="100%",
            background=rx.color("indigo", 2),
            cursor="pointer",
        ),
        error_callout(S.upload_error, "upload-error"),
        id="import-upload-step",
    )


def _column_row(column: rx.Var) -> rx.Component:
    name = column["column"].to(str)
    return rx.table.row(
        rx.table.cell(rx.vstack(
            rx.text(name, size="2", weight="medium"),
            rx.text(column["samples"], size="1", color=MUTED, max_width="260px", trim="end"),
            spacing="0",
        )),
        rx.table.cell(rx.el.select(
            rx.el.option("— Skip this column —", value=SKIP),
            rx.foreach(S.field_options, lambda o: rx.el.option(o["label"], value=o["value"])),
            *(rx.el.option(f"New custom field ({kind})", value=f"{CUSTOM}{kind}") for kind in CUSTOM_TYPES),
            value=column["choice"],
            on_change=lambda value: S.set_choice(name, value),
            custom_attrs={"data-column": name},
            class_name="map-select",
            disabled=S.busy,
            style=SELECT_STYLE,
        )),
        rx.table.cell(rx.cond(
            column["mapped"],
            rx.el.select(
                *(rx.el.option(label, value=value) for value, label in POLICY_LABELS.items()),
                value=column["policy"],
                on_change=lambda value: S.set_policy(name, value),
                custom_attrs={"data-column": name},
                class_name="policy-select",
                disabled=S.busy,
                style=SELECT_STYLE,
            ),
            rx.text("—", size="1", color=rx.color("gray", 8)),
        )),
        custom_attrs={"data-column": name},
        class_name="mapping-row",
    )


def _preview_row(row: rx.Var) -> rx.Component:
    rejected = row["rejected"] != ""
    return rx.table.row(
        rx.table.cell(rx.text(row["line"], size="1", color=MUTED)),
        rx.cond(
            rejected,
            rx.table.cell(
                rx.hstack(rx.badge("rejected", color_scheme="red", variant="soft"),
                          rx.text(row["rejected"], size="1", color=rx.color("red", 11)), spacing="2"),
                col_span=S.preview_fields.length(),
            ),
            rx.foreach(row["cells"].to(list[str]), lambda cell: rx.table.cell(rx.text(cell, size="1"))),
        ),
        rx.table.cell(rx.text(row["issues"], size="1", color=rx.color("amber", 11))),
        class_name=rx.cond(rejected, "preview-row rejected", "preview-row"),
        background=rx.cond(rejected, rx.color("red", 2), "transparent"),
    )


def _mapping_step() -> rx.Component:
    return rx.vstack(
        _card(
            rx.hstack(
                _step_title("2", "Map the columns", "each column to a field, a new custom field, or skip"),
                rx.spacer(),
                _entity_choice(),
                width="100%",
                align="center",
            ),
            rx.text("File: ", rx.text(S.file_label, as_="span", weight="medium"), " · ", S.file_note,
                    size="2", color=MUTED, id="import-file-label"),
            rx.foreach(S.warnings, lambda w: rx.callout(w, icon="triangle-alert", color_scheme="amber", size="1",
                                                         class_name="import-warning", width="100%")),
            rx.box(
                rx.table.root(
                    rx.table.header(rx.table.row(
                        rx.table.column_header_cell("Column (sample values)"),
                        rx.table.column_header_cell("Lands in"),
                        rx.table.column_header_cell("When the record exists"),
                    )),
                    rx.table.body(rx.foreach(S.columns, _column_row)),
                    id="mapping-table",
                    size="1",
                    variant="ghost",
                    width="100%",
                ),
                width="100%",
                max_height="420px",
                overflow="auto",
            ),
            rx.checkbox("Skip empty values (an empty cell never erases a value)", checked=S.skip_empty,
                        on_change=S.set_skip_empty, id="skip-empty"),
        ),
        _card(
            _step_title("3", "Preview", "the first 10 rows exactly as they would land"),
            rx.box(
                rx.table.root(
                    rx.table.header(rx.table.row(
                        rx.table.column_header_cell("Line"),
                        rx.foreach(S.preview_labels, lambda f: rx.table.column_header_cell(f)),
                        rx.table.column_header_cell("Notes"),
                    )),
                    rx.table.body(rx.foreach(S.preview_rows, _preview_row)),
                    id="preview-table",
                    size="1",
                    width="100%",
                ),
                width="100%",
                overflow="auto",
            ),
        ),
        _card(
            _step_title("4", "Dry run, then import"),
            rx.hstack(
                rx.button(rx.cond(S.busy, rx.spinner(size="2"), rx.icon("flask-conical", size=15)), "Dry run",
                          on_click=S.run_dry_run, id="dry-run", variant="soft", disabled=S.busy),
                rx.button(rx.icon("upload", size=15), "Import", on_click=S.start_run, id="start-import",
                          disabled=S.busy),
                rx.button("Choose another file", on_click=S.start_over, variant="ghost", color_scheme="gray",
                          id="import-start-over"),
                spacing="2",
            ),
            rx.cond(S.dry_done, rx.vstack(
                rx.text(S.dry_message, size="2", weight="medium", id="dry-run-message"),
                _counts(S.dry_counts, "dry-run-counts"),
                rx.foreach(S.dry_samples, lambda s: rx.hstack(
                    rx.match(s["kind"],
                             ("create", rx.badge("create", color_scheme="green")),
                             ("update", rx.badge("update", color_scheme="blue")),
                             rx.badge("reject", color_scheme="red")),
                    rx.text(s["text"], size="1", color=rx.color("gray", 11)),
                    spacing="2", align="center", class_name="dry-run-sample",
                )),
                id="dry-run-summary",
                spacing="2",
                width="100%",
            )),
        ),
        spacing="4",
        width="100%",
        id="import-mapping-step",
    )


def _counts(counts: rx.Var, element_id: str) -> rx.Component:
    return rx.hstack(
        rx.foreach(counts, lambda c: rx.vstack(
            rx.text(c["label"], size="1", color=MUTED),
            rx.text(c["value"], size="5", weight="bold"),
            spacing="0",
            padding="8px 14px",
            border=f"1px solid {rx.color('gray', 5)}",
            border_radius="8px",
            custom_attrs={"data-count": c["label"]},
        )),
        spacing="2",
        wrap="wrap",
        id=element_id,
    )


def _run_step() -> rx.Component:
    return _card(
        _step_title("5", "Importing", "the run continues on the server if you leave this page"),
        rx.progress(value=S.progress, max=100, id="import-progress", size="3", width="100%"),
        rx.hstack(
            rx.badge(S.status, id="import-status", variant="soft"),
            rx.text(S.progress_label, size="2", color=MUTED, id="import-progress-label"),
            spacing="2",
            align="center",
        ),
        id="import-run-step",
    )


def _result_step() -> rx.Component:
    return _card(
        rx.hstack(
            rx.cond(S.status == "succeeded", rx.icon("circle-check", color=rx.color("green", 9)),
                    rx.icon("circle-x", color=rx.color("red", 9))),
            rx.text("Import ", S.status, size="3", weight="bold", id="import-result-status"),
            align="center",
            spacing="2",
        ),
        rx.progress(value=S.progress, max=100, id="import-progress", size="3", width="100%"),
        rx.text(S.result_message, size="2", id="import-result-message"),
        _counts(S.result_counts, "import-result-counts"),
        rx.cond(S.reject_url != "", rx.link(
            rx.button(rx.icon("download", size=15), "Download the reject report (CSV)", variant="soft",
                      color_scheme="red"),
            href=S.reject_url, id="reject-report-link", is_external=True,
        )),
        rx.cond(S.rejects.length() > 0, rx.table.root(
            rx.table.header(rx.table.row(
                *(rx.table.column_header_cell(h) for h in ("Line", "Outcome", "Column", "Reason")),
            )),
            rx.table.body(rx.foreach(S.rejects, lambda r: rx.table.row(
                rx.table.cell(r["line"]), rx.table.cell(r["outcome"]), rx.table.cell(r["column"]),
                rx.table.cell(r["reason"]),
            ))),
            size="1", id="import-rejects", width="100%",
        )),
        rx.hstack(
            rx.link(rx.button(rx.icon("database", size=15), "Open the Data Hub", id="open-data-hub"),
                    href=routes.DATA_HUB + "?entity=" + S.entity),
            rx.button("Import another file", on_click=S.start_over, variant="soft", color_scheme="gray",
                      id="import-another"),
            spacing="2",
        ),
        id="import-result-step",
    )


def page() -> rx.Component:
    return page_shell(
        rx.vstack(
            error_callout(S.error, "import-error"),
            rx.match(
                S.step,
                ("map", _mapping_step()),
                ("running", _run_step()),
                ("done", _result_step()),
                _upload_step(),
            ),
            spacing="4",
            width="100%",
            max_width="1200px",
        ),
        title="Import a file",
        route=routes.DATA_HUB,
        description="Companies or people from CSV, XLSX or Parquet: deduplicated, previewed, and dry-run first.",
        actions=rx.link(rx.button(rx.icon("arrow-left", size=15), "Data Hub", variant="soft", color_scheme="gray"),
                        href=routes.DATA_HUB),
    )
