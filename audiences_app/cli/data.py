"""`import` and `export`: records in from CSV/XLSX/Parquet files and out to CSV/Parquet files."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from audiences_app.cli import Context, main, pass_context
from audiences_app.core.catalog import ENTITIES
from audiences_app.settings import get_settings


def _pairs(values: tuple[str, ...], option: str) -> dict[str, str]:
    pairs = {}
    for value in values:
        left, sign, right = value.rpartition("=")
        if not sign or not left:
            raise click.BadParameter(f"{value!r} is not of the form NAME=VALUE.", param_hint=option)
        pairs[left] = right.strip()
    return pairs


def _mapping_options(maps: tuple[str, ...]) -> tuple[dict[str, str | None], dict[str, str]]:
    """--map COLUMN=FIELD[:TYPE] → (overrides, custom types); an empty FIELD skips the column."""
    overrides: dict[str, str | None] = {}
    types: dict[str, str] = {}
    for column, target in _pairs(maps, "--map").items():
        key, _, kind = target.partition(":")
        overrides[column] = key or None
        if kind:
            types[column] = kind
    return overrides, types


def _workspace(ctx: Context, slug: str | None) -> tuple[str, int]:
    from audiences_app.core.db import write_transaction
    from audiences_app.core.migrate import upgrade
    from audiences_app.core.workspaces import ensure_workspace

    slug = slug or get_settings().workspace
    upgrade(ctx.engine)
    with write_transaction(ctx.engine) as conn:
        return slug, ensure_workspace(conn, slug)


@main.command("import")
@click.argument("entity", type=click.Choice(ENTITIES))
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--map", "maps", multiple=True, metavar="COLUMN=FIELD[:TYPE]",
              help="Land COLUMN in FIELD (a core field, 'location', or a custom key with an optional "
                   "type text|number|date|boolean); an empty FIELD skips the column. Repeatable.")
@click.option("--policy", "policies", multiple=True, metavar="FIELD=POLICY",
              help="overwrite | fill_blanks | never, for one field. Repeatable.")
@click.option("--default-policy", type=click.Choice(["overwrite", "fill_blanks", "never"]), default="overwrite",
              show_default=True, help="Policy for fields without their own --policy.")
@click.option("--skip-empty/--no-skip-empty", default=True, show_default=True,
              help="Empty cells never erase existing values (with --no-skip-empty and overwrite, they do).")
@click.option("--keep-unmapped", is_flag=True, help="Import unmapped columns as custom fields (typed from their values).")
@click.option("--sheet", default=None, help="XLSX: the sheet to read (default: the first).")
@click.option("--dry-run", is_flag=True, help="Report what would happen; write nothing.")
@click.option("--reject-report", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write rejected lines as CSV (default: FILE's name + .rejects.csv, here).")
@click.option("--chunk-rows", type=click.IntRange(100), default=None, help="Rows per durable chunk.")
@click.option("--workspace", default=None, help="Workspace slug (default: AUDIENCES_WORKSPACE); created if missing.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@pass_context
def import_(ctx: Context, entity: str, file: Path, maps, policies, default_policy, skip_empty, keep_unmapped,
            sheet, dry_run, reject_report, chunk_rows, workspace, as_json) -> None:
    """Import ENTITY (companies or people) from FILE (CSV, XLSX or Parquet), deduplicated.

    Rows are matched to existing records by their identity keys and upserted; every rejected
    line is written to the reject report with its line number, column and reason.
    """
    from audiences_app.core import imports

    overrides, types = _mapping_options(maps)
    try:
        policy = imports.UpsertPolicy(default_policy, _pairs(policies, "--policy"), skip_empty)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--policy") from None
    slug, workspace_id = _workspace(ctx, workspace)
    report = reject_report or Path.cwd() / f"{file.name}.rejects.csv"
    options = {"chunk_rows": chunk_rows} if chunk_rows else {}
    try:
        with ctx.engine.connect() as conn:
            plan = imports.plan_import(file, entity, conn=conn, workspace_id=workspace_id, overrides=overrides,
                                       types=types, keep_unmapped=keep_unmapped, policy=policy, sheet=sheet)
        if dry_run:
            summary = imports.dry_run(ctx.engine, workspace_id, plan, reject_report=report, **options)
        else:
            summary = imports.import_file(ctx.engine, workspace_id, plan, reject_report=report, **options)
    except imports.ImportFileError as exc:
        raise click.ClickException(str(exc)) from None
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    if as_json:
        data = summary.to_json()
        data.pop("samples", None)
        json.dump({"workspace": slug, "entity": entity, "file": str(file), **data}, sys.stdout)
        click.echo()
    else:
        for note in imports.plan_warnings(plan):
            click.echo(f"note: {note}", err=True)
        click.echo(summary.message)
        if summary.reject_report:
            click.echo(f"reject report: {summary.reject_report}")
    if summary.status == "failed":
        sys.exit(1)


@main.command("export")
@click.argument("entity", type=click.Choice(ENTITIES))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="File to write.")
@click.option("--format", "format_", type=click.Choice(["csv", "parquet"]), default=None,
              help="Default: from --out's extension (.parquet), else csv.")
@click.option("--fields", default=None, metavar="A,B,…", help="Fields to export (default: every visible field).")
@click.option("--workspace", default=None, help="Workspace slug (default: AUDIENCES_WORKSPACE).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_context
def export(ctx: Context, entity: str, out: Path, format_: str | None, fields: str | None, workspace: str | None,
           as_json: bool) -> None:
    """Export ENTITY to a CSV (formula-safe) or Parquet file, streamed in chunks."""
    from audiences_app.core.exports import export_records
    from audiences_app.core.workspaces import WorkspaceNotFound, workspace_id

    slug = workspace or get_settings().workspace
    format_ = format_ or ("parquet" if out.suffix.lower() == ".parquet" else "csv")
    chosen = [f.strip() for f in fields.split(",") if f.strip()] if fields else None
    try:
        with ctx.engine.connect() as conn:
            result = export_records(conn, workspace_id(conn, slug), entity, out, format=format_, fields=chosen)
    except WorkspaceNotFound as exc:
        raise click.ClickException(str(exc)) from None
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    if as_json:
        json.dump({"workspace": slug, "entity": entity, "path": result.path, "format": result.format,
                   "rows": result.rows, "fields": result.fields}, sys.stdout)
        click.echo()
    else:
        click.echo(f"exported {result.rows:,} {entity} to {result.path} ({result.format})")
