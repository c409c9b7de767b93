"""Applying parsed rows to a workspace: identity resolution, dedupe, per-field policies, bulk writes.

Why a resolved plan and not `INSERT … ON CONFLICT DO UPDATE`: a record has up to four identity
keys, and an upsert names one conflict target — a row that matches on its CRM id but not on
its domain would hit the other unique constraint and fail the whole batch. The policies need
the old values (fill blanks, never), the counts need to know updated from unchanged, and a
row naming two different records must be rejected, not merged. So each chunk:

1. looks up every existing record that any key of the chunk names (one indexed `IN` query
   per key field and 5,000 keys);
2. walks the rows in file order against an index of those records plus the records the chunk
   creates, deciding per row: create, update/unchanged, duplicate, or reject;
3. writes: new records through `bulk_insert` (SQLite executemany, PostgreSQL COPY straight
   into the table — the plan already knows they are new, so no staging is needed); changed
   records through a TEMP staging table (bulk_insert again) and one `UPDATE … FROM`; the
   rejects and warnings into `import_line`. On SQLite the trigram search index follows the
   records in a few set-based statements, not a trigger per row (`text_search.batched`).

`updated_at` moves only on records whose values really changed, so importing the same file
again writes nothing and reports every row unchanged.

Duplicates in the file: the first row that names a record applies with the user's policies;
every later row of the same file that lands on the same record only fills its blanks (the
first row wins) and counts as a duplicate. Across chunks this is known from the record ids:
records created by this import have ids above the import's `created_after` mark, and
existing records it matched are remembered as `matched` entries of `import_line`.

One corner is not idempotent: with skip-empty off, when the first row of a record is blank
in a field that a duplicate in a LATER chunk fills, importing again blanks and refills it
(same final values, but counted as updated). Inside one chunk the net effect is compared,
so it does not show; with skip-empty on (the default) re-imports never change anything.

Identity keys are only ever filled when blank, never overwritten or erased: changing a
record's key by import would silently re-point every later match.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import ClassVar
from itertools import islice
from operator import itemgetter

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection
from sqlalchemy.schema import CreateTable

from audiences_app.core import text_search
from audiences_app.core.bulk import bulk_insert
from audiences_app.core.db import is_sqlite
from audiences_app.core.imports.mapping import CORE_TARGETS, IDENTITY_FIELDS
from audiences_app.core.imports.rows import FIELD_LABELS, Issue, ParsedRow, Rejection
from audiences_app.core.models import TABLES, ImportLine, utcnow
from audiences_app.core.records import display_value

POLICIES = ("overwrite", "fill_blanks", "never")
LOOKUP_BATCH = 5_000
SOURCE = "import"
IMPORT_LINE = ImportLine.__table__
ISSUE_COLUMNS = ("run_id", "line", "outcome", "column_name", "reason", "raw")
MATCH_COLUMNS = ("run_id", "line", "outcome", "record_id")
DATA_COLUMNS: dict[str, list[str]] = {
    "companies": list(CORE_TARGETS["companies"]),
    "people": [*CORE_TARGETS["people"], "company_id"],
}
ENTITY_NAMES = {"companies": ("company", "companies"), "people": ("person", "people")}


@dataclass(frozen=True)
class UpsertPolicy:
    """How values from the file meet values already in the workspace."""

    default: str = "overwrite"
    fields: dict[str, str] = field(default_factory=dict)
    skip_empty: bool = True
    """An empty cell never erases a value (with overwrite and skip_empty off, it does)."""

    def __post_init__(self):
        for name, policy in [("default", self.default), *self.fields.items()]:
            if policy not in POLICIES:
                raise ValueError(f"Policy for {name!r} must be one of {', '.join(POLICIES)}, not {policy!r}.")


@dataclass(frozen=True)
class ImportTarget:
    """Where and how one import writes."""

    workspace_id: int
    entity: str
    run_id: int
    created_after: int
    """Records with a larger id were created by this import (its duplicates only fill blanks)."""
    policy: UpsertPolicy = UpsertPolicy()
    link_companies: bool = False
    """People only: set company_id from company_domain (when the file maps it)."""
    samples: int = 0
    """Keep this many examples of each outcome (dry run and preview)."""
    copy: bool = True
    """PostgreSQL: COPY (the product's path); False writes with executemany (benchmarks)."""


@dataclass(kw_only=True)
class ImportCounts:
    """What an import did with its rows: of one chunk, or of the whole file (run.ImportSummary)."""

    rows_read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    rejected: int = 0
    warnings: int = 0

    COUNTS: ClassVar[tuple[str, ...]] = (
        "rows_read", "created", "updated", "unchanged", "duplicates", "rejected", "warnings")

    def add_counts(self, other: ImportCounts | dict) -> None:
        """Add another's counts (an ImportCounts, or the dict `counts` made of one)."""
        found = other if isinstance(other, dict) else other.counts()
        for name in self.COUNTS:
            setattr(self, name, getattr(self, name) + found.get(name, 0))

    def counts(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.COUNTS}


@dataclass(kw_only=True)
class ChunkOutcome(ImportCounts):
    samples: dict[str, list] = field(default_factory=lambda: {"created": [], "updated": [], "rejected": []})

    def add(self, other: ChunkOutcome, samples: int = 0) -> None:
        self.add_counts(other)
        for kind, items in other.samples.items():
            room = samples - len(self.samples[kind])
            if room > 0:
                self.samples[kind].extend(items[:room])


class _Record:
    """A record as the chunk builds it: loaded from the database, or new from a row."""

    __slots__ = ("id", "values", "attributes", "original", "touched", "line")

    def __init__(self, record_id: int | None, values: dict, attributes: dict, *, touched: bool, line: int = 0):
        self.id = record_id
        self.values = values
        self.attributes = attributes
        self.original = (dict(values), dict(attributes)) if record_id is not None else None
        self.touched = touched
        self.line = line

    def changed(self) -> bool:
        return self.original is not None and (self.values, self.attributes) != self.original

    def describe(self, entity: str) -> str:
        singular = ENTITY_NAMES[entity][0]
        return f"{singular} #{self.id}" if self.id is not None else f"the {singular} of line {self.line}"


def apply_rows(
    conn: Connection,
    target: ImportTarget,
    rows: list[ParsedRow | Rejection],
    *,
    remember_matches: bool = True,
) -> ChunkOutcome:
    """Apply one chunk of parsed rows inside the caller's transaction; counts and samples.

    `remember_matches` records the existing records this chunk matched, so that later
    chunks of the same import treat rows naming them again as duplicates; the last chunk
    of an import does not need to.
    """
    table = TABLES[target.entity].__table__
    identity = IDENTITY_FIELDS[target.entity]
    outcome = ChunkOutcome(rows_read=len(rows))
    issues: list[tuple[Issue, list[str]]] = []

    parsed = [row for row in rows if isinstance(row, ParsedRow)]
    existing = _load_existing(conn, table, target, parsed)
    index: dict[tuple[str, str], _Record] = {}
    for record in existing:
        for key in identity:
            if record.values.get(key) is not None:
                index[(key, record.values[key])] = record
    first_touched: list[tuple[_Record, int]] = []
    created: list[_Record] = []
    blank = dict.fromkeys(DATA_COLUMNS[target.entity])

    for row in rows:
        if isinstance(row, Rejection):
            issues.append((row.issue, row.raw))
            outcome.rejected += 1
            continue
        named = [(key, row.keys[key]) for key in identity if key in row.keys]
        matches = {id(index[k]): (k, index[k]) for k in named if k in index}
        if len(matches) > 1:
            issues.append((_two_records(row, matches.values(), target.entity), row.raw))
            outcome.rejected += 1
            continue
        if row.issues:
            issues.extend((issue, row.raw) for issue in row.issues)
        if not matches:
            record = _Record(None, {**blank, **row.values},
                             {k: v for k, v in row.attributes.items() if v is not None}, touched=True, line=row.line)
            created.append(record)
            outcome.created += 1
        else:
            ((_, record),) = matches.values()
            duplicate = record.touched
            _merge_row(record, row, target.policy, duplicate=duplicate, identity=identity, issues=issues)
            if duplicate:
                outcome.duplicates += 1
            else:
                record.touched = True
                first_touched.append((record, row.line))
        for key in identity:
            value = record.values.get(key)
            if value is not None:
                index.setdefault((key, value), record)

    if target.link_companies:
        _link_companies(conn, target.workspace_id, [r for r in index.values() if r.touched])
    changed = [r for r in dict.fromkeys(index.values()) if r.changed()]
    for record, _ in first_touched:
        if record.changed():
            outcome.updated += 1
        else:
            outcome.unchanged += 1
    outcome.warnings = sum(1 for issue, _ in issues if issue.outcome != "rejected")

    now = utcnow()
    with text_search.batched(conn, table) as search_index:
        _insert_new(conn, table, target, created, now)
        _update_changed(conn, table, target, changed, now, search_index)
    if issues:
        bulk_insert(conn, IMPORT_LINE, ISSUE_COLUMNS, (
            (target.run_id, issue.line, issue.outcome, (issue.column or "")[:200] or None, issue.reason, raw)
            for issue, raw in issues
        ))
    if remember_matches:
        matched = [(record, line) for record, line in first_touched if record.id <= target.created_after]
        if matched:
            bulk_insert(conn, IMPORT_LINE, MATCH_COLUMNS,
                        ((target.run_id, line, "matched", record.id) for record, line in matched))
    if target.samples:
        _collect_samples(outcome, target, created, changed, issues)
    return outcome


# -- resolving ------------------------------------------------------------------------------------

def _batches(values: Iterable, size: int = LOOKUP_BATCH) -> Iterable[list]:
    iterator = iter(values)
    while batch := list(islice(iterator, size)):
        yield batch


def _load_existing(conn: Connection, table: sa.Table, target: ImportTarget, rows: list[ParsedRow]) -> list[_Record]:
    """Every record of the workspace that a key of these rows names, marked touched or not."""
    columns = DATA_COLUMNS[target.entity]
    wanted: dict[str, set[str]] = {}
    for row in rows:
        for key, value in row.keys.items():
            wanted.setdefault(key, set()).add(value)
    found: dict[int, tuple] = {}
    selected = [table.c.id, *(table.c[c] for c in columns), table.c.attributes]
    positions = {key: 1 + columns.index(key) for key in wanted}
    for key, values in wanted.items():
        # Keys of records an earlier field already found need no second trip (nor JSON decode).
        values -= {row[positions[key]] for row in found.values()}
        for batch in _batches(sorted(values)):
            for row in _rows_where_one_of(conn, selected, table.c[key], batch,
                                          [table.c.workspace_id == target.workspace_id]).all():
                found[row[0]] = tuple(row)
    seen = _already_matched(conn, target, [i for i in found if i <= target.created_after])
    return [
        _Record(row[0], dict(zip(columns, row[1:-1], strict=True)), dict(row[-1] or {}),
                touched=row[0] > target.created_after or row[0] in seen)
        for row in found.values()
    ]


def _rows_where_one_of(conn: Connection, columns: list, column: sa.Column, values: list,
                       scope: list) -> sa.Result:
    """The rows (of `columns`) whose `column` is one of `values`, within `scope`.

    The values travel as ONE parameter: bound one by one, SQLAlchemy spends more time
    expanding and naming 5,000 parameters than the database spends on the query. SQLite:
    `IN (SELECT value FROM json_each(:json_array))`, answered by index probes like an IN
    list. PostgreSQL: one index probe per value (`unnest` + LATERAL … LIMIT 1) of an array
    parameter. A plain `= ANY(array)` is planned from statistics, and during a large import
    into a new workspace they say the workspace is nearly empty: the planner then scans the
    whole workspace and compares each row with every value, which grows with rows × values.
    """
    if is_sqlite(conn):
        array = json.dumps(values)
        if "\\u0000" in array:  # json_each would cut the text at the NUL: bind the values one by one
            return conn.execute(sa.select(*columns).where(*scope, column.in_(values)))
        listed = sa.func.json_each(sa.bindparam(None, array, type_=sa.String)).table_valued("value")
        return conn.execute(sa.select(*columns).where(*scope, column.in_(sa.select(listed.c.value))))
    keys = sa.func.unnest(sa.bindparam(None, values, type_=postgresql.ARRAY(column.type))).table_valued(
        "v").render_derived(name="k")
    probe = sa.select(*columns).where(*scope, column == keys.c.v).limit(1).lateral()
    return conn.execute(sa.select(*probe.c).select_from(keys.join(probe, sa.true())))


def _already_matched(conn: Connection, target: ImportTarget, ids: list[int]) -> set[int]:
    seen: set[int] = set()
    for batch in _batches(sorted(ids)):
        seen.update(_rows_where_one_of(
            conn, [IMPORT_LINE.c.record_id], IMPORT_LINE.c.record_id, batch,
            [IMPORT_LINE.c.run_id == target.run_id, IMPORT_LINE.c.outcome == "matched"]).scalars().all())
    return seen


def _two_records(row: ParsedRow, matches: Iterable[tuple[tuple[str, str], _Record]], entity: str) -> Issue:
    parts = [f"{FIELD_LABELS[key]} {value} is {record.describe(entity)}" for (key, value), record in matches]
    first_key = next(iter(matches))[0][0]
    plural = ENTITY_NAMES[entity][1]
    return Issue(
        row.line, row.columns.get(first_key),
        f"matches two different {plural}: {'; '.join(parts)} — not merged; correct the keys of this row",
        "rejected",
    )


def _merge_row(record: _Record, row: ParsedRow, policy: UpsertPolicy, *, duplicate: bool,
               identity: tuple[str, ...], issues: list) -> None:
    """Apply a row's values to a record under the policies (a duplicate only fills blanks)."""
    for key in identity:
        value = row.values.get(key)
        current = record.values.get(key)
        if value is None or value == current:
            continue
        if current is None:
            record.values[key] = value
        else:
            issues.append((Issue(
                row.line, row.columns.get(key),
                f"{FIELD_LABELS[key]} {value!r} differs from {current!r} of the record it matched: kept {current!r}",
                "value_skipped",
            ), row.raw))
    policies, default = ({}, "fill_blanks") if duplicate else (policy.fields, policy.default)
    skip_empty = duplicate or policy.skip_empty
    _merge(record.values, row.values, policies, default, skip_empty, drop_erased=False, skip=identity)
    _merge(record.attributes, row.attributes, policies, default, skip_empty, drop_erased=True)


def _merge(current: dict, incoming: dict, policies: dict[str, str], default: str, skip_empty: bool, *,
           drop_erased: bool, skip: tuple[str, ...] = ()) -> None:
    """Apply `incoming`, except its `skip` keys, onto `current` field by field under the
    `policies` (else `default`); an erased column becomes None, an erased attribute
    (drop_erased) leaves the JSON, so attributes never hold nulls."""
    for key, value in incoming.items():
        if value is None and skip_empty:
            continue
        if key in skip:
            continue
        policy = policies.get(key, default)
        if policy == "never":
            continue
        old = current.get(key)
        if value is None:
            if policy != "overwrite" or old is None:
                continue
            if drop_erased:
                del current[key]
            else:
                current[key] = None
        elif policy == "overwrite" or old is None:
            if old != value or type(old) is not type(value):
                current[key] = value


def _link_companies(conn: Connection, workspace_id: int, records: list[_Record]) -> None:
    """company_id from company_domain, for the records whose company is in the workspace."""
    company = TABLES["companies"].__table__
    domains = {r.values["company_domain"] for r in records if r.values.get("company_domain")}
    ids: dict[str, int] = {}
    for batch in _batches(sorted(domains)):
        ids.update((domain, company_id) for domain, company_id in _rows_where_one_of(
            conn, [company.c.domain, company.c.id], company.c.domain, batch, [company.c.workspace_id == workspace_id]))
    for record in records:
        found = ids.get(record.values.get("company_domain"))
        if found is not None:
            record.values["company_id"] = found


# -- writing --------------------------------------------------------------------------------------

def _insert_new(conn: Connection, table: sa.Table, target: ImportTarget, records: list[_Record], now) -> None:
    if not records:
        return
    columns = DATA_COLUMNS[target.entity]
    names = ["workspace_id", *columns, "attributes", "source", "created_at", "updated_at"]
    values_of = itemgetter(*columns)
    rows = ((target.workspace_id, *values_of(r.values), r.attributes, SOURCE, now, now) for r in records)
    _write(conn, table, names, rows, target.copy)


def _update_changed(conn: Connection, table: sa.Table, target: ImportTarget, records: list[_Record], now,
                    search_index: text_search.IndexBatch) -> None:
    if not records:
        return
    columns = DATA_COLUMNS[target.entity]
    searched = text_search.SEARCHABLE[table.name]
    search_index.updating([r.id for r in records if any(r.values[c] != r.original[0][c] for c in searched)])
    stage = _staging_table(table, [*columns, "attributes", "updated_at"])
    conn.execute(CreateTable(stage, if_not_exists=True))
    values_of = itemgetter(*columns)
    rows = ((r.id, *values_of(r.values), r.attributes, now) for r in records)
    _write(conn, stage, ["id", *columns, "attributes", "updated_at"], rows, target.copy)
    if not is_sqlite(conn):
        conn.exec_driver_sql(f"ANALYZE {stage.name}")  # a fresh TEMP table has no statistics to plan the join
    conn.execute(
        sa.update(table).where(table.c.id == stage.c.id)
        .values({c: stage.c[c] for c in [*columns, "attributes", "updated_at"]})
    )
    conn.execute(sa.delete(stage))


_STAGES: dict[str, sa.Table] = {}


def _staging_table(table: sa.Table, columns: list[str]) -> sa.Table:
    """A TEMP table (per connection) shaped like `table`'s updatable columns, plus id."""
    name = f"import_stage_{table.name}"
    if name not in _STAGES:
        _STAGES[name] = sa.Table(
            name, sa.MetaData(), sa.Column("id", sa.BigInteger, primary_key=True),
            *(sa.Column(c, table.c[c].type) for c in columns), prefixes=["TEMPORARY"],
        )
    return _STAGES[name]


def _write(conn: Connection, table: sa.Table, names: list[str], rows: Iterable[tuple], copy: bool) -> None:
    if copy or conn.dialect.name == "sqlite":
        bulk_insert(conn, table, names, rows)
        return
    # The PostgreSQL executemany path, kept only to measure COPY against (bench/bench_import.py):
    # one prepared single-row INSERT per row through the driver's executemany.
    preparer = conn.dialect.identifier_preparer
    is_json = [isinstance(table.c[n].type, sa.JSON) for n in names]
    marks = ", ".join("%s::jsonb" if j else "%s" for j in is_json)
    statement = (f"INSERT INTO {preparer.format_table(table)} ({', '.join(preparer.quote(n) for n in names)})"
                 f" VALUES ({marks})")
    for batch in _batches(rows, 10_000):
        conn.exec_driver_sql(statement, [
            tuple(json.dumps(v) if j and v is not None else v for v, j in zip(row, is_json, strict=True))
            for row in batch
        ])


# -- samples --------------------------------------------------------------------------------------

def _collect_samples(outcome: ChunkOutcome, target: ImportTarget, created: list[_Record],
                     changed: list[_Record], issues: list[tuple[Issue, list[str]]]) -> None:
    limit = target.samples
    for record in created[:limit]:
        shown = {k: display_value(k, v) for k, v in record.values.items() if v is not None and k != "company_id"}
        shown.update({k: display_value(k, v) for k, v in record.attributes.items()})
        outcome.samples["created"].append({"line": record.line, "values": shown})
    for record in changed[:limit]:
        old_values, old_attributes = record.original
        changes = {
            k: [display_value(k, old_values.get(k)), display_value(k, record.values.get(k))]
            for k in DATA_COLUMNS[target.entity] if old_values.get(k) != record.values.get(k)
        }
        changes.update({
            k: [display_value(k, old_attributes.get(k)), display_value(k, record.attributes.get(k))]
            for k in sorted(set(old_attributes) | set(record.attributes))
            if old_attributes.get(k) != record.attributes.get(k)
        })
        outcome.samples["updated"].append({"id": record.id, "changes": changes})
    for issue, _ in [(i, r) for i, r in issues if i.outcome == "rejected"][:limit]:
        outcome.samples["rejected"].append(asdict(issue))
