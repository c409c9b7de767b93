"""Text as filters and quick search compare it, and substring search served by trigram indexes.

Text compares folded: surrounding spaces removed, A–Z lower-cased (`fold` in Python,
`normalized` in SQL). Only ASCII letters fold, because that is all SQLite's lower() does (it
has no Unicode tables without ICU); PostgreSQL's lower() runs under COLLATE "C", which does
the same, so one filter selects the same records on both backends: 'ÉCOLE' matches 'École'
but not 'école'.

`contains` — the segment operator and the record browsers' quick search — is a scan with
LIKE '%term%' unless a trigram index serves it. The columns in SEARCHABLE have one
(migration 0005):

- SQLite: an FTS5 table `<table>_fts` with the trigram tokenizer, external content over the
  table, kept in step by triggers. A term becomes a phrase query (`{name} : "te""rm"`, the
  term quoted as an FTS5 string, so that `AND`, `*`, `NEAR(` or `"` in it are plain text),
  and `id IN (the rowids it finds)` narrows the rows.
- PostgreSQL: a GIN pg_trgm index on lower(column); `lower(column) ILIKE '%term%'` is what
  it serves.

For a long term, asking the index for every trigram wastes work when a few rare ones narrow
as well: given a `TrigramShares` (trigram_sample.py estimates them from a sample of the
column), `contains` asks for at most PICK_AT_MOST rare trigrams that do not overlap — an FTS5
`"abc" AND "xyz"`, or `ILIKE '%abc%' AND ILIKE '%xyz%'` — until they are expected to leave
fewer than RARE of the rows. Without shares, when that would be all of them, or when they
still leave more than NARROW_ENOUGH, it asks for the whole term.

Either way the index only narrows: the exact folded LIKE still decides, so results are those
of the scan, row for row. The index never loses a match: the FTS5 tokenizer folds case over
all of Unicode and ILIKE ignores case, so both keep every row the ASCII-only fold keeps (and
perhaps a few more, which the exact test then drops). Terms shorter than three characters
have no trigram and are scanned; on PostgreSQL so are terms without three letters or digits
in a row, from which pg_trgm extracts no trigram.

Bulk loads into an empty table stop maintaining the index row by row (`suspend`) and build it
once at the end (`resume`): on SQLite the FTS triggers more than double the time of a demo
load, and a rebuild costs a fraction of it.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection

SEARCHABLE: dict[str, tuple[str, ...]] = {"company": ("name", "domain"), "person": ("full_name", "email")}
"""Per table, the text columns that have a trigram index."""
MIN_TRIGRAM_TERM = 3
PICK_AT_MOST = 3
"""Trigrams of a term asked of the index at most, when their shares are known."""
RARE = 1e-4
"""Stop adding trigrams once together they are expected to keep this share of rows or less."""
NARROW_ENOUGH = 1e-3
"""Trigrams expected to keep more than this share of rows are not worth it: ask for the whole term."""
_TRIGGERS = ("insert", "delete", "update")
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_PG_WORD = re.compile(r"[^\W_]{3,}")  # pg_trgm builds trigrams from runs of letters and digits
_INDEX_OBJECTS = re.compile(
    rf"(?:{'|'.join(SEARCHABLE)})_fts(?:_\w+)?|ix_(?:{'|'.join(SEARCHABLE)})_\w+_trgm"
)


def fold(text: str) -> str:
    """Text as filters compare it: surrounding spaces removed, A–Z lower-cased."""
    return text.strip(" ").translate(_ASCII_LOWER)


def normalized(text: Any, dialect: str) -> Any:
    """`fold` in SQL: lower(trim(x)), under COLLATE "C" on PostgreSQL (A–Z only, byte order)."""
    trimmed = sa.func.trim(text)
    if dialect == "postgresql":
        trimmed = sa.collate(trimmed, "C")
    return sa.func.lower(trimmed, type_=sa.String)


def like_pattern(before: str, text: str, after: str) -> str:
    """A LIKE pattern (ESCAPE '\\') matching `text` literally between `before` and `after`."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return before + escaped + after


class TrigramShares(Protocol):
    def share(self, table: sa.Table, column: str) -> Callable[[str], float]:
        """trigram → the estimated share (0–1) of the column's values that contain it."""


def contains(
    table: sa.Table, columns: Sequence[str], term: str, dialect: str, shares: TrigramShares | None = None
) -> sa.ColumnElement[bool]:
    """Rows where one of `columns`, folded, contains `term`, folded; the trigram index serves
    it when all the columns have one and the term is long enough (see the module)."""
    folded = fold(term)
    pattern = like_pattern("%", folded, "%")
    exact = sa.or_(*(normalized(table.c[c], dialect).like(pattern, escape="\\") for c in columns))
    candidates = _indexed_candidates(table, columns, folded, pattern, dialect, shares)
    return exact if candidates is None else sa.and_(candidates, exact)


def trigrams(text: str, dialect: str) -> list[tuple[int, str]]:
    """(position, trigram) of `text` as the dialect's index splits it: every three characters
    in a row for FTS5, three letters or digits in a row for pg_trgm."""
    if dialect == "sqlite":
        return [(i, text[i:i + 3]) for i in range(len(text) - 2)]
    return [(run.start() + i, run.group()[i:i + 3])
            for run in _PG_WORD.finditer(text) for i in range(len(run.group()) - 2)]


def _indexed_candidates(
    table: sa.Table, columns: Sequence[str], term: str, pattern: str, dialect: str, shares: TrigramShares | None
) -> sa.ColumnElement[bool] | None:
    """A clause the index answers that keeps every row `contains` keeps; None if it cannot."""
    indexed = SEARCHABLE.get(table.name, ())
    if not columns or any(c not in indexed for c in columns) or len(term) < MIN_TRIGRAM_TERM or "\x00" in term:
        return None
    grams = trigrams(term, dialect)
    if not grams:
        return None  # PostgreSQL: no three letters or digits in a row, from which pg_trgm extracts none
    rare = None
    if shares is not None:
        of_column = [shares.share(table, c) for c in columns]
        rare = _rarest(grams, lambda gram: max(share(gram) for share in of_column))
    if dialect == "sqlite":
        fts = sa.table(f"{table.name}_fts", sa.column("rowid"), sa.column(f"{table.name}_fts"))
        wanted = "(" + " AND ".join(_fts_string(g) for g in rare) + ")" if rare else _fts_string(term)
        query = "{" + " ".join(columns) + "} : " + wanted
        hits = sa.select(fts.c.rowid).where(fts.c[f"{table.name}_fts"].op("MATCH")(query))
        return table.c.id.in_(hits)
    patterns = [like_pattern("%", g, "%") for g in rare] if rare else [pattern]
    return sa.or_(*(sa.and_(*(sa.func.lower(table.c[c]).ilike(p, escape="\\") for p in patterns)) for c in columns))


def _fts_string(text: str) -> str:
    """`text` as one FTS5 string, so that AND, *, NEAR( or quotes in it are plain text."""
    return '"' + text.replace('"', '""') + '"'


def _rarest(grams: list[tuple[int, str]], share: Callable[[str], float]) -> list[str] | None:
    """The rarest trigrams that do not overlap, until they are expected to keep RARE of the rows
    (or PICK_AT_MOST of them); None — ask for the whole term — when they would be every trigram
    of it, or are expected to keep more than NARROW_ENOUGH (a few common trigrams narrow less
    than the term's phrase or full pattern)."""
    chosen: list[str] = []
    covered: set[int] = set()
    expected = 1.0
    for position, gram in sorted(grams, key=lambda item: (share(item[1]), item[0])):
        span = range(position, position + 3)
        if covered.intersection(span):
            continue
        chosen.append(gram)
        covered.update(span)
        expected *= share(gram)
        if expected <= RARE or len(chosen) == PICK_AT_MOST:
            break
    return None if expected > NARROW_ENOUGH or len(chosen) >= len({gram for _, gram in grams}) else chosen


# -- keeping the index -------------------------------------------------------------------------

def is_index_object(name: str) -> bool:
    """Whether a table or index name belongs to the trigram index (FTS5 tables and their
    shadow tables, GIN indexes): schema comparisons leave these to migration 0005."""
    return _INDEX_OBJECTS.fullmatch(name) is not None


def _sqlite_triggers(table: str) -> list[str]:
    fts, columns = f"{table}_fts", SEARCHABLE[table]
    names = ", ".join(columns)
    delete = (f"INSERT INTO {fts}({fts}, rowid, {names}) "
              f"VALUES ('delete', old.id, {', '.join('old.' + c for c in columns)});")
    insert = f"INSERT INTO {fts}(rowid, {names}) VALUES (new.id, {', '.join('new.' + c for c in columns)});"
    return [
        f"CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} BEGIN {insert} END",
        f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} BEGIN {delete} END",
        f"CREATE TRIGGER {fts}_update AFTER UPDATE OF {names} ON {table} BEGIN {delete} {insert} END",
    ]


def _pg_indexes(table: str) -> dict[str, str]:
    return {f"ix_{table}_{c}_trgm": f"lower({c}) gin_trgm_ops" for c in SEARCHABLE[table]}


def suspend(conn: Connection, table: sa.Table) -> None:
    """Stop keeping `table`'s trigram index row by row, for a bulk load into the empty table:
    SQLite drops the FTS triggers, PostgreSQL the GIN indexes. `resume` builds it again."""
    if table.name not in SEARCHABLE:
        return
    if conn.dialect.name == "sqlite":
        for trigger in _TRIGGERS:
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table.name}_fts_{trigger}")
    else:
        for index in _pg_indexes(table.name):
            conn.exec_driver_sql(f"DROP INDEX IF EXISTS {index}")


def resume(conn: Connection, table: sa.Table) -> None:
    """Make `table`'s trigram index whole again after `suspend` (or an interrupted load):
    nothing to do when it is complete; otherwise recreate what is missing and build it over
    every row once. A database without the index (not migrated to 0005) is left alone."""
    if table.name not in SEARCHABLE:
        return
    fts = f"{table.name}_fts"
    if conn.dialect.name == "sqlite":
        present = set(conn.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger') AND name LIKE ?", (f"{fts}%",)
        ).scalars())
        triggers = {f"{fts}_{t}" for t in _TRIGGERS}
        if fts not in present or triggers <= present:
            return
        for trigger in triggers & present:
            conn.exec_driver_sql(f"DROP TRIGGER {trigger}")
        for statement in _sqlite_triggers(table.name):
            conn.exec_driver_sql(statement)
        conn.exec_driver_sql(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")
        return
    if conn.exec_driver_sql("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'").first() is None:
        return
    for index, expression in _pg_indexes(table.name).items():
        conn.exec_driver_sql(f"CREATE INDEX IF NOT EXISTS {index} ON {table.name} USING gin ({expression})")


class IndexBatch:
    """Keeps a table's trigram index in step with a batch of writes set-based; see `batched`."""

    def __init__(self, conn: Connection, table: sa.Table):
        self._conn = conn
        self._table = table
        self._active = False
        self._mark = 0
        self._updated: set[int] = set()
        self._savepoint: Any = None

    def __enter__(self) -> IndexBatch:
        conn, name = self._conn, self._table.name
        self._savepoint = conn.begin_nested()
        if conn.dialect.name != "sqlite" or name not in SEARCHABLE:
            return self
        fts = f"{name}_fts"
        present = set(conn.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name IN (?, ?)",
            (f"{fts}_insert", f"{fts}_update"),
        ).scalars())
        if len(present) < 2:
            return self  # suspended for a load into the empty table: `resume` builds the index
        self._active = True
        self._mark = conn.exec_driver_sql(f"SELECT coalesce(max(id), 0) FROM {name}").scalar_one()
        conn.exec_driver_sql(f"DROP TRIGGER {fts}_insert")
        conn.exec_driver_sql(f"DROP TRIGGER {fts}_update")
        return self

    def updating(self, ids: Sequence[int]) -> None:
        """Call before rows that existed when the batch began get new searchable text: their
        entries leave the index now, while the rows still hold the text they were indexed by,
        and come back with the new text when the batch ends."""
        if not self._active:
            return
        fresh = [i for i in ids if i <= self._mark and i not in self._updated]
        if not fresh:
            return
        self._updated.update(fresh)
        fts, names = self._fts_names()
        self._conn.exec_driver_sql(
            f"INSERT INTO {fts}({fts}, rowid, {names}) SELECT 'delete', id, {names} FROM {self._table.name}"
            " WHERE id IN (SELECT value FROM json_each(?))",
            (_json_ids(fresh),),
        )

    def __exit__(self, kind, error, traceback) -> None:
        active, self._active = self._active, False
        if error is not None:
            self._savepoint.rollback()  # the writes, the index entries and the triggers, together
            return
        try:
            if active:
                fts, names = self._fts_names()
                insert = f"INSERT INTO {fts}(rowid, {names}) SELECT id, {names} FROM {self._table.name} WHERE "
                self._conn.exec_driver_sql(insert + "id > ?", (self._mark,))
                if self._updated:
                    self._conn.exec_driver_sql(insert + "id IN (SELECT value FROM json_each(?))",
                                               (_json_ids(sorted(self._updated)),))
                statements = _sqlite_triggers(self._table.name)
                for statement in (statements[0], statements[2]):  # insert, update
                    self._conn.exec_driver_sql(statement)
        except BaseException:
            self._savepoint.rollback()
            raise
        self._savepoint.commit()

    def _fts_names(self) -> tuple[str, str]:
        return f"{self._table.name}_fts", ", ".join(SEARCHABLE[self._table.name])


def batched(conn: Connection, table: sa.Table) -> IndexBatch:
    """A context for a batch of inserts and updates of `table` inside the caller's transaction
    that keeps its trigram index by set-based statements instead of row by row.

    SQLite's FTS triggers cost ~20x what indexing the same rows once costs: FTS5 flushes its
    pending terms at every statement, so under executemany it writes the index once per row.
    So the batch drops the insert and update triggers, lets the caller write, then indexes
    the rows inserted since it began (ids above the largest id at the start; the caller
    gives no smaller ids) and the rows announced with `updating(ids)`, and creates the
    triggers again. The schema change is part of the transaction, so no other connection
    ever sees the triggers missing.

    The batch is a SAVEPOINT, on every backend: an error inside it rolls back the batch's
    writes, index entries and triggers together, so a caller that catches the error finds
    the table and its index as they were before. The delete trigger stays, so rows older
    than the batch may be deleted in it; rows inserted or announced in the batch may not
    (their entries are not, or not yet, there). Without triggers to replace (PostgreSQL,
    whose GIN indexes keep themselves; a table whose index `suspend` stopped) the batch
    does nothing but the savepoint.
    """
    return IndexBatch(conn, table)


def _json_ids(ids: Sequence[int]) -> str:
    """Integer ids as a JSON array, one parameter for SQLite's json_each."""
    return "[" + ",".join(str(int(i)) for i in ids) + "]"
