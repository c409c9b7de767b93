"""Exports: CSV with formula injection neutralized, Parquet with types, streamed by id."""

from __future__ import annotations

import csv

import pyarrow.parquet as pq
import pytest

from audiences_app.core.exports import export_records, neutralize_formula
from audiences_app.core.records import TABLES


@pytest.fixture
def loaded(workspace_id, write_file, run_import):
    run_import(write_file("Company,Website,Employees,Note,Since\n"
                          "=1+2,acme.com,10,@SUM(A1),2012-06-01\n"
                          "+Beta,beta.io,,-rm,\n"
                          "Gamma,gamma.org,5,\tTab,2013-01-02\n"), keep_unmapped=True)
    return workspace_id


@pytest.mark.parametrize("value, safe", [
    ("=1+2", "'=1+2"), ("+1", "'+1"), ("-x", "'-x"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"), ("\rx", "'\rx"),
    ("plain", "plain"), ("a=b", "a=b"), (-5, -5), ("", ""),
])
def test_cells_a_spreadsheet_would_run_get_a_leading_quote(value, safe):
    assert neutralize_formula(value) == safe


def test_csv_export_streams_every_record_with_neutralized_text(engine, loaded, tmp_path):
    out = tmp_path / "companies.csv"
    with engine.connect() as conn:
        result = export_records(conn, loaded, "companies", out, fields=["name", "domain", "employee_count", "note"],
                                chunk_rows=2)
    assert (result.rows, result.fields) == (3, ["name", "domain", "employee_count", "note"])
    with out.open(encoding="utf-8-sig", newline="") as handle:
        assert list(csv.reader(handle)) == [
            ["name", "domain", "employee_count", "note"],
            ["'=1+2", "acme.com", "10", "'@SUM(A1)"],
            ["'+Beta", "beta.io", "", "'-rm"],
            ["Gamma", "gamma.org", "5", "Tab"],  # the import trimmed the tab
        ]
    assert not list(tmp_path.glob("*.partial"))


def test_parquet_export_keeps_types(engine, loaded, tmp_path):
    out = tmp_path / "companies.parquet"
    with engine.connect() as conn:
        export_records(conn, loaded, "companies", out, format="parquet",
                       fields=["id", "name", "employee_count", "since", "created_at", "tags"])
    table = pq.read_table(out)
    assert [str(t) for t in table.schema.types] == [
        "int64", "string", "int64", "date32[day]", "timestamp[us]", "list<element: string>"]
    rows = table.to_pylist()
    assert [(r["name"], r["employee_count"], str(r["since"])) for r in rows] == [
        ("=1+2", 10, "2012-06-01"), ("+Beta", None, "None"), ("Gamma", 5, "2013-01-02")]


def test_a_filter_clause_exports_only_its_records(engine, loaded, tmp_path):
    table = TABLES["companies"]
    with engine.connect() as conn:
        result = export_records(conn, loaded, "companies", tmp_path / "some.csv", fields=["domain"],
                                where=table.c.employee_count >= 5)
    assert result.rows == 2


def test_the_default_fields_are_id_and_every_visible_field(engine, loaded, tmp_path):
    with engine.connect() as conn:
        result = export_records(conn, loaded, "companies", tmp_path / "all.csv")
    assert result.fields[:3] == ["id", "name", "domain"] and "note" in result.fields and "since" in result.fields


def test_an_unknown_field_or_format_is_named(engine, loaded, tmp_path):
    with engine.connect() as conn:
        with pytest.raises(ValueError, match="companies have no field 'revenue'"):
            export_records(conn, loaded, "companies", tmp_path / "x.csv", fields=["revenue"])
        with pytest.raises(ValueError, match="Unknown format 'xls'"):
            export_records(conn, loaded, "companies", tmp_path / "x.xls", format="xls")
