"""`segment` on the command line: count, ids, sql and export over a filter; list, show and save
saved segments; errors as one line and an exit code, never a traceback. Both backends."""

from __future__ import annotations

import csv
import json

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from audiences_app.cli import main
from audiences_app.core.models import Workspace
from audiences_app.core.segments import matching_ids

from .core.segments.world import World, load_world

SOFTWARE = {"field": "industry", "op": "eq", "value": "software"}
SOFTWARE_JSON = json.dumps(SOFTWARE)


@pytest.fixture
def world(engine) -> World:
    return load_world(engine)


@pytest.fixture
def cli(engine, world):
    url = engine.url.render_as_string(hide_password=False)
    with engine.connect() as conn:
        slug = conn.execute(sa.select(Workspace.__table__.c.slug).where(Workspace.__table__.c.id == world.workspace_id)).scalar()

    def invoke(*args: str, input: str | None = None):
        return CliRunner().invoke(main, ["--database-url", url, "segment", *args, "--workspace", slug], input=input)

    return invoke


def _ids(world: World, filter_json, entity="companies") -> list[int]:
    with world.engine.connect() as conn:
        return matching_ids(conn, world.workspace_id, entity, filter_json)


def test_count_prints_the_number_of_records_the_filter_selects(cli):
    result = cli("count", "--entity", "companies", "--filter", SOFTWARE_JSON)
    assert result.exit_code == 0 and result.output == "2 companies\n"
    result = cli("count", "--entity", "people", "--filter", '{"field": "company.industry", "op": "eq", "value": "software"}',
                 "--json")
    assert json.loads(result.output) == {"entity": "people", "count": 2}


def test_ids_prints_one_id_a_line_ascending_or_a_json_list(cli, world):
    expected = _ids(world, SOFTWARE)
    assert cli("ids", "--entity", "companies", "--filter", SOFTWARE_JSON).output == "".join(f"{i}\n" for i in expected)
    assert json.loads(cli("ids", "--entity", "companies", "--filter", SOFTWARE_JSON, "--json").output) == expected
    assert cli("ids", "--entity", "companies", "--filter", '{"or": []}').output == ""


def test_sql_shows_the_query_of_this_database_with_values_written_in(cli, world, engine):
    result = cli("sql", "--entity", "companies", "--filter", SOFTWARE_JSON)
    assert result.exit_code == 0
    assert result.output.startswith("SELECT company.id \nFROM company \nWHERE ")
    assert f"workspace_id = {world.workspace_id}" in result.output and "'software'" in result.output
    assert json.loads(cli("sql", "--entity", "companies", "--filter", SOFTWARE_JSON, "--json").output)["dialect"] == (
        engine.dialect.name)


def test_the_filter_can_come_from_a_file_or_standard_input(cli, tmp_path):
    path = tmp_path / "filter.json"
    path.write_text(SOFTWARE_JSON, encoding="utf-8")
    assert cli("count", "--entity", "companies", "--filter", str(path)).output == "2 companies\n"
    assert cli("count", "--entity", "companies", "--filter", "-", input=SOFTWARE_JSON).output == "2 companies\n"


def test_as_of_pins_the_clock_of_relative_dates(cli):
    recent = json.dumps({"field": "created_at", "op": "within_last", "value": {"amount": 7, "unit": "day"}})
    assert cli("count", "--entity", "companies", "--filter", recent, "--as-of", "2024-06-03").output == "4 companies\n"
    assert cli("count", "--entity", "companies", "--filter", recent, "--as-of", "2030-01-01").output == "0 companies\n"


def test_export_writes_the_members_chosen_fields(cli, tmp_path):
    out = tmp_path / "software.csv"
    result = cli("export", "--entity", "companies", "--filter", SOFTWARE_JSON, "--out", str(out), "--fields", "name,domain")
    assert result.exit_code == 0 and result.output == f"exported 2 companies to {out} (csv)\n"
    with out.open(encoding="utf-8-sig", newline="") as handle:
        assert list(csv.reader(handle)) == [["name", "domain"], ["Acme Labs", "acme.com"], ["", "epsilon.com"]]
    parquet = tmp_path / "software.parquet"
    result = cli("export", "--entity", "companies", "--filter", SOFTWARE_JSON, "--out", str(parquet), "--json")
    assert json.loads(result.output)["format"] == "parquet" and json.loads(result.output)["rows"] == 2


@pytest.mark.parametrize(("args", "code", "message"), [
    (["--filter", '{"field": "industry"'], 2, "Error: --filter is not valid JSON: "),
    (["--filter", "no/such/file.json"], 2, "Error: --filter 'no/such/file.json' is neither JSON nor a file that exists."),
    (["--filter", '{"field": "industy", "op": "eq", "value": "x"}'], 1,
     "Error: The filter cannot run: filter: field 'industy' is not in the companies catalog (did you mean 'industry'?)"),
    (["--filter", '{"and": [{"segment": 424242, "op": "in_segment"}]}'], 1,
     "Error: The filter cannot run: and[0]: segment #424242 does not exist"),
    (["--filter", '{"field": "employee_count", "op": "gt", "value": "ten"}'], 1, "needs a number (got text)"),
])
def test_a_bad_filter_is_one_line_and_an_exit_code_never_a_traceback(cli, args, code, message):
    result = cli("count", "--entity", "companies", *args)
    assert result.exit_code == code
    assert message in result.output and len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_an_unknown_workspace_is_one_line(engine):
    url = engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(main, ["--database-url", url, "segment", "list", "--workspace", "no-such-place"])
    assert result.exit_code == 1 and result.output.strip() == (
        "Error: no workspace 'no-such-place': run `python -m audiences_app demo` first.")


def test_save_list_show_and_save_again_as_a_new_version(cli):
    result = cli("save", "--name", "Software", "--entity", "companies", "--filter", SOFTWARE_JSON, "--owner", "ana",
                 "--json")
    assert result.exit_code == 0
    segment = json.loads(result.output)
    assert segment["version"] == 1 and segment["description"] == "Industry is software"
    assert cli("list").output == f"#{segment['id']}  Software  (companies, v1, not counted, ana)\n"
    result = cli("save", "--name", "Software", "--entity", "companies", "--id", str(segment["id"]), "--note", "US only",
                 "--filter", json.dumps({"and": [SOFTWARE, {"field": "country", "op": "eq", "value": "US"}]}))
    assert result.output.startswith(f"saved segment #{segment['id']} 'Software' version 2: ")
    shown = cli("show", str(segment["id"])).output.splitlines()
    assert shown[1] == "  Industry is software and Country is US"
    assert shown[-2].startswith("  v2 ") and shown[-2].endswith("cli — US only") and shown[-1].startswith("  v1 ")
    assert [v["version"] for v in json.loads(cli("show", str(segment["id"]), "--json").output)["versions"]] == [2, 1]
    listed = json.loads(cli("list", "--json").output)
    assert [(s["name"], s["version"]) for s in listed] == [("Software", 2)]


def test_a_saved_segment_can_be_included_by_id(cli):
    segment = json.loads(cli("save", "--name", "Software", "--entity", "companies", "--filter", SOFTWARE_JSON,
                             "--json").output)
    including = json.dumps({"and": [{"segment": segment["id"], "op": "in_segment"},
                                    {"field": "country", "op": "eq", "value": "US"}]})
    assert cli("count", "--entity", "companies", "--filter", including).output == "1 companies\n"


def test_saving_under_a_taken_name_or_an_unknown_id_is_one_line(cli):
    cli("save", "--name", "Software", "--entity", "companies", "--filter", SOFTWARE_JSON)
    result = cli("save", "--name", "software", "--entity", "companies", "--filter", SOFTWARE_JSON)
    assert result.exit_code == 1 and "Another segment is already called 'software'" in result.output
    result = cli("show", "987654")
    assert result.exit_code == 1 and result.output.strip() == "Error: There is no segment #987654 in this workspace."
