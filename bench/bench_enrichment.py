"""Enrichment call throughput: the runner's achieved rate against min(R, in-flight / L).

A loopback provider (its own process, so its CPU is not the client's) answers after a
latency L and refuses (429 + Retry-After) what goes over its rate limit R. The runner calls
it through one provider gate (concurrency cap = in flight, token bucket = R), as enrichment
runs do. Goal: ≥ 0.9× of min(R, in_flight / L) at 20 and at 100 in flight, and when R binds.
For the record, the same load through httpx's default connection pool (no aiohttp
transport), which collapses at 100 in flight; and a whole durable run (SQLite, one worker,
claims of --batch items), whose results, cache entries, charges and item settles are
written as it goes: records/s against min(batch, in_flight) / L.

    .venv/bin/python bench/bench_enrichment.py [--latency 0.2] [--requests-per-slot 25]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from audiences_app.core.enrichment.net import OutboundPolicy  # noqa: E402
from audiences_app.core.enrichment.runner import CallLimits, HttpRunner  # noqa: E402


def start_server(latency: float, rate: float | None) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.core.enrichment.loopback", str(latency), str(rate or 0)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, text=True)
    port = process.stdout.readline().strip()
    return process, f"http://127.0.0.1:{port}"


async def through_runner(url: str, in_flight: int, rate: float | None, total: int) -> tuple[float, int]:
    runner = HttpRunner(OutboundPolicy.allowing(["127.0.0.1"]))
    limits = CallLimits(concurrency=in_flight, rate_per_second=rate, timeout_seconds=60, max_attempts=5)
    refused = 0

    async def call(n: int) -> None:
        nonlocal refused
        response = await runner.fetch("bench", limits, "GET", f"{url}/company?domain=d{n}.com")
        refused += response.status != 200

    # Warm the connections first, then time a steady run.
    await asyncio.gather(*(call(n) for n in range(in_flight)))
    start = time.perf_counter()
    await asyncio.gather(*(call(n) for n in range(total)))
    elapsed = time.perf_counter() - start
    await runner.aclose()
    return total / elapsed, refused


async def through_default_httpx(url: str, in_flight: int, total: int) -> float:
    limits = httpx.Limits(max_connections=in_flight, max_keepalive_connections=in_flight)
    async with httpx.AsyncClient(limits=limits) as client:
        semaphore = asyncio.Semaphore(in_flight)

        async def call(n: int) -> None:
            async with semaphore:
                await client.get(f"{url}/company?domain=d{n}.com")

        await asyncio.gather(*(call(n) for n in range(in_flight)))
        start = time.perf_counter()
        await asyncio.gather(*(call(n) for n in range(total)))
        return total / (time.perf_counter() - start)


def end_to_end(url: str, latency: float, in_flight: int, batch: int, records: int) -> tuple[float, float]:
    """A full enrichment run through the durable-run worker; (records/s, ideal records/s)."""
    import tempfile

    import sqlalchemy as sa

    from audiences_app.core.db import make_engine, write_transaction
    from audiences_app.core.enrichment import credits, runs, save_config
    from audiences_app.core.migrate import upgrade
    from audiences_app.core.models import Company
    from audiences_app.core.workspaces import ensure_workspace

    os.environ.setdefault("AUDIENCES_ALLOWED_HOSTS", "127.0.0.1")
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{folder}/bench.db")
        upgrade(engine)
        spec = {"steps": [{"provider": {"kind": "http_api", "url": f"{url}/company?domain={{{{domain}}}}",
                                        "outputs": {"employees": {"path": "$.company.employees", "type": "number"}},
                                        "cost": 1, "concurrency": in_flight, "timeout_seconds": 30},
                           "map": {"employees": "employees_api"}}]}
        with write_transaction(engine) as conn:
            workspace = ensure_workspace(conn, "bench")
            conn.execute(sa.insert(Company.__table__), [{"workspace_id": workspace, "domain": f"c{n}.com",
                                                         "attributes": {}} for n in range(records)])
            credits.grant(conn, workspace, records * 2)
            config = save_config(conn, workspace, "bench", "companies", spec)
        runs.run_until_done(engine, runs.start_test_run(engine, workspace, config["id"]), workspace)
        run_id = runs.start_run(engine, workspace, config["id"], accept_warnings=True)
        start = time.perf_counter()
        summary = runs.run_until_done(engine, run_id, workspace, batch_size=batch)
        elapsed = time.perf_counter() - start
        engine.dispose()
    return summary["done"] / elapsed, min(batch, in_flight) / latency


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.2, help="server latency L in seconds")
    parser.add_argument("--requests-per-slot", type=int, default=25, help="timed requests per in-flight slot")
    parser.add_argument("--records", type=int, default=3000, help="records of the end-to-end run")
    parser.add_argument("--batch", type=int, default=200, help="items per worker claim in the end-to-end run")
    args = parser.parse_args()
    L = args.latency
    cases = [(20, None), (100, None), (100, 150.0), (20, 50.0)]
    print(f"loopback provider, latency L = {L * 1000:.0f} ms; ideal = min(R, in_flight / L)")
    print(f"{'in flight':>9} {'R (/s)':>8} {'ideal /s':>9} {'achieved /s':>12} {'ratio':>6}  429s")
    ratios = []
    for in_flight, rate in cases:
        process, url = start_server(L, rate)
        try:
            ideal = min(rate or float("inf"), in_flight / L)
            total = in_flight * args.requests_per_slot if rate is None else int(rate * 8)
            achieved, refused = asyncio.run(through_runner(url, in_flight, rate, total))
        finally:
            process.kill()
            process.wait()
        ratio = achieved / ideal
        ratios.append(ratio)
        print(f"{in_flight:>9} {rate or '-':>8} {ideal:>9.0f} {achieved:>12.1f} {ratio:>6.2f}  {refused}")
    process, url = start_server(L, None)
    try:
        baseline = asyncio.run(through_default_httpx(url, 100, 100 * 5))
    finally:
        process.kill()
        process.wait()
    print(f"default httpx pool, 100 in flight: {baseline:.1f}/s = {baseline / (100 / L):.2f}× ideal (for the record)")
    process, url = start_server(L, None)
    try:
        for in_flight in (20, 100):
            rate, ideal = end_to_end(url, L, in_flight, args.batch, args.records)
            print(f"end-to-end durable run (SQLite, batch {args.batch}, {in_flight} in flight): {rate:.0f} records/s "
                  f"= {rate / ideal:.2f}× of {ideal:.0f}/s (for the record: item writes and batch tails included)")
    finally:
        process.kill()
        process.wait()
    print(f"goal ≥ 0.90× at 20 and 100 in flight and when R binds: {'met' if min(ratios) >= 0.9 else 'NOT met'} "
          f"(lowest {min(ratios):.2f}×)")


if __name__ == "__main__":
    main()
