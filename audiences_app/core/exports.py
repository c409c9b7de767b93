"""Exports of companies, people, or any filtered set of them (a segment) to CSV or Parquet.

Records stream to the file in chunks by keyset over ids (`id > last ORDER BY id LIMIT n`), so
memory stays flat and every chunk costs what the first one did, at any size. The file is
written under a temporary name and renamed when complete: a file at `path` is always whole.

CSV is UTF-8 with a byte-order mark (so Excel reads accents right) and formula injection
neutralized: a text cell that starts with = + - @, a tab or a carriage return gets a leading
single quote, so a spreadsheet shows it instead of running it. Parquet keeps the types.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from audiences_app.core.catalog import ENTITIES, catalog
from audiences_app.core.models import CompanyTag, PersonTag, Tag
from audiences_app.core.records import TABLES

FORMATS = ("csv", "parquet")
CHUNK_ROWS = 5_000
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_TAG_LINKS = {"companies": (CompanyTag.__table__, "company_id"), "people": (PersonTag.__table__, "person_id")}


def neutralize_formula(value: Any) -> Any:
    """A text cell that a spreadsheet would run as a formula, made inert with a leading quote."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


@dataclass(frozen=True)
class ExportResult:
    path: str
    format: str
    rows: int
    fields: list[str]


def export_fields(conn: Connection, workspace_id: int, entity: str) -> list[str]:
    """The fields an export has by default: id, then every visible catalog field."""
    return ["id", *(f["key"] for f in catalog(conn, workspace_id, entity) if not f["hidden"])]


def _check(conn: Connection, workspace_id: int, entity: str, fields: list[str] | None, format: str) -> tuple[list[str], dict]:
    if entity not in ENTITIES:
        raise ValueError(f"Unknown entity {entity!r}: use one of {', '.join(ENTITIES)}.")
    if format not in FORMATS:
        raise ValueError(f"Unknown format {format!r}: use one of {', '.join(FORMATS)}.")
    known = {f["key"]: f for f in catalog(conn, workspace_id, entity)}
    fields = list(fields) if fields else export_fields(conn, workspace_id, entity)
    for key in fields:
        if key != "id" and key not in known:
            raise ValueError(f"{entity} have no field {key!r}; fields are: id, {', '.join(known)}.")
    if len(set(fields)) != len(fields):
        raise ValueError("A field is listed twice.")
    return fields, known


def _chunks(conn: Connection, workspace_id: int, entity: str, fields: list[str],
            where: sa.ColumnElement[bool] | None, chunk_rows: int) -> Iterator[list[dict]]:
    """Records as {field: value} dicts, chunk by chunk, in id order."""
    table = TABLES[entity]
    columns = [table.c[k] for k in fields if k in table.c and k != "id"]
    custom = [k for k in fields if k not in table.c and k != "tags"]
    selected = [table.c.id, *columns] + ([table.c.attributes] if custom else [])
    scope = [table.c.workspace_id == workspace_id] + ([where] if where is not None else [])
    last = 0
    while True:
        rows = list(conn.execute(sa.select(*selected).where(*scope, table.c.id > last).order_by(table.c.id)
                                 .limit(chunk_rows)))
        if not rows:
            return
        tags = _tags(conn, entity, [r.id for r in rows]) if "tags" in fields else {}
        records = []
        for row in rows:
            mapping = row._mapping
            attributes = (mapping["attributes"] or {}) if custom else {}
            record = {}
            for key in fields:
                if key == "tags":
                    record[key] = tags.get(row.id, [])
                elif key in table.c:
                    record[key] = mapping[key]
                else:
                    record[key] = attributes.get(key)
            records.append(record)
        yield records
        last = rows[-1].id


def _tags(conn: Connection, entity: str, ids: list[int]) -> dict[int, list[str]]:
    link, column = _TAG_LINKS[entity]
    tag = Tag.__table__
    found: dict[int, list[str]] = {}
    query = (sa.select(link.c[column], tag.c.name).join(tag, tag.c.id == link.c.tag_id)
             .where(link.c[column].in_(ids)).order_by(link.c[column], tag.c.name))
    for record_id, name in conn.execute(query):
        found.setdefault(record_id, []).append(name)
    return found


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat(" ", "seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return neutralize_formula(", ".join(str(v) for v in value))
    if isinstance(value, dict):
        return neutralize_formula(json.dumps(value, ensure_ascii=False, default=str))
    return neutralize_formula(value)


def _write_csv(path: Path, fields: list[str], chunks: Iterator[list[dict]], progress: Callable[[int], None] | None) -> int:
    count = 0
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(fields)
        for chunk in chunks:
            writer.writerows([_csv_cell(record[k]) for k in fields] for record in chunk)
            count += len(chunk)
            if progress:
                progress(count)
    return count


def _arrow_type(entity: str, key: str, known: dict):
    import pyarrow as pa  # noqa: PLC0415

    table = TABLES[entity]
    if key == "tags":
        return pa.list_(pa.string())
    if key in table.c:
        python_type = table.c[key].type.python_type
        return {int: pa.int64(), bool: pa.bool_(), datetime: pa.timestamp("us"), float: pa.float64()}.get(
            python_type, pa.string())
    return {"number": pa.float64(), "boolean": pa.bool_(), "date": pa.date32()}.get(known[key]["type"], pa.string())


def _arrow_value(value: Any, kind) -> Any:
    import pyarrow as pa  # noqa: PLC0415

    if value is None:
        return None
    if kind == pa.float64():
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if kind == pa.bool_():
        return value if isinstance(value, bool) else None
    if kind == pa.date32():
        try:
            return date.fromisoformat(str(value)[:10])
        except ValueError:
            return None
    if kind == pa.string() and not isinstance(value, str):
        return json.dumps(value, ensure_ascii=False, default=str) if isinstance(value, (dict, list)) else str(value)
    return value


def _write_parquet(path: Path, entity: str, fields: list[str], known: dict, chunks: Iterator[list[dict]],
                   progress: Callable[[int], None] | None) -> int:
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.parquet as pq  # noqa: PLC0415

    types = {k: (pa.int64() if k == "id" else _arrow_type(entity, k, known)) for k in fields}
    schema = pa.schema([(k, types[k]) for k in fields])
    count = 0
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        for chunk in chunks:
            arrays = [pa.array([_arrow_value(r[k], types[k]) for r in chunk], type=types[k]) for k in fields]
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
            count += len(chunk)
            if progress:
                progress(count)
    return count


def export_records(
    conn: Connection,
    workspace_id: int,
    entity: str,
    path: str | os.PathLike,
    *,
    format: str = "csv",
    fields: list[str] | None = None,
    where: sa.ColumnElement[bool] | None = None,
    chunk_rows: int = CHUNK_ROWS,
    progress: Callable[[int], None] | None = None,
) -> ExportResult:
    """Stream the workspace's `entity` records (those matching `where`, if given) to `path`.

    `where` is any SQLAlchemy boolean clause over the entity's table (a segment passes its
    compiled filter). `fields` defaults to id and every visible catalog field; an unknown
    field is a ValueError naming it. `progress(rows_written)` is called after each chunk.
    """
    fields, known = _check(conn, workspace_id, entity, fields, format)
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    chunks = _chunks(conn, workspace_id, entity, fields, where, chunk_rows)
    try:
        if format == "csv":
            count = _write_csv(partial, fields, chunks, progress)
        else:
            count = _write_parquet(partial, entity, fields, known, chunks, progress)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return ExportResult(str(path), format, count, fields)
