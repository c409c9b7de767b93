"""Sweeping the upload folder: files that tabs uploaded and then left behind.

The import wizard deletes its upload when the user starts over or the import ends, but a tab
closed between upload and import leaves the file behind. `sweep_uploads` deletes files older
than a day that no unfinished import run reads (a queued, running or paused run needs its
file until it ends); the app runs it when it starts and every hour.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from audiences_app.core.jobs import FINAL, RUN
from audiences_app.core.imports.run import KIND

log = logging.getLogger(__name__)

KEEP_SECONDS = 24 * 3600
"""An upload younger than this is left alone: its tab may still be on the mapping step."""


def sweep_uploads(engine: Engine, folder: str | os.PathLike, *, keep_seconds: float = KEEP_SECONDS) -> list[Path]:
    """Delete the folder's files older than `keep_seconds` that no unfinished import reads;
    returns the paths deleted."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    cutoff = time.time() - keep_seconds
    old = [path for path in folder.iterdir() if path.is_file() and path.stat().st_mtime < cutoff]
    if not old:
        return []
    with engine.connect() as conn:
        params = conn.execute(sa.select(RUN.c.params).where(RUN.c.kind == KIND, RUN.c.status.not_in(FINAL))).scalars()
        in_use = {Path(p["layout"]["path"]).resolve() for p in params if p and p.get("layout", {}).get("path")}
    deleted = []
    for path in old:
        if path.resolve() in in_use:
            continue
        try:
            path.unlink()
        except OSError as exc:  # another process swept it, or it is not ours to delete
            log.warning("could not delete the old upload %s: %s", path.name, exc)
            continue
        deleted.append(path)
    if deleted:
        log.info("deleted %d uploads left behind for more than %.0f hours", len(deleted), keep_seconds / 3600)
    return deleted
