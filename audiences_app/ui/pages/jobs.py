"""Jobs: every durable run of any kind — imports, enrichments, syncs — with status and progress
read from the database, and a run's detail with the errors of its items."""

from __future__ import annotations

import reflex as rx

from audiences_app.ui import routes
from audiences_app.ui.components.notice import error_callout
from audiences_app.ui.components.runs import MUTED, empty_state, progress_bar, num_cell, stat, status_badge, table
from audiences_app.ui.components.shell import page_shell
from audiences_app.ui.state.jobs import KIND_LABELS, JobsState as S


def _row(r: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.link("#", r["id"], on_click=S.open_run(r["id"]), id=f"open-job-{r['id']}", cursor="pointer")),
        rx.table.cell(rx.badge(r["kind"], variant="soft", color_scheme="gray")),
        rx.table.cell(r["title"], weight="medium"),
        rx.table.cell(status_badge(r["status"], f"job-status-{r['id']}")),
        rx.table.cell(
            rx.hstack(
                progress_bar(r["percent"], width="110px", height="6px"),
                rx.text(r["percent"], "%", size="1", color=MUTED, font_variant_numeric="tabular-nums"),
                align="center",
                spacing="2",
            ),
        ),
        num_cell(r["total"]), num_cell(r["done"]), num_cell(r["failed"]), num_cell(r["skipped"]),
        rx.table.cell(r["duration"], white_space="nowrap"),
        rx.table.cell(r["created"], white_space="nowrap", color=rx.color("gray", 11)),
        rx.table.cell(r["by"], color=rx.color("gray", 11)),
        id=f"job-row-{r['id']}",
        _hover={"background": rx.color("accent", 2)},
    )


HEADERS = [("Run", "left"), ("Kind", "left"), ("Title", "left"), ("Status", "left"), ("Progress", "left"),
           ("Items", "right"), ("Done", "right"), ("Failed", "right"), ("Skipped", "right"), ("Duration", "left"),
           ("Created", "left"), ("By", "left")]


def _detail() -> rx.Component:
    d = S.detail
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("#", d["id"], " ", d["title"]),
            rx.vstack(
                rx.hstack(status_badge(d["status"].to(str), "job-detail-status"),
                          rx.badge(d["kind"], variant="soft", color_scheme="gray"), spacing="2"),
                rx.hstack(
                    stat("Items", d["total"], "job-detail-total"), stat("Done", d["done"], "job-detail-done"),
                    stat("Failed", d["failed"], "job-detail-failed"), stat("Skipped", d["skipped"], "job-detail-skipped"),
                    stat("Duration", d["duration"], "job-detail-duration"),
                    spacing="5", wrap="wrap",
                ),
                rx.text("Created ", d["created"], " by ", d["by"], " · started ", d["started"], " · finished ",
                        d["finished"], size="1", color=MUTED),
                rx.cond(d["error"] != "", rx.callout(d["error"], icon="circle-alert", color_scheme="red", size="1",
                                                     id="job-detail-error")),
                rx.text("Item errors", size="2", weight="medium"),
                table([("Item", "right"), ("Status", "left"), ("Attempts", "right"), ("Error", "left")],
                      rx.foreach(S.detail_errors, lambda e: rx.table.row(
                          num_cell(e["seq"]), rx.table.cell(status_badge(e["status"])), num_cell(e["attempts"]),
                          rx.table.cell(rx.text(e["error"], size="1")))),
                      "job-detail-errors",
                      rx.text("No item failed.", size="2", color=MUTED, padding="12px", id="job-detail-no-errors"),
                      S.detail_errors.length() == 0),
                rx.hstack(rx.spacer(), rx.dialog.close(rx.button("Close", on_click=S.close_detail,
                                                                 id="close-job-detail")), width="100%"),
                spacing="3",
                width="100%",
            ),
            max_width="820px",
            id="job-detail",
        ),
        open=S.detail_open,
        on_open_change=S.set_detail_open,
    )


def page() -> rx.Component:
    return page_shell(
        rx.vstack(
            error_callout(S.error, "jobs-error"),
            rx.hstack(
                rx.select.root(
                    rx.select.trigger(id="job-kind", width="180px"),
                    rx.select.content(
                        rx.select.item("All kinds", value="all"),
                        *(rx.select.item(label, value=kind) for kind, label in KIND_LABELS.items()),
                    ),
                    value=S.kind_filter,
                    on_change=S.set_kind_filter,
                ),
                rx.spacer(),
                rx.button(rx.icon("refresh-cw", size=14), "Refresh", on_click=S.refresh, variant="soft",
                          color_scheme="gray", size="1", id="refresh-jobs"),
                width="100%",
                align="center",
            ),
            table(HEADERS, rx.foreach(S.runs, _row), "jobs-table",
                  empty_state("list-checks", "No jobs yet",
                              "Imports, enrichment runs and syncs appear here while they work and after.", "jobs-empty"),
                  S.runs.length() == 0),
            _detail(),
            spacing="4",
            width="100%",
        ),
        title="Jobs",
        route=routes.JOBS,
        description="Every durable run — imports, enrichments, syncs — with its progress and errors.",
    )
