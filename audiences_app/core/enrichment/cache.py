"""The enrichment cache: a provider's answer by (workspace, provider, provider version,
hash of the normalized input), so the same question is never paid for twice.

A miss (the provider found nothing) is cached like a hit: asking again would find nothing
again and, for providers that charge misses, cost again. Failures are never cached. An entry
is used while it is younger than the refresh interval of every field it fills (no interval:
forever); an older one is asked again on purpose and replaced.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from audiences_app.core.db import is_sqlite
from audiences_app.core.models import EnrichmentCache, utcnow

CACHE = EnrichmentCache.__table__
LOOKUP_CHUNK = 500
MIN_HISTORY = 20
"""Entries needed before a provider's own fill rate replaces its declared expectation."""


def lookup(conn: Connection, workspace_id: int, provider: str, version: str,
           hashes: Iterable[str]) -> dict[str, tuple[dict, datetime]]:
    """input hash → (outputs, fetched_at) for the hashes the cache holds."""
    wanted, found = sorted(set(hashes)), {}
    for start in range(0, len(wanted), LOOKUP_CHUNK):
        rows = conn.execute(sa.select(CACHE.c.input_hash, CACHE.c.outputs, CACHE.c.fetched_at).where(
            CACHE.c.workspace_id == workspace_id, CACHE.c.provider == provider,
            CACHE.c.provider_version == version, CACHE.c.input_hash.in_(wanted[start:start + LOOKUP_CHUNK])))
        found.update({h: (outputs, fetched) for h, outputs, fetched in rows})
    return found


def store(conn: Connection, workspace_id: int, rows: list[tuple[str, str, str, dict]]) -> None:
    """Write (provider, version, input hash, outputs) entries, replacing older answers."""
    if not rows:
        return
    rows = list({(p, v, h): (p, v, h, o) for p, v, h, o in rows}.values())  # one row per key and statement
    now = utcnow()
    insert = (sqlite if is_sqlite(conn) else postgresql).insert(CACHE)
    statement = insert.on_conflict_do_update(
        index_elements=["workspace_id", "provider", "provider_version", "input_hash"],
        set_={"outputs": insert.excluded.outputs, "fetched_at": insert.excluded.fetched_at})
    conn.execute(statement, [{"workspace_id": workspace_id, "provider": p, "provider_version": v, "input_hash": h,
                              "outputs": outputs, "fetched_at": now} for p, v, h, outputs in rows])


def fill_rate(conn: Connection, workspace_id: int, provider: str, version: str) -> float | None:
    """The share of this provider version's cached answers that found something, once there
    are enough of them to trust (None before)."""
    filled = sa.case((sa.func.length(sa.cast(CACHE.c.outputs, sa.Text)) > 2, 1), else_=0)
    total, hits = conn.execute(sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(filled), 0)).where(
        CACHE.c.workspace_id == workspace_id, CACHE.c.provider == provider,
        CACHE.c.provider_version == version)).one()
    return hits / total if total >= MIN_HISTORY else None
