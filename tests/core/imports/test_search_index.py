"""Imports keep the trigram search index set-based (`text_search.batched`), not by a trigger per
row: afterwards the index finds exactly what a scan finds, the triggers are back as the
migration made them, and a batch that fails leaves the index as consistent as the table."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from audiences_app.core import imports, text_search
from audiences_app.core.bulk import bulk_insert
from audiences_app.core.db import write_transaction
from audiences_app.core.models import Company, Person, utcnow
from audiences_app.core.workspaces import ensure_workspace

COMPANY = Company.__table__
PERSON = Person.__table__
NAMES = ["École Straße", "ÉCOLE", "O'Reilly \"Media\"", "100% Pure_Juice", "naïve café", "ＡＣＭＥ", "Acme Corp",
         "ab", "😀 emoji co", "İstanbul Trading"]
TERMS = ["acme", "ACM", "éco", "strasse", "straße", "pure_j", "100%", "o'r", '"media"', "café", "ｃｍｅ", "emoji",
         "ist", "tanbul", ".io", "ample-", "renamed", "co", "zzz"]
SEARCHED = {COMPANY: ("name", "domain"), PERSON: ("full_name", "email")}


def _found(engine, table: sa.Table, workspace_id: int, term: str) -> tuple[set, set]:
    """(ids the index-served `contains` finds, ids a plain LIKE scan finds) for `term`."""
    dialect, columns = engine.dialect.name, SEARCHED[table]
    pattern = text_search.like_pattern("%", text_search.fold(term), "%")
    scan = sa.or_(*(text_search.normalized(table.c[c], dialect).like(pattern, escape="\\") for c in columns))
    with engine.connect() as conn:
        return tuple(set(conn.execute(sa.select(table.c.id).where(table.c.workspace_id == workspace_id, clause))
                         .scalars()) for clause in (text_search.contains(table, columns, term, dialect), scan))


def _check_fts(conn) -> None:
    if conn.dialect.name == "sqlite":  # compares the index with the table's content; raises if they differ
        for table in ("company", "person"):
            conn.exec_driver_sql(f"INSERT INTO {table}_fts({table}_fts, rank) VALUES ('integrity-check', 1)")


def _triggers(conn) -> list[tuple]:
    return [tuple(row) for row in conn.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%\\_fts\\_%' ESCAPE '\\' "
        "ORDER BY name")]


@pytest.fixture
def sqlite_only(engine):
    """The batches replace SQLite's triggers; PostgreSQL's GIN indexes keep themselves (and
    segments/test_trigram.py compares the index with a scan on both backends)."""
    if engine.dialect.name != "sqlite":
        pytest.skip("the search index is kept by its own triggers only on SQLite")


@pytest.mark.usefixtures("sqlite_only")
def test_an_import_that_creates_and_updates_finds_what_a_scan_finds(engine, workspace_id, write_file, run_import):
    first = "".join(f"{i},{NAMES[i % len(NAMES)]} {i},{'' if i % 4 == 0 else f'sample-{i}.io'}\n" for i in range(30))
    summary = run_import(write_file("Record ID,Company,Website\n" + first), chunk_rows=7)
    assert summary.created == 30
    # Renames, domains filled where blank, unchanged rows, new rows and in-file duplicates, across chunks.
    second = "".join(
        f"{i},{'Renamed ' + str(i) if i % 3 == 0 else NAMES[i % len(NAMES)] + f' {i}'},"
        f"{f'sample-{i}.io' if i % 4 else f'filled-{i}.io'}\n" for i in range(0, 40, 2)
    ) + "4,Renamed again 4,\n38,Late duplicate,\n"
    summary = run_import(write_file("Record ID,Company,Website\n" + second, "v2.csv"), chunk_rows=6)
    assert (summary.created, summary.duplicates) == (5, 2) and summary.updated > 0
    with engine.connect() as conn:
        _check_fts(conn)
    for term in TERMS:
        indexed, scanned = _found(engine, COMPANY, workspace_id, term)
        assert indexed == scanned, term
    assert [len(s) for s in _found(engine, COMPANY, workspace_id, "renamed 12")] == [1, 1]
    assert [len(s) for s in _found(engine, COMPANY, workspace_id, "filled-8.io")] == [1, 1]


@pytest.mark.usefixtures("sqlite_only")
def test_people_imports_keep_their_index_too(engine, workspace_id, write_file, run_import):
    people = "".join(f"p{i},{NAMES[i % len(NAMES)]} {i},{'' if i % 2 else f'person{i}@example.com'}\n"
                     for i in range(12))
    run_import(write_file("Record ID,Full name,Email\n" + people), "people", chunk_rows=5)
    changed = "".join(f"p{i},Renamed person {i},person{i}@example.com\n" for i in range(0, 12, 3))
    assert run_import(write_file("Record ID,Full name,Email\n" + changed, "v2.csv"), "people").updated == 4
    with engine.connect() as conn:
        _check_fts(conn)
    for term in ["renamed", "person3@", "example", "école", "acme", "ｃｍｅ 5"]:
        indexed, scanned = _found(engine, PERSON, workspace_id, term)
        assert indexed == scanned, term


def test_the_triggers_are_back_as_the_migration_made_them(sqlite_engine, tmp_path):
    with sqlite_engine.connect() as conn:
        migrated = _triggers(conn)
    assert len(migrated) == 6
    path = tmp_path / "companies.csv"
    path.write_text("Website,Company\n" + "".join(f"t{i}.com,Trigger {i}\n" for i in range(10)), encoding="utf-8")
    with write_transaction(sqlite_engine) as conn:
        workspace_id = ensure_workspace(conn, "triggers-back")
    for _ in range(2):  # creates, then updates nothing: both leave the triggers in place
        with sqlite_engine.connect() as conn:
            plan = imports.plan_import(path, "companies", conn=conn, workspace_id=workspace_id)
        imports.import_file(sqlite_engine, workspace_id, plan, chunk_rows=4)
        with sqlite_engine.connect() as conn:
            assert _triggers(conn) == migrated
            _check_fts(conn)


def _insert_companies(conn, workspace_id: int, names: list[str], prefix: str) -> None:
    now = utcnow()
    bulk_insert(conn, COMPANY, ("workspace_id", "crm_id", "name", "attributes", "created_at", "updated_at"),
                ((workspace_id, f"{prefix}{i}", name, {}, now, now) for i, name in enumerate(names)))


def _id_of(conn, workspace_id: int, crm_id: str) -> int:
    return conn.execute(sa.select(COMPANY.c.id).where(
        COMPANY.c.workspace_id == workspace_id, COMPANY.c.crm_id == crm_id)).scalar_one()


def test_a_failed_batch_rolls_back_with_its_transaction(engine, workspace_id):
    with write_transaction(engine) as conn:
        _insert_companies(conn, workspace_id, ["Original Okapi"], "old")
        migrated = _triggers(conn) if conn.dialect.name == "sqlite" else None
    with pytest.raises(sa.exc.IntegrityError), write_transaction(engine) as conn:
        with text_search.batched(conn, COMPANY) as batch:
            _insert_companies(conn, workspace_id, ["Vanishing Vicuna"], "new")
            okapi = _id_of(conn, workspace_id, "old0")
            batch.updating([okapi])
            conn.execute(sa.update(COMPANY).where(COMPANY.c.id == okapi).values(name="Renamed Rhea"))
            _insert_companies(conn, workspace_id, ["Same key twice"], "old")  # unique crm_id: refused
    with engine.connect() as conn:
        _check_fts(conn)
        if migrated is not None:
            assert _triggers(conn) == migrated
    for term, expected in [("okapi", 1), ("vicuna", 0), ("rhea", 0)]:
        indexed, scanned = _found(engine, COMPANY, workspace_id, term)
        assert indexed == scanned and len(scanned) == expected, term


def test_an_error_caught_inside_the_transaction_undoes_only_the_batch(engine, workspace_id):
    with write_transaction(engine) as conn:
        try:
            with text_search.batched(conn, COMPANY):
                _insert_companies(conn, workspace_id, ["Undone Urial"], "undone")
                raise ValueError("the caller gives up on this batch")
        except ValueError:
            pass
        _insert_companies(conn, workspace_id, ["Kept Kiang"], "kept")  # the insert trigger is back
        _check_fts(conn)
    assert [len(s) for s in _found(engine, COMPANY, workspace_id, "urial")] == [0, 0]
    assert [len(s) for s in _found(engine, COMPANY, workspace_id, "kiang")] == [1, 1]


def test_rows_inserted_then_updated_in_the_same_batch_are_indexed_once(engine, workspace_id):
    with write_transaction(engine) as conn:
        with text_search.batched(conn, COMPANY) as batch:
            _insert_companies(conn, workspace_id, ["Fresh Fossa"], "fresh")
            fossa = _id_of(conn, workspace_id, "fresh0")
            batch.updating([fossa, fossa])  # inserted in this batch: nothing to take out
            conn.execute(sa.update(COMPANY).where(COMPANY.c.id == fossa).values(name="Grown Genet"))
        _check_fts(conn)
    assert [len(s) for s in _found(engine, COMPANY, workspace_id, "fossa")] == [0, 0]
    assert [len(s) for s in _found(engine, COMPANY, workspace_id, "genet")] == [1, 1]


def test_a_suspended_index_is_left_to_resume(sqlite_engine):
    with write_transaction(sqlite_engine) as conn:
        workspace_id = ensure_workspace(conn, "suspended-batch")
        text_search.suspend(conn, COMPANY)
    try:
        with write_transaction(sqlite_engine) as conn:
            with text_search.batched(conn, COMPANY):
                _insert_companies(conn, workspace_id, ["Paused Pangolin"], "paused")
            assert not [name for name, _ in _triggers(conn) if name.startswith("company_")]
    finally:
        with write_transaction(sqlite_engine) as conn:
            text_search.resume(conn, COMPANY)
            _check_fts(conn)
    assert [len(s) for s in _found(sqlite_engine, COMPANY, workspace_id, "pangolin")] == [1, 1]
