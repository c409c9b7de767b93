"""Upserting imported rows: identity, dedupe in the file and against the workspace, policies, counts."""

from __future__ import annotations

import sqlalchemy as sa

from audiences_app.core import imports
from audiences_app.core.models import Company, Person

COMPANY = Company.__table__
PERSON = Person.__table__


def _companies(engine, workspace_id, *columns):
    columns = columns or ("domain", "name", "employee_count", "crm_id")
    with engine.connect() as conn:
        rows = conn.execute(sa.select(*(COMPANY.c[c] for c in columns)).where(
            COMPANY.c.workspace_id == workspace_id).order_by(COMPANY.c.id))
        return [tuple(r) for r in rows]


def _counts(summary):
    return (summary.created, summary.updated, summary.unchanged, summary.duplicates, summary.rejected)


def test_new_rows_are_created_and_a_second_import_changes_nothing(engine, workspace_id, write_file, run_import):
    path = write_file("Company,Website,Employees\nAcme,acme.com,10\nBeta,https://www.beta.io/,20\n")
    first = run_import(path)
    assert (first.status, first.rows_read, _counts(first)) == ("succeeded", 2, (2, 0, 0, 0, 0))
    with engine.connect() as conn:
        stamps = conn.execute(sa.select(COMPANY.c.updated_at).where(COMPANY.c.workspace_id == workspace_id)).all()
    again = run_import(path)
    assert _counts(again) == (0, 0, 2, 0, 0)
    assert again.message == "Nothing changed: all 2 accepted rows match records that already hold their values."
    with engine.connect() as conn:
        assert conn.execute(sa.select(COMPANY.c.updated_at).where(
            COMPANY.c.workspace_id == workspace_id)).all() == stamps
    assert _companies(engine, workspace_id) == [("acme.com", "Acme", 10, None), ("beta.io", "Beta", 20, None)]


def test_a_changed_value_updates_the_record_and_moves_updated_at(engine, workspace_id, write_file, run_import):
    run_import(write_file("Company,Website,Employees\nAcme,acme.com,10\nBeta,beta.io,20\n"))
    summary = run_import(write_file("Company,Website,Employees\nAcme,acme.com,11\nBeta,beta.io,20\n", "v2.csv"))
    assert _counts(summary) == (0, 1, 1, 0, 0)
    with engine.connect() as conn:
        created, updated = zip(*conn.execute(sa.select(COMPANY.c.created_at, COMPANY.c.updated_at).where(
            COMPANY.c.workspace_id == workspace_id).order_by(COMPANY.c.id)), strict=True)
    assert updated[0] > created[0] and updated[1] == created[1]


def test_policies_overwrite_fill_blanks_and_never(engine, workspace_id, write_file, run_import):
    run_import(write_file("Website,Company,Industry,City\nacme.com,Acme,,Paris\n"))
    path = write_file("Website,Company,Industry,City\nacme.com,ACME Corp,Software,Lyon\n", "v2.csv")
    policy = imports.UpsertPolicy("overwrite", {"name": "never", "industry": "fill_blanks", "city": "fill_blanks"})
    summary = run_import(path, policy=policy)
    assert _counts(summary) == (0, 1, 0, 0, 0)
    assert _companies(engine, workspace_id, "name", "industry", "city") == [("Acme", "software", "Paris")]


def test_empty_cells_erase_only_when_asked(engine, workspace_id, write_file, run_import):
    run_import(write_file("Website,Company,City\nacme.com,Acme,Paris\n"))
    blank = write_file("Website,Company,City\nacme.com,Acme,\n", "blank.csv")
    assert _counts(run_import(blank)) == (0, 0, 1, 0, 0)
    summary = run_import(blank, policy=imports.UpsertPolicy(skip_empty=False))
    assert _counts(summary) == (0, 1, 0, 0, 0)
    assert _companies(engine, workspace_id, "name", "city") == [("Acme", None)]


def test_later_duplicates_in_the_file_only_fill_blanks(engine, workspace_id, write_file, run_import):
    path = write_file("Website,Company,City,Employees\n"
                      "http://www.acme.com,Acme,,10\nhttp://acme.com/,Acme Duplicate,Paris,99\nbeta.io,Beta,,\n")
    summary = run_import(path)
    assert _counts(summary) == (2, 0, 0, 1, 0)
    assert _companies(engine, workspace_id, "domain", "name", "city", "employee_count") == [
        ("acme.com", "Acme", "Paris", 10), ("beta.io", "Beta", None, None)]
    assert _counts(run_import(path)) == (0, 0, 2, 1, 0)


def test_duplicates_merge_the_same_way_across_chunks(engine, workspace_id, write_file, run_import):
    body = "".join(f"c{i}.com,Co {i},\n" for i in range(9)) + "c1.com,Later name,Rome\nc20.com,New,\n"
    path = write_file("Website,Company,City\n" + body)
    summary = run_import(path, chunk_rows=4)
    assert (summary.rows_read, _counts(summary)) == (11, (10, 0, 0, 1, 0))
    assert ("c1.com", "Co 1", "Rome") in _companies(engine, workspace_id, "domain", "name", "city")
    assert _counts(run_import(path, chunk_rows=4)) == (0, 0, 10, 1, 0)


def test_a_row_matching_two_records_is_rejected_not_merged(engine, workspace_id, write_file, run_import):
    run_import(write_file("Website,Record ID\nacme.com,1\nbeta.io,2\n"))
    summary = run_import(write_file("Website,Record ID,Company\nacme.com,2,Confused\n", "v2.csv"),
                         reject_report=write_file("", "report.csv"))
    assert _counts(summary) == (0, 0, 0, 0, 1)
    with engine.connect() as conn:
        (reject,) = imports.reject_lines(conn, summary.run_id)
    assert reject["line"] == 2 and reject["column"] == "Website"
    assert reject["reason"].startswith("matches two different companies: domain acme.com is company #")
    assert _companies(engine, workspace_id, "domain", "name") == [("acme.com", None), ("beta.io", None)]


def test_identity_keys_are_filled_but_never_overwritten(engine, workspace_id, write_file, run_import):
    run_import(write_file("Website,Record ID\nacme.com,\n"))
    assert _counts(run_import(write_file("Website,Record ID\nacme.com,A-1\n", "v2.csv"))) == (0, 1, 0, 0, 0)
    summary = run_import(write_file("Website,Record ID\nacme.com,B-2\n", "v3.csv"))
    assert (summary.unchanged, summary.warnings) == (1, 1)
    with engine.connect() as conn:
        (issue,) = imports.reject_lines(conn, summary.run_id)
    assert issue["reason"] == "CRM id 'B-2' differs from 'A-1' of the record it matched: kept 'A-1'"
    assert _companies(engine, workspace_id, "domain", "crm_id") == [("acme.com", "A-1")]


def test_custom_fields_land_in_attributes_and_the_catalog(engine, workspace_id, write_file, run_import):
    from audiences_app.core.catalog import catalog

    path = write_file("Website,Lead Score,Partner\nacme.com,12.5,yes\nbeta.io,,no\n")
    summary = run_import(path, keep_unmapped=True)
    assert summary.created == 2
    assert _companies(engine, workspace_id, "attributes") == [
        ({"lead_score": 12.5, "partner": True},), ({"partner": False},)]
    with engine.connect() as conn:
        custom = [(f["key"], f["type"], f["source"], f["label"]) for f in catalog(conn, workspace_id, "companies")
                  if not f["is_core"]]
    assert custom == [("lead_score", "number", "import", "Lead Score"), ("partner", "boolean", "import", "Partner")]
    assert _counts(run_import(path, keep_unmapped=True)) == (0, 0, 2, 0, 0)


def test_people_are_linked_to_their_company_by_domain(engine, workspace_id, write_file, run_import):
    run_import(write_file("Website,Company\nacme.com,Acme\n"))
    summary = run_import(write_file("Email,First Name,Last Name,Company Website\n"
                                    "Jane@Acme.com,Jane,Doe,https://acme.com\njo@other.org,Jo,Roe,other.org\n",
                                    "people.csv"), "people")
    assert summary.created == 2
    with engine.connect() as conn:
        people = conn.execute(sa.select(PERSON.c.email, PERSON.c.full_name, PERSON.c.company_id.is_not(None))
                              .where(PERSON.c.workspace_id == workspace_id).order_by(PERSON.c.id)).all()
    assert [tuple(p) for p in people] == [("jane@acme.com", "Jane Doe", True), ("jo@other.org", "Jo Roe", False)]


def test_a_dry_run_reports_exactly_what_the_import_then_does_and_writes_nothing(engine, workspace_id, write_file,
                                                                                run_import):
    run_import(write_file("Website,Company\nacme.com,Acme\n"))
    path = write_file("Website,Company\nacme.com,Acme Inc\nbeta.io,Beta\nangel.co/gamma,Gamma\nbeta.io,Beta 2\n",
                      "v2.csv")
    with engine.connect() as conn:
        plan = imports.plan_import(path, "companies", conn=conn, workspace_id=workspace_id)
        runs_before = conn.execute(sa.text("SELECT count(*) FROM run")).scalar_one()
    preview = imports.dry_run(engine, workspace_id, plan, samples=5)
    assert _counts(preview) == (1, 1, 0, 1, 1)
    assert preview.samples["created"] == [{"line": 3, "values": {"name": "Beta", "domain": "beta.io",
                                                                 "website": "beta.io"}}]
    assert preview.samples["updated"][0]["changes"] == {"name": ["Acme", "Acme Inc"]}
    assert preview.samples["rejected"][0]["line"] == 4
    assert preview.message == "4 rows: 1 would be created, 1 would be updated, 0 unchanged, 1 duplicate rows merged, 1 rejected."
    assert _companies(engine, workspace_id, "domain", "name") == [("acme.com", "Acme")]
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM run")).scalar_one() == runs_before
    assert _counts(run_import(path)) == _counts(preview)


def test_keys_holding_a_nul_character_are_found_again(sqlite_engine, tmp_path):
    # SQLite: existing keys are looked up through json_each, which would cut such a key at
    # the NUL; those lookups bind the keys one by one instead. (CSV drops NUL bytes; Parquet
    # keeps them. PostgreSQL text cannot hold NUL at all.)
    import pyarrow as pa
    import pyarrow.parquet as pq

    from audiences_app.core.db import write_transaction
    from audiences_app.core.workspaces import ensure_workspace

    path = tmp_path / "nul.parquet"
    pq.write_table(pa.table({"Record ID": ["a\x00b", "plain"], "Company": ["Nul Co", "Plain Co"]}), path)
    with write_transaction(sqlite_engine) as conn:
        workspace_id = ensure_workspace(conn, "nul-keys")
    counts = []
    for _ in range(2):
        with sqlite_engine.connect() as conn:
            plan = imports.plan_import(path, "companies", conn=conn, workspace_id=workspace_id)
        counts.append(_counts(imports.import_file(sqlite_engine, workspace_id, plan)))
    assert counts == [(2, 0, 0, 0, 0), (0, 0, 2, 0, 0)]
