"""Demo load throughput, as a ratio against the raw driver measured in the same run.

The product: `load_demo` into a fresh database (generation, encoding, bulk_insert into the
real tables with their constraints, secondary indexes deferred and rebuilt, statistics).
The baseline: the same rows, read back beforehand (untimed), written by the plain driver
(sqlite3 `executemany` / psycopg `COPY … write_row`) into index-free copies of the tables,
one transaction per 50,000 rows. ratio = product seconds / baseline seconds (lower is better).

    PYTHONPATH=. .venv/bin/python bench/bench_demo_load.py --companies 1000000 --people 3000000 --backend sqlite
    PYTHONPATH=. .venv/bin/python bench/bench_demo_load.py --companies 1000000 --people 3000000 --backend postgres \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

SQLite loads into a file in a temporary folder; PostgreSQL into a database created here
(`bench_<random>` on the server of --database-url) and dropped at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from audiences_app.core.db import make_engine
from audiences_app.core.demo import load_demo
from audiences_app.core.migrate import upgrade

BASELINE_CHUNK = 50_000
TABLES = ("company", "company_tag", "person", "person_tag")


@dataclass
class Stages:
    """When each stage of load_demo finished, from its progress calls."""

    started: float = field(default_factory=time.perf_counter)
    ended: dict[str, float] = field(default_factory=dict)

    def __call__(self, stage: str, done: int, total: int) -> None:
        if done == total:
            self.ended[stage] = time.perf_counter()


@contextlib.contextmanager
def fresh_database(backend: str, admin_url: str) -> Iterator[str]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="bench_demo_") as folder:
            yield f"sqlite:///{Path(folder) / 'bench.db'}"
        return
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def baseline_seconds(engine: sa.Engine, table: str) -> tuple[int, float]:
    """Rows and driver seconds to write `table`'s rows again into an index-free copy."""
    sqlite = engine.dialect.name == "sqlite"
    copy = f"baseline_{table}"
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if sqlite:
            cursor.execute(f"CREATE TABLE {copy} AS SELECT * FROM {table} WHERE 0")
            columns = [row[1] for row in cursor.execute(f"PRAGMA table_info({table})")]
        else:
            cursor.execute(f"CREATE TABLE {copy} (LIKE {table})")
            cursor.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s ORDER BY ordinal_position",
                (table,),
            )
            columns = [row[0] for row in cursor.fetchall()]
        raw.commit()
        # JSON read back as text, as the driver would be given it.
        select = ", ".join(f"{c}::text" if c == "attributes" and not sqlite else c for c in columns)
        key = columns[0]
        mark = "?" if sqlite else "%s"
        insert = f"INSERT INTO {copy} VALUES ({', '.join([mark] * len(columns))})"
        rows_done, seconds, last = 0, 0.0, None
        while True:
            where = f"WHERE {key} > {mark} " if last is not None else ""
            cursor.execute(
                f"SELECT {select} FROM {table} {where}ORDER BY {', '.join(columns[:2])} LIMIT {BASELINE_CHUNK}",
                (last,) if last is not None else (),
            )
            rows = cursor.fetchall()
            if not rows:
                break
            if table.endswith("_tag"):  # (id, tag) keys: page on the id, keep whole ids in one page
                last_id = rows[-1][0]
                rows = [row for row in rows if row[0] != last_id] or rows
            last = rows[-1][0]
            raw.commit()
            started = time.perf_counter()
            if sqlite:
                cursor.execute("BEGIN")
                cursor.executemany(insert, rows)
            else:
                with cursor.copy(f"COPY {copy} FROM STDIN") as pg_copy:
                    for row in rows:
                        pg_copy.write_row(row)
            raw.commit()
            seconds += time.perf_counter() - started
            rows_done += len(rows)
        cursor.execute(f"DROP TABLE {copy}")
        raw.commit()
        return rows_done, seconds
    finally:
        raw.close()


def database_size(engine: sa.Engine) -> str:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            pages = conn.exec_driver_sql("PRAGMA page_count").scalar()
            size = conn.exec_driver_sql("PRAGMA page_size").scalar()
            return f"{pages * size / 2**30:.2f} GiB"
        return conn.exec_driver_sql("SELECT pg_size_pretty(pg_database_size(current_database()))").scalar()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--companies", type=int, default=100_000)
    parser.add_argument("--people", type=int, default=300_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument(
        "--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test",
        help="PostgreSQL server to create the throw-away database on (postgres backend)",
    )
    parser.add_argument("--profile", metavar="FILE", help="write cProfile stats of the load here")
    args = parser.parse_args()

    with fresh_database(args.backend, args.database_url) as url:
        engine = make_engine(url)
        upgrade(engine)
        stages = Stages()
        profile = cProfile.Profile() if args.profile else None
        with profile or contextlib.nullcontext():
            report = load_demo(
                engine, companies=args.companies, people=args.people, seed=args.seed, progress=stages
            )
        if profile:
            profile.dump_stats(args.profile)
        ended = time.perf_counter()
        size = database_size(engine)
        baseline = {table: baseline_seconds(engine, table) for table in TABLES}
        engine.dispose()

    companies_done = stages.ended.get("companies", stages.started)
    people_done = stages.ended.get("people", companies_done)
    lines = [
        ("companies + tags", baseline["company"][0] + baseline["company_tag"][0], companies_done - stages.started,
         baseline["company"][1] + baseline["company_tag"][1]),
        ("people + tags", baseline["person"][0] + baseline["person_tag"][0], people_done - companies_done,
         baseline["person"][1] + baseline["person_tag"][1]),
        ("indexes + analyze", None, ended - people_done, None),
        ("total", sum(rows for rows, _ in baseline.values()), ended - stages.started,
         sum(seconds for _, seconds in baseline.values())),
    ]  # fmt: skip
    print(
        f"\ndemo load, {args.backend}: {args.companies:,} companies, {args.people:,} people, "
        f"{report.tags:,} tag assignments, seed {args.seed}; database {size}"
    )
    print(f"{'stage':<18} {'rows':>11} {'seconds':>8} {'rows/s':>9} {'baseline s':>10} {'base rows/s':>11} {'ratio':>6}")
    for stage, rows, seconds, base in lines:
        print(
            f"{stage:<18} {f'{rows:,}' if rows else '':>11} {seconds:8.1f} "
            f"{f'{rows / seconds:,.0f}' if rows else '':>9} {f'{base:.1f}' if base else '':>10} "
            f"{f'{rows / base:,.0f}' if base else '':>11} {f'{seconds / base:.2f}x' if base else '':>6}"
        )
    print("ratio = product seconds / raw-driver seconds into index-free tables (lower is better)")


if __name__ == "__main__":
    main()
