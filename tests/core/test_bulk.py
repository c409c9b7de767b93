"""bulk_insert, the one bulk write path: values round-trip exactly, errors and transactions
behave like Connection.execute, ids and indexes are handled for large loads."""

from __future__ import annotations

import gc
import threading
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from audiences_app.core.bulk import (
    BULK_GC_THRESHOLD,
    analyze,
    bulk_insert,
    claim_next_id,
    ensure_indexes,
    fewer_collections,
    indexes_deferred,
    reset_id_sequence,
)
from audiences_app.core.db import is_sqlite, write_transaction
from audiences_app.core.models import Company, JSONType

COMPANY = Company.__table__


@pytest.fixture
def probe(engine):
    """A table of its own (so it starts empty), with every kind of value and one index."""
    metadata = sa.MetaData()
    table = sa.Table(
        f"bulk_probe_{uuid.uuid4().hex[:8]}",
        metadata,
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("label", sa.String(200)),
        sa.Column("amount", sa.BigInteger),
        sa.Column("ratio", sa.Float),
        sa.Column("flag", sa.Boolean),
        sa.Column("seen_at", sa.DateTime),
        sa.Column("data", JSONType),
        sa.UniqueConstraint("label", name=None),
    )
    sa.Index(f"ix_{table.name}_amount", table.c.amount)
    metadata.create_all(engine)
    yield table
    metadata.drop_all(engine)


@pytest.fixture
def child(engine, probe):
    """A table whose rows refer to the probe's rows."""
    metadata = sa.MetaData()
    parent = probe.to_metadata(metadata)
    table = sa.Table(
        f"bulk_child_{uuid.uuid4().hex[:8]}",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("probe_id", sa.ForeignKey(parent.c.id, ondelete="CASCADE"), nullable=False),
    )
    table.create(engine)
    yield table
    table.drop(engine)


def company_rows(workspace_id: int, count: int, start: int = 0) -> list[tuple]:
    return [
        (workspace_id, f"Company {i}", f"company-{i}.com", datetime(2025, 1, 1) + timedelta(minutes=i),
         datetime(2025, 1, 1) + timedelta(minutes=i), {"rank": i})
        for i in range(start, start + count)
    ]  # fmt: skip


COMPANY_COLUMNS = ("workspace_id", "name", "domain", "created_at", "updated_at", "attributes")


def domains_of(conn, workspace_id: int) -> list[str]:
    return conn.execute(
        sa.select(COMPANY.c.domain).where(COMPANY.c.workspace_id == workspace_id).order_by(COMPANY.c.domain)
    ).scalars().all()


def test_inserts_rows_and_returns_the_count(engine, workspace_id):
    with write_transaction(engine) as conn:
        count = bulk_insert(conn, COMPANY, COMPANY_COLUMNS, company_rows(workspace_id, 25))
    with engine.connect() as conn:
        assert count == 25
        assert len(domains_of(conn, workspace_id)) == 25


def test_consumes_any_iterable_in_chunks(engine, workspace_id):
    rows = (row for row in company_rows(workspace_id, 23))
    with write_transaction(engine) as conn:
        assert bulk_insert(conn, COMPANY, COMPANY_COLUMNS, rows, chunk_size=5) == 23
    with engine.connect() as conn:
        assert domains_of(conn, workspace_id) == sorted(f"company-{i}.com" for i in range(23))


def test_no_rows_insert_nothing(engine, workspace_id):
    with write_transaction(engine) as conn:
        assert bulk_insert(conn, COMPANY, COMPANY_COLUMNS, []) == 0


VALUES = [
    (1, "plain", 1, 0.5, True, datetime(2025, 3, 4, 5, 6, 7, 890123), {"a": 1, "list": [1, "two", None]}),
    (2, "Zoë Ångström — 東京 ✓", -(2**40), -1.25, False, datetime(1999, 12, 31, 23, 59, 59), {"ünï": "çødé ✓"}),
    (3, None, None, None, None, None, None),
    (4, "tab\tnew\nline back\\slash", 0, 0.0, True, datetime(2025, 1, 1), {}),
    (5, "quotes ' \" and %s {}", 7, 1e-9, False, datetime(2025, 1, 1, 0, 0, 0, 1), [1, 2, 3]),
]
PROBE_COLUMNS = ("id", "label", "amount", "ratio", "flag", "seen_at", "data")


def test_values_round_trip_exactly(engine, probe):
    with write_transaction(engine) as conn:
        bulk_insert(conn, probe, PROBE_COLUMNS, VALUES)
    with engine.connect() as conn:
        assert [tuple(row) for row in conn.execute(sa.select(probe).order_by(probe.c.id))] == VALUES


def test_json_none_is_sql_null(engine, probe):
    with write_transaction(engine) as conn:
        bulk_insert(conn, probe, ("id", "data"), [(1, None), (2, {"k": None})])
    with engine.connect() as conn:
        nulls = conn.execute(sa.select(probe.c.id).where(probe.c.data.is_(None))).scalars().all()
    assert nulls == [1]


def test_stores_the_same_values_as_core_insert(engine, probe):
    """Rows written here and rows written by Core compare equal in SQL (same text on SQLite)."""
    value = datetime(2025, 6, 7, 8, 9, 10)
    with write_transaction(engine) as conn:
        bulk_insert(conn, probe, ("id", "seen_at", "data"), [(1, value, {"x": [1, "é"]})])
        conn.execute(sa.insert(probe), [{"id": 2, "seen_at": value, "data": {"x": [1, "é"]}}])
        raw = conn.execute(
            sa.select(sa.cast(probe.c.seen_at, sa.Text), sa.cast(probe.c.data, sa.Text)).order_by(probe.c.id)
        ).all()
        matches = conn.execute(sa.select(sa.func.count()).where(probe.c.seen_at == value)).scalar()
    assert raw[0] == raw[1]
    assert matches == 2


def test_aware_datetimes_are_stored_as_naive_utc(engine, probe):
    paris_summer = timezone(timedelta(hours=2))
    with write_transaction(engine) as conn:
        bulk_insert(conn, probe, ("id", "seen_at"), [
            (1, datetime(2025, 7, 1, 14, 0, tzinfo=paris_summer)),
            (2, datetime(2025, 7, 1, 12, 0, tzinfo=UTC)),
        ])  # fmt: skip
    with engine.connect() as conn:
        stored = conn.execute(sa.select(probe.c.seen_at).order_by(probe.c.id)).scalars().all()
    assert stored == [datetime(2025, 7, 1, 12, 0), datetime(2025, 7, 1, 12, 0)]


def test_nan_in_json_is_refused(engine, probe):
    with pytest.raises(ValueError), write_transaction(engine) as conn:
        bulk_insert(conn, probe, ("id", "data"), [(1, {"score": float("nan")})])


def test_needs_a_transaction(engine, workspace_id):
    with engine.connect() as conn, pytest.raises(RuntimeError, match="inside a transaction"):
        bulk_insert(conn, COMPANY, COMPANY_COLUMNS, company_rows(workspace_id, 1))


def test_unknown_column_is_named(engine, workspace_id):
    with pytest.raises(ValueError, match="'colour'"), write_transaction(engine) as conn:
        bulk_insert(conn, COMPANY, ("workspace_id", "colour"), [(workspace_id, "red")])


def test_row_of_the_wrong_width_is_refused(engine, probe):
    with pytest.raises(ValueError, match="2 values for 3 columns"), write_transaction(engine) as conn:
        bulk_insert(conn, probe, ("id", "label", "seen_at"), [(1, "a", None), (2, "b")])


def test_constraint_violation_raises_sqlalchemy_integrity_error(engine, workspace_id):
    rows = company_rows(workspace_id, 3) + company_rows(workspace_id, 1)
    with pytest.raises(sa.exc.IntegrityError), write_transaction(engine) as conn:
        bulk_insert(conn, COMPANY, COMPANY_COLUMNS, rows)


def test_a_failing_chunk_rolls_back_only_its_own_transaction(engine, workspace_id):
    with write_transaction(engine) as conn:
        bulk_insert(conn, COMPANY, COMPANY_COLUMNS, company_rows(workspace_id, 5))
    with pytest.raises(sa.exc.IntegrityError), write_transaction(engine) as conn:
        bulk_insert(conn, COMPANY, COMPANY_COLUMNS, company_rows(workspace_id, 5, start=5))
        bulk_insert(conn, COMPANY, COMPANY_COLUMNS, company_rows(workspace_id, 1, start=2))
    with write_transaction(engine) as conn:  # the connection and the table are usable again
        bulk_insert(conn, COMPANY, COMPANY_COLUMNS, company_rows(workspace_id, 2, start=10))
    with engine.connect() as conn:
        assert domains_of(conn, workspace_id) == sorted(f"company-{i}.com" for i in (0, 1, 2, 3, 4, 10, 11))


def test_explicit_ids_then_default_ids_continue_after_them(engine, workspace_id):
    with write_transaction(engine) as conn:
        first = claim_next_id(conn, COMPANY)
        rows = [(first + i, *row) for i, row in enumerate(company_rows(workspace_id, 4))]
        bulk_insert(conn, COMPANY, ("id", *COMPANY_COLUMNS), rows)
        reset_id_sequence(conn, COMPANY)
    with write_transaction(engine) as conn:
        assert claim_next_id(conn, COMPANY) == first + 4
        new_id = conn.execute(
            sa.insert(COMPANY)
            .values(workspace_id=workspace_id, domain="after-the-load.com", attributes={})
            .returning(COMPANY.c.id)
        ).scalar_one()
    assert new_id == first + 4


def test_reset_id_sequence_on_an_empty_table(engine, probe):
    with write_transaction(engine) as conn:
        reset_id_sequence(conn, probe)
        new_id = conn.execute(sa.insert(probe).values(label="first").returning(probe.c.id)).scalar_one()
    assert new_id == 1


def index_names(engine, table) -> set[str]:
    return {index["name"] for index in sa.inspect(engine).get_indexes(table.name)}


def test_indexes_of_an_empty_table_are_rebuilt_after_the_load(engine, probe):
    index = f"ix_{probe.name}_amount"
    with indexes_deferred(engine, probe) as dropped:
        assert dropped == [index]
        assert index not in index_names(engine, probe)
        with write_transaction(engine) as conn:
            bulk_insert(conn, probe, ("id", "amount"), [(i, i % 7) for i in range(1, 101)])
    assert index in index_names(engine, probe)
    with engine.connect() as conn:  # the unique constraint stayed all along
        assert len(sa.inspect(conn).get_unique_constraints(probe.name)) == 1


def test_indexes_of_a_table_with_rows_stay(engine, probe):
    with write_transaction(engine) as conn:
        bulk_insert(conn, probe, ("id", "amount"), [(1, 1)])
    with indexes_deferred(engine, probe) as dropped:
        assert dropped == []
        assert f"ix_{probe.name}_amount" in index_names(engine, probe)


def test_indexes_are_rebuilt_after_a_failed_load(engine, probe):
    with pytest.raises(sa.exc.IntegrityError), indexes_deferred(engine, probe):
        with write_transaction(engine) as conn:
            bulk_insert(conn, probe, ("id", "label"), [(1, "same"), (2, "same")])
    assert f"ix_{probe.name}_amount" in index_names(engine, probe)


def test_ensure_indexes_recreates_what_an_interrupted_load_left_out(engine, probe):
    index = next(iter(probe.indexes))
    with write_transaction(engine) as conn:
        index.drop(conn)
    ensure_indexes(engine, probe)
    assert index.name in index_names(engine, probe)


def test_analyze_leaves_planner_statistics(engine, probe):
    with write_transaction(engine) as conn:
        bulk_insert(conn, probe, ("id", "amount"), [(i, i % 3) for i in range(1, 51)])
        analyze(conn, [probe])
        if is_sqlite(conn):
            stats = conn.exec_driver_sql("SELECT count(*) FROM sqlite_stat1 WHERE tbl = ?", (probe.name,))
        else:
            stats = conn.exec_driver_sql(
                "SELECT count(*) FROM pg_stats WHERE tablename = %s", (probe.name,)
            )
        assert stats.scalar() > 0


def foreign_keys(engine, table) -> list[list[str]]:
    return [fk["constrained_columns"] for fk in sa.inspect(engine).get_foreign_keys(table.name)]


def test_foreign_keys_are_checked_once_after_the_load_on_postgresql(engine, probe, child):
    with write_transaction(engine) as conn:
        bulk_insert(conn, probe, ("id",), [(1,), (2,)])
    with indexes_deferred(engine, child) as deferred:
        during = foreign_keys(engine, child)
        with write_transaction(engine) as conn:
            bulk_insert(conn, child, ("id", "probe_id"), [(10, 1), (11, 2)])
    if is_sqlite(engine):
        assert deferred == [] and during == [["probe_id"]]
    else:
        assert deferred == [f"{child.name}_probe_id_fkey"] and during == []
    assert foreign_keys(engine, child) == [["probe_id"]]
    with pytest.raises(sa.exc.IntegrityError), write_transaction(engine) as conn:
        conn.execute(sa.insert(child).values(id=12, probe_id=99))


def test_a_load_that_breaks_a_foreign_key_is_reported_and_the_key_kept(engine, probe, child):
    if is_sqlite(engine):
        pytest.skip("SQLite keeps checking its foreign keys row by row")
    with pytest.raises(sa.exc.IntegrityError, match=f"{child.name}_probe_id_fkey"):
        with indexes_deferred(engine, child), write_transaction(engine) as conn:
            bulk_insert(conn, child, ("id", "probe_id"), [(10, 99)])
    assert foreign_keys(engine, child) == [["probe_id"]]  # NOT VALID: new rows are checked
    with pytest.raises(sa.exc.IntegrityError), write_transaction(engine) as conn:
        conn.execute(sa.insert(child).values(id=12, probe_id=98))


def test_ensure_indexes_restores_a_missing_foreign_key(engine, probe, child):
    if is_sqlite(engine):
        pytest.skip("SQLite cannot drop a foreign key")
    with write_transaction(engine) as conn:
        conn.exec_driver_sql(f'ALTER TABLE {child.name} DROP CONSTRAINT "{child.name}_probe_id_fkey"')
    ensure_indexes(engine, child)
    assert foreign_keys(engine, child) == [["probe_id"]]


def test_fewer_collections_holds_across_threads_and_restores_the_threshold_after_the_last_holder():
    before = gc.get_threshold()
    inside, release = threading.Event(), threading.Event()

    def other_holder():
        with fewer_collections():
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=other_holder)
    with fewer_collections():
        assert gc.get_threshold() == (BULK_GC_THRESHOLD, *before[1:]) and gc.isenabled()
        thread.start()
        assert inside.wait(10)
    assert gc.get_threshold()[0] == BULK_GC_THRESHOLD  # the other thread still holds it
    release.set()
    thread.join(10)
    assert gc.get_threshold() == before
    with pytest.raises(RuntimeError), fewer_collections():
        raise RuntimeError("a failed chunk")
    assert gc.get_threshold() == before
