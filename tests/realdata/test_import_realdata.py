"""Importing the real files in ../shared/data: the Crunchbase export (Windows-1252, duplicate
domains, spreadsheet damage, missing homepages) and the S&P 500 list (clean UTF-8)."""

from __future__ import annotations

import csv

import sqlalchemy as sa

from audiences_app.core import imports
from audiences_app.core.models import Company

COMPANY = Company.__table__


def _import(engine, workspace_id, path, **options):
    with engine.connect() as conn:
        plan = imports.plan_import(path, "companies", conn=conn, workspace_id=workspace_id, **options)
    return imports.import_file(engine, workspace_id, plan)


def _counts(summary):
    return (summary.rows_read, summary.created, summary.updated, summary.unchanged, summary.duplicates,
            summary.rejected, summary.warnings)


def test_crunchbase_imports_deduplicated_and_again_changes_nothing(engine, workspace_id, shared_data, tmp_path):
    path = shared_data / "crunchbase-2013-companies.csv"
    first = _import(engine, workspace_id, path)
    # 887 rows have no homepage and 26 have one on a shared platform (angel.co, wordpress.com,
    # youtube.com/…): 913 rejected. 111 rows repeat a domain of an earlier row (www. or not,
    # trailing path) and merge into it. 12 funding totals are spreadsheet damage (#####, dates).
    assert _counts(first) == (19374, 18350, 0, 0, 111, 913, 12)
    again = _import(engine, workspace_id, path)
    assert _counts(again) == (19374, 0, 0, 18350, 111, 913, 12)
    assert again.message.startswith("Nothing changed")
    with engine.connect() as conn:
        names = dict(conn.execute(sa.select(COMPANY.c.domain, COMPANY.c.name).where(
            COMPANY.c.workspace_id == workspace_id, COMPANY.c.domain.in_(
                ["anchorintl.com", "miasole.com", "plusn.com", "getagami.com"]))).all())
        report = tmp_path / "rejects.csv"
        imports.write_reject_report(conn, first.run_id, workspace_id, report)
    assert names.get("miasole.com") == "MiaSolé"  # Windows-1252 é
    assert names.get("plusn.com") is None  # "#NAME?" is spreadsheet damage, not a name
    with report.open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 913 + 12
    assert rows[0]["line"] == "10" and rows[0]["reason"] == "no identity key: homepage_url is empty"


def test_crunchbase_with_unmapped_columns_kept_as_typed_custom_fields(engine, workspace_id, shared_data):
    from audiences_app.core.fields import field_health

    summary = _import(engine, workspace_id, shared_data / "crunchbase-2013-companies.csv", keep_unmapped=True)
    assert summary.created == 18350
    with engine.connect() as conn:
        health = {f.key: f for f in field_health(conn, workspace_id, "companies")}
    assert (health["permalink"].type, health["permalink"].filled) == ("text", 18350)
    assert (health["funding_rounds"].type, health["founded_at"].type) == ("number", "date")
    assert health["country"].values == [{"value": "US", "count": 18350}]


def test_sp500_needs_an_identity_column_and_then_merges_share_classes(engine, workspace_id, shared_data):
    path = shared_data / "sp500-constituents.csv"
    unmapped = _import(engine, workspace_id, path)
    assert _counts(unmapped) == (503, 0, 0, 0, 0, 503, 0)
    assert unmapped.message == "Nothing imported: all 503 rows were rejected (see the reject report)."
    mapped = _import(engine, workspace_id, path, overrides={"Security": "name", "CIK": "crm_id"})
    # Alphabet, Fox and News Corp list two share classes under one CIK: the second merges.
    assert _counts(mapped) == (503, 500, 0, 0, 3, 0, 0)
    with engine.connect() as conn:
        abbvie = conn.execute(sa.select(COMPANY.c.name, COMPANY.c.founded_year, COMPANY.c.city, COMPANY.c.region)
                              .where(COMPANY.c.workspace_id == workspace_id, COMPANY.c.crm_id == "1551152")).one()
    assert tuple(abbvie) == ("AbbVie", 2013, "North Chicago", "Illinois")  # Founded "2013 (1888)"
    assert _counts(_import(engine, workspace_id, path, overrides={"Security": "name", "CIK": "crm_id"})) == (
        503, 0, 0, 500, 3, 0, 0)
