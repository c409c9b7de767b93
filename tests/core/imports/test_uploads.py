"""Uploads left behind by closed tabs are swept after a day, unless an unfinished import reads them."""

from __future__ import annotations

import os
import time

from audiences_app.core import imports, jobs
from audiences_app.core.db import write_transaction
from audiences_app.core.imports.uploads import KEEP_SECONDS, sweep_uploads


def _age(path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_old_uploads_go_unless_an_unfinished_import_reads_them(engine, workspace_id, tmp_path):
    folder = tmp_path / "uploads"
    folder.mkdir()
    files = {}
    for name in ("abandoned", "fresh", "queued", "paused", "finished"):
        files[name] = folder / f"{name}.csv"
        files[name].write_text("domain\nacme.com\n")
        _age(files[name], 0 if name == "fresh" else KEEP_SECONDS + 60)
    runs = {}
    for name in ("queued", "paused", "finished"):
        with engine.connect() as conn:
            plan = imports.plan_import(files[name], "companies", conn=conn, workspace_id=workspace_id)
        runs[name] = imports.start_import(engine, workspace_id, plan)
    with write_transaction(engine) as conn:
        jobs.pause_run(conn, runs["paused"], workspace_id)
        jobs.cancel_run(conn, runs["finished"], workspace_id)
    deleted = sweep_uploads(engine, folder)
    assert sorted(p.name for p in deleted) == ["abandoned.csv", "finished.csv"]
    assert sorted(p.name for p in folder.iterdir()) == ["fresh.csv", "paused.csv", "queued.csv"]
    assert sweep_uploads(engine, folder) == [] and sweep_uploads(engine, tmp_path / "missing") == []
