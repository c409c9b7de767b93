"""Counts over cached columns (segments/columns.py): the same figure as SQL for random filter
trees on both backends, never a stale one after a write anywhere, never blind to the caller's
own uncommitted writes, and within the memory cap.

`columns.count` returns None when the columns do not answer; these tests call it directly to
tell a columnar answer from a fallback to SQL. The first count after a write only notes the
database's state (it loads from the second on), and on PostgreSQL the state is the cluster's
snapshot, which any session's transaction moves: checks that the columns *do* answer allow a
few tries (`answer`, `warm_count`).
"""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal

import numpy as np
import pytest
import sqlalchemy as sa
from hypothesis import Phase, assume, given, settings
from hypothesis import strategies as st

from audiences_app.core import records
from audiences_app.core.db import make_engine, write_transaction
from audiences_app.core.migrate import upgrade
from audiences_app.core.models import utcnow
from audiences_app.core.segments import columns, count_matching, filter_fields, members, parse_filter
from audiences_app.core.segments.fields import COMPANY_PREFIX
from audiences_app.settings import get_settings

from .conftest import AS_OF, TABLES, insert_records, new_workspace
from .test_differential import BOUNDED, RESOLVER, SEGMENTS, _condition, _field_types, filters
from .test_differential import generated  # noqa: F401  (a fixture: the differential test's records)

ENTITIES = ("companies", "people")


# -- the same counts as SQL ----------------------------------------------------------------------

def _columnar_leaves(entity: str) -> st.SearchStrategy[dict]:
    """Conditions on every field the columns hold (all but lists, tags and company.<field>),
    and the saved segments made of them."""
    types = {name: t for name, t in _field_types(entity).items() if t != "list" and not name.startswith(COMPANY_PREFIX)}
    leaves = [_condition(name, t) for name, t in sorted(types.items())]
    if entity == "companies":
        leaves.append(st.builds(lambda sid, op: {"segment": sid, "op": op}, st.sampled_from(sorted(SEGMENTS[entity])),
                                st.sampled_from(["in_segment", "not_in_segment"])))
    return st.one_of(*leaves)


def columnar_filters(entity: str, depth: int = 4) -> st.SearchStrategy[dict]:
    """Trees like test_differential.filters, of leaves the columns can count."""
    leaf = _columnar_leaves(entity)
    if depth == 1:
        return leaf
    child = columnar_filters(entity, depth - 1)

    def node(kind: str) -> st.SearchStrategy[dict]:
        if kind == "leaf":
            return leaf
        if kind == "not":
            return child.map(lambda item: {"not": item})
        return st.lists(child, max_size=4).map(lambda items: {kind: items})  # empty groups too

    return st.sampled_from(["and", "or", "not", "leaf"]).flatmap(node)


def answer(count) -> int | None:
    """count() once the columns answer, or None when they keep leaving it to SQL (tried often
    enough to get between the commits of a busy PostgreSQL server's other sessions)."""
    for _ in range(30):
        counted = count()
        if counted is not None:
            return counted
    return None


def counts(data, entity: str, filter_json: dict) -> tuple[int | None, int]:
    """(the columns' count or None, SQL's count) of the live records the filter selects."""
    node = parse_filter(filter_json, entity=entity, fields=data.fields[entity], segment_resolver=RESOLVER)
    with data.engine.connect() as conn:
        ours = answer(lambda: columns.count(conn, data.workspace_id, entity, node, as_of=AS_OF))
        sql = count_matching(conn, data.workspace_id, entity, filter_json, as_of=AS_OF,
                             fields=data.fields[entity], segment_resolver=RESOLVER)
    return ours, sql


def has_conditions(filter_json: dict) -> bool:
    """A filter of nothing but empty groups is SQL's to count (an index count of the workspace)."""
    if "field" in filter_json or "segment" in filter_json:
        return True
    children = [filter_json["not"]] if "not" in filter_json else filter_json.get("and", filter_json.get("or"))
    return any(map(has_conditions, children))


@BOUNDED
@given(filter_json=columnar_filters("companies"))
def test_the_columns_count_what_sql_counts_for_companies(generated, filter_json):  # noqa: F811
    ours, sql = counts(generated, "companies", filter_json)
    assert ours == sql if has_conditions(filter_json) else ours is None


@BOUNDED
@given(filter_json=columnar_filters("people"))
def test_the_columns_count_what_sql_counts_for_people(generated, filter_json):  # noqa: F811
    ours, sql = counts(generated, "people", filter_json)
    assert ours == sql if has_conditions(filter_json) else ours is None


@BOUNDED
@given(entity=st.sampled_from(ENTITIES), data=st.data())
def test_any_filter_is_counted_right_or_left_to_sql(generated, entity, data):  # noqa: F811
    ours, sql = counts(generated, entity, data.draw(filters(entity)))
    assert ours in (None, sql)


@settings(max_examples=3, phases=[Phase.generate], deadline=None, derandomize=True, database=None)
@given(data=st.data())
def test_the_columns_answer_a_useful_share_of_random_filters(generated, data):  # noqa: F811
    """About 70% of the random companies filters and 30% of the people ones: tags, lists and
    company fields are left to SQL. Deterministic batches of varied filters, never shrunk."""
    drawn = [(entity, data.draw(filters(entity), label=entity)) for entity in ENTITIES for _ in range(40)]
    assume(len({json.dumps(filter_json) for _, filter_json in drawn}) > 60)
    answered = [counts(generated, entity, filter_json)[0] is not None for entity, filter_json in drawn]
    assert 0.3 <= sum(answered) / len(answered) <= 0.8


# -- freshness -----------------------------------------------------------------------------------

@pytest.fixture
def companies(engine):
    """A workspace of three companies; the filter `employee_count > 10` selects two."""
    with write_transaction(engine) as conn:
        workspace_id = new_workspace(conn)
        ids = insert_records(conn, workspace_id, "companies", [
            {"crm_id": "a", "name": "Acme", "employee_count": 50, "attributes": {"score": 1}},
            {"crm_id": "b", "name": "Beta", "employee_count": 20, "attributes": {"score": 2}},
            {"crm_id": "c", "name": "Gamma", "employee_count": 5, "attributes": {"score": 3}},
        ])
    return workspace_id, ids


BIG = {"field": "employee_count", "op": "gt", "value": 10}


def columnar(engine, workspace_id: int, filter_json: dict = BIG, *, load: bool = True, conn=None) -> int | None:
    """One count of companies by the columns, or None when they leave it to SQL."""
    if conn is None:
        with engine.connect() as conn:
            return columnar(engine, workspace_id, filter_json, load=load, conn=conn)
    fields = filter_fields(conn, workspace_id, "companies")
    node = parse_filter(filter_json, entity="companies", fields=fields)
    return columns.count(conn, workspace_id, "companies", node, as_of=AS_OF, load=load)


def warm_count(engine, workspace_id: int, filter_json: dict = BIG, conn=None) -> int:
    """The count from a warm cache: loaded, then counted without loading."""
    def warm() -> int | None:
        columnar(engine, workspace_id, filter_json, conn=conn)
        return columnar(engine, workspace_id, filter_json, load=False, conn=conn)

    counted = answer(warm)
    assert counted is not None, "the warm cache was never used"
    return counted


def sql_count(engine, workspace_id: int, filter_json: dict = BIG) -> int:
    with engine.connect() as conn:
        return count_matching(conn, workspace_id, "companies", filter_json, as_of=AS_OF)


def test_a_warm_cache_answers_without_loading(engine, companies):
    workspace_id, _ = companies
    assert columnar(engine, workspace_id, load=False) is None, "cold"
    assert warm_count(engine, workspace_id) == 2


@pytest.mark.parametrize("change", ["insert", "update", "archive", "delete"])
def test_a_commit_elsewhere_is_seen_by_the_next_count(engine, companies, change):
    workspace_id, (acme, beta, gamma) = companies
    assert warm_count(engine, workspace_id) == 2
    table = TABLES["companies"]
    with write_transaction(engine) as conn:
        if change == "insert":
            insert_records(conn, workspace_id, "companies", [{"crm_id": "d", "employee_count": 99}])
        elif change == "update":
            conn.execute(sa.update(table).where(table.c.id == gamma).values(employee_count=11))
        elif change == "archive":
            conn.execute(sa.update(table).where(table.c.id == acme).values(archived_at=utcnow()))
        else:
            conn.execute(sa.delete(table).where(table.c.id == beta))
    assert columnar(engine, workspace_id, load=False) is None, "the cached columns are stale"
    expected = 3 if change in ("insert", "update") else 1
    assert warm_count(engine, workspace_id) == sql_count(engine, workspace_id) == expected


def test_a_commit_through_another_engine_or_process_is_seen(engine, companies):
    workspace_id, (acme, beta, gamma) = companies
    other = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        assert warm_count(engine, workspace_id) == 2
        with write_transaction(other) as conn:
            conn.execute(sa.update(TABLES["companies"]).where(TABLES["companies"].c.id == gamma)
                         .values(employee_count=500))
        assert columnar(engine, workspace_id, load=False) is None
        assert warm_count(engine, workspace_id) == 3
    finally:
        other.dispose()
    if engine.dialect.name == "sqlite":
        script = ("import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); "
                  "db.execute('UPDATE company SET employee_count = 1 WHERE id = ?', (int(sys.argv[2]),)); db.commit()")
        subprocess.run([sys.executable, "-c", script, engine.url.database, str(acme)], check=True, timeout=60)
        assert columnar(engine, workspace_id, load=False) is None
        assert warm_count(engine, workspace_id) == sql_count(engine, workspace_id) == 2


def test_the_callers_own_uncommitted_writes_leave_the_count_to_sql(engine, companies):
    workspace_id, (acme, beta, gamma) = companies
    assert warm_count(engine, workspace_id) == 2
    with engine.connect() as conn, conn.begin() as transaction:
        assert warm_count(engine, workspace_id, conn=conn) == 2, "not before it writes"
        conn.execute(sa.update(TABLES["companies"]).where(TABLES["companies"].c.id == gamma).values(employee_count=70))
        assert columnar(engine, workspace_id, conn=conn) is None
        assert members.exact_member_count(conn, workspace_id, "companies", BIG) == 3, "its own write counts"
        transaction.rollback()
    assert warm_count(engine, workspace_id) == 2


def test_a_transaction_that_has_only_read_uses_the_cache(engine, companies):
    workspace_id, _ = companies
    with engine.connect() as conn, conn.begin():
        conn.execute(sa.select(TABLES["companies"].c.id).limit(1)).all()
        assert warm_count(engine, workspace_id, conn=conn) == 2


def test_an_in_memory_database_never_uses_the_cache():
    engine = make_engine("sqlite://")
    try:
        upgrade(engine)
        with write_transaction(engine) as conn:
            workspace_id = new_workspace(conn)
            insert_records(conn, workspace_id, "companies", [{"crm_id": "a", "employee_count": 50}])
        assert answer(lambda: columnar(engine, workspace_id)) is None
        with engine.connect() as conn:
            assert members.exact_member_count(conn, workspace_id, "companies", BIG) == 1
    finally:
        engine.dispose()


def test_member_count_is_exact_past_the_cap_once_the_columns_are_warm(engine, companies):
    workspace_id, _ = companies
    with engine.connect() as conn:
        assert members.member_count(conn, workspace_id, "companies", BIG, cap=1) == records.RecordCount(1, capped=True)

    def once_loaded() -> records.RecordCount | None:
        with engine.connect() as conn:
            assert members.exact_member_count(conn, workspace_id, "companies", BIG) == 2  # loads the columns
            counted = members.member_count(conn, workspace_id, "companies", BIG, cap=1)
        return None if counted.capped else counted

    assert answer(once_loaded) == records.RecordCount(2, capped=False)


# -- what the columns hold -------------------------------------------------------------------------

def test_numbers_compare_exactly_as_the_database_compares_them(engine):
    scores = [0.1, 0.2, 0.3, 0.30000000000000004, 1.5, 2**53, 2**53 + 1, -(2**53) - 1, 1e20, 0, -0.0, 7]
    with write_transaction(engine) as conn:
        workspace_id = new_workspace(conn)
        insert_records(conn, workspace_id, "companies", [
            {"crm_id": f"n{i}", "attributes": {"score": score}} for i, score in enumerate(scores)])
    for value in [0.1, 0.3, 0.30000000000000004, 1.5, 0, 7, 10**15, -(10**15), 0.2]:
        for op in ["eq", "gt", "gte", "lt", "lte"]:
            condition = {"field": "score", "op": op, "value": value}
            assert warm_count(engine, workspace_id, condition) == sql_count(engine, workspace_id, condition), condition
    between = {"field": "score", "op": "between", "value": [0.1, 0.3]}
    assert warm_count(engine, workspace_id, between) == sql_count(engine, workspace_id, between)


def test_a_value_the_columns_cannot_compare_like_sql_leaves_the_count_to_sql(sqlite_engine):
    with write_transaction(sqlite_engine) as conn:
        workspace_id = new_workspace(conn)
        insert_records(conn, workspace_id, "companies", [
            {"crm_id": "a", "employee_count": 50, "name": "nul\x00labs"}, {"crm_id": "b", "employee_count": 20}])
        conn.exec_driver_sql("UPDATE company SET employee_count = 'many' WHERE crm_id = 'b'")
    assert answer(lambda: columnar(sqlite_engine, workspace_id)) is None  # SQLite keeps text in an INTEGER column
    assert sql_count(sqlite_engine, workspace_id) == 2  # and compares text above any number
    labs = {"field": "name", "op": "contains", "value": "labs"}
    assert answer(lambda: columnar(sqlite_engine, workspace_id, labs)) is None  # LIKE stops at a NUL; Python would not
    assert sql_count(sqlite_engine, workspace_id, labs) == 0


def test_numbers_break_ties_between_doubles_exactly():
    numbers = columns.Numbers(np.array([0.1, 0.1, 3.0, 2.0**53]), {0: Decimal("0.1"), 3: 2**53 + 1})
    assert list(numbers == Decimal("0.1")) == [True, False, False, False]  # position 1 is the double nearest 0.1
    assert list(numbers > Decimal("0.1")) == [False, True, True, True]
    assert list(numbers == 3) == [False, False, True, False]
    assert list(numbers > 2**53) == [False, False, False, True]


# -- memory ------------------------------------------------------------------------------------------

@pytest.fixture
def wide(engine):
    """36,000 companies with distinct names and cities: their ids and one of the columns fit in
    1 MB (~0.8 MB), not both (~1.3 MB). Deleted afterwards: left in the shared table, they would
    skew the planner statistics that other modules' plan tests rely on."""
    with write_transaction(engine) as conn:
        workspace_id = new_workspace(conn)
        insert_records(conn, workspace_id, "companies", [
            {"crm_id": f"w{i}", "name": str(i), "city": str(i)} for i in range(36_000)])
    yield workspace_id
    with write_transaction(engine) as conn:
        conn.execute(sa.delete(TABLES["companies"]).where(TABLES["companies"].c.workspace_id == workspace_id))


def test_a_tiny_cap_evicts_the_least_recently_used_columns_and_counts_stay_right(engine, wide, monkeypatch):
    monkeypatch.setattr(get_settings(), "column_cache_mb", 1)
    by_name = {"field": "name", "op": "contains", "value": "1"}
    by_city = {"field": "city", "op": "ends_with", "value": "7"}
    assert warm_count(engine, wide, by_name) == sql_count(engine, wide, by_name)
    assert warm_count(engine, wide, by_city) == sql_count(engine, wide, by_city) == 3_600
    assert columnar(engine, wide, by_name, load=False) is None, "evicted to make room for the city"
    both = {"or": [by_name, by_city]}  # more than the cap holds: its columns serve this count, then go
    assert answer(lambda: columnar(engine, wide, both)) == sql_count(engine, wide, both)


def test_a_cap_of_zero_turns_the_cache_off(engine, companies, monkeypatch):
    workspace_id, _ = companies
    assert warm_count(engine, workspace_id) == 2
    monkeypatch.setattr(get_settings(), "column_cache_mb", 0)
    assert answer(lambda: columnar(engine, workspace_id)) is None
    with engine.connect() as conn:
        assert members.exact_member_count(conn, workspace_id, "companies", BIG) == 2
