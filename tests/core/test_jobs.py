"""Durable runs: claims, leases, settling with the item's writes, pause/resume/cancel, crashes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from audiences_app.core import jobs
from audiences_app.core.db import write_transaction
from audiences_app.core.models import Company
from tests.core.job_handlers import create_companies

ROOT = Path(__file__).resolve().parents[2]


def _run(engine, workspace_id, n, **params) -> int:
    with write_transaction(engine) as conn:
        return jobs.create_run(conn, workspace_id=workspace_id, kind="test-create", title="test",
                               params=params, payloads=({"crm_id": f"c{i}"} for i in range(n)))


def _worker(engine, **kwargs) -> jobs.Worker:
    return jobs.Worker(engine, {"test-create": create_companies}, batch_size=10, **kwargs)


def _companies(engine, workspace_id) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(Company.__table__.c.crm_id).where(
            Company.__table__.c.workspace_id == workspace_id)).scalars())


def test_a_worker_runs_every_item_once_and_finishes_the_run(engine, workspace_id):
    run_id = _run(engine, workspace_id, 35)
    worker = _worker(engine)
    while worker.run_once():
        pass
    with engine.connect() as conn:
        run = jobs.get_run(conn, run_id, workspace_id)
    assert (run["status"], run["total_items"], run["done_items"], run["failed_items"]) == ("succeeded", 35, 35, 0)
    assert sorted(_companies(engine, workspace_id)) == sorted(f"c{i}" for i in range(35))


def test_an_expired_lease_is_claimed_again_and_the_old_owner_cannot_settle(engine, workspace_id):
    _run(engine, workspace_id, 3)
    first = jobs.claim_items(engine, owner="dead", limit=10, lease_seconds=-1)
    second = jobs.claim_items(engine, owner="alive", limit=10)
    assert [i.id for i in first] == [i.id for i in second]
    assert all(i.attempts == 2 for i in second)
    with write_transaction(engine) as conn:
        assert not jobs.settle_item(conn, first[0], owner="dead", status="done")
        assert jobs.settle_item(conn, second[0], owner="alive", status="done")


def test_a_live_lease_is_never_claimed_twice(engine, workspace_id):
    _run(engine, workspace_id, 4)
    assert len(jobs.claim_items(engine, owner="a", limit=10)) == 4
    assert jobs.claim_items(engine, owner="b", limit=10) == []


def test_concurrent_workers_claim_disjoint_items(engine, workspace_id):
    _run(engine, workspace_id, 200)
    claimed: dict[str, list[int]] = {}

    def claim(owner):
        claimed[owner] = [i.id for i in jobs.claim_items(engine, owner=owner, limit=120)]

    threads = [threading.Thread(target=claim, args=(f"w{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not set(claimed["w0"]) & set(claimed["w1"])
    assert len(claimed["w0"]) + len(claimed["w1"]) == 200


def test_an_item_whose_worker_keeps_dying_ends_failed(engine, workspace_id):
    run_id = _run(engine, workspace_id, 1)
    for attempt in range(3):
        assert len(jobs.claim_items(engine, owner=f"dead{attempt}", lease_seconds=-1, max_attempts=3)) == 1
    assert jobs.claim_items(engine, owner="next", max_attempts=3) == []
    with write_transaction(engine) as conn:
        jobs.finish_completed_runs(conn)
        run = jobs.get_run(conn, run_id, workspace_id)
        errors = jobs.item_errors(conn, run_id)
    assert (run["status"], run["failed_items"]) == ("failed", 1)
    assert "too many times" in errors[0]["error"]


def test_a_paused_run_hands_out_nothing_until_resumed(engine, workspace_id):
    run_id = _run(engine, workspace_id, 5)
    with write_transaction(engine) as conn:
        jobs.pause_run(conn, run_id, workspace_id)
    assert jobs.claim_items(engine, owner="w") == []
    with write_transaction(engine) as conn:
        jobs.resume_run(conn, run_id, workspace_id)
    assert len(jobs.claim_items(engine, owner="w")) == 5


def test_cancelling_skips_pending_items_and_refuses_to_resume(engine, workspace_id):
    run_id = _run(engine, workspace_id, 5)
    jobs.claim_items(engine, owner="w", limit=2)
    with write_transaction(engine) as conn:
        jobs.cancel_run(conn, run_id, workspace_id)
        run = jobs.get_run(conn, run_id, workspace_id)
        assert (run["status"], run["skipped_items"]) == ("cancelled", 3)
        with pytest.raises(jobs.RunStateError, match="cancelled"):
            jobs.resume_run(conn, run_id, workspace_id)


def test_runs_of_another_workspace_cannot_be_steered(engine, workspace_id):
    run_id = _run(engine, workspace_id, 1)
    with write_transaction(engine) as conn, pytest.raises(LookupError):
        jobs.pause_run(conn, run_id, workspace_id + 999)


def test_a_failing_handler_is_retried_then_fails_without_stopping_the_worker(engine, workspace_id):
    run_id = _run(engine, workspace_id, 2)

    def broken(engine, items, owner):
        raise RuntimeError("provider exploded")

    worker = jobs.Worker(engine, {"test-create": broken}, max_attempts=2)
    for _ in range(2):
        worker.run_once()
        with write_transaction(engine) as conn:  # skip the back-off wait
            conn.execute(sa.update(jobs.ITEM).where(jobs.ITEM.c.run_id == run_id).values(available_at=jobs.utcnow()))
    with engine.connect() as conn:
        run = jobs.get_run(conn, run_id, workspace_id)
        errors = jobs.item_errors(conn, run_id)
    assert (run["status"], run["failed_items"]) == ("failed", 2)
    assert errors[0]["error"] == "RuntimeError: provider exploded"


def test_killing_the_worker_mid_run_loses_and_duplicates_nothing(engine, workspace_id):
    run_id = _run(engine, workspace_id, 60, sleep=0.02)
    url = engine.url.render_as_string(hide_password=False)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def start():
        return subprocess.Popen([sys.executable, "-m", "tests.core.job_handlers", url], cwd=ROOT, env=env)

    def done() -> int:
        with engine.connect() as conn:
            return jobs.get_run(conn, run_id, workspace_id)["done_items"]

    process = start()
    deadline = time.monotonic() + 60
    while done() < 20 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    killed_at = done()
    assert 20 <= killed_at < 60
    process = start()
    try:
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                if jobs.get_run(conn, run_id, workspace_id)["status"] == "succeeded":
                    break
            time.sleep(0.1)
    finally:
        process.kill()
        process.wait()
    with engine.connect() as conn:
        run = jobs.get_run(conn, run_id, workspace_id)
    assert (run["status"], run["done_items"], run["failed_items"]) == ("succeeded", 60, 0)
    assert sorted(_companies(engine, workspace_id)) == sorted(f"c{i}" for i in range(60))


def test_a_batch_settles_only_the_items_still_held_under_the_same_claim(engine, workspace_id):
    with write_transaction(engine) as conn:
        run_id = jobs.create_run(conn, workspace_id=workspace_id, kind="test-batch", title="batch",
                                 payloads=[{"n": n} for n in range(4)])
    claimed = sorted(jobs.claim_items(engine, owner="me", limit=4, kinds=["test-batch"]), key=lambda i: i.seq)
    assert len(claimed) == 4
    with write_transaction(engine) as conn:  # the lease of the last item passed to another worker
        conn.execute(sa.update(jobs.ITEM).where(jobs.ITEM.c.id == claimed[3].id).values(lease_owner="other"))
    settlements = [jobs.Settlement(claimed[0], "done", {"n": 0}), jobs.Settlement(claimed[1], "failed", error="no"),
                   jobs.Settlement(claimed[2], "skipped", error="gone"), jobs.Settlement(claimed[3], "done", {"n": 3})]
    with write_transaction(engine) as conn:
        applied = jobs.settle_items(conn, settlements, owner="me")
    assert [s.item.id for s in applied] == [c.id for c in claimed[:3]]
    with engine.connect() as conn:
        items = {row.id: row for row in conn.execute(sa.select(jobs.ITEM).where(jobs.ITEM.c.run_id == run_id))}
        run = conn.execute(sa.select(jobs.RUN).where(jobs.RUN.c.id == run_id)).one()
    assert [items[c.id].status for c in claimed] == ["done", "failed", "skipped", "running"]
    assert items[claimed[0].id].result == {"n": 0} and items[claimed[1].id].error == "no"
    assert items[claimed[0].id].lease_owner is None and items[claimed[3].id].lease_owner == "other"
    assert (run.done_items, run.failed_items, run.skipped_items) == (1, 1, 1)
    with pytest.raises(ValueError, match="settles as done, failed or skipped"):
        with write_transaction(engine) as conn:
            jobs.settle_items(conn, [jobs.Settlement(claimed[3], "running")], owner="other")
