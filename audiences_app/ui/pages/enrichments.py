"""Enrichments: configurations (providers and field mapping over a segment), the estimate with
its warnings, the required 10-row test, the full run with live progress, and past runs."""

from __future__ import annotations

import reflex as rx

from audiences_app.ui import routes
from audiences_app.ui.components.notice import error_callout
from audiences_app.ui.components.runs import (
    MUTED, empty_state, notice_callout, num_cell, progress_bar, section, stat, status_badge, table,
)
from audiences_app.ui.components.shell import page_shell
from audiences_app.ui.state.enrichments import ALL_RECORDS, KEEP_TARGET, EnrichmentsState as S

MONO = "ui-monospace, SFMono-Regular, Menlo, monospace"
SPEC_PLACEHOLDER = (
    '{"steps": [{"provider": {"kind": "http_api", "name": "clearbit", "url": "https://…/{domain}", '
    '"cost": 1}, "map": {"employees": "employees_est"}}]}'
)


# -- the editor -------------------------------------------------------------------------------------

def _output_row(o: rx.Var) -> rx.Component:
    return rx.hstack(
        rx.checkbox(
            checked=o["enabled"] == "1",
            on_change=lambda v: S.toggle_output(o["output"], v),
            id=f"output-enabled-{o['output']}",
        ),
        rx.text(o["label"], size="2", width="160px"),
        rx.icon("arrow-right", size=14, color=MUTED),
        rx.input(
            value=o["field"],
            on_change=lambda v: S.set_output_field(o["output"], v),
            id=f"output-field-{o['output']}",
            size="1",
            width="200px",
            font_family=MONO,
            disabled=o["enabled"] != "1",
        ),
        align="center",
        spacing="3",
    )


def _editor() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(rx.cond(S.editing, "Edit enrichment", "New enrichment")),
            rx.dialog.description(
                "Choose what to enrich, the provider and where each of its outputs lands. Fields are "
                "created in the catalog and can be filtered on in segments as soon as they are written.",
                size="2", color=MUTED,
            ),
            rx.el.form(
                rx.vstack(
                    error_callout(S.form_error, "config-form-error"),
                    rx.text("Name", size="2", weight="medium"),
                    rx.input(value=S.form_name, on_change=S.set_form_name, id="config-name",
                             placeholder="e.g. Firmographics", width="100%"),
                    rx.hstack(
                        rx.vstack(
                            rx.text("Records", size="2", weight="medium"),
                            rx.select.root(
                                rx.select.trigger(id="config-entity", width="160px"),
                                rx.select.content(
                                    rx.select.item("Companies", value="companies", id="config-entity-companies"),
                                    rx.select.item("People", value="people", id="config-entity-people"),
                                ),
                                value=S.form_entity,
                                on_change=S.set_form_entity,
                                disabled=S.editing,
                            ),
                            spacing="1",
                        ),
                        rx.vstack(
                            rx.text("Target", size="2", weight="medium"),
                            rx.select.root(
                                rx.select.trigger(id="config-target", width="280px"),
                                rx.select.content(
                                    rx.select.item("All records", value=ALL_RECORDS, id="config-target-all"),
                                    rx.cond(S.form_target == KEEP_TARGET,
                                            rx.select.item("Its current filter", value=KEEP_TARGET)),
                                    rx.foreach(S.segment_options, lambda s: rx.select.item(
                                        s["name"], value=s["id"], id=f"config-target-{s['id']}")),
                                ),
                                value=S.form_target,
                                on_change=S.set_form_target,
                            ),
                            spacing="1",
                        ),
                        spacing="4",
                    ),
                    rx.text("Provider", size="2", weight="medium"),
                    rx.card(
                        rx.vstack(
                            rx.hstack(
                                rx.icon("sparkles", size=16, color=rx.color("accent", 10)),
                                rx.text("Derived fields", weight="medium", size="2"),
                                rx.badge("built in · offline · free", variant="soft", color_scheme="green"),
                                align="center",
                                spacing="2",
                            ),
                            rx.text("Output → record field", size="1", color=MUTED),
                            rx.foreach(S.outputs, _output_row),
                            spacing="2",
                        ),
                        id="provider-derived",
                        width="100%",
                    ),
                    rx.accordion.root(
                        rx.accordion.item(
                            header=rx.text("Other providers (JSON spec)", size="2"),
                            content=rx.vstack(
                                rx.text(
                                    "Reference file, website metadata, HTTP API, AI prompt and waterfalls: paste a "
                                    "spec; it replaces the derived fields above. API keys are referenced by secret "
                                    "name, never pasted here.",
                                    size="1", color=MUTED,
                                ),
                                rx.text_area(value=S.advanced_spec, on_change=S.set_advanced_spec,
                                             id="config-spec", placeholder=SPEC_PLACEHOLDER, rows="6",
                                             width="100%", font_family=MONO, size="1"),
                                width="100%",
                            ),
                            value="spec",
                        ),
                        collapsible=True,
                        type="single",
                        variant="ghost",
                        width="100%",
                    ),
                    rx.hstack(
                        rx.spacer(),
                        rx.button("Cancel", type="button", variant="soft", color_scheme="gray",
                                  on_click=S.close_editor, id="config-cancel"),
                        rx.button(rx.icon("save", size=15), "Save and estimate", type="submit", id="config-save"),
                        width="100%",
                        spacing="2",
                    ),
                    spacing="3",
                    width="100%",
                ),
                on_submit=lambda _: S.save_config(),
                reset_on_submit=False,
            ),
            max_width="640px",
            id="config-dialog",
        ),
        open=S.editor_open,
        on_open_change=S.set_editor_open,
    )


# -- configurations ---------------------------------------------------------------------------------

def _config_row(c: rx.Var) -> rx.Component:
    selected = c["id"] == S.config_id.to_string()
    return rx.table.row(
        rx.table.cell(
            rx.link(c["name"], on_click=S.select_config(c["id"]), id=f"config-{c['id']}", weight="medium",
                    color=rx.color("gray", 12), underline="hover", cursor="pointer"),
            rx.cond(c["problem"] != "", rx.tooltip(rx.icon("triangle-alert", size=14, color=rx.color("red", 10)),
                                                   content=c["problem"])),
        ),
        rx.table.cell(rx.badge(c["entity"], variant="soft", color_scheme="gray")),
        rx.table.cell(c["target"], color=rx.color("gray", 11)),
        rx.table.cell(rx.text(c["fields"], font_family=MONO, size="1")),
        rx.table.cell(rx.text(c["providers"], size="1", color=rx.color("gray", 11))),
        rx.table.cell(rx.text("v", c["version"], size="1", color=MUTED)),
        rx.table.cell(rx.cond(c["tested"] == "1",
                              rx.badge(rx.icon("check", size=11), "tested", color_scheme="green", variant="soft"),
                              rx.badge("not tested", color_scheme="amber", variant="soft"))),
        rx.table.cell(rx.cond(c["auto"] == "1", rx.badge("auto", color_scheme="indigo", variant="soft"), "")),
        rx.table.cell(rx.cond(c["last_status"] != "", status_badge(c["last_status"]), "—")),
        id=f"config-row-{c['id']}",
        background=rx.cond(selected, rx.color("accent", 3), "transparent"),
        _hover={"background": rx.color("accent", 2)},
    )


CONFIG_HEADERS = [("Name", "left"), ("Records", "left"), ("Target", "left"), ("Fields", "left"),
                  ("Providers", "left"), ("Version", "left"), ("Test", "left"), ("", "left"), ("Last run", "left")]


def _configs() -> rx.Component:
    return section(
        "Configurations",
        table(CONFIG_HEADERS, rx.foreach(S.configs, _config_row), "configs-table",
              empty_state("sparkles", "No enrichments yet",
                          "An enrichment fills record fields from a provider — derived fields offline, a reference "
                          "file, a website, an HTTP API or an AI prompt — over a segment.", "configs-empty"),
              S.configs.length() == 0),
        actions=rx.button(rx.icon("plus", size=15), "New enrichment", on_click=S.new_config, id="new-config"),
    )


# -- the selected config: estimate, test, run ----------------------------------------------------------

def _estimate() -> rx.Component:
    e = S.estimate
    return rx.vstack(
        rx.hstack(
            stat("Records", e["records"], "estimate-records"),
            stat("Expected calls", e["calls"], "estimate-calls"),
            stat("Expected credits", e["credits"], "estimate-credits", rx.fragment("at most ", e["max_credits"])),
            stat("From cache", e["cached"], "estimate-cached"),
            stat("Without inputs", e["no_input"], "estimate-no-input"),
            stat("Balance", e["balance"], "estimate-balance"),
            spacing="6",
            wrap="wrap",
        ),
        rx.cond(
            S.warnings.length() > 0,
            rx.callout(
                rx.vstack(rx.foreach(S.warnings, lambda w: rx.text(w, size="2")), spacing="1"),
                icon="triangle-alert", color_scheme="amber", id="estimate-warnings", width="100%",
            ),
        ),
        spacing="3",
        width="100%",
        id="estimate",
    )


def _result_row(r: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(r["label"], weight="medium"),
        rx.table.cell(status_badge(r["status"])),
        rx.table.cell(rx.text(r["values"], size="1", font_family=MONO)),
        num_cell(r["credits"]),
        rx.table.cell(r["cached"]),
        rx.table.cell(rx.text(r["error"], size="1", color=rx.color("red", 11))),
        custom_attrs={"data-record": r["record_id"]},
    )


def _test() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.button(rx.icon("flask-conical", size=15), "Run on 10 rows", on_click=S.run_test, id="run-test",
                      variant="surface", loading=(S.test_status == "queued") | (S.test_status == "running")),
            rx.cond(S.test_status != "", status_badge(S.test_status, "test-status")),
            rx.text("Required before the full run: check what the first 10 records get.", size="1", color=MUTED),
            align="center",
            spacing="3",
        ),
        rx.cond(
            S.test_results.length() > 0,
            table([("Record", "left"), ("Status", "left"), ("Values", "left"), ("Credits", "right"),
                   ("Cached", "left"), ("Error", "left")],
                  rx.foreach(S.test_results, _result_row), "test-results"),
        ),
        spacing="3",
        width="100%",
    )


def _progress() -> rx.Component:
    p = S.progress
    status = p["status"].to(str)
    return rx.cond(
        S.run_id > 0,
        rx.card(
            rx.vstack(
                rx.hstack(
                    rx.text("Full run #", S.run_id, weight="medium"),
                    status_badge(status, "run-status"),
                    rx.cond(S.watching, rx.spinner(size="1")),
                    rx.spacer(),
                    rx.cond(status == "running",
                            rx.button(rx.icon("pause", size=14), "Pause", on_click=S.pause_run, id="run-pause",
                                      size="1", variant="soft")),
                    rx.cond(status == "paused",
                            rx.button(rx.icon("play", size=14), "Resume", on_click=S.resume_run, id="run-resume",
                                      size="1", variant="soft")),
                    rx.cond((status == "queued") | (status == "running") | (status == "paused"),
                            rx.button(rx.icon("square", size=14), "Cancel", on_click=S.cancel_run, id="run-cancel",
                                      size="1", variant="soft", color_scheme="red")),
                    align="center",
                    width="100%",
                    spacing="2",
                ),
                progress_bar(p["percent"].to(str), "run-progress"),
                rx.hstack(
                    stat("Total", p["total"], "progress-total"),
                    stat("Done", p["done"], "progress-done"),
                    stat("Failed", p["failed"], "progress-failed"),
                    stat("Skipped", p["skipped"], "progress-skipped"),
                    stat("Cached", p["cached"], "progress-cached"),
                    stat("Credits so far", p["credits"], "progress-credits"),
                    stat("Duration", p["duration"], "progress-duration"),
                    spacing="6",
                    wrap="wrap",
                ),
                rx.cond(p["stopped"] != "", rx.text(p["stopped"], size="2", color=rx.color("amber", 11),
                                                   id="run-stopped")),
                spacing="3",
                width="100%",
            ),
            id="run-panel",
            width="100%",
        ),
    )


def _selected() -> rx.Component:
    return rx.cond(
        S.config_id > 0,
        rx.card(
            rx.vstack(
                rx.hstack(
                    rx.heading(S.config_name, size="4", id="selected-config"),
                    rx.badge("v", S.config_version, variant="soft", color_scheme="gray"),
                    rx.button(rx.icon("pencil", size=13), "Edit", on_click=S.edit_config, id="edit-config",
                              size="1", variant="soft", color_scheme="gray"),
                    rx.spacer(),
                    rx.text("Auto-enrich new members", size="2", color=MUTED),
                    rx.switch(checked=S.config_auto, on_change=S.set_auto, id="auto-enrich",
                              disabled=~S.config_tested),
                    align="center",
                    width="100%",
                    spacing="2",
                ),
                rx.divider(),
                rx.text("Estimate for the full run", size="2", weight="medium"),
                _estimate(),
                rx.divider(),
                _test(),
                rx.divider(),
                rx.hstack(
                    rx.button(rx.icon("rocket", size=15), "Start full run", on_click=S.start_full_run,
                              id="start-run", disabled=~S.config_tested),
                    rx.cond(
                        S.warnings.length() > 0,
                        rx.hstack(
                            rx.checkbox(checked=S.accept_warnings, on_change=S.set_accept_warnings,
                                        id="accept-warnings"),
                            rx.text("I accept the warnings above", size="2"),
                            align="center",
                            spacing="2",
                        ),
                    ),
                    rx.cond(~S.config_tested,
                            rx.text("Pass the 10-row test first.", size="1", color=MUTED, id="test-required")),
                    align="center",
                    spacing="3",
                ),
                _progress(),
                spacing="4",
                width="100%",
            ),
            id="config-panel",
            size="3",
            width="100%",
        ),
    )


# -- runs and a run's detail ----------------------------------------------------------------------------

def _run_row(r: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.link("#", r["run_id"], on_click=S.open_run(r["run_id"]), id=f"open-run-{r['run_id']}",
                              cursor="pointer")),
        rx.table.cell(r["config"]),
        rx.table.cell(r["mode"], color=rx.color("gray", 11)),
        rx.table.cell(status_badge(r["status"])),
        num_cell(r["total"]), num_cell(r["done"]), num_cell(r["failed"]), num_cell(r["skipped"]),
        num_cell(r["cached"]), num_cell(r["credits"]),
        rx.table.cell(r["duration"], white_space="nowrap"),
        rx.table.cell(r["created"], white_space="nowrap", color=rx.color("gray", 11)),
        id=f"run-row-{r['run_id']}",
        _hover={"background": rx.color("accent", 2)},
    )


RUN_HEADERS = [("Run", "left"), ("Configuration", "left"), ("Mode", "left"), ("Status", "left"),
               ("Records", "right"), ("Done", "right"), ("Failed", "right"), ("Skipped", "right"),
               ("Cached", "right"), ("Credits", "right"), ("Duration", "left"), ("Started", "left")]


def _runs() -> rx.Component:
    return section(
        "Runs",
        table(RUN_HEADERS, rx.foreach(S.runs, _run_row), "runs-table",
              empty_state("history", "No runs yet", "Runs appear here with their status, counts and cost.",
                          "runs-empty"),
              S.runs.length() == 0),
        actions=rx.button(rx.icon("refresh-cw", size=14), "Refresh", on_click=S.refresh, variant="soft",
                          color_scheme="gray", size="1", id="refresh-runs"),
    )


def _detail() -> rx.Component:
    d = S.detail
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(d["title"]),
            rx.vstack(
                rx.hstack(status_badge(d["status"].to(str), "detail-status"),
                          rx.text(d["entity"], " · version ", d["version"], " · ", d["mode"], size="2", color=MUTED),
                          spacing="2", align="center"),
                rx.hstack(
                    stat("Records", d["total"], "detail-total"), stat("Done", d["done"], "detail-done"),
                    stat("Failed", d["failed"], "detail-failed"), stat("Skipped", d["skipped"], "detail-skipped"),
                    stat("Cached", d["cached"], "detail-cached"), stat("Calls", d["calls"], "detail-calls"),
                    stat("Credits", d["credits"], "detail-credits"), stat("Duration", d["duration"], "detail-duration"),
                    spacing="5", wrap="wrap",
                ),
                rx.text("Started ", d["started"], " · finished ", d["finished"], " · spend limit ", d["spend_limit"],
                        size="1", color=MUTED),
                rx.cond(d["stopped"] != "", rx.callout(d["stopped"], icon="info", color_scheme="amber", size="1")),
                rx.cond(
                    S.detail_providers.length() > 0,
                    table([("Provider", "left"), ("Charges", "right"), ("Credits", "right")],
                          rx.foreach(S.detail_providers, lambda p: rx.table.row(
                              rx.table.cell(p["provider"], font_family=MONO), num_cell(p["entries"]),
                              num_cell(p["credits"]))), "detail-providers"),
                ),
                rx.text("Errors", size="2", weight="medium"),
                table([("Record", "left"), ("Status", "left"), ("Attempts", "right"), ("Error", "left")],
                      rx.foreach(S.detail_errors, lambda e: rx.table.row(
                          rx.table.cell(e["label"]), rx.table.cell(status_badge(e["status"])),
                          num_cell(e["attempts"]), rx.table.cell(rx.text(e["error"], size="1")))),
                      "detail-errors",
                      rx.text("No item failed or was skipped.", size="2", color=MUTED, padding="12px",
                              id="detail-no-errors"),
                      S.detail_errors.length() == 0),
                rx.hstack(rx.spacer(), rx.dialog.close(rx.button("Close", on_click=S.close_detail, id="close-detail")),
                          width="100%"),
                spacing="3",
                width="100%",
            ),
            max_width="860px",
            id="run-detail",
        ),
        open=S.detail_open,
        on_open_change=S.set_detail_open,
    )


def page() -> rx.Component:
    return page_shell(
        rx.vstack(
            error_callout(S.error, "enrichments-error"),
            notice_callout(S.notice, "enrichments-notice"),
            _configs(),
            _selected(),
            _runs(),
            _editor(),
            _detail(),
            spacing="5",
            width="100%",
        ),
        title="Enrichments",
        route=routes.ENRICHMENTS,
        description="Fill record fields from providers — estimated first, tested on 10 rows, charged once.",
        actions=rx.badge(rx.icon("coins", size=13), S.balance, " credits", variant="soft", color_scheme="indigo",
                         size="2", id="header-balance"),
    )
