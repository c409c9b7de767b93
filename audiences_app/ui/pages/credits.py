"""Credits: the workspace's balance and monthly limit, spend over time by provider or by run,
and the ledger of every grant, charge and refund, a page at a time."""

from __future__ import annotations

import reflex as rx

from audiences_app.ui import routes
from audiences_app.ui.components.notice import error_callout
from audiences_app.ui.components.runs import MUTED, empty_state, notice_callout, num_cell, section, stat, table
from audiences_app.ui.components.shell import page_shell
from audiences_app.ui.state.credits import CreditsState as S


def _summary() -> rx.Component:
    return rx.card(
        rx.hstack(
            stat("Balance", S.balance, "credit-balance", "credits"),
            stat("Spent this month", S.month_spent, "month-spent", S.month),
            stat("Monthly limit", S.monthly_limit, "monthly-limit",
                 rx.cond(S.month_left != "", rx.fragment(S.month_left, " left"), "")),
            stat("Spent in period", S.period_total, "period-total", rx.fragment("last ", S.days, " days")),
            rx.spacer(),
            rx.cond(
                S.demo,
                rx.button(rx.icon("gift", size=15), "Grant 1,000 demo credits", on_click=S.grant_demo_credits,
                          id="grant-demo-credits", variant="surface"),
            ),
            spacing="7",
            align="center",
            width="100%",
            wrap="wrap",
        ),
        size="3",
        width="100%",
        id="credit-summary",
    )


def _bar(series: rx.Var) -> rx.Component:
    return rx.recharts.bar(data_key=series["key"], name=series["label"], fill=series["color"], stack_id="spend",
                           is_animation_active=False)


def _chart() -> rx.Component:
    return section(
        "Spend over time",
        rx.cond(
            S.points.length() > 0,
            rx.box(
                rx.recharts.bar_chart(
                    rx.recharts.cartesian_grid(stroke_dasharray="3 3", vertical=False),
                    rx.recharts.x_axis(data_key="day", font_size=11),
                    rx.recharts.y_axis(font_size=11, width=48),
                    rx.recharts.graphing_tooltip(),
                    rx.recharts.legend(),
                    rx.foreach(S.series, _bar),
                    data=S.points,
                    height=280,
                    width="100%",
                ),
                id="spend-chart",
                width="100%",
                padding="12px",
                border=f"1px solid {rx.color('gray', 5)}",
                border_radius="8px",
            ),
            rx.box(empty_state("chart-column", "No spend in this period",
                               "Charges of enrichment runs appear here per day.", "spend-empty"),
                   width="100%", border=f"1px solid {rx.color('gray', 5)}", border_radius="8px"),
        ),
        actions=rx.hstack(
            rx.segmented_control.root(
                rx.segmented_control.item("By provider", value="provider"),
                rx.segmented_control.item("By run", value="run"),
                value=S.group_by,
                on_change=S.set_group_by,
                id="spend-group-by",
                size="1",
            ),
            rx.segmented_control.root(
                rx.segmented_control.item("7 days", value="7"),
                rx.segmented_control.item("30 days", value="30"),
                rx.segmented_control.item("90 days", value="90"),
                value=S.days,
                on_change=S.set_days,
                id="spend-days",
                size="1",
            ),
            spacing="3",
        ),
    )


def _entry(e: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(e["when"], white_space="nowrap", color=rx.color("gray", 11)),
        rx.table.cell(rx.badge(e["kind"], variant="soft", color_scheme=rx.match(
            e["kind"], ("grant", "green"), ("refund", "indigo"), "gray"))),
        num_cell(e["amount"], color=rx.cond(e["positive"] == "1", rx.color("green", 11), rx.color("gray", 12))),
        num_cell(e["balance_after"]),
        rx.table.cell(rx.text(e["provider"], size="1", font_family="ui-monospace, Menlo, monospace")),
        rx.table.cell(e["run_id"]),
        rx.table.cell(e["record_id"]),
        rx.table.cell(rx.text(e["note"], size="1", color=MUTED)),
        id=f"ledger-{e['id']}",
    )


LEDGER_HEADERS = [("When", "left"), ("Kind", "left"), ("Amount", "right"), ("Balance after", "right"),
                  ("Provider", "left"), ("Run", "left"), ("Record", "left"), ("Note", "left")]


def _ledger() -> rx.Component:
    return section(
        "Ledger",
        table(LEDGER_HEADERS, rx.foreach(S.ledger, _entry), "ledger-table",
              empty_state("receipt", "No entries yet", "Grants, charges and refunds are listed here, newest first.",
                          "ledger-empty"),
              S.ledger.length() == 0),
        rx.hstack(
            rx.text("Page ", S.ledger_page + 1, size="2", color=MUTED, id="ledger-page"),
            rx.spacer(),
            rx.button("Newest", on_click=S.first_page, disabled=S.ledger_page == 0, variant="soft",
                      color_scheme="gray", size="1", id="ledger-first"),
            rx.button(rx.icon("chevron-left", size=14), "Newer", on_click=S.prev_page, disabled=S.ledger_page == 0,
                      variant="soft", color_scheme="gray", size="1", id="ledger-prev"),
            rx.button("Older", rx.icon("chevron-right", size=14), on_click=S.next_page, disabled=~S.has_next,
                      variant="soft", color_scheme="gray", size="1", id="ledger-next"),
            width="100%",
            align="center",
            spacing="2",
        ),
    )


def page() -> rx.Component:
    return page_shell(
        rx.vstack(
            error_callout(S.error, "credits-error"),
            notice_callout(S.notice, "credits-notice"),
            _summary(),
            _chart(),
            _ledger(),
            spacing="5",
            width="100%",
        ),
        title="Credits",
        route=routes.CREDITS,
        description="What enrichment costs: the balance, spend over time and every charge with its run and record.",
    )
