"""Fixtures for import tests: files written into tmp_path, and a one-call import."""

from __future__ import annotations

from pathlib import Path

import pytest

from audiences_app.core import imports


@pytest.fixture
def write_file(tmp_path):
    """write_file(bytes or str, name="data.csv") → the path of a new file holding it."""

    def write(content: bytes | str, name: str = "data.csv") -> Path:
        path = tmp_path / name
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        return path

    return write


@pytest.fixture
def run_import(engine, workspace_id):
    """run_import(path, entity="companies", **plan options) → ImportSummary of a finished import."""

    def run(path: Path, entity: str = "companies", *, chunk_rows: int = imports.CHUNK_ROWS,
            workspace: int | None = None, reject_report: Path | None = None, **options):
        ws = workspace or workspace_id
        with engine.connect() as conn:
            plan = imports.plan_import(path, entity, conn=conn, workspace_id=ws, **options)
        return imports.import_file(engine, ws, plan, chunk_rows=chunk_rows, reject_report=reject_report)

    return run
