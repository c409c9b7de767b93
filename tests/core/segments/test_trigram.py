"""Substring search served by the trigram index (SQLite FTS5, PostgreSQL pg_trgm) selects exactly
what a plain LIKE scan selects — for short terms, Unicode, quotes, LIKE wildcards and FTS5
query syntax alike — in segments and in quick search; and the index stays in step with the
table through inserts, updates, deletes, upserts and bulk loads."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

from audiences_app.core import records, text_search, trigram_sample
from audiences_app.core.bulk import bulk_insert, ensure_indexes, indexes_deferred
from audiences_app.core.db import make_engine, write_transaction
from audiences_app.core.migrate import upgrade
from audiences_app.core.models import Company
from audiences_app.core.segments import filter_fields, filter_sql
from audiences_app.core.segments.resolve import member_clause
from audiences_app.core.trigram_sample import TrigramSample
from audiences_app.core.workspaces import ensure_workspace

from .conftest import AS_OF, TABLES, Dataset, insert_records, new_workspace

AWKWARD = [
    "Acme Corp", "ACME labs", "  acme  ", "École Straße", "ÉCOLE", "école", "100% Pure_Juice", "a_b c%d",
    "O'Reilly \"Media\"", 'say "hi"', "AND OR NOT", "NEAR(a b)", "x*y", "{name} : zz", "back\\slash",
    "İstanbul", "ǅemal", "ﬁsh and chips", "😀 emoji co", "tab\there", "ab", "a", "", "   ", None,
    "Straße-Müller", "ΣΊΣΥΦΟΣ", "σίσυφος", "naïve café", "ＡＣＭＥ", "-dash", "^caret", "colon:name",
    "x" * 180, "Ab" * 40, "ñandú", "İİİ", "ııı", "\u212a Kelvin",
]
TERMS = [
    "a", "ab", "Ab", "abc", "acm", "ACM", "cme c", "acme", " acme ", "é", "éc", "éco", "ÉCO", "STRASSE", "straße",
    "%", "_", "%_", "100%", "e_j", "'", "o'r", '"', '""', '"hi"', 'y "h', "AND", "and or", "or not", "NEAR(",
    "NEAR(a", "*", "x*", "x*y", "{name}", "name :", ":", "^", "^ca", "-", "-da", "+", "(", ")", "\\", "k\\s",
    "İst", "i̇st", "ist", "ǆem", "ǅem", "ﬁsh", "fis", "😀", "😀 e", "\t", "b\th", "σίσ", "ΣΊΣ", "ＡＣＭ", "ｃｍｅ",
    "xxx", "x" * 150, "Ab" * 30, "zz", "nothing here", "İİ", "iii", "III", "ııı", "kelvin", "Kel", "ñan", "NAND",
]
COLUMNS = {"companies": ("name", "domain"), "people": ("full_name", "email")}


@pytest.fixture(scope="module")
def awkward(engine) -> Dataset:
    """Companies and people whose searched columns hold the awkward values, both ways round."""
    with write_transaction(engine) as conn:
        workspace_id = new_workspace(conn)
        insert_records(conn, workspace_id, "companies", [
            dict(crm_id=f"c{i}", name=value, domain=AWKWARD[-1 - i]) for i, value in enumerate(AWKWARD)])
        insert_records(conn, workspace_id, "people", [
            dict(crm_id=f"p{i}", full_name=AWKWARD[-1 - i], email=value) for i, value in enumerate(AWKWARD)])
    return Dataset(engine, workspace_id)


def _ids(data: Dataset, entity: str, clause) -> set[int]:
    table = TABLES[entity]
    with data.engine.connect() as conn:
        return set(conn.execute(sa.select(table.c.id).where(table.c.workspace_id == data.workspace_id, clause)).scalars())


def _scan(entity: str, columns, term: str, dialect: str):
    """The plain LIKE scan, which the index must not change."""
    table = TABLES[entity]
    pattern = text_search.like_pattern("%", text_search.fold(term), "%")
    return sa.or_(*(text_search.normalized(table.c[c], dialect).like(pattern, escape="\\") for c in columns))


@pytest.mark.parametrize("entity", COLUMNS)
@pytest.mark.parametrize("term", TERMS)
def test_the_index_selects_exactly_what_a_scan_selects(awkward, entity, term):
    dialect = awkward.engine.dialect.name
    table = TABLES[entity]
    for columns in [(c,) for c in COLUMNS[entity]] + [COLUMNS[entity]]:
        indexed = text_search.contains(table, columns, term, dialect)
        assert _ids(awkward, entity, indexed) == _ids(awkward, entity, _scan(entity, columns, term, dialect)), columns


@pytest.mark.parametrize("entity", COLUMNS)
@pytest.mark.parametrize("term", [t for t in TERMS if t.strip(" ") and "\x00" not in t])
def test_contains_and_not_contains_through_the_index_match_the_reference_evaluator(awkward, entity, term):
    for field in COLUMNS[entity]:
        for op in ("contains", "not_contains"):
            filter_json = {"field": field, "op": op, "value": term}
            assert awkward.sql_ids(entity, filter_json) == awkward.python_ids(entity, filter_json), (field, op)


@pytest.mark.parametrize("entity", COLUMNS)
@pytest.mark.parametrize("term", [t for t in TERMS if " ".join(t.split())])
def test_quick_search_finds_what_a_scan_of_both_columns_finds(awkward, entity, term):
    dialect = awkward.engine.dialect.name
    expected = _ids(awkward, entity, _scan(entity, COLUMNS[entity], " ".join(term.split()), dialect))
    with awkward.engine.connect() as conn:
        assert records.exact_count(conn, awkward.workspace_id, entity, search=term) == len(expected)
        page = records.browse(conn, awkward.workspace_id, entity, columns=[COLUMNS[entity][0]], search=term,
                              page_size=200)
    assert {int(row["id"]) for row in page.rows} == expected


def _compiled(clause, engine) -> str:
    return str(clause.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))


def test_long_enough_terms_use_the_index_and_shorter_ones_scan(engine):
    table = TABLES["companies"]
    dialect = engine.dialect.name
    marker = "company_fts MATCH" if dialect == "sqlite" else "lower(company.name) ILIKE"
    assert marker in _compiled(text_search.contains(table, ("name",), "acme", dialect), engine)
    for short in ("ac", " a ", "é"):
        assert marker not in _compiled(text_search.contains(table, ("name",), short, dialect), engine)
    assert "_fts" not in _compiled(text_search.contains(table, ("industry",), "software", dialect), engine)


def test_fts_syntax_in_a_term_is_quoted_as_one_string():
    clause = text_search.contains(TABLES["companies"], ("name", "domain"), 'say "hi" AND NEAR(x*', "sqlite")
    compiled = clause.compile(dialect=sqlite.dialect())
    assert '{name domain} : "say ""hi"" and near(x*"' in compiled.params.values()


def test_the_planner_answers_a_selective_contains_from_the_index(engine):
    with write_transaction(engine) as conn:
        ws = new_workspace(conn)
        insert_records(conn, ws, "companies", [dict(crm_id=f"n{i}", name=f"Company number {i:05}") for i in range(5_000)]
                       + [dict(crm_id="z", name="Zanzibar Trading")])
        conn.exec_driver_sql("ANALYZE" if engine.dialect.name == "sqlite" else "ANALYZE company")
    table = TABLES["companies"]
    query = sa.select(sa.func.count()).select_from(table).where(
        text_search.contains(table, ("name",), "zanzibar", engine.dialect.name))
    explain = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    with engine.connect() as conn, conn.begin():
        if engine.dialect.name == "postgresql":  # a few thousand rows: scanning them is cheaper still
            for scan in ("seqscan", "indexscan", "indexonlyscan"):
                conn.exec_driver_sql(f"SET LOCAL enable_{scan} = off")
        plan = " ".join(str(row) for row in conn.exec_driver_sql(explain + _compiled(query, engine)))
        assert conn.execute(query.where(table.c.workspace_id == ws)).scalar() == 1
    assert ("company_fts VIRTUAL TABLE" if engine.dialect.name == "sqlite" else "ix_company_name_trgm") in plan


def test_view_sql_shows_the_index_lookup(sample):
    with sample.engine.connect() as conn:
        fields = filter_fields(conn, sample.workspace_id, "companies")
    text = filter_sql({"field": "name", "op": "contains", "value": "acme"}, entity="companies", fields=fields,
                      dialect_name="sqlite", workspace_id=sample.workspace_id)
    assert "company_fts MATCH '{name} : \"acme\"'" in text and "LIKE '%acme%'" in text


# -- asking the index for the rarest trigrams only ------------------------------------------------

class _EveryTrigramRare:
    """Shares that make every trigram rare, each a little differently, so that `contains` asks
    the index for a subset of a term's trigrams wherever the term has more than a few."""

    def share(self, table, column):
        return lambda gram: (1 + sum(map(ord, gram)) % 97) * 1e-6


@pytest.mark.parametrize("entity", COLUMNS)
@pytest.mark.parametrize("term", TERMS)
def test_asking_for_a_few_rare_trigrams_selects_exactly_what_a_scan_selects(awkward, entity, term):
    dialect = awkward.engine.dialect.name
    table = TABLES[entity]
    with awkward.engine.connect() as conn:
        real = TrigramSample(conn, awkward.workspace_id)
        for shares in (_EveryTrigramRare(), real):
            for columns in [(c,) for c in COLUMNS[entity]] + [COLUMNS[entity]]:
                indexed = text_search.contains(table, columns, term, dialect, shares)
                assert _ids(awkward, entity, indexed) == _ids(awkward, entity, _scan(entity, columns, term, dialect))


def test_the_rarest_trigrams_that_do_not_overlap_are_asked_for():
    share = {"cin": 0.05, "ind": 0.2, "nde": 0.1, "der": 0.1, "erb": 0.003, "rba": 0.002, "bas": 0.05,
             "ase": 0.05, "sei": 0.001, "ein": 0.1}.get
    grams = text_search.trigrams("cinderbasein", "sqlite")
    # sei (8–10) first, then rba (5–7); erb (4–6) overlaps rba; together they leave 2e-6 < RARE.
    assert text_search._rarest(grams, share) == ["sei", "rba"]
    assert text_search._rarest(grams, lambda g: 0.05) == ["cin", "der", "bas"]  # at most three, leftmost first
    assert text_search._rarest(grams, lambda g: 0.3) is None  # common trigrams: the whole term narrows better
    assert text_search._rarest(text_search.trigrams("abcd", "sqlite"), lambda g: 1e-9) == ["abc"]
    assert text_search._rarest(text_search.trigrams("abcde", "sqlite"), lambda g: 0.02) is None  # all of them
    assert text_search.trigrams("olivia.martin", "postgresql")[:2] == [(0, "oli"), (1, "liv")]
    assert [g for _, g in text_search.trigrams("a.bc-de_f", "postgresql")] == []


def test_the_sample_estimates_which_trigrams_are_rare_and_is_reused(engine):
    with write_transaction(engine) as conn:
        ws = new_workspace(conn)
        insert_records(conn, ws, "companies", [dict(crm_id=f"n{i}", name=f"Common Company {i}") for i in range(1_500)]
                       + [dict(crm_id="z", name="Zanzibar Trading")])
    trigram_sample.clear()
    table = TABLES["companies"]
    with engine.connect() as conn:
        share = TrigramSample(conn, ws).share(table, "name")
        assert share("com") > 0.9 and share("zan") < 0.01 and 0 < share("qqq") < share("zan")
        assert TrigramSample(conn, ws).share(table, "name") is share  # cached
        compiled = _compiled(text_search.contains(table, ("name",), "zanzibar company", engine.dialect.name,
                                                  TrigramSample(conn, ws)), engine)
    if engine.dialect.name == "sqlite":
        assert "company_fts MATCH '{name} : (\"" in compiled and '" AND "' in compiled
    else:
        assert compiled.count("ILIKE") >= 2 and "zan%" in compiled
    assert "zanzibar company%" in compiled  # the exact test still decides


def test_segments_and_quick_search_use_the_sample(sample):
    dialect = sample.engine.dialect.name
    with sample.engine.connect() as conn:
        clause = member_clause(conn, sample.workspace_id, "companies",
                               {"field": "name", "op": "contains", "value": "zzqzzqzzq corp"})
        assert " AND " in _compiled(clause, sample.engine).split("LIKE")[0] or dialect != "sqlite"
        assert records.exact_count(conn, sample.workspace_id, "companies", search="zzqzzqzzq corp") == 0


# -- keeping the index in step ---------------------------------------------------------------------

def _names_found(engine, workspace_id: int, term: str) -> set[str]:
    table = TABLES["companies"]
    with engine.connect() as conn:
        return set(conn.execute(sa.select(table.c.crm_id).where(
            table.c.workspace_id == workspace_id,
            text_search.contains(table, ("name", "domain"), term, engine.dialect.name))).scalars())


def _check_fts(conn) -> None:
    if conn.dialect.name == "sqlite":  # compares the index with the table's content; raises if they differ
        for table in ("company", "person"):
            conn.exec_driver_sql(f"INSERT INTO {table}_fts({table}_fts, rank) VALUES ('integrity-check', 1)")


def test_inserts_updates_deletes_and_upserts_keep_the_index_in_step(engine):
    table = TABLES["companies"]
    with write_transaction(engine) as conn:
        ws = new_workspace(conn)
        insert_records(conn, ws, "companies", [dict(crm_id="one", name="Zebrafish Labs", domain="zebra.io"),
                                               dict(crm_id="two", name="Quokka Inc", domain="quokka.io")])
    assert _names_found(engine, ws, "zebrafish") == {"one"}
    with write_transaction(engine) as conn:
        conn.execute(sa.update(table).where(table.c.crm_id == "one", table.c.workspace_id == ws)
                     .values(name="Narwhal Labs"))
        conn.execute(sa.update(table).where(table.c.crm_id == "two", table.c.workspace_id == ws)
                     .values(industry="zoo"))  # a column the index does not hold
        _check_fts(conn)
    assert _names_found(engine, ws, "zebrafish") == set() and _names_found(engine, ws, "narwhal") == {"one"}
    assert _names_found(engine, ws, "quokka") == {"two"}
    insert = (sa.dialects.sqlite.insert if engine.dialect.name == "sqlite" else sa.dialects.postgresql.insert)(table)
    with write_transaction(engine) as conn:
        conn.execute(insert.values(workspace_id=ws, crm_id="two", domain="wombat.io", attributes={})
                     .on_conflict_do_update(index_elements=["workspace_id", "crm_id"], set_={"domain": "wombat.io"}))
        _check_fts(conn)
    assert _names_found(engine, ws, "quokka.io") == set() and _names_found(engine, ws, "wombat") == {"two"}
    with write_transaction(engine) as conn:
        conn.execute(sa.delete(table).where(table.c.crm_id == "one", table.c.workspace_id == ws))
        _check_fts(conn)
    assert _names_found(engine, ws, "narwhal") == set()


def _schema_of_index(conn) -> list:
    if conn.dialect.name == "sqlite":
        query = "SELECT name, sql FROM sqlite_master WHERE name LIKE :pattern ESCAPE '\\' ORDER BY name"
    else:
        query = "SELECT indexname, indexdef FROM pg_indexes WHERE indexname LIKE :pattern ESCAPE '\\' ORDER BY indexname"
    pattern = "%\\_fts%" if conn.dialect.name == "sqlite" else "%\\_trgm"
    return [tuple(row) for row in conn.execute(sa.text(query), {"pattern": pattern})]


def test_a_suspended_index_resumes_as_the_migration_built_it_and_covers_rows_written_meanwhile(engine):
    company = Company.__table__
    with engine.connect() as conn:
        migrated = _schema_of_index(conn)
    with write_transaction(engine) as conn:
        ws = new_workspace(conn)
        text_search.suspend(conn, company)
        assert len(_schema_of_index(conn)) < len(migrated)
    try:
        with write_transaction(engine) as conn:
            insert_records(conn, ws, "companies", [dict(crm_id="s", name="Suspended Capybara", domain="capy.io")])
            text_search.resume(conn, company)
            _check_fts(conn)
            assert _schema_of_index(conn) == migrated
    finally:
        with write_transaction(engine) as conn:
            text_search.resume(conn, company)
    assert _names_found(engine, ws, "capybara") == {"s"}


def test_resuming_a_complete_index_changes_nothing(engine):
    with write_transaction(engine) as conn:
        before = _schema_of_index(conn)
        text_search.resume(conn, Company.__table__)
        assert _schema_of_index(conn) == before


def test_a_bulk_load_into_an_empty_table_builds_the_index_once_at_the_end(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'bulk.db'}")
    upgrade(engine)
    company = Company.__table__
    with write_transaction(engine) as conn:
        ws = ensure_workspace(conn, "bulk")
    with indexes_deferred(engine, company):
        with write_transaction(engine) as conn:
            assert not any(name.endswith("_insert") for name, _ in _schema_of_index(conn) if "company" in name)
            bulk_insert(conn, company, ("workspace_id", "crm_id", "name", "attributes", "created_at", "updated_at"),
                        ((ws, f"b{i}", f"Bulk Company {i:05}", {}, AS_OF, AS_OF) for i in range(3_000)))
    with engine.connect() as conn:
        _check_fts(conn)
        assert sum(name.startswith("company_fts_") for name, _ in _schema_of_index(conn)) >= 3
    assert _names_found(engine, ws, "company 0042") == {f"b{i}" for i in range(420, 430)}
    ensure_indexes(engine, company)  # nothing missing: no rebuild, no change
    assert _names_found(engine, ws, "company 02999") == {"b2999"}
    engine.dispose()


def test_the_schema_check_leaves_out_only_the_index_objects():
    assert all(text_search.is_index_object(name) for name in
               ["company_fts", "company_fts_data", "person_fts_config", "ix_person_email_trgm"])
    assert not any(text_search.is_index_object(name) for name in
                   ["company", "person", "company_tag", "ix_company_ws_name", "segment", "fts"])
    assert re.fullmatch(r"[a-z_]+", "".join(text_search.SEARCHABLE))
