"""How common each trigram is in a searchable column, so that `contains` asks the trigram
index for the rarest few trigrams of a term instead of all of them.

A trigram index answers `contains 'cinderbaseinternational'` by intersecting the posting
lists of every trigram of the term; for a long term made of common words most of that work
is wasted: two or three rare trigrams that do not overlap narrow almost as well, at a
fraction of the reads. Measured at 1M companies and 3M people (bench/bench_segments.py data),
the same count through the index: a domain 16 → 0.3 ms (SQLite) and 9.3 → 0.9 ms
(PostgreSQL), an email 25 → 8 ms and 30 → 6.5 ms.

Which trigrams are rare is estimated from a sample of the column's values in the workspace:
RANGES evenly spaced id ranges of RANGE_ROWS rows each (10,000 values), read through the
(workspace_id, id) index, kept for TTL_SECONDS per database, workspace and column. Taking it
costs about 0.1–0.3 s once per column (3M people, bench_segments.py prints it).

The estimate only steers speed, never results: any subset of a term's trigrams keeps every
row that contains the term, and the exact comparison decides. A stale or skewed sample
costs time, not correctness.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from audiences_app.core.text_search import trigrams

RANGES = 20
RANGE_ROWS = 500
TTL_SECONDS = 600.0
CACHED_COLUMNS = 256

_cache: dict[tuple, tuple[float, Callable[[str], float]]] = {}
_lock = threading.Lock()


class TrigramSample:
    """The trigram shares of the columns of one workspace, sampled on first use (see module)."""

    def __init__(self, conn: Connection, workspace_id: int):
        self.conn = conn
        self.workspace_id = workspace_id

    def share(self, table: sa.Table, column: str) -> Callable[[str], float]:
        """trigram → estimated share of the column's non-empty values that contain it (0–1)."""
        key = (self.conn.engine.url.render_as_string(hide_password=True), self.workspace_id, table.name, column)
        now = time.monotonic()
        with _lock:
            cached = _cache.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        share = self._sample(table, column)
        with _lock:
            if len(_cache) >= CACHED_COLUMNS:
                _cache.pop(min(_cache, key=lambda k: _cache[k][0]))
            _cache[key] = (now + TTL_SECONDS, share)
        return share

    def _sample(self, table: sa.Table, column: str) -> Callable[[str], float]:
        scope = table.c.workspace_id == self.workspace_id
        ends = [self.conn.execute(sa.select(table.c.id).where(scope).order_by(order).limit(1)).scalar()
                for order in (table.c.id, table.c.id.desc())]  # two index probes; min() and max() together scan
        low, high = ends
        values: list[str] = []
        if low is not None:
            step = max(RANGE_ROWS, (high - low + 1) // RANGES)
            for start in range(low, high + 1, step):
                values += self.conn.execute(
                    sa.select(table.c[column]).where(scope, table.c.id >= start, table.c[column].is_not(None))
                    .order_by(table.c.id).limit(RANGE_ROWS)
                ).scalars()
        if self.conn.dialect.name == "sqlite":
            grams = ({value[i:i + 3] for i in range(len(value) - 2)} for value in map(str.lower, values))
        else:
            grams = ({gram for _, gram in trigrams(value.lower(), "postgresql")} for value in values)
        counts = Counter(gram for distinct in grams for gram in distinct)
        sampled = max(len(values), 1)
        # A trigram the sample never saw is rare, not absent: half a row of the sample.
        return lambda gram: max(counts.get(gram, 0), 0.5) / sampled


def clear() -> None:
    """Forget every sample (tests)."""
    with _lock:
        _cache.clear()
