"""In Chromium against the built app: build a segment by clicking, watch its count, save it,
reload its URL, see what a new version changes before saving it, View SQL, export its members."""

from __future__ import annotations

import csv
import re

from playwright.sync_api import Page, expect

from tests.e2e.conftest import DEMO_COMPANIES

COUNT = re.compile(r"^[\d,]+$")


def _count(page: Page) -> int:
    """The live count once it has settled (no "10,000+", no spinner)."""
    locator = page.locator("#live-count")
    expect(locator).to_have_text(COUNT)
    return int(locator.inner_text().replace(",", ""))


def _count_changes(page: Page, before: int) -> int:
    expect(page.locator("#live-count")).not_to_have_text(f"{before:,}")
    return _count(page)


def _choose_field(page: Page, node: str, key: str) -> None:
    page.locator(f"#field-select-{node}").click()
    page.locator(f"[id='field-option-{key}']").click()
    expect(page.locator(f"#op-select-{node}")).to_be_visible()


def _choose_operator(page: Page, node: str, label: str) -> None:
    page.locator(f"#op-select-{node}").click()
    page.get_by_role("option", name=label, exact=True).click()
    expect(page.locator(f"#op-select-{node}")).to_have_text(label)


def _build_two_level_filter(page: Page, screenshot) -> list[int]:
    """industry in [software, health care] AND (employees between 50 and 500 OR country is US)."""
    counts = [_count(page)]
    assert counts[0] == DEMO_COMPANIES

    page.locator("#add-condition-n0").click()
    _choose_field(page, "n1", "industry")
    _choose_operator(page, "n1", "is any of")
    page.locator("#value-input-n1").fill("software")
    page.locator("#value-input-n1").press("Enter")
    expect(page.locator("#node-n1 [data-chip='software']")).to_be_visible()
    counts.append(_count_changes(page, counts[-1]))
    page.locator("#value-input-n1").click()
    page.locator("#suggestions-n1 [data-suggestion='health care']").click()
    expect(page.locator("#node-n1 [data-chip='health care']")).to_be_visible()
    counts.append(_count_changes(page, counts[-1]))
    screenshot("segment-01-first-condition")

    page.locator("#add-group-n0").click()
    expect(page.locator("#node-n2[data-kind='group']")).to_be_visible()
    expect(page.locator("#group-kind-n2").get_by_role("radio", name="OR")).to_have_attribute("aria-checked", "true")
    _choose_field(page, "n3", "employee_count")
    _choose_operator(page, "n3", "is between")
    page.locator("#value-input-n3").fill("50")
    page.locator("#value-input2-n3").fill("500")
    counts.append(_count_changes(page, counts[-1]))

    page.locator("#add-condition-n2").click()
    _choose_field(page, "n4", "country")
    page.locator("#value-input-n4").fill("US")
    counts.append(_count_changes(page, counts[-1]))
    expect(page.locator("#description")).to_have_text(
        "Industry is any of software, health care and (Employees is between 50 and 500 or Country is US)"
    )
    for node in ("n1", "n2", "n3", "n4"):
        expect(page.locator(f"#clause-count-{node}")).to_have_text(COUNT)
    # The funnel: the group's count is what is left after the industry condition and the group.
    expect(page.locator("#clause-count-n2")).to_have_text(f"{counts[-1]:,}")
    screenshot("segment-02-two-level-filter")
    return counts


def test_build_save_reload_version_sql_and_export(page: Page, screenshot, tmp_path):
    page.goto("/segments")
    expect(page.locator("#segments-table")).to_be_visible()
    page.locator("#new-segment").click()
    page.locator("#new-segment-companies").click()
    expect(page).to_have_url(re.compile(r"/segments/new\?entity=companies"))
    expect(page.locator("#builder-root")).to_be_visible()

    counts = _build_two_level_filter(page, screenshot)
    assert counts[1] < counts[0] and counts[2] > counts[1]  # one industry, then two
    assert counts[3] < counts[2] and counts[4] > counts[3]  # AND narrows, OR widens
    built = counts[-1]
    expect(page.locator("#records-table [id^='row-']").first).to_be_visible()
    assert "f=" in page.url

    # Save: a name, then the segment's own URL.
    page.locator("#save-segment").click()
    expect(page.locator("#save-dialog")).to_be_visible()
    page.locator("#segment-name").fill("Software and health care, mid-size or US")
    screenshot("segment-03-save-dialog")
    page.locator("#save-confirm").click()
    expect(page).to_have_url(re.compile(r"/segments/\d+$"))
    segment_url = page.url
    expect(page.locator("#segment-version")).to_have_text("Version 1")
    expect(page.locator("#page-title")).to_have_text("Software and health care, mid-size or US")
    assert _count(page) == built

    # Reload the URL: the same filter and count come back.
    page.reload()
    expect(page.locator("#field-select-n1")).to_contain_text("Industry")
    expect(page.locator("#node-n1 [data-chip='health care']")).to_be_visible()
    expect(page.locator("#description")).to_contain_text("Employees is between 50 and 500 or Country is US")
    assert _count(page) == built
    screenshot("segment-04-reloaded")

    # Change a condition: the URL carries the draft, and the save dialog shows who joins.
    page.locator("#value-input2-n3").fill("5000")
    widened = _count_changes(page, built)
    assert widened > built
    expect(page.locator("#dirty-badge")).to_be_visible()
    assert "f=" in page.url
    page.reload()
    expect(page.locator("#value-input2-n3")).to_have_value("5000")
    assert _count(page) == widened
    page.locator("#save-segment").click()
    expect(page.locator("#diff-summary")).to_be_visible()
    expect(page.locator("#diff-added")).to_have_text(f"+{widened - built:,}")
    expect(page.locator("#diff-removed")).to_have_text("−0")
    page.locator("#save-note").fill("Up to 5,000 employees")
    screenshot("segment-05-version-difference")
    page.locator("#save-confirm").click()
    expect(page.locator("#builder-notice")).to_have_text("Saved version 2.")
    expect(page.locator("#segment-version")).to_have_text("Version 2")
    expect(page.locator("#dirty-badge")).to_have_count(0)
    expect(page).to_have_url(segment_url)

    page.locator("#open-versions").click()
    expect(page.locator("#versions #version-1")).to_be_visible()
    expect(page.locator("#versions #version-2")).to_contain_text("Up to 5,000 employees")
    page.locator("#compare-version-1").click()
    expect(page.locator("#version-diff #diff-added")).to_have_text(f"+{widened - built:,}")
    screenshot("segment-06-versions")
    page.keyboard.press("Escape")

    # View SQL.
    page.locator("#view-sql").click()
    sql = page.locator("#sql-dialog #sql-code")
    expect(sql).to_contain_text("SELECT company.id")
    expect(sql).to_contain_text("BETWEEN 50 AND 5000")
    screenshot("segment-07-sql")
    page.locator("#close-sql").click()
    expect(page.locator("#sql-dialog")).to_have_count(0)

    # Export: a link to a file, downloaded over HTTP; its rows are the live count.
    page.locator("#export-csv").click()
    link = page.locator("#export-link")
    expect(link).to_contain_text(f"{widened:,} companies")
    screenshot("segment-08-export")
    with page.expect_download() as download:
        link.click()
    path = tmp_path / "members.csv"
    download.value.save_as(path)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0][:3] == ["id", "name", "domain"] and "industry" in rows[0]
    assert len(rows) - 1 == widened
    industries = {row[rows[0].index("industry")] for row in rows[1:]}
    assert industries == {"software", "health care"}

    # The list shows the saved segment with its count.
    page.locator("#back-to-segments").click()
    row = page.locator("#segments-table [id^='segment-row-']", has_text="Software and health care")
    expect(row).to_be_visible()
    expect(row.locator("[data-column='count']")).to_have_text(f"{widened:,}")
    screenshot("segment-09-list")


def test_a_damaged_link_shows_a_message_and_an_empty_builder(page: Page, screenshot):
    page.goto("/segments/new?entity=companies&f=eyJhbmQiOlt7ImZpZWxkIjoi")
    expect(page.locator("#builder-error")).to_contain_text("damaged")
    assert _count(page) == DEMO_COMPANIES
    page.goto("/segments/new?entity=companies&f=eyJhbmQiOlt7ImZpZWxkIjoicGFzc3dvcmQiLCJvcCI6ImVxIiwidmFsdWUiOiJ4In1dfQ")
    expect(page.locator("#builder-error")).to_contain_text("'password' is not in the companies catalog")
    screenshot("segment-10-broken-link")


def test_people_filtered_by_their_company_and_why_a_person_is_in(page: Page, screenshot):
    page.goto("/segments/new?entity=people")
    total = _count(page)
    page.locator("#add-condition-n0").click()
    page.locator("#field-select-n1").click()
    page.locator("#field-search").fill("company ind")
    expect(page.locator("#field-menu [data-field]")).to_have_count(1)
    page.locator("[id='field-option-company.industry']").click()
    page.locator("#value-input-n1").fill("software")
    narrowed = _count_changes(page, total)
    assert 0 < narrowed < total
    page.locator("#not-n1").click()
    assert _count_changes(page, narrowed) == total - narrowed  # a filter and its NOT partition people
    page.locator("#not-n1").click()
    assert _count_changes(page, total - narrowed) == narrowed
    first = page.locator("#records-table [id^='row-']").first
    first.click()
    drawer = page.locator("#why-drawer")
    expect(drawer).to_contain_text("In this segment")
    expect(drawer).to_contain_text("Company industry is software")
    screenshot("segment-11-why")
