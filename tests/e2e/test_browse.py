"""In Chromium against the built app: every page opens; companies page, sort, search and open."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DEMO_COMPANIES

SECTIONS = ["companies", "people", "segments", "tables", "enrichments", "jobs", "credits", "data-hub", "settings"]


def _first_ids(page) -> list[str]:
    rows = page.locator("#records-table [id^='row-']")
    expect(rows.first).to_be_visible()
    return rows.evaluate_all("(els) => els.map((e) => e.id)")


@pytest.mark.parametrize("section", SECTIONS)
def test_every_page_opens_from_the_sidebar(page, screenshot, section):
    page.goto("/")
    page.locator(f"#nav-{section}").click()
    expect(page.locator(f"#nav-{section}")).to_have_attribute("data-active", "true")
    expect(page.locator("h1")).to_be_visible()
    screenshot(f"page-{section}")


def test_companies_page_shows_a_page_of_rows_and_the_total(page, screenshot):
    page.goto("/companies")
    ids = _first_ids(page)
    assert len(ids) == 50
    expect(page.locator("#record-count")).to_contain_text(f"{DEMO_COMPANIES:,}")
    screenshot("companies-first-page")


def test_paging_forward_and_back_through_companies(page, screenshot):
    page.goto("/companies")
    first = _first_ids(page)
    page.locator("#next-page").click()
    expect(page.locator("#records-table [id^='row-']").first).not_to_have_id(first[0])
    second = _first_ids(page)
    assert not set(first) & set(second)
    expect(page.locator("#page-range")).to_contain_text("51")
    screenshot("companies-second-page")
    page.locator("#prev-page").click()
    expect(page.locator("#records-table [id^='row-']").first).to_have_id(first[0])


def test_sorting_by_a_column_orders_rows_and_toggles_direction(page, screenshot):
    page.goto("/companies")
    _first_ids(page)
    page.locator("#sort-employee_count").click()
    cells = page.locator("#records-table [data-column='employee_count']")
    expect(cells.first).to_be_visible()

    def numbers() -> list[int]:
        texts = cells.all_inner_texts()
        return [int(t.replace(",", "")) for t in texts if t.strip() and t.strip() != "—"]

    page.wait_for_timeout(300)
    ascending = numbers()
    assert ascending == sorted(ascending) and ascending
    page.locator("#sort-employee_count").click()
    page.wait_for_function(
        "() => { const c = document.querySelector(\"#records-table [data-column='employee_count']\");"
        " return c && parseInt(c.innerText.replace(/,/g, '')) > 1000; }"
    )
    descending = numbers()
    assert descending == sorted(descending, reverse=True)
    screenshot("companies-sorted-desc")


def test_quick_search_narrows_rows_and_count(page, screenshot):
    page.goto("/companies")
    first = _first_ids(page)
    name = page.locator("#records-table [data-column='name']").first.inner_text()
    term = name.split()[0]
    page.locator("#search-input").fill(term)
    expect(page.locator("#record-count")).not_to_contain_text(f"{DEMO_COMPANIES:,}")
    names = page.locator("#records-table [data-column='name']").all_inner_texts()
    assert names and all(term.lower() in n.lower() or n == "" for n in names)
    screenshot("companies-search")
    assert first


def test_opening_a_record_shows_every_field(page, screenshot):
    page.goto("/companies")
    ids = _first_ids(page)
    page.locator(f"#{ids[0]}").click()
    drawer = page.locator("#record-drawer")
    expect(drawer).to_be_visible()
    for label in ("Domain", "Industry", "Employees", "Created", "Tags"):
        expect(drawer).to_contain_text(label)
    screenshot("company-drawer")


def test_people_page_pages_too(page, screenshot):
    page.goto("/people")
    first = _first_ids(page)
    page.locator("#next-page").click()
    expect(page.locator("#records-table [id^='row-']").first).not_to_have_id(first[0])
    expect(page.locator("#record-count")).to_have_text(re.compile(r"[\d,]+"))
    screenshot("people-second-page")
