"""`import` and `export` on the command line: JSON summary, mapping and policy options, errors."""

from __future__ import annotations

import csv
import json

import pytest
from click.testing import CliRunner

from audiences_app.cli import main


@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'cli.db'}"

    def invoke(*args: str):
        return CliRunner().invoke(main, ["--database-url", url, *args], catch_exceptions=False)

    return invoke


SUMMARY_KEYS = {"rows_read", "created", "updated", "unchanged", "rejected", "reject_report"}


def test_import_prints_a_json_summary_and_writes_the_reject_report(cli, write_file, tmp_path):
    path = write_file("Company,Website\nAcme,acme.com\nNo site,\n")
    result = cli("import", "companies", str(path), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert SUMMARY_KEYS <= set(summary)
    assert (summary["rows_read"], summary["created"], summary["rejected"]) == (2, 1, 1)
    assert summary["reject_report"] == str(tmp_path / "data.csv.rejects.csv")
    with open(summary["reject_report"], encoding="utf-8-sig") as handle:
        assert list(csv.reader(handle))[1][:4] == ["3", "rejected", "Website", "no identity key: Website is empty"]
    again = json.loads(cli("import", "companies", str(path), "--json").output)
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 1)
    assert again["message"].startswith("Nothing changed")


def test_map_policy_and_dry_run_options(cli, write_file):
    cli("import", "companies", str(write_file("Website,Company\nacme.com,Acme\n")))
    path = write_file("Site,Legal,Score\nacme.com,ACME Corp,7\nbeta.io,Beta,3\n", "v2.csv")
    options = ["--map", "Site=website", "--map", "Legal=name", "--map", "Score=score:number", "--policy", "name=never"]
    dry = json.loads(cli("import", "companies", str(path), *options, "--dry-run", "--json").output)
    assert (dry["status"], dry["created"], dry["updated"]) == ("dry run", 1, 1)
    real = json.loads(cli("import", "companies", str(path), *options, "--json").output)
    assert (real["created"], real["updated"]) == (1, 1)
    exported = json.loads(cli("export", "companies", "--out", "out.csv", "--fields", "name,domain,score", "--json").output)
    assert exported["rows"] == 2
    with open("out.csv", encoding="utf-8-sig") as handle:
        assert list(csv.reader(handle)) == [["name", "domain", "score"], ["Acme", "acme.com", "7"],
                                            ["Beta", "beta.io", "3"]]


def test_an_unreadable_file_is_one_clear_message(cli, write_file):
    result = cli("import", "people", str(write_file("", "empty.csv")))
    assert result.exit_code == 1
    assert "empty.csv is empty: there is nothing to import" in result.output


@pytest.mark.parametrize("args, message", [
    (["--map", "Nope=name"], "The file has no column 'Nope'"),
    (["--policy", "name=sometimes"], "must be one of overwrite, fill_blanks, never"),
    (["--map", "no-equals-sign"], "is not of the form NAME=VALUE"),
])
def test_a_wrong_option_says_what_is_wrong(cli, write_file, args, message):
    result = cli("import", "companies", str(write_file("Website\nacme.com\n")), *args)
    assert result.exit_code == 2 and message in result.output


def test_export_parquet_by_extension(cli, write_file, tmp_path):
    cli("import", "companies", str(write_file("Website,Company\nacme.com,Acme\n")))
    result = cli("export", "companies", "--out", str(tmp_path / "out.parquet"))
    assert result.exit_code == 0 and "exported 1 companies" in result.output and "(parquet)" in result.output
