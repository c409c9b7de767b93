"""A test run kind: each item creates one company, settled in the same transaction."""

from __future__ import annotations

import sys
import threading
import time

import sqlalchemy as sa

from audiences_app.core.db import make_engine, write_transaction
from audiences_app.core.jobs import ClaimedItem, Worker, settle_item
from audiences_app.core.models import Company


def create_companies(engine, items: list[ClaimedItem], owner: str) -> None:
    for item in items:
        time.sleep(item.params.get("sleep", 0))
        with write_transaction(engine) as conn:
            conn.execute(sa.insert(Company.__table__).values(
                workspace_id=item.workspace_id, crm_id=item.payload["crm_id"], attributes={}))
            if not settle_item(conn, item, owner=owner, status="done", result={"ok": True}):
                conn.rollback()


if __name__ == "__main__":  # python -m tests.core.job_handlers URL: a worker that runs until killed
    worker = Worker(make_engine(sys.argv[1]), {"test-create": create_companies}, batch_size=5, lease_seconds=2)
    worker.run_forever(threading.Event(), idle_seconds=0.1)
