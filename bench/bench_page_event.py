"""Server time of a record-browser page event at scale, as ratios against the raw driver.

A page event is what the Companies page does on Next/Previous/sort: one keyset page through
core.records.browse plus the capped count. The baseline is the same page query, hand-written,
through the raw DBAPI driver, measured in the same run. Deep pages (90% of the way through a
sort order) must cost what the first page costs.

    PYTHONPATH=. .venv/bin/python bench/bench_page_event.py --database-url sqlite:///data/bench-1m.db
    (load it first: python -m audiences_app --database-url … demo --companies 1000000 --people 3000000)
"""

from __future__ import annotations

import argparse
import statistics
import time

import sqlalchemy as sa

from audiences_app.core import records
from audiences_app.core.db import make_engine
from audiences_app.core.workspaces import workspace_id

COLUMNS = records.DEFAULT_COLUMNS["companies"]


def _median_ms(fn, repeat: int) -> float:
    fn()  # warm the caches once; the figure is the steady state a user sees
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _cursor_at(conn, ws: int, sort: str, fraction: float) -> str:
    """The cursor that starts the page `fraction` of the way through `sort` order."""
    table = records.TABLES["companies"]
    total = conn.execute(sa.select(sa.func.count()).select_from(table).where(
        table.c.workspace_id == ws, table.c[sort].is_not(None))).scalar_one()
    value, row_id = conn.execute(
        sa.select(table.c[sort], table.c.id)
        .where(table.c.workspace_id == ws, table.c[sort].is_not(None))
        .order_by(table.c[sort], table.c.id).offset(int(total * fraction)).limit(1)
    ).one()
    return records._encode_cursor("v", value, row_id)


def _raw_page_sql(dialect: str, sort: str, seek: bool) -> str:
    mark = "?" if dialect == "sqlite" else "%s"
    cols = ", ".join(["id", *COLUMNS])
    where = f"workspace_id = {mark} AND archived_at IS NULL AND {sort} IS NOT NULL"
    if seek:
        where += f" AND ({sort}, id) > ({mark}, {mark})"
    return f"SELECT {cols} FROM company WHERE {where} ORDER BY {sort}, id LIMIT 51"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--workspace", default="demo")
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    engine = make_engine(args.database_url)
    with engine.connect() as conn:
        ws = workspace_id(conn, args.workspace)
        total = records.exact_count(conn, ws, "companies")
        deep = {sort: _cursor_at(conn, ws, sort, 0.9) for sort in ("id", "name", "employee_count")}
        raw = conn.connection.dbapi_connection
        dialect = engine.dialect.name

        def page(sort: str, cursor: str | None, search: str = "") -> None:
            records.browse(conn, ws, "companies", columns=COLUMNS, sort=sort, cursor=cursor, search=search)

        def event(sort: str, cursor: str | None, search: str = "") -> None:
            page(sort, cursor, search)
            records.count_records(conn, ws, "companies", search=search)

        def raw_page(sort: str, cursor: str | None) -> None:
            cur = raw.cursor()
            if cursor:
                _, value, row_id = records._decode_cursor(cursor, records.TABLES["companies"].c[sort])
                cur.execute(_raw_page_sql(dialect, sort, True), (ws, value, row_id))
            else:
                cur.execute(_raw_page_sql(dialect, sort, False), (ws,))
            cur.fetchall()
            cur.close()

        print(f"{dialect}: {total:,} companies in workspace {args.workspace!r}; median of {args.repeat} runs")
        print(f"{'page':34} {'core ms':>9} {'raw ms':>9} {'ratio':>7} {'event ms':>9}")
        first_ms = {}
        for sort in ("id", "name", "employee_count"):
            for label, cursor in (("first page", None), ("page at 90% depth", deep[sort])):
                core_ms = _median_ms(lambda: page(sort, cursor), args.repeat)
                raw_ms = _median_ms(lambda: raw_page(sort, cursor), args.repeat)
                event_ms = _median_ms(lambda: event(sort, cursor), args.repeat)
                first_ms.setdefault(sort, core_ms)
                print(f"{label + ' by ' + sort:34} {core_ms:9.2f} {raw_ms:9.2f} {core_ms / raw_ms:6.1f}x {event_ms:9.2f}")
            print(f"{'  depth ratio (90% / first)':34} {core_ms / first_ms[sort]:25.2f}x")
        search_ms = _median_ms(lambda: event("id", None, "data"), max(3, args.repeat // 3))
        label = 'quick search "data", first page'
        print(f"{label:34} {search_ms:9.2f}")
        exact_ms = _median_ms(lambda: records.exact_count(conn, ws, "companies"), 3)
        print(f"{'exact count (background)':34} {exact_ms:9.2f}")


if __name__ == "__main__":
    main()
