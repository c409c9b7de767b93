"""Reference data: look a record's domain up in a CSV or Parquet file the user supplies.

The file is read once per process (and again only when it changes on disk) into a dict keyed
by normalized domain, holding only the mapped columns, so a lookup costs a dict access.
Files are read only from the reference folders (AUDIENCES_REFERENCE_DIRS, separated by
os.pathsep; default ./data), so a config cannot turn a server file into record fields.
"""

from __future__ import annotations

import csv
import os
import threading
from pathlib import Path
from typing import Any

from audiences_app.core.enrichment.providers.base import (
    OUTPUT_TYPES, CallContext, Output, Provider, SpecError, coerce,
)
from audiences_app.core.normalize import normalize_domain
from audiences_app.settings import get_settings

REFERENCE_DIRS_ENV = "AUDIENCES_REFERENCE_DIRS"
_tables: dict[tuple, dict[str, dict[str, Any]]] = {}
_lock = threading.Lock()


def reference_dirs() -> list[Path]:
    return [Path(d).resolve() for d in get_settings().reference_dirs.split(os.pathsep) if d]


def _checked_path(path: str) -> Path:
    resolved = Path(path).expanduser().resolve()
    if not any(resolved.is_relative_to(root) for root in reference_dirs()):
        raise SpecError(f"{path}: reference files are read from {', '.join(map(str, reference_dirs()))} only "
                        f"(set {REFERENCE_DIRS_ENV} to add a folder)")
    if resolved.suffix.lower() not in (".csv", ".parquet"):
        raise SpecError(f"{path}: a reference file is a .csv or a .parquet file")
    return resolved


def _load(path: Path, match_column: str, columns: list[str]) -> dict[str, dict[str, Any]]:
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size, match_column, tuple(columns))
    with _lock:
        table = _tables.get(key)
        if table is not None:
            return table
        wanted = [match_column, *columns]
        if path.suffix.lower() == ".parquet":
            import pyarrow.parquet as pq

            data = pq.read_table(path, columns=wanted).to_pylist()
        else:
            with path.open(newline="", encoding="utf-8-sig") as handle:
                reader = csv.DictReader(handle)
                missing = [c for c in wanted if c not in (reader.fieldnames or [])]
                if missing:
                    raise SpecError(f"{path.name} has no column {', '.join(map(repr, missing))}")
                data = [{c: row[c] for c in wanted} for row in reader]
        table = {}
        for row in data:
            domain = normalize_domain(str(row[match_column])) if row[match_column] is not None else None
            if domain and domain not in table:  # the first row of a domain wins
                table[domain] = {c: row[c] for c in columns}
        for stale in [k for k in _tables if k[0] == str(path)]:
            del _tables[stale]
        _tables[key] = table
        return table


class ReferenceProvider(Provider):
    """spec: {"kind": "reference", "name": …, "path": "data/firms.csv", "match_column": "domain",
    "columns": {"output": {"column": "CSV column", "type": "number"}}, "input": "domain"}"""

    kind = "reference"

    def __init__(self, spec: dict, *, entity: str):
        super().__init__(spec)
        where = f"reference provider {self.name!r}"
        if not spec.get("path"):
            raise SpecError(f"{where}: 'path' names the CSV or Parquet file")
        self.path = _checked_path(str(spec["path"]))
        self.match_column = str(spec.get("match_column") or "domain")
        columns = spec.get("columns")
        if not isinstance(columns, dict) or not columns:
            raise SpecError(f"{where}: 'columns' maps output names to the file's columns")
        self.columns: dict[str, str] = {}
        for name, value in columns.items():
            value = {"column": value} if isinstance(value, str) else dict(value)
            self.columns[name] = str(value.get("column") or name)
            kind = value.get("type", "text")
            if kind not in OUTPUT_TYPES:
                raise SpecError(f"{where}: output {name!r} has type {kind!r}; use one of {', '.join(OUTPUT_TYPES)}")
            self.outputs[name] = Output(name, kind, value.get("label", ""))
        self.inputs = (spec.get("input") or ("domain" if entity == "companies" else "company_domain"),)

    def prepare(self) -> None:
        _load(self.path, self.match_column, sorted(set(self.columns.values())))

    async def fetch(self, inputs: dict, ctx: CallContext) -> dict[str, Any]:
        return self.lookup(inputs)

    def lookup(self, inputs: dict) -> dict[str, Any]:
        table = _load(self.path, self.match_column, sorted(set(self.columns.values())))
        row = table.get(inputs.get(self.inputs[0]) or "")
        if row is None:
            return {}
        return {name: coerce(self.outputs[name].type, row.get(column)) for name, column in self.columns.items()}
