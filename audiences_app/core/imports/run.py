"""Imports as durable runs: preview, dry run, start, the chunk handler, progress, reject report.

A run's items form a chain: each item is one chunk of the file, from a position (byte
offset and line number, sheet row, or Parquet row) to at most `chunk_rows` rows further.
The handler reads its chunk before taking the write lock, then in ONE transaction applies
the rows, writes the chunk's rejects, appends the item for the next chunk (at the exact
position where this one stopped) and settles itself. So a killed worker leaves either the
whole chunk or nothing, the next chunk exists only once the previous one is committed
(chunks apply in file order, whatever the number of workers), and a restarted worker
resumes at the first chunk not committed.

The file must stay where it was while the run lasts (the UI keeps uploads in its upload
folder); a file that disappears or changes fails the run with that reason.
"""

from __future__ import annotations

import csv
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from audiences_app.core.bulk import fewer_collections
from audiences_app.core.catalog import catalog
from audiences_app.core.db import is_sqlite, write_transaction
from audiences_app.core.exports import neutralize_formula
from audiences_app.core.fields import ensure_custom_fields
from audiences_app.core.imports.mapping import Mapping, change_mapping, suggest_mapping
from audiences_app.core.imports.reading import (
    BadLine, FileLayout, ImportFileError, check_unchanged, inspect_file, iter_chunks, read_chunk,
)
from audiences_app.core.imports.rows import Rejection, RowParser, infer_type
from audiences_app.core.imports.upsert import (
    IMPORT_LINE, ChunkOutcome, ImportCounts, ImportTarget, UpsertPolicy, apply_rows,
)
from audiences_app.core.jobs import (
    DEFAULT_MAX_ATTEMPTS, ITEM, RUN, ClaimedItem, Worker, add_items, create_run, fail_run, get_run, renew_leases,
    settle_item,
)
from audiences_app.core.models import TABLES
from audiences_app.core.records import display_value
from audiences_app.core.run_kinds import register

KIND = "import"
CHUNK_ROWS = 20_000
"""Rows per item: one write transaction each (SQLite holds its write lock ~0.3 s)."""
PREVIEW_ROWS = 10
TYPE_SAMPLE_ROWS = 1_000
IDLE_SECONDS = 0.2


@dataclass(frozen=True)
class ImportPlan:
    """A file, how it reads, and how its columns land: what preview, dry run and start share."""

    entity: str
    layout: FileLayout
    mapping: Mapping
    policy: UpsertPolicy = UpsertPolicy()


def plan_import(
    path: str | os.PathLike,
    entity: str,
    *,
    conn: Connection | None = None,
    workspace_id: int | None = None,
    overrides: dict[str, str | None] | None = None,
    types: dict[str, str] | None = None,
    keep_unmapped: bool = False,
    policy: UpsertPolicy | None = None,
    sheet: str | None = None,
) -> ImportPlan:
    """Inspect the file and settle its mapping (auto, then the user's changes, then types).

    With `conn` and `workspace_id`, custom fields already in the catalog keep their type.
    Custom columns nobody typed get the type their first 1,000 values fit.
    """
    layout = inspect_file(path, sheet=sheet)
    known_types = {}
    if conn is not None and workspace_id is not None:
        known_types = {f["key"]: f["type"] for f in catalog(conn, workspace_id, entity) if not f["is_core"]}
    mapping = suggest_mapping(entity, layout.headers, custom_types=known_types)
    mapping = change_mapping(mapping, overrides or {}, types=types, keep_unmapped=keep_unmapped,
                             custom_types=known_types)
    untyped = mapping.untyped_custom_columns()
    if untyped:
        sample = read_chunk(layout, layout.start, TYPE_SAMPLE_ROWS).rows
        position = {h: i for i, h in enumerate(layout.headers)}
        inferred = {
            column: infer_type([r.values[position[column]] for r in sample if not isinstance(r, BadLine)])
            for column in untyped
        }
        mapping = change_mapping(mapping, {}, types=inferred)
    return ImportPlan(entity, layout, mapping, policy or UpsertPolicy())


# -- preview ------------------------------------------------------------------------------------

@dataclass
class ImportPreview:
    plan: ImportPlan
    columns: list[dict]
    """Per column: column, field, type, and up to 3 sample values as read."""
    rows: list[dict]
    """The first rows as they would land: line, values (display strings), rejected reason, issues."""
    warnings: list[str]


def preview_import(plan: ImportPlan, rows: int = PREVIEW_ROWS) -> ImportPreview:
    """The first `rows` rows parsed exactly as the import would store them (before merging)."""
    chunk = read_chunk(plan.layout, plan.layout.start, rows)
    parser = RowParser(plan.mapping, plan.layout.headers)
    shown = []
    for source in chunk.rows:
        parsed = parser.parse(source)
        if isinstance(parsed, Rejection):
            shown.append({"line": parsed.line, "values": {}, "rejected": parsed.reason, "issues": []})
            continue
        values = {k: display_value(k, v) for k, v in parsed.values.items() if v is not None}
        values.update({k: display_value(k, v) for k, v in parsed.attributes.items() if v is not None})
        shown.append({"line": parsed.line, "values": values, "rejected": None,
                      "issues": [f"{i.column}: {i.reason}" for i in parsed.issues]})
    position = {h: i for i, h in enumerate(plan.layout.headers)}
    samples = [r for r in chunk.rows if not isinstance(r, BadLine)]
    columns = [
        {"column": c.column, "field": c.field, "type": c.type,
         "samples": [s.values[position[c.column]] for s in samples if s.values[position[c.column]].strip()][:3]}
        for c in plan.mapping.columns
    ]
    return ImportPreview(plan, columns, shown, plan_warnings(plan))


def plan_warnings(plan: ImportPlan) -> list[str]:
    """What the user should read before importing: a missing identity column, renamed headers…"""
    warnings = list(plan.layout.notes) + list(plan.mapping.notes)
    if not plan.mapping.identity_columns():
        warnings.insert(0, "No column is mapped to an identity field, so every row would be rejected: map a "
                        + ("domain, website, LinkedIn URL or CRM id." if plan.entity == "companies"
                           else "email, LinkedIn URL, phone or CRM id."))
    return warnings


# -- summaries ----------------------------------------------------------------------------------

@dataclass(kw_only=True)
class ImportSummary(ImportCounts):
    run_id: int | None
    status: str
    progress: float = 0.0
    error: str | None = None
    reject_report: str | None = None
    samples: dict = field(default_factory=dict)

    @property
    def message(self) -> str:
        if self.error:
            return self.error
        if self.status not in ("succeeded", "dry run"):
            return f"{self.status}: {self.rows_read:,} rows read so far"
        would = "would be " if self.status == "dry run" else ""
        if self.rows_read and self.rejected == self.rows_read:
            return (f"Nothing {'would be ' if would else ''}imported: all {self.rows_read:,} rows "
                    f"{'would be ' if would else 'were '}rejected (see the reject report).")
        if not (self.created or self.updated):
            rejected = f"; {self.rejected:,} rows rejected" if self.rejected else ""
            return (f"Nothing {'would change' if would else 'changed'}: all {self.rows_read - self.rejected:,} "
                    f"accepted rows match records that already hold their values{rejected}.")
        parts = [f"{self.created:,} {would}created", f"{self.updated:,} {would}updated",
                 f"{self.unchanged:,} unchanged"]
        if self.duplicates:
            parts.append(f"{self.duplicates:,} duplicate rows merged")
        if self.rejected:
            parts.append(f"{self.rejected:,} rejected")
        return f"{self.rows_read:,} rows: " + ", ".join(parts) + "."

    def to_json(self) -> dict:
        data = asdict(self)
        data["message"] = self.message
        if not data["samples"]:
            del data["samples"]
        return data


# -- starting and running -----------------------------------------------------------------------

def _params(plan: ImportPlan, chunk_rows: int, created_after: int) -> dict:
    return {
        "entity": plan.entity, "layout": plan.layout.to_params(), "mapping": plan.mapping.to_params(),
        "policy": asdict(plan.policy), "chunk_rows": chunk_rows, "created_after": created_after,
        "file_name": Path(plan.layout.path).name,
    }


def _create(conn: Connection, workspace_id: int, plan: ImportPlan, chunk_rows: int, created_by: str) -> int:
    ensure_custom_fields(conn, workspace_id, plan.entity, plan.mapping.custom_fields(), source="import")
    table = TABLES[plan.entity].__table__
    created_after = conn.execute(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))).scalar_one()
    return create_run(
        conn, workspace_id=workspace_id, kind=KIND,
        title=f"Import {Path(plan.layout.path).name} into {plan.entity}",
        params=_params(plan, chunk_rows, created_after),
        payloads=[{"position": plan.layout.start, "progress": 0.0}], created_by=created_by,
    )


def start_import(bind: Engine | Connection, workspace_id: int, plan: ImportPlan, *,
                 chunk_rows: int = CHUNK_ROWS, created_by: str = "system") -> int:
    """Queue the import as a durable run (one chunk item to begin with); returns the run id.

    `bind` is an engine (a write transaction is opened) or a connection inside the caller's
    transaction. Custom fields of the mapping are added to the catalog (source "import").
    """
    if isinstance(bind, Connection):
        return _create(bind, workspace_id, plan, chunk_rows, created_by)
    with write_transaction(bind) as conn:
        return _create(conn, workspace_id, plan, chunk_rows, created_by)


def _target(params: dict, workspace_id: int, run_id: int, samples: int = 0) -> ImportTarget:
    policy = UpsertPolicy(**params["policy"])
    mapping = params["mapping"]
    return ImportTarget(
        workspace_id=workspace_id, entity=params["entity"], run_id=run_id,
        created_after=params["created_after"], policy=policy, samples=samples,
        link_companies=any(c["field"] == "company_domain" for c in mapping["columns"]),
    )


def handle_import_items(engine: Engine, items: list[ClaimedItem], owner: str) -> None:
    """The run-kind handler: apply each claimed chunk and settle it in the same transaction."""
    for position, item in enumerate(items):
        with fewer_collections():
            _apply_item(engine, item, owner)
        renew_leases(engine, owner=owner, item_ids=[i.id for i in items[position + 1:]])


register(KIND, handle_import_items)


def _apply_item(engine: Engine, item: ClaimedItem, owner: str) -> None:
    params = item.params
    layout = FileLayout.from_params(params["layout"])
    try:
        check_unchanged(layout)
        chunk = read_chunk(layout, item.payload["position"], params["chunk_rows"])
    except (ImportFileError, OSError) as exc:
        _fail(engine, item, owner, str(exc))
        return
    parser = RowParser(Mapping.from_params(params["mapping"]), layout.headers)
    rows = [parser.parse(row) for row in chunk.rows]
    target = _target(params, item.workspace_id, item.run_id)
    try:
        with write_transaction(engine) as conn:
            outcome = apply_rows(conn, target, rows, remember_matches=chunk.next is not None)
            cancelled = conn.execute(sa.select(RUN.c.status).where(RUN.c.id == item.run_id)).scalar() == "cancelled"
            if chunk.next is not None and not cancelled:
                add_items(conn, item.run_id, [{"position": chunk.next, "progress": chunk.progress}])
            else:
                conn.execute(sa.delete(IMPORT_LINE).where(
                    IMPORT_LINE.c.run_id == item.run_id, IMPORT_LINE.c.outcome == "matched"))
            result = {**outcome.counts(), "progress": chunk.progress,
                      "lines": [rows[0].line, rows[-1].line] if rows else None}
            if not settle_item(conn, item, owner=owner, status="done", result=result):
                conn.rollback()  # the lease was lost: another worker applies this chunk
    except sa.exc.SQLAlchemyError as exc:
        if item.attempts >= DEFAULT_MAX_ATTEMPTS:
            _fail(engine, item, owner, f"lines {rows[0].line if rows else '?'}–: the database refused the chunk "
                                       f"({type(exc).__name__}: {str(exc).splitlines()[0]})")
            return
        raise  # the worker retries the item after a pause


def _fail(engine: Engine, item: ClaimedItem, owner: str, error: str) -> None:
    with write_transaction(engine) as conn:
        if settle_item(conn, item, owner=owner, status="failed", error=error):
            fail_run(conn, item.run_id, error)
        else:
            conn.rollback()


def run_import_now(engine: Engine, run_id: int, workspace_id: int) -> ImportSummary:
    """Work the run's chunks in this process until it ends (the CLI; tests)."""
    worker = Worker(engine, {KIND: handle_import_items}, batch_size=1)
    while True:
        with engine.connect() as conn:
            status = get_run(conn, run_id, workspace_id)["status"]
        if status in ("succeeded", "failed", "cancelled"):
            break
        if not worker.run_once():
            with engine.connect() as conn:
                if get_run(conn, run_id, workspace_id)["status"] == "paused":
                    break
            time.sleep(IDLE_SECONDS)  # a chunk waits for a retry or for another worker's lease
    with engine.connect() as conn:
        return import_progress(conn, run_id, workspace_id)


def dry_run(engine: Engine, workspace_id: int, plan: ImportPlan, *, samples: int = 10,
            chunk_rows: int = CHUNK_ROWS, reject_report: str | os.PathLike | None = None) -> ImportSummary:
    """What the import would do — counts and examples — computed by doing it and rolling back.

    The same code path as the real import, so the figures are exact. It holds one write
    transaction while it runs (on SQLite other writers wait meanwhile). With `reject_report`,
    the rejects it would produce are written there (when there are any) before the rollback.
    """
    total = ChunkOutcome()
    with engine.connect() as conn, fewer_collections():
        if is_sqlite(conn):
            conn = conn.execution_options(sqlite_begin="IMMEDIATE")
        transaction = conn.begin()
        try:
            run_id = _create(conn, workspace_id, plan, chunk_rows, "dry run")
            target = _target(get_run(conn, run_id, workspace_id)["params"], workspace_id, run_id, samples)
            parser = RowParser(plan.mapping, plan.layout.headers)
            for chunk in iter_chunks(plan.layout, chunk_rows):
                rows = [parser.parse(row) for row in chunk.rows]
                total.add(apply_rows(conn, target, rows, remember_matches=chunk.next is not None), samples)
            report = None
            if reject_report is not None and (total.rejected or total.warnings):
                write_reject_report(conn, run_id, workspace_id, reject_report)
                report = str(reject_report)
        finally:
            transaction.rollback()
    return ImportSummary(run_id=None, status="dry run", progress=1.0, samples=total.samples,
                         reject_report=report, **total.counts())


# -- reading progress and results ---------------------------------------------------------------

def import_progress(conn: Connection, run_id: int, workspace_id: int) -> ImportSummary:
    """Status, counts so far and the fraction of the file done; what the UI polls."""
    run = get_run(conn, run_id, workspace_id)
    if run["kind"] != KIND:
        raise LookupError(f"Run #{run_id} is not an import.")
    summary = ImportSummary(run_id=run_id, status=run["status"], error=run["error"])
    results = conn.execute(sa.select(ITEM.c.result, ITEM.c.status, ITEM.c.error).where(
        ITEM.c.run_id == run_id).order_by(ITEM.c.seq))
    for result, status, error in results:
        if status == "done" and result:
            summary.add_counts(result)
            summary.progress = max(summary.progress, result.get("progress", 0.0))
        elif status == "failed" and summary.error is None:
            summary.error = error
    if summary.status == "succeeded" and summary.error:
        summary.status = "failed"  # an import with a chunk missing is not a success
    if summary.status == "succeeded":
        summary.progress = 1.0
    return summary


REPORT_COLUMNS = ["line", "outcome", "column", "reason"]


def write_reject_report(conn: Connection, run_id: int, workspace_id: int, path: str | os.PathLike) -> int:
    """Write the run's rejected lines and skipped values as CSV; returns how many lines.

    Columns: line, outcome (rejected, value_skipped, truncated), column, reason, then the
    file's own columns with the line's raw values (formula-neutralized, since the report
    is opened in spreadsheets). Written to a temporary name and renamed when complete.
    """
    run = get_run(conn, run_id, workspace_id)
    headers = run["params"]["layout"]["headers"]
    query = (
        sa.select(IMPORT_LINE.c.line, IMPORT_LINE.c.outcome, IMPORT_LINE.c.column_name,
                  IMPORT_LINE.c.reason, IMPORT_LINE.c.raw)
        .where(IMPORT_LINE.c.run_id == run_id, IMPORT_LINE.c.outcome != "matched")
        .order_by(IMPORT_LINE.c.line, IMPORT_LINE.c.id)
    )
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    count = 0
    with partial.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(REPORT_COLUMNS + headers)
        for line, outcome, column, reason, raw in conn.execution_options(yield_per=5_000).execute(query):
            writer.writerow([line, outcome, column or "", reason,
                             *(neutralize_formula(value) for value in (raw or []))])
            count += 1
    partial.replace(path)
    return count


def reject_lines(conn: Connection, run_id: int, *, after_line: int = 0, limit: int = 50) -> list[dict]:
    """One page of the run's rejects and skipped values (for the result screen)."""
    rows = conn.execute(
        sa.select(IMPORT_LINE.c.line, IMPORT_LINE.c.outcome, IMPORT_LINE.c.column_name, IMPORT_LINE.c.reason)
        .where(IMPORT_LINE.c.run_id == run_id, IMPORT_LINE.c.outcome != "matched", IMPORT_LINE.c.line > after_line)
        .order_by(IMPORT_LINE.c.line, IMPORT_LINE.c.id).limit(limit)
    )
    return [{"line": r.line, "outcome": r.outcome, "column": r.column_name or "", "reason": r.reason} for r in rows]


def import_file(engine: Engine, workspace_id: int, plan: ImportPlan, *, reject_report: str | os.PathLike | None = None,
                chunk_rows: int = CHUNK_ROWS, created_by: str = "system") -> ImportSummary:
    """Start the import and work it to the end here; write the reject report if there are rejects."""
    run_id = start_import(engine, workspace_id, plan, chunk_rows=chunk_rows, created_by=created_by)
    summary = run_import_now(engine, run_id, workspace_id)
    if reject_report is not None and (summary.rejected or summary.warnings):
        with engine.connect() as conn:
            write_reject_report(conn, run_id, workspace_id, reject_report)
        summary.reject_report = str(reject_report)
    return summary


__all__ = [
    "CHUNK_ROWS", "KIND", "ImportFileError", "ImportPlan", "ImportPreview", "ImportSummary",
    "dry_run", "handle_import_items", "import_file", "import_progress", "plan_import", "plan_warnings", "preview_import",
    "reject_lines", "run_import_now", "start_import", "write_reject_report",
]
