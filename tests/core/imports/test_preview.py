"""What the mapping step shows: the first rows exactly as they would land; XLSX and Parquet imports."""

from __future__ import annotations

from audiences_app.core import imports


def test_the_preview_shows_the_first_rows_as_they_would_land(write_file):
    lines = ["Company name,Website URL,Number of Employees,Country/Region,Notes"]
    lines += [f"Co {i},https://www.co{i}.com/,{i * 10},France,n{i}" for i in range(12)]
    lines[3] = "Angel Co,https://angel.co/x,5,Mars,"
    plan = imports.plan_import(write_file("\n".join(lines) + "\n"), "companies")
    preview = imports.preview_import(plan)
    assert len(preview.rows) == 10
    assert preview.rows[0] == {"line": 2, "rejected": None, "issues": [], "values": {
        "name": "Co 0", "employee_count": "0", "country": "FR", "website": "https://www.co0.com/", "domain": "co0.com"}}
    assert preview.rows[2]["rejected"] == ("no identity key: 'https://angel.co/x' is on a shared platform (angel.co): "
                                           "no domain identity")
    assert preview.columns[4] == {"column": "Notes", "field": None, "type": None, "samples": ["n0", "n1", "n3"]}
    assert preview.warnings == []


def test_the_preview_warns_when_no_column_gives_an_identity(write_file):
    plan = imports.plan_import(write_file("Name,City\nAcme,Paris\n"), "companies")
    assert imports.preview_import(plan).warnings[0].startswith("No column is mapped to an identity field")


def test_user_changes_reach_the_preview(write_file):
    plan = imports.plan_import(write_file("Site,Score\nacme.com,7\n"), "companies",
                               overrides={"Site": "website", "Score": "score"})
    preview = imports.preview_import(plan)
    assert preview.rows[0]["values"] == {"website": "acme.com", "domain": "acme.com", "score": "7"}
    assert [(c.column, c.field, c.type) for c in plan.mapping.columns] == [("Site", "website", None),
                                                                         ("Score", "score", "number")]


def test_an_xlsx_workbook_imports_like_a_csv(engine, workspace_id, tmp_path, run_import):
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Accounts"
    sheet.append(["Account Name", "Website", "Employees", "Billing Country"])
    sheet.append(["Acme", "acme.com", 120, "United States"])
    sheet.append(["Beta", "https://beta.io", 12.0, "DE"])
    sheet.append(["Nobody", None, None, None])
    path = tmp_path / "accounts.xlsx"
    workbook.save(path)
    summary = run_import(path, sheet="Accounts")
    assert (summary.rows_read, summary.created, summary.rejected) == (3, 2, 1)
    assert (run_import(path).unchanged, run_import(path).created) == (2, 0)


def test_a_parquet_file_imports_in_row_ranges(engine, workspace_id, tmp_path, run_import):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"email": [f"p{i}@acme.com" for i in range(50)] + ["not-an-email"],
                             "first_name": ["Pat"] * 51, "score": list(range(51))}), tmp_path / "people.parquet",
                   row_group_size=20)
    summary = run_import(tmp_path / "people.parquet", "people", chunk_rows=15, keep_unmapped=True)
    assert (summary.rows_read, summary.created, summary.rejected) == (51, 50, 1)


def test_people_are_matched_by_any_of_their_keys(engine, workspace_id, write_file, run_import):
    run_import(write_file("email,phone\njane@acme.com,\n,+1 415 555 2671\n"), "people")
    summary = run_import(write_file("email,phone,Title\njane@acme.com,+1 (415) 555-2671,CEO\n", "v2.csv"), "people")
    assert (summary.rejected, summary.created) == (1, 0)
    with engine.connect() as conn:
        (reject,) = imports.reject_lines(conn, summary.run_id)
    assert reject["reason"].startswith("matches two different people: email jane@acme.com is person #")
    assert "phone +14155552671 is person #" in reject["reason"]
