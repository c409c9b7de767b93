"""Import throughput, as ratios against baselines measured in the same run.

1. SQLite: the product's import of a generated CRM-style CSV (read, detect, map, normalize,
   dedupe, upsert into the real, indexed company table, as a durable run) against a plain
   `csv.reader` + `executemany` of the same file into an index-free table. Goal ≥ 0.5×.
   Also printed: re-importing the same file (every row unchanged), and the write ceiling —
   the same rows, already built, bulk-inserted into the indexed table, its search index kept
   as the import keeps it — which shows how much of the gap is index maintenance (company
   has 3 unique and 12 secondary indexes, and the FTS5 search index).
2. PostgreSQL (with --postgres-url): the same import pipeline writing through COPY (the
   product's path) against writing through the driver's executemany. Goal ≥ 2.5×. Also the
   write alone, of rows already built: into company (3 unique + 12 secondary indexes, whose
   maintenance both paths pay) and into the import's TEMP staging table (primary key only),
   which shows what COPY itself saves.

Both parts also print parsing alone (read, map, normalize, no database): the share of the
import that no write path changes.

    .venv/bin/python bench/bench_import.py --rows 200000 \
        --postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/test

Each PostgreSQL measurement gets a database of its own (created and dropped here).
"""

from __future__ import annotations

import argparse
import csv
import random
import sqlite3
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.schema import CreateTable

from audiences_app.core import imports, text_search
from audiences_app.core.bulk import bulk_insert, fewer_collections
from audiences_app.core.db import make_engine, write_transaction
from audiences_app.core.imports.reading import iter_chunks
from audiences_app.core.imports.rows import RowParser
from audiences_app.core.imports.upsert import DATA_COLUMNS, ImportTarget, _staging_table, _write, apply_rows
from audiences_app.core.migrate import upgrade
from audiences_app.core.models import Company
from audiences_app.core.workspaces import ensure_workspace

HEADERS = ["Record ID", "Company name", "Website URL", "Industry", "Number of Employees", "Country/Region",
           "State/Region", "City", "Year Founded", "Description"]
INDUSTRIES = ["Software", "Biotech", "Retail", "Financial Services", "Manufacturing", "Consulting", "Media",
              "Health Care", "Education", "Logistics"]
COUNTRIES = ["United States", "US", "United Kingdom", "Germany", "FR", "Canada", "India", "Brazil", "Japan", "NL"]
CITIES = [f"City {n}" for n in range(300)]


def generate_csv(path: Path, rows: int, seed: int = 42) -> None:
    """A HubSpot-style company export: unique domains, repeated categories, some blanks."""
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        for i in range(rows):
            writer.writerow([
                f"{1_000_000 + i}", f"Company {i} {rng.choice(['Inc', 'LLC', 'Ltd', 'GmbH'])}",
                f"https://www.company{i}.{rng.choice(['com', 'io', 'co.uk', 'de'])}/",
                rng.choice(INDUSTRIES), "" if i % 7 == 0 else str(rng.randint(1, 50_000)), rng.choice(COUNTRIES),
                rng.choice(["CA", "NY", "TX", ""]), rng.choice(CITIES), str(rng.randint(1900, 2024)),
                "" if i % 3 else f"Company {i} makes things for other companies.",
            ])


def baseline_sqlite(path: Path, db: Path) -> float:
    """csv.reader + executemany into an index-free table, same pragmas as the product's engine."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(f"CREATE TABLE plain ({', '.join(f'c{i} TEXT' for i in range(len(HEADERS)))})")
    statement = f"INSERT INTO plain VALUES ({', '.join('?' * len(HEADERS))})"
    start = time.perf_counter()
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        next(reader)
        conn.execute("BEGIN")
        batch = []
        for row in reader:
            batch.append(row)
            if len(batch) == 20_000:
                conn.executemany(statement, batch)
                batch = []
        conn.executemany(statement, batch)
        conn.execute("COMMIT")
    seconds = time.perf_counter() - start
    conn.close()
    return seconds


def write_ceiling(engine, workspace_id: int) -> tuple[float, int]:
    """bulk_insert of the imported rows, already built, into the indexed table (another
    workspace), keeping the search index the way the import does (`text_search.batched`)."""
    table = Company.__table__
    columns = [c.name for c in table.columns if c.name not in ("id", "workspace_id")]
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(sa.select(*(table.c[c] for c in columns)).where(
            table.c.workspace_id == workspace_id))]
    with write_transaction(engine) as conn:
        other = ensure_workspace(conn, "bench-ceiling")
    start = time.perf_counter()
    with write_transaction(engine) as conn, text_search.batched(conn, table):
        bulk_insert(conn, table, ["workspace_id", *columns], ((other, *row) for row in rows))
    return time.perf_counter() - start, len(rows)


def parse_alone(path: Path) -> float:
    """Seconds to read, map and parse the file as the import does (a parser and a list of
    parsed rows per chunk), without a database."""
    start = time.perf_counter()
    plan = imports.plan_import(path, "companies")
    for chunk in iter_chunks(plan.layout, imports.CHUNK_ROWS):
        parser = RowParser(plan.mapping, plan.layout.headers)
        with fewer_collections():
            assert len([parser.parse(row) for row in chunk.rows]) == len(chunk.rows)
    return time.perf_counter() - start


def product_import(engine, path: Path, slug: str = "bench") -> tuple[float, imports.ImportSummary]:
    with write_transaction(engine) as conn:
        workspace_id = ensure_workspace(conn, slug)
    start = time.perf_counter()
    with engine.connect() as conn:
        plan = imports.plan_import(path, "companies", conn=conn, workspace_id=workspace_id)
    summary = imports.import_file(engine, workspace_id, plan)
    return time.perf_counter() - start, summary


def pipeline(engine, path: Path, *, copy: bool, parse_first: bool) -> float:
    """The import pipeline chunk by chunk (one transaction each), writing by COPY or executemany."""
    with write_transaction(engine) as conn:
        workspace_id = ensure_workspace(conn, "bench")
    with engine.connect() as conn:
        plan = imports.plan_import(path, "companies", conn=conn, workspace_id=workspace_id)
    with write_transaction(engine) as conn:
        run_id = imports.start_import(conn, workspace_id, plan)
    target = ImportTarget(workspace_id=workspace_id, entity="companies", run_id=run_id, created_after=0, copy=copy)
    parser = RowParser(plan.mapping, plan.layout.headers)
    parsed = [[parser.parse(r) for r in chunk.rows] for chunk in iter_chunks(plan.layout, imports.CHUNK_ROWS)] \
        if parse_first else None
    start = time.perf_counter()
    chunks = parsed if parse_first else (
        [parser.parse(r) for r in chunk.rows] for chunk in iter_chunks(plan.layout, imports.CHUNK_ROWS))
    with fewer_collections():  # as the import's chunk handler runs
        for rows in chunks:
            with write_transaction(engine) as conn:
                apply_rows(conn, target, rows, remember_matches=False)
    return time.perf_counter() - start


def summary_workspace(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT id FROM workspace WHERE slug = 'bench'")).scalar_one()


def postgres_database(admin_url: str):
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"audiences_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine = make_engine(sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False))
    upgrade(engine)

    def drop():
        engine.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    return engine, drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--postgres-url", default=None)
    parser.add_argument("--only", choices=["sqlite", "postgres"], default=None)
    parser.add_argument("--repeat", type=int, default=1, help="PostgreSQL: measurements per case (best counts)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        path = folder / "companies.csv"
        generate_csv(path, args.rows)
        print(f"{args.rows:,} rows, {path.stat().st_size / 1e6:.1f} MB")

        if args.only != "postgres":
            sqlite_figures(args.rows, path, folder)
        if args.postgres_url and args.only != "sqlite":
            postgres_figures(args.rows, path, args.postgres_url, args.repeat)


def sqlite_figures(rows: int, path: Path, folder: Path) -> None:
    base = baseline_sqlite(path, folder / "baseline.db")
    engine = make_engine(f"sqlite:///{folder / 'product.db'}")
    upgrade(engine)
    seconds, summary = product_import(engine, path)
    assert summary.created == rows, summary.to_json()
    again, repeat = product_import(engine, path)
    assert repeat.unchanged == rows, repeat.to_json()
    ceiling, written = write_ceiling(engine, summary_workspace(engine))
    engine.dispose()
    parsing = parse_alone(path)
    print(f"SQLite  baseline csv.reader+executemany, no indexes: {rows / base:>9,.0f} rows/s")
    print(f"SQLite  import (durable run, indexed table):         {rows / seconds:>9,.0f} rows/s"
          f"   ratio {base / seconds:.2f}x (goal >= 0.5x)")
    print(f"SQLite  re-import of the same file (all unchanged):  {rows / again:>9,.0f} rows/s"
          f"   ratio {base / again:.2f}x")
    print(f"SQLite  write ceiling (built rows bulk_insert'ed):   {written / ceiling:>9,.0f} rows/s"
          f"   ratio {base / ceiling:.2f}x")
    print(f"SQLite  parse alone (read, map, normalize; no db):   {rows / parsing:>9,.0f} rows/s"
          f"   ratio {base / parsing:.2f}x")


def prepared_rows(entity_rows: int, tag: str, workspace_id: int | None) -> tuple[list[str], list[tuple]]:
    """Company rows as the import writes them: for the company table, or (ids) for its staging table."""
    columns = DATA_COLUMNS["companies"]
    now = datetime.now(UTC).replace(tzinfo=None)
    rows = []
    for i in range(entity_rows):
        values = dict.fromkeys(columns)
        values.update(name=f"Company {i} {tag}", domain=f"c{i}-{tag}.com", crm_id=f"{tag}-{i}", industry="software",
                      country="US", city=f"City {i % 300}", employee_count=i % 5000, founded_year=2000)
        if workspace_id is None:
            rows.append((i + 1, *(values[c] for c in columns), {"n": i}, now))
        else:
            rows.append((workspace_id, *(values[c] for c in columns), {"n": i}, now, now))
    if workspace_id is None:
        return ["id", *columns, "attributes", "updated_at"], rows
    return ["workspace_id", *columns, "attributes", "updated_at", "created_at"], rows


def write_only(engine, *, copy: bool, staging: bool, rows: int, tag: str) -> float:
    """Seconds to write `rows` built rows into company (15 indexes) or its TEMP staging table (PK only)."""
    table = Company.__table__
    with write_transaction(engine) as conn:
        workspace_id = None if staging else ensure_workspace(conn, f"bench-{tag}")
    names, data = prepared_rows(rows, tag, workspace_id)
    with write_transaction(engine) as conn:
        target = _staging_table(table, names[1:]) if staging else table
        if staging:
            conn.execute(CreateTable(target, if_not_exists=True))
        start = time.perf_counter()
        _write(conn, target, names, data, copy)
        return time.perf_counter() - start


def postgres_figures(rows: int, path: Path, admin_url: str, repeat: int) -> None:
    """COPY and executemany measured in alternation, `repeat` times each; the best of each counts."""
    cases = {
        "import, end to end": lambda engine, copy, n: pipeline(engine, path, copy=copy, parse_first=False),
        "write into company (15 indexes)": lambda engine, copy, n: write_only(
            engine, copy=copy, staging=False, rows=rows, tag=f"{n}{copy}"),
        "write into staging (PK only)": lambda engine, copy, n: write_only(
            engine, copy=copy, staging=True, rows=rows, tag=f"{n}{copy}"),
    }
    best: dict[tuple[str, bool], float] = {}
    for n in range(repeat):
        for label, measure in cases.items():
            for copy in (True, False):
                engine, drop = postgres_database(admin_url)
                try:
                    seconds = measure(engine, copy, n)
                finally:
                    drop()
                best[(label, copy)] = min(seconds, best.get((label, copy), seconds))
    for label in cases:
        copy, many = best[(label, True)], best[(label, False)]
        print(f"Postgres {label:<32} COPY {rows / copy:>9,.0f} rows/s   executemany {rows / many:>9,.0f} rows/s"
              f"   ratio {many / copy:.2f}x (goal >= 2.5x)")
    parsing = min(parse_alone(path) for _ in range(repeat))
    print(f"Postgres {'parse alone (both paths pay it)':<32}      {rows / parsing:>9,.0f} rows/s")


if __name__ == "__main__":
    main()
