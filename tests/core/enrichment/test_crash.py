"""kill -9 during a 10,000-record enrichment run: nothing lost, nothing charged twice.

The worker runs in a subprocess and is killed (SIGKILL) at 10%, 50% and 90% of the run, then
started again each time. The loopback provider counts every call and every distinct
Idempotency-Key it answered; the run must finish by itself, every record must hold its
value, and the credits charged must equal the distinct successful calls exactly. Calls that
were in flight when the worker died are made again after the restart (the provider sees the
same Idempotency-Key, so a provider that honours it bills them once); they are reported.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

import pytest

from audiences_app.core.enrichment import runs
from tests.core.enrichment.helpers import add_companies, api_step, attributes, charged, grant, save
from tests.core.enrichment.loopback import LoopbackServer

ROOT = Path(__file__).resolve().parents[3]
RECORDS = 10_000


@pytest.fixture
def slow_server():
    """5 ms per call, so that calls are in flight whenever the worker is killed."""
    running = LoopbackServer(latency=0.005).start()
    yield running
    running.stop()


def test_killing_the_worker_at_10_50_and_90_percent_loses_nothing_and_charges_once(engine, workspace_id, slow_server):
    server = slow_server
    add_companies(engine, workspace_id, RECORDS)
    grant(engine, workspace_id, 2 * RECORDS)
    config = save(engine, workspace_id, [api_step(server.url, concurrency=50)])
    test_id = runs.start_test_run(engine, workspace_id, config["id"])
    assert runs.run_until_done(engine, test_id, workspace_id)["done"] == 10
    run_id = runs.start_run(engine, workspace_id, config["id"], accept_warnings=True)
    url = engine.url.render_as_string(hide_password=False)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "AUDIENCES_ALLOWED_HOSTS": "127.0.0.1"}

    def start() -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "tests.core.enrichment.crash_worker", url], cwd=ROOT, env=env)

    def summary() -> dict:
        with engine.connect() as conn:
            return runs.run_summary(conn, workspace_id, run_id)

    started = time.monotonic()
    deadline = started + 150
    killed_at = []
    for share in (0.10, 0.50, 0.90):
        process = start()
        try:
            while summary()["done"] < share * RECORDS and time.monotonic() < deadline:
                time.sleep(0.02)
        finally:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
        killed_at.append(summary()["done"])
    process = start()
    try:
        while summary()["status"] != "succeeded" and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        process.kill()
        process.wait()
    final = summary()
    values = attributes(engine, workspace_id)
    paid = charged(engine, workspace_id)
    repeated = server.ok_calls - len(server.ok_keys)
    print(f"\ncrash test ({engine.dialect.name}): killed at {killed_at} of {RECORDS:,} done; "
          f"finished in {time.monotonic() - started:.1f} s; calls answered {server.ok_calls:,}, "
          f"distinct idempotency keys {len(server.ok_keys):,}, credits charged {paid:,.0f}, "
          f"calls repeated after a kill {repeated}")
    assert all(a * RECORDS <= k < RECORDS for a, k in zip((0.10, 0.50, 0.90), killed_at)), killed_at
    assert (final["status"], final["done"], final["failed"], final["skipped"]) == ("succeeded", RECORDS, 0, 0)
    assert sum("firmo_employees" in a for a in values.values()) == RECORDS
    assert final["calls"] == final["credits"] == RECORDS - 10  # the test's 10 came from the cache
    assert paid == len(server.ok_keys) == RECORDS  # charged == distinct successful calls, exactly
    with engine.connect() as conn:
        entries = conn.execute(sa.select(sa.func.count()).select_from(runs.credits.LEDGER).where(
            runs.credits.LEDGER.c.run_id == run_id)).scalar_one()
    assert entries == RECORDS - 10  # one charge per record, never two

