"""`segment`: count, list, show the SQL of and export the records a filter selects; list, show
and save saved segments.

A filter is given as JSON (`--filter '{"and": [...]}'`), as a file holding it, or `-` for
standard input. A bad filter, bad JSON or a missing file is one line on stderr and exit code
1 (the filter cannot run) or 2 (the input cannot be read), never a traceback.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from audiences_app.cli import Context, main, pass_context
from audiences_app.core.catalog import ENTITIES
from audiences_app.settings import get_settings


class InputError(click.ClickException):
    """The command's input cannot be read (bad JSON, missing file)."""

    exit_code = 2


def _filter_json(_ctx: click.Context, _param: click.Parameter, value: str | None) -> Any:
    if value is None:
        return None
    text = value.strip()
    if text == "-":
        text = sys.stdin.read()
    elif not text.startswith(("{", "[")):
        path = Path(value).expanduser()
        if not path.is_file():
            raise InputError(f"--filter {value!r} is neither JSON nor a file that exists.")
        text = path.read_text(encoding="utf-8")
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(f"--filter is not valid JSON: {error}.") from None


_workspace_option = click.option("--workspace", default=None, help="Workspace slug (default: AUDIENCES_WORKSPACE).")
_json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


def _filter_options(function):
    """--entity, --filter, --as-of, --workspace and --json, shared by the commands on a filter."""
    options = [
        click.option("--entity", type=click.Choice(ENTITIES), required=True, help="What the filter selects."),
        click.option("--filter", "filter_json", required=True, metavar="FILE_OR_JSON", callback=_filter_json,
                     help="The filter: JSON, a file holding it, or - for standard input."),
        click.option("--as-of", type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"]),
                     default=None, help="Evaluate relative dates (within_last …) at this UTC time instead of now."),
        _workspace_option,
        _json_option,
    ]
    for option in reversed(options):
        function = option(function)
    return function


@contextlib.contextmanager
def _workspace(ctx: Context, slug: str | None, *, write: bool = False) -> Iterator[tuple[Any, int]]:
    """A connection (in a write transaction when `write`) and the workspace's id, with every
    error a user can act on turned into one line."""
    from audiences_app.core.db import QueryTimeout, write_transaction
    from audiences_app.core.segments import FilterError
    from audiences_app.core.workspaces import workspace_id

    try:
        with write_transaction(ctx.engine) if write else ctx.engine.connect() as conn:
            yield conn, workspace_id(conn, slug or get_settings().workspace)
    except FilterError as error:
        raise click.ClickException(f"The filter cannot run: {error}") from None
    except (LookupError, ValueError, QueryTimeout) as error:  # WorkspaceNotFound is a LookupError
        raise click.ClickException(str(error).removesuffix(".") + ".") from None


def _echo_json(data: Any) -> None:
    json.dump(data, sys.stdout, default=_json_default, ensure_ascii=False)
    click.echo()


def _json_default(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    raise TypeError(f"{type(value).__name__} is not JSON")


@main.group()
def segment() -> None:
    """Filters over companies or people, and saved segments."""


@segment.command("count")
@_filter_options
@pass_context
def count(ctx: Context, entity: str, filter_json: Any, as_of: datetime | None, workspace: str | None,
          as_json: bool) -> None:
    """Count the records the filter selects, exactly."""
    from audiences_app.core.segments.members import exact_member_count

    with _workspace(ctx, workspace) as (conn, ws):
        total = exact_member_count(conn, ws, entity, filter_json, as_of=as_of)
    if as_json:
        _echo_json({"entity": entity, "count": total})
    else:
        click.echo(f"{total:,} {entity}")


@segment.command("ids")
@_filter_options
@pass_context
def ids(ctx: Context, entity: str, filter_json: Any, as_of: datetime | None, workspace: str | None,
        as_json: bool) -> None:
    """Print the ids of the records the filter selects, ascending, one a line (streamed)."""
    from audiences_app.core.segments.compiler import segment_query
    from audiences_app.core.segments.resolve import member_clause

    with _workspace(ctx, workspace) as (conn, ws):
        query = segment_query(entity, member_clause(conn, ws, entity, filter_json, as_of=as_of), ws)
        rows = conn.execution_options(yield_per=10_000).execute(query.order_by(query.selected_columns[0]))
        if as_json:
            sys.stdout.write("[" + ",".join(str(record_id) for record_id in rows.scalars()) + "]\n")
        else:
            for partition in rows.scalars().partitions():
                sys.stdout.write("".join(f"{record_id}\n" for record_id in partition))


@segment.command("sql")
@_filter_options
@pass_context
def sql(ctx: Context, entity: str, filter_json: Any, as_of: datetime | None, workspace: str | None,
        as_json: bool) -> None:
    """Print the SQL that selects the filter's records on this database, values written in
    (to read, not to run)."""
    from audiences_app.core.segments import filter_fields, filter_sql
    from audiences_app.core.segments.saved import resolver

    with _workspace(ctx, workspace) as (conn, ws):
        text = filter_sql(
            filter_json, entity=entity, fields=filter_fields(conn, ws, entity), dialect_name=conn.dialect.name,
            workspace_id=ws, as_of=as_of, segment_resolver=resolver(conn, ws, entity=entity),
        )
    if as_json:
        _echo_json({"entity": entity, "dialect": ctx.engine.dialect.name, "sql": text})
    else:
        click.echo(text)


@segment.command("export")
@_filter_options
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="File to write.")
@click.option("--fields", default=None, metavar="A,B,…", help="Fields to export (default: id and every visible field).")
@click.option("--format", "format_", type=click.Choice(["csv", "parquet"]), default=None,
              help="Default: from --out's extension (.parquet), else csv.")
@pass_context
def export(ctx: Context, entity: str, filter_json: Any, as_of: datetime | None, workspace: str | None,
           as_json: bool, out: Path, fields: str | None, format_: str | None) -> None:
    """Export the records the filter selects to CSV (formula-safe) or Parquet, streamed."""
    from audiences_app.core.exports import export_fields
    from audiences_app.core.segments.members import export_members

    format_ = format_ or ("parquet" if out.suffix.lower() == ".parquet" else "csv")
    with _workspace(ctx, workspace) as (conn, ws):
        chosen = [f.strip() for f in fields.split(",") if f.strip()] if fields else export_fields(conn, ws, entity)
        rows = export_members(conn, ws, entity, filter_json, fields=chosen, path=out, fmt=format_, as_of=as_of)
    if as_json:
        _echo_json({"entity": entity, "path": str(out), "format": format_, "rows": rows, "fields": chosen})
    else:
        click.echo(f"exported {rows:,} {entity} to {out} ({format_})")


@segment.command("list")
@click.option("--all", "include_archived", is_flag=True, help="Include archived segments.")
@_workspace_option
@_json_option
@pass_context
def list_(ctx: Context, include_archived: bool, workspace: str | None, as_json: bool) -> None:
    """List saved segments with their last count and when it was taken."""
    from audiences_app.core.segments.saved import list_segments

    with _workspace(ctx, workspace) as (conn, ws):
        segments = list_segments(conn, ws, include_archived=include_archived)
    if as_json:
        _echo_json(segments)
        return
    if not segments:
        click.echo("no saved segments")
    for s in segments:
        counted = "not counted" if s["last_count"] is None else (
            f"{s['last_count']:,} on {s['last_evaluated_at']:%Y-%m-%d %H:%M}")
        archived = " [archived]" if s["archived_at"] else ""
        click.echo(f"#{s['id']}  {s['name']}{archived}  ({s['entity']}, v{s['version']}, {counted}, {s['owner'] or '-'})")


@segment.command("show")
@click.argument("segment_id", type=int)
@_workspace_option
@_json_option
@pass_context
def show(ctx: Context, segment_id: int, workspace: str | None, as_json: bool) -> None:
    """Show a saved segment: its filter, in English and as JSON, and its versions."""
    from audiences_app.core.segments.saved import get_segment, segment_versions

    with _workspace(ctx, workspace) as (conn, ws):
        found = get_segment(conn, ws, segment_id)
        versions = segment_versions(conn, ws, segment_id)
    if as_json:
        _echo_json({**found, "versions": versions})
        return
    click.echo(f"#{found['id']}  {found['name']}  ({found['entity']}, owner {found['owner'] or '-'})")
    click.echo(f"  {found['description']}")
    click.echo(f"  filter: {json.dumps(found['filter'], ensure_ascii=False)}")
    if found["last_count"] is not None:
        click.echo(f"  last count: {found['last_count']:,} on {found['last_evaluated_at']:%Y-%m-%d %H:%M}")
    for v in versions:
        note = f" — {v['note']}" if v["note"] else ""
        click.echo(f"  v{v['version']}  {v['created_at']:%Y-%m-%d %H:%M}  {v['owner'] or '-'}{note}")


@segment.command("save")
@click.option("--name", required=True, help="The segment's name (unique among live segments).")
@click.option("--entity", type=click.Choice(ENTITIES), required=True)
@click.option("--filter", "filter_json", required=True, metavar="FILE_OR_JSON", callback=_filter_json,
              help="The filter: JSON, a file holding it, or - for standard input.")
@click.option("--id", "segment_id", type=int, default=None, help="Add a new version to this segment.")
@click.option("--owner", default="cli", show_default=True, help="Who saves it.")
@click.option("--note", default="", help="What this version changes.")
@_workspace_option
@_json_option
@pass_context
def save(ctx: Context, name: str, entity: str, filter_json: Any, segment_id: int | None, owner: str, note: str,
         workspace: str | None, as_json: bool) -> None:
    """Save a filter as a new segment, or as the next version of --id."""
    from audiences_app.core.segments.saved import save_segment

    with _workspace(ctx, workspace, write=True) as (conn, ws):
        saved = save_segment(conn, ws, name=name, entity=entity, filter_json=filter_json, owner=owner,
                             segment_id=segment_id, note=note)
    if as_json:
        _echo_json(saved)
    else:
        click.echo(f"saved segment #{saved['id']} {saved['name']!r} version {saved['version']}: {saved['description']}")
