"""A worker process for the crash test: serves every run kind until it is killed.

python -m tests.core.enrichment.crash_worker DATABASE_URL
"""

from __future__ import annotations

import sys
import threading

from audiences_app.core.db import make_engine
from audiences_app.core.jobs import Worker
from audiences_app.core.run_kinds import handlers

if __name__ == "__main__":
    worker = Worker(make_engine(sys.argv[1]), handlers(), batch_size=300, lease_seconds=2)
    worker.run_forever(threading.Event(), idle_seconds=0.05)
