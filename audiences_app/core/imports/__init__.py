"""Importing companies and people from CSV, XLSX and Parquet files (see run.py for the flow).

reading.py reads files in chunks; mapping.py maps columns to fields; rows.py turns a row into
a record or a rejection; upsert.py applies rows to the workspace; run.py makes an import a
durable run and offers preview, dry run, progress and the reject report.
"""

from audiences_app.core.imports.mapping import Mapping, change_mapping, suggest_mapping
from audiences_app.core.imports.reading import FileLayout, ImportFileError, inspect_file
from audiences_app.core.imports.run import (
    CHUNK_ROWS, KIND, ImportPlan, ImportPreview, ImportSummary, dry_run, handle_import_items, import_file,
    import_progress, plan_import, plan_warnings, preview_import, reject_lines, run_import_now, start_import, write_reject_report,
)
from audiences_app.core.imports.upsert import POLICIES, UpsertPolicy

__all__ = [
    "CHUNK_ROWS", "KIND", "POLICIES", "FileLayout", "ImportFileError", "ImportPlan", "ImportPreview",
    "ImportSummary", "Mapping", "UpsertPolicy", "change_mapping", "dry_run", "handle_import_items", "import_file",
    "import_progress", "inspect_file", "plan_import", "plan_warnings", "preview_import", "reject_lines", "run_import_now",
    "start_import", "suggest_mapping", "write_reject_report",
]
