"""Record browsing: keyset pages in every sort order, quick search, counts, one record's fields."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from audiences_app.core import records
from audiences_app.core.db import QueryTimeout, time_limit, write_transaction
from audiences_app.core.models import Company, CompanyTag, Tag

INDUSTRIES = ["software", "biotech", "retail", None]


def _companies(workspace_id: int, n: int, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    start = datetime(2024, 1, 1)
    return [
        {
            "workspace_id": workspace_id,
            "name": rng.choice(["Acme", "acme", "Zeta", "Beta Labs", "100% Juice", "under_score", None]),
            "domain": f"c{i:05d}.example.com" if i % 13 else None,
            "crm_id": f"crm-{i}",
            "industry": rng.choice(INDUSTRIES),
            "employee_count": rng.choice([None, 5, 50, 50, 500, 5000]),
            "annual_revenue": rng.choice([None, 10**6, 10**9]),
            "country": rng.choice(["US", "GB", None]),
            "created_at": start + timedelta(hours=rng.randrange(0, 20_000)),
            "updated_at": start,
            "attributes": {"funding_stage": "seed"} if i % 5 == 0 else {},
        }
        for i in range(n)
    ]


@pytest.fixture
def loaded(engine, workspace_id):
    rows = _companies(workspace_id, 240)
    with write_transaction(engine) as conn:
        conn.execute(sa.insert(Company.__table__), rows)
    return engine, workspace_id


def _all_pages(conn, workspace_id, **kwargs) -> list[list[dict]]:
    pages, cursor = [], None
    while True:
        page = records.browse(conn, workspace_id, "companies", cursor=cursor, page_size=25, **kwargs)
        pages.append(page.rows)
        if page.next_cursor is None:
            return pages
        cursor = page.next_cursor


def _expected_order(conn, workspace_id, sort: str, descending: bool) -> list[int]:
    table = Company.__table__
    rows = conn.execute(
        sa.select(table.c.id, table.c[sort]).where(table.c.workspace_id == workspace_id)
    ).all()
    present = sorted((r for r in rows if r[1] is not None), key=lambda r: (r[1], r[0]), reverse=descending)
    empty = sorted((r for r in rows if r[1] is None), key=lambda r: r[0], reverse=descending)
    return [r[0] for r in present + empty]


@pytest.mark.parametrize("sort", ["id", "name", "industry", "employee_count", "created_at", "country"])
@pytest.mark.parametrize("descending", [False, True])
def test_paging_visits_every_record_once_in_sort_order_with_empty_values_last(loaded, sort, descending):
    engine, ws = loaded
    with engine.connect() as conn:
        pages = _all_pages(conn, ws, columns=["name", sort] if sort != "id" else ["name"],
                           sort=sort, descending=descending)
        seen = [int(row["id"]) for page in pages for row in page]
        assert seen == _expected_order(conn, ws, sort, descending)
    assert all(len(page) == 25 for page in pages[:-1])


def test_sorting_by_a_column_that_is_not_shown_still_pages_in_order(loaded):
    engine, ws = loaded
    with engine.connect() as conn:
        pages = _all_pages(conn, ws, columns=["name"], sort="employee_count")
        seen = [int(row["id"]) for page in pages for row in page]
        assert seen == _expected_order(conn, ws, "employee_count", False)
        assert set(pages[0][0]) == {"id", "name"}


def test_pages_hold_display_ready_strings(loaded):
    engine, ws = loaded
    with engine.connect() as conn:
        page = records.browse(conn, ws, "companies", columns=["employee_count", "annual_revenue", "created_at"],
                              sort="annual_revenue", descending=True)
    row = page.rows[0]
    assert row["annual_revenue"] == "$1,000,000,000"
    assert all(isinstance(v, str) for r in page.rows for v in r.values())
    assert len(row["created_at"]) == len("2024-01-01 00:00")


def test_quick_search_ignores_case_and_matches_name_or_domain(loaded):
    engine, ws = loaded
    with engine.connect() as conn:
        names = {r["name"] for p in _all_pages(conn, ws, columns=["name"], search="ACME") for r in p}
        assert names == {"Acme", "acme"}
        by_domain = records.browse(conn, ws, "companies", columns=["domain"], search="c00007.EXAMPLE")
        assert [r["domain"] for r in by_domain.rows] == ["c00007.example.com"]


@pytest.mark.parametrize("term, expected", [("100%", {"100% Juice"}), ("r_s", {"under_score"}), ("%", {"100% Juice"})])
def test_quick_search_treats_like_wildcards_as_plain_text(loaded, term, expected):
    engine, ws = loaded
    with engine.connect() as conn:
        names = {r["name"] for p in _all_pages(conn, ws, columns=["name"], search=term) for r in p}
    assert names == expected


def test_records_of_another_workspace_are_never_seen(loaded, engine):
    _, ws = loaded
    with engine.connect() as conn:
        other = conn.execute(sa.select(sa.func.max(Company.__table__.c.workspace_id))).scalar()
        assert records.exact_count(conn, ws, "companies") == 240
        with pytest.raises(LookupError):
            records.record_detail(conn, ws + 10_000, "companies", 1)
    assert other >= ws


def test_archived_records_are_hidden_from_the_browser(loaded):
    engine, ws = loaded
    table = Company.__table__
    with write_transaction(engine) as conn:
        conn.execute(sa.update(table).where(table.c.workspace_id == ws, table.c.crm_id == "crm-3")
                     .values(archived_at=datetime(2025, 1, 1)))
    with engine.connect() as conn:
        assert records.exact_count(conn, ws, "companies") == 239
        ids = {r["id"] for p in _all_pages(conn, ws, columns=["name"]) for r in p}
        assert len(ids) == 239


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"columns": ["password"]}, "Unknown column 'password'"),
        ({"columns": ["name"], "sort": "name; DROP TABLE company"}, "Cannot sort"),
        ({"columns": ["name"], "cursor": "not-a-cursor"}, "no longer valid"),
        ({"columns": ["name"], "cursor": "WyJ2Iiwib29wcyIsMV0"}, "no longer valid"),
        ({"columns": ["name"], "search": "x" * 201}, "limited to 200"),
        ({"columns": ["name"], "page_size": 0}, "Page size"),
    ],
)
def test_bad_input_is_refused_with_a_message_a_user_can_act_on(loaded, kwargs, message):
    engine, ws = loaded
    with engine.connect() as conn, pytest.raises(ValueError, match=message):
        records.browse(conn, ws, "companies", **{"sort": "id", **kwargs})


def test_unknown_entity_is_refused(engine, workspace_id):
    with engine.connect() as conn, pytest.raises(ValueError, match="Unknown entity"):
        records.browse(conn, workspace_id, "accounts", columns=[])


def test_capped_count_reads_as_a_lower_bound(loaded):
    engine, ws = loaded
    with engine.connect() as conn:
        capped = records.count_records(conn, ws, "companies", cap=100)
        exact = records.count_records(conn, ws, "companies", cap=1000)
        searched = records.count_records(conn, ws, "companies", search="acme")
    assert (capped.value, capped.capped, capped.display()) == (100, True, "100+")
    assert (exact.value, exact.capped, exact.display()) == (240, False, "240")
    assert 0 < searched.value < 240 and not searched.capped


def test_time_limit_interrupts_a_slow_query(engine):
    slow = (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000000) "
        "SELECT count(*) FROM n"
        if engine.dialect.name == "sqlite" else "SELECT pg_sleep(5)"
    )
    with engine.connect() as conn, conn.begin():
        with pytest.raises(QueryTimeout), time_limit(conn, 50):
            conn.exec_driver_sql(slow)


def test_count_that_runs_out_of_time_is_unknown_not_wrong(loaded, monkeypatch):
    engine, ws = loaded

    def always_late(conn, milliseconds):
        raise QueryTimeout("late")

    monkeypatch.setattr(records, "time_limit", always_late)
    with engine.connect() as conn:
        count = records.count_records(conn, ws, "companies")
    assert (count.value, count.display()) == (None, "Counting…")


def test_record_detail_shows_every_field_with_attributes_and_tags(loaded):
    engine, ws = loaded
    table = Company.__table__
    with write_transaction(engine) as conn:
        first = conn.execute(sa.select(table.c.id).where(table.c.workspace_id == ws, table.c.crm_id == "crm-0")).scalar()
        tag_id = conn.execute(sa.insert(Tag.__table__).values(workspace_id=ws, name="customer").returning(Tag.__table__.c.id)).scalar()
        conn.execute(sa.insert(CompanyTag.__table__).values(company_id=first, tag_id=tag_id))
    with engine.connect() as conn:
        detail = {d["key"]: d for d in records.record_detail(conn, ws, "companies", first)}
    assert detail["tags"]["value"] == "customer"
    assert detail["funding_stage"] == {"label": "Funding stage", "key": "funding_stage", "value": "seed"}
    assert detail["domain"]["label"] == "Domain"
    assert {"name", "industry", "crm_id", "created_at", "archived_at"} <= set(detail)


def test_entity_counts_include_every_record(loaded):
    engine, ws = loaded
    with engine.connect() as conn:
        assert records.entity_counts(conn, ws) == {"companies": 240, "people": 0}


def test_a_callers_clause_narrows_pages_and_counts_alike(loaded):
    engine, ws = loaded
    table = Company.__table__
    software = table.c.industry == "software"
    with engine.connect() as conn:
        expected = conn.execute(sa.select(sa.func.count()).select_from(table).where(
            table.c.workspace_id == ws, software)).scalar_one()
        pages = _all_pages(conn, ws, columns=["industry"], where=software)
        assert {r["industry"] for p in pages for r in p} == {"software"}
        assert sum(len(p) for p in pages) == expected
        assert records.exact_count(conn, ws, "companies", where=software) == expected
        assert records.count_records(conn, ws, "companies", where=software).value == expected
