"""In Chromium against the built app: upload a CSV → map (with a custom column) → 10-row preview
→ dry run → import with a progress bar → result and reject report → the Data Hub shows the new
field's fill rate.

The app's demo database is shared by the whole e2e session and other tests count its companies,
so this import only UPDATES 30 existing companies (matched by domain, names kept with the
"never" policy) and adds a custom field: the number of companies and their core fields used by
other tests stay as they were."""

from __future__ import annotations

import csv
import re
import sqlite3

import httpx
from playwright.sync_api import expect

from audiences_app.core.models import Company
from tests.e2e.conftest import DEMO_COMPANIES

ROWS = 30


def _demo_domains(tmp_path_factory) -> list[str]:
    """Domains of existing demo companies, read (read-only) from the e2e app's database."""
    found = sorted(tmp_path_factory.getbasetemp().glob("e2e*/e2e.db"))
    assert found, "the e2e app's database was not found"
    with sqlite3.connect(f"file:{found[-1]}?mode=ro", uri=True) as conn:
        table = Company.__table__.name
        rows = conn.execute(f"SELECT domain FROM {table} WHERE domain IS NOT NULL ORDER BY id LIMIT ?", (ROWS,))
        return [r[0] for r in rows]


def _write_csv(path, domains: list[str]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Company Name", "Website", "Industry", "Lead Score"])
        for i, domain in enumerate(domains):
            writer.writerow([f"Renamed {i}", f"https://{domain}/", "", str(10 + i)])
            if i == 2:
                writer.writerow(["No key at all", "", "", "5"])  # line 5: no identity key, rejected
        writer.writerow(["Renamed again", domains[0], "", "99"])  # a duplicate of line 2


def test_upload_map_dry_run_import_and_see_the_fill_rate(page, screenshot, app_url, tmp_path, tmp_path_factory):
    source = tmp_path / "e2e-leads.csv"
    domains = _demo_domains(tmp_path_factory)
    assert len(domains) == ROWS
    _write_csv(source, domains)

    page.goto("/data-hub")
    expect(page.locator("#field-row-name")).to_be_visible()
    screenshot("data-hub-before-import")
    page.locator("#open-import").click()
    expect(page.locator("#import-upload-step")).to_be_visible()
    screenshot("import-1-upload")

    page.locator("#import-upload input[type=file]").set_input_files(str(source))
    expect(page.locator("#import-mapping-step")).to_be_visible(timeout=30_000)
    expect(page.locator("#import-file-label")).to_contain_text("e2e-leads.csv")

    lead = page.locator('select.map-select[data-column="Lead Score"]')
    expect(lead).to_have_value("__skip__")
    lead.select_option("__custom__:number")
    page.locator('select.map-select[data-column="Industry"]').select_option("__skip__")
    name_policy = page.locator('select.policy-select[data-column="Company Name"]')
    name_policy.select_option("never")
    expect(name_policy).to_have_value("never")
    expect(page.locator("#preview-table th", has_text="Lead score")).to_be_visible()
    rows = page.locator("#preview-table .preview-row")
    expect(rows).to_have_count(10)
    expect(page.locator("#preview-table .preview-row.rejected")).to_have_count(1)
    expect(rows.nth(3)).to_contain_text("no identity key")
    expect(rows.first).to_contain_text(domains[0])
    expect(rows.first).to_contain_text("10")
    screenshot("import-2-mapping-preview")

    page.locator("#dry-run").click()
    summary = page.locator("#dry-run-summary")
    expect(summary).to_be_visible(timeout=30_000)
    expect(page.locator('#dry-run-counts [data-count="Updated"]')).to_contain_text(str(ROWS))
    expect(page.locator('#dry-run-counts [data-count="Created"]')).to_contain_text("0")
    expect(page.locator('#dry-run-counts [data-count="Rejected"]')).to_contain_text("1")
    expect(summary.locator(".dry-run-sample").first).to_be_visible()
    screenshot("import-3-dry-run")

    page.locator("#start-import").click()
    expect(page.locator("#import-progress")).to_be_visible()
    screenshot("import-4-progress")
    expect(page.locator("#import-result-step")).to_be_visible(timeout=60_000)
    expect(page.locator("#import-result-status")).to_contain_text("succeeded")
    expect(page.locator('#import-result-counts [data-count="Updated"]')).to_contain_text(str(ROWS))
    expect(page.locator('#import-result-counts [data-count="Duplicates merged"]')).to_contain_text("1")
    link = page.locator("#reject-report-link")
    expect(link).to_be_visible()
    expect(page.locator("#import-rejects")).to_contain_text("no identity key")
    screenshot("import-5-result")
    href = link.get_attribute("href")
    assert href and href.startswith("/_downloads/")
    report = httpx.get(app_url + href, timeout=10)
    assert report.status_code == 200 and "line,outcome,column,reason" in report.text.lstrip("\ufeff")

    page.locator("#open-data-hub").click()
    row = page.locator("#field-row-lead_score")
    expect(row).to_be_visible(timeout=30_000)
    total = DEMO_COMPANIES  # updated, not created
    expect(page.locator("#data-hub-total")).to_contain_text(f"{total:,}")
    expect(row).to_contain_text(f"{ROWS:,}")
    expect(row).to_contain_text(f"{round(100 * ROWS / total, 1):g}%")
    expect(row).to_contain_text("import")
    screenshot("import-6-data-hub-fill-rate")

    row.click()
    expect(page.locator("#field-detail")).to_be_visible()
    expect(page.locator("#field-chart .recharts-bar-rectangle").first).to_be_visible(timeout=15_000)
    screenshot("import-7-field-detail")
    page.locator("#toggle-field-hidden").click()
    expect(page.locator("#field-row-lead_score")).to_have_attribute("data-hidden", "true")
    expect(page.locator("#field-row-lead_score")).to_contain_text(f"{ROWS:,}")  # hiding keeps the values
    expect(page.locator("#data-hub-notice")).to_contain_text(re.compile("values stay"))
