"""Imports as durable runs: chained chunks, progress, reject report, failures, and kill -9."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from audiences_app.core import imports, jobs
from audiences_app.core.db import write_transaction
from audiences_app.core.models import Company
from audiences_app.core.run_kinds import handlers

ROOT = Path(__file__).resolve().parents[3]
COMPANY = Company.__table__


def _plan(engine, workspace_id, path, **options):
    with engine.connect() as conn:
        return imports.plan_import(path, "companies", conn=conn, workspace_id=workspace_id, **options)


def _worker(engine):
    return jobs.Worker(engine, {imports.KIND: imports.handle_import_items}, batch_size=1)


def _csv(rows: int, *, rejects_every: int = 50, duplicate_every: int = 37) -> str:
    """Companies with some rows rejected (no website) and some repeating an earlier domain."""
    lines = ["Company,Website,City,Employees,Score"]
    for i in range(rows):
        if i % rejects_every == 7:
            lines.append(f"No site {i},,Nowhere,,")
        elif i % duplicate_every == 5 and i > 100:
            lines.append(f"Dup {i},https://www.co{i - 100}.com,Dup City {i},{i},")
        else:
            lines.append(f"Co {i},co{i}.com,{'' if i % 3 else 'Paris'},{i % 500},{i / 4}")
    return "\n".join(lines) + "\n"


def _fingerprint(engine, workspace_id) -> str:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(COMPANY.c.domain, COMPANY.c.name, COMPANY.c.city, COMPANY.c.employee_count,
                                      COMPANY.c.attributes).where(COMPANY.c.workspace_id == workspace_id)
                            .order_by(COMPANY.c.domain)).all()
    return hashlib.sha256(json.dumps([list(r) for r in rows], sort_keys=True).encode()).hexdigest()


def test_the_import_kind_is_served_by_every_worker():
    assert handlers()[imports.KIND] is imports.handle_import_items


def test_chunks_chain_one_after_another_and_progress_grows(engine, workspace_id, write_file):
    plan = _plan(engine, workspace_id, write_file(_csv(100)))
    run_id = imports.start_import(engine, workspace_id, plan, chunk_rows=30)
    with engine.connect() as conn:
        queued = imports.import_progress(conn, run_id, workspace_id)
        assert (queued.status, queued.progress, jobs.get_run(conn, run_id, workspace_id)["total_items"]) == ("queued", 0, 1)
    worker = _worker(engine)
    fractions = []
    while worker.run_once():
        with engine.connect() as conn:
            fractions.append(imports.import_progress(conn, run_id, workspace_id).progress)
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and 0 < fractions[0] < 1
    with engine.connect() as conn:
        done = imports.import_progress(conn, run_id, workspace_id)
        run = jobs.get_run(conn, run_id, workspace_id)
    assert (done.status, done.rows_read, run["total_items"], run["done_items"]) == ("succeeded", 100, 4, 4)


def test_the_reject_report_lists_line_column_reason_and_raw_values(engine, workspace_id, write_file, tmp_path,
                                                                   run_import):
    path = write_file("Company,Website,Employees\n=HYPERLINK(\"x\"),,10\nAcme,acme.com,many\nBeta,angel.co/beta,\n")
    report = tmp_path / "rejects.csv"
    summary = run_import(path, reject_report=report)
    assert (summary.rejected, summary.warnings, summary.reject_report) == (2, 1, str(report))
    with report.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows == [
        ["line", "outcome", "column", "reason", "Company", "Website", "Employees"],
        ["2", "rejected", "Website", "no identity key: Website is empty", "'=HYPERLINK(\"x\")", "", "10"],
        ["3", "value_skipped", "Employees", "'many' is not a number", "Acme", "acme.com", "many"],
        ["4", "rejected", "Website", "no identity key: 'angel.co/beta' is on a shared platform (angel.co): "
                                     "no domain identity", "Beta", "angel.co/beta", ""],
    ]


def test_a_file_that_changes_mid_run_fails_the_run_with_the_reason(engine, workspace_id, write_file):
    path = write_file(_csv(100))
    run_id = imports.start_import(engine, workspace_id, _plan(engine, workspace_id, path), chunk_rows=30)
    worker = _worker(engine)
    worker.run_once()
    with path.open("a") as handle:
        handle.write("Late,late.com,,,\n")
    while worker.run_once():
        pass
    with engine.connect() as conn:
        summary = imports.import_progress(conn, run_id, workspace_id)
    assert summary.status == "failed" and summary.rows_read == 30
    assert "changed after the import started: start a new import with it" in summary.error


def test_killing_the_worker_mid_import_leaves_no_half_chunk_and_resumes_to_the_clean_result(
        engine, workspace_id, write_file):
    path = write_file(_csv(4000))
    with write_transaction(engine) as conn:
        from audiences_app.core.workspaces import ensure_workspace

        clean_ws = ensure_workspace(conn, f"clean-{workspace_id}")
    clean = imports.import_file(engine, clean_ws, _plan(engine, clean_ws, path, keep_unmapped=True), chunk_rows=100)
    run_id = imports.start_import(engine, workspace_id, _plan(engine, workspace_id, path, keep_unmapped=True),
                                  chunk_rows=100)
    url = engine.url.render_as_string(hide_password=False)
    command = [sys.executable, "-m", "audiences_app", "--database-url", url, "worker", "--batch-size", "1"]

    def progress() -> tuple[int, int]:
        with engine.connect() as conn:
            done = conn.execute(sa.select(jobs.ITEM.c.result).where(
                jobs.ITEM.c.run_id == run_id, jobs.ITEM.c.status == "done")).scalars().all()
            records = conn.execute(sa.select(sa.func.count()).select_from(COMPANY).where(
                COMPANY.c.workspace_id == workspace_id)).scalar_one()
        return len(done), records - sum(r["created"] for r in done)

    worker = subprocess.Popen(command, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    try:
        while progress()[0] < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
    chunks_done, records_beyond_done_chunks = progress()
    assert 5 <= chunks_done < 40
    assert records_beyond_done_chunks == 0  # the chunk in flight left nothing behind
    with write_transaction(engine) as conn:  # let the dead worker's lease run out now instead of in a minute
        conn.execute(sa.update(jobs.ITEM).where(jobs.ITEM.c.run_id == run_id, jobs.ITEM.c.status == "running")
                     .values(lease_expires_at=jobs.utcnow()))
    worker = subprocess.Popen(command, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                if imports.import_progress(conn, run_id, workspace_id).status in ("succeeded", "failed"):
                    break
            time.sleep(0.1)
    finally:
        worker.kill()
        worker.wait()
    with engine.connect() as conn:
        resumed = imports.import_progress(conn, run_id, workspace_id)
    assert resumed.status == "succeeded"
    counts = ("rows_read", "created", "updated", "unchanged", "duplicates", "rejected", "warnings")
    assert [getattr(resumed, c) for c in counts] == [getattr(clean, c) for c in counts]
    assert (clean.rows_read, clean.created, clean.duplicates, clean.rejected) == (4000, 3817, 103, 80)
    assert _fingerprint(engine, workspace_id) == _fingerprint(engine, clean_ws)
