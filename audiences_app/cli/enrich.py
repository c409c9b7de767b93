"""`enrich`, `runs`, `credits` and `secret`: bulk enrichment with its estimate and 10-row
test, durable runs, the credit ledger, and API keys (read from stdin, never from argv)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from audiences_app.cli import Context, main, pass_context
from audiences_app.core.catalog import ENTITIES
from audiences_app.settings import get_settings


def _workspace(ctx: Context, slug: str | None) -> int:
    from audiences_app.core.db import write_transaction
    from audiences_app.core.migrate import upgrade
    from audiences_app.core.workspaces import ensure_workspace

    upgrade(ctx.engine)
    with write_transaction(ctx.engine) as conn:
        return ensure_workspace(conn, slug or get_settings().workspace)


def _print_json(data: Any) -> None:
    json.dump(data, sys.stdout, default=str, indent=2)
    click.echo()


def _json_argument(value: str, what: str) -> Any:
    """A JSON value given inline ('{"and": []}') or as the path of a file holding it."""
    text = value if value.lstrip().startswith(("{", "[")) else None
    if text is None:
        path = Path(value)
        if not path.is_file():
            raise click.BadParameter(f"{value!r} is neither JSON nor a file", param_hint=what)
        text = path.read_text(encoding="utf-8")
    try:
        return json.loads(text)
    except ValueError as exc:
        raise click.BadParameter(f"not valid JSON: {exc}", param_hint=what) from None


workspace_option = click.option("--workspace", default=None, help="Workspace slug (default: AUDIENCES_WORKSPACE).")
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


def _target_options(command):
    for option in reversed([
        click.option("--entity", type=click.Choice(ENTITIES), required=True),
        click.option("--filter", "filter_", default=None, metavar="FILE_OR_JSON", help="A segment filter (JSON)."),
        click.option("--segment", type=int, default=None, help="A saved segment's id (instead of --filter)."),
        click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     required=True, help='Enrichment spec (JSON): {"name": …, "steps": [...], "spend_limit": …}.'),
        workspace_option, json_option,
    ]):
        command = option(command)
    return command


def _saved_config(ctx: Context, workspace_id: int, entity: str, filter_: str | None, segment: int | None,
                  config_file: Path) -> dict:
    """Save the file's spec as the config of its name (a changed spec becomes a new version)."""
    from audiences_app.core.db import write_transaction
    from audiences_app.core.enrichment import SpecError, save_config, target_for
    from audiences_app.core.segments import FilterError

    spec = _json_argument(str(config_file), "--config")
    if not isinstance(spec, dict):
        raise click.BadParameter("the config file holds a JSON object", param_hint="--config")
    name = spec.pop("name", None) or config_file.stem
    spec.pop("entity", None)
    filter_json = _json_argument(filter_, "--filter") if filter_ is not None else None
    try:
        target = target_for(filter_json=filter_json, segment_id=segment)
        with write_transaction(ctx.engine) as conn:
            return save_config(conn, workspace_id, name, entity, spec, target=target)
    except (SpecError, FilterError, LookupError) as exc:
        raise click.ClickException(str(exc)) from None


def _show_estimate(estimate, as_json: bool) -> None:
    if as_json:
        return
    click.echo(f"{estimate.records:,} records: {estimate.cached_records:,} answered from the cache, "
               f"{estimate.no_input_records:,} without inputs; about {estimate.calls:,.0f} calls, "
               f"{estimate.credits:,.3g} credits expected (at most {estimate.max_credits:,.3g}); "
               f"balance {estimate.balance:,.3g}.")
    for warning in estimate.warnings:
        click.echo(f"warning: {warning}", err=True)


@main.group()
def enrich() -> None:
    """Bulk enrichment of a segment: estimate, test on 10 rows, then run."""


@enrich.command("estimate")
@_target_options
@pass_context
def enrich_estimate(ctx: Context, entity, filter_, segment, config_file, workspace, as_json) -> None:
    """What a full run would cost: records × cost, minus what the cache answers."""
    from audiences_app.core.enrichment import estimate_run

    workspace_id = _workspace(ctx, workspace)
    config = _saved_config(ctx, workspace_id, entity, filter_, segment, config_file)
    with ctx.engine.connect() as conn:
        found = estimate_run(conn, workspace_id, config["id"])
    if as_json:
        _print_json({"config_id": config["id"], "version": config["version"], **found.to_json()})
    _show_estimate(found, as_json)


@enrich.command("test")
@_target_options
@pass_context
def enrich_test(ctx: Context, entity, filter_, segment, config_file, workspace, as_json) -> None:
    """Run the config on the target's first 10 records (required before a full run)."""
    from audiences_app.core.enrichment import run_results, run_until_done, start_test_run

    workspace_id = _workspace(ctx, workspace)
    config = _saved_config(ctx, workspace_id, entity, filter_, segment, config_file)
    try:
        run_id = start_test_run(ctx.engine, workspace_id, config["id"])
    except LookupError as exc:
        raise click.ClickException(str(exc)) from None
    summary = run_until_done(ctx.engine, run_id, workspace_id)
    with ctx.engine.connect() as conn:
        rows = run_results(conn, workspace_id, run_id)
    if as_json:
        _print_json({"run": summary, "results": rows})
        return
    for row in rows:
        values = ", ".join(f"{k}={v}" for k, v in row["values"].items()) or "—"
        tail = f"  ({row['error']})" if row["error"] else ""
        click.echo(f"{row['label'][:30]:<30} {row['status']:<8} {values}{tail}")
    click.echo(f"test run #{run_id} {summary['status']}: {summary['done']} done, {summary['failed']} failed, "
               f"{summary['skipped']} skipped, {summary['calls']} calls, {summary['credits']:g} credits")
    if summary["stopped_reason"]:
        click.echo(summary["stopped_reason"], err=True)


@enrich.command("run")
@_target_options
@click.option("--yes", is_flag=True, help="Accept the estimate's warnings.")
@click.option("--max-credits", type=float, default=None, help="This run's spend limit (credits).")
@click.option("--queue-only", is_flag=True, help="Queue the run for the app's worker instead of working it here.")
@pass_context
def enrich_run(ctx: Context, entity, filter_, segment, config_file, workspace, as_json, yes, max_credits,
               queue_only) -> None:
    """The full run over the target, after a succeeded 10-row test of the same config version."""
    from audiences_app.core.enrichment import CostWarning, TestRunRequired, run_until_done, start_run

    workspace_id = _workspace(ctx, workspace)
    config = _saved_config(ctx, workspace_id, entity, filter_, segment, config_file)
    try:
        run_id = start_run(ctx.engine, workspace_id, config["id"], accept_warnings=yes, spend_limit=max_credits)
    except TestRunRequired as exc:
        raise click.ClickException(str(exc)) from None
    except CostWarning as exc:
        _show_estimate(exc.estimate, False)
        raise click.ClickException("the estimate has warnings: run again with --yes to accept them") from None
    if queue_only:
        click.echo(f"queued run #{run_id}")
        return

    def progress(summary: dict) -> None:
        if not as_json:
            click.echo(f"\r  {summary['done'] + summary['failed'] + summary['skipped']:,}/{summary['total']:,} "
                       f"({summary['cached']:,} cached, {summary['credits']:g} credits)", nl=False, err=True)

    summary = run_until_done(ctx.engine, run_id, workspace_id, progress=progress)
    if as_json:
        _print_json(summary)
        return
    click.echo(err=True)
    click.echo(f"run #{run_id} {summary['status']}: {summary['done']:,} done ({summary['cached']:,} cached), "
               f"{summary['failed']:,} failed, {summary['skipped']:,} skipped, {summary['calls']:,} calls, "
               f"{summary['credits']:g} credits")
    if summary["stopped_reason"]:
        click.echo(summary["stopped_reason"], err=True)


@main.group()
def runs() -> None:
    """Durable runs of every kind (imports, enrichments, …)."""


@runs.command("list")
@click.option("--kind", default=None, help="Only runs of this kind (import, enrich…).")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@workspace_option
@json_option
@pass_context
def runs_list(ctx: Context, kind, limit, workspace, as_json) -> None:
    """The newest runs with their status and counts."""
    from audiences_app.core.jobs import list_runs

    workspace_id = _workspace(ctx, workspace)
    with ctx.engine.connect() as conn:
        found = list_runs(conn, workspace_id, kind=kind, limit=limit)
    if as_json:
        _print_json([{k: v for k, v in r.items() if k != "params"} for r in found])
        return
    for r in found:
        click.echo(f"#{r['id']:<5} {r['kind']:<7} {r['status']:<10} {r['done_items']:>8,}/{r['total_items']:<8,} "
                   f"failed {r['failed_items']:,}  {r['title']}")


@runs.command("show")
@click.argument("run_id", type=int)
@workspace_option
@json_option
@pass_context
def runs_show(ctx: Context, run_id, workspace, as_json) -> None:
    """One run: status, counts, cost and the records that failed, with why."""
    from audiences_app.core.enrichment import run_detail
    from audiences_app.core.jobs import get_run, item_errors

    workspace_id = _workspace(ctx, workspace)
    with ctx.engine.connect() as conn:
        try:
            detail = run_detail(conn, workspace_id, run_id)
        except LookupError:
            try:
                detail = {k: v for k, v in get_run(conn, run_id, workspace_id).items() if k != "params"}
            except LookupError as exc:
                raise click.ClickException(str(exc)) from None
            detail["errors"] = item_errors(conn, run_id)
    if as_json:
        _print_json(detail)
        return
    for key, value in detail.items():
        if key not in ("errors", "providers"):
            click.echo(f"{key:>16}: {value}")
    for provider in detail.get("providers", []):
        click.echo(f"{'provider':>16}: {provider['provider']} — {provider['entries']:,} charges, "
                   f"{provider['credits']:g} credits")
    for error in detail["errors"]:
        click.echo(f"  {error.get('label') or error.get('seq')}: {error['status']}: {error['error']}")


def _steer(action_name: str):
    @runs.command(action_name)
    @click.argument("run_id", type=int)
    @workspace_option
    @pass_context
    def steer(ctx: Context, run_id, workspace) -> None:
        from audiences_app.core import jobs
        from audiences_app.core.db import write_transaction

        action = {"pause": jobs.pause_run, "resume": jobs.resume_run, "cancel": jobs.cancel_run}[action_name]
        workspace_id = _workspace(ctx, workspace)
        try:
            with write_transaction(ctx.engine) as conn:
                action(conn, run_id, workspace_id)
        except (LookupError, jobs.RunStateError) as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"run #{run_id}: {action_name}d")

    steer.__doc__ = {"pause": "Stop handing out a run's items.", "resume": "Resume a paused run.",
                     "cancel": "Cancel a run: its pending items are skipped."}[action_name]
    return steer


for _action in ("pause", "resume", "cancel"):
    _steer(_action)


@main.group()
def credits() -> None:
    """The workspace's credit balance, spend limit and ledger."""


@credits.command("show")
@workspace_option
@json_option
@pass_context
def credits_show(ctx: Context, workspace, as_json) -> None:
    """Balance, monthly limit and this month's spend."""
    from audiences_app.core.enrichment import credits as core

    workspace_id = _workspace(ctx, workspace)
    with ctx.engine.connect() as conn:
        info = {k: v for k, v in core.account(conn, workspace_id).items() if not k.endswith("_milli")}
    if as_json:
        _print_json(info)
        return
    limit = "no monthly limit" if info["monthly_limit"] is None else f"monthly limit {info['monthly_limit']:g}"
    click.echo(f"balance {info['balance']:g} credits; {limit}; spent {info['month_spent']:g} in {info['month']}")


@credits.command("ledger")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.option("--before", type=int, default=None, help="Entries older than this entry id (paging).")
@click.option("--run", "run_id", type=int, default=None, help="Only one run's entries.")
@workspace_option
@json_option
@pass_context
def credits_ledger(ctx: Context, limit, before, run_id, workspace, as_json) -> None:
    """Ledger entries, newest first: grants, charges and refunds."""
    from audiences_app.core.enrichment import credits as core

    workspace_id = _workspace(ctx, workspace)
    with ctx.engine.connect() as conn:
        page = core.ledger_page(conn, workspace_id, before_id=before, limit=limit, run_id=run_id)
    if as_json:
        _print_json(page)
        return
    for e in page["data"]:
        where = " ".join(x for x in (f"run #{e['run_id']}" if e["run_id"] else "", e["provider"] or "",
                                     f"record {e['record_id']}" if e["record_id"] else "") if x)
        click.echo(f"#{e['id']:<7} {e['created_at']:%Y-%m-%d %H:%M} {e['kind']:<6} {e['amount']:>10g} "
                   f"→ {e['balance_after']:g}  {where} {e['note']}".rstrip())
    if page["next_before_id"]:
        click.echo(f"more: --before {page['next_before_id']}")


@credits.command("grant")
@click.argument("amount", type=float)
@click.option("--note", default="", help="Why (a purchase, a top-up…).")
@click.option("--key", default=None, help="Idempotency key: granting again with it adds nothing.")
@workspace_option
@pass_context
def credits_grant(ctx: Context, amount, note, key, workspace) -> None:
    """Add credits to the balance."""
    from audiences_app.core.db import write_transaction
    from audiences_app.core.enrichment import credits as core

    workspace_id = _workspace(ctx, workspace)
    try:
        with write_transaction(ctx.engine) as conn:
            entry = core.grant(conn, workspace_id, amount, key=key, note=note)
    except core.CreditError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"balance {entry['balance_after']:g} credits")


@credits.command("limit")
@click.argument("amount")
@workspace_option
@pass_context
def credits_limit(ctx: Context, amount, workspace) -> None:
    """Set the monthly spend limit in credits ('none' removes it)."""
    from audiences_app.core.db import write_transaction
    from audiences_app.core.enrichment import credits as core

    workspace_id = _workspace(ctx, workspace)
    try:
        value = None if amount.lower() == "none" else float(amount)
        with write_transaction(ctx.engine) as conn:
            core.set_monthly_limit(conn, workspace_id, value)
    except (ValueError, core.CreditError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo("monthly limit removed" if value is None else f"monthly limit {value:g} credits")


@main.group()
def secret() -> None:
    """API keys for providers, encrypted at rest (the key lives outside the database)."""


@secret.command("set")
@click.argument("name")
@click.option("--hosts", default="", help="Comma-separated hosts the value may be sent to (default: any).")
@workspace_option
@pass_context
def secret_set(ctx: Context, name, hosts, workspace) -> None:
    """Store secret NAME, reading its value from stdin (never from the command line)."""
    from audiences_app.core.db import write_transaction
    from audiences_app.core.enrichment import SecretError, set_secret

    if sys.stdin.isatty():
        value = click.prompt(f"value of {name}", hide_input=True)
    else:
        value = sys.stdin.read().strip()
    workspace_id = _workspace(ctx, workspace)
    try:
        with write_transaction(ctx.engine) as conn:
            set_secret(conn, workspace_id, name, value, hosts=hosts)
    except SecretError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"secret {name!r} stored; refer to it as {{{{secret:{name}}}}}")


@secret.command("list")
@workspace_option
@json_option
@pass_context
def secret_list(ctx: Context, workspace, as_json) -> None:
    """Secret names, allowed hosts and dates (never values)."""
    from audiences_app.core.enrichment import list_secrets

    workspace_id = _workspace(ctx, workspace)
    with ctx.engine.connect() as conn:
        found = list_secrets(conn, workspace_id)
    if as_json:
        _print_json(found)
        return
    for s in found:
        click.echo(f"{s['name']:<30} {','.join(s['hosts']) or 'any host':<30} updated {s['updated_at']:%Y-%m-%d %H:%M}")


@secret.command("delete")
@click.argument("name")
@workspace_option
@pass_context
def secret_delete(ctx: Context, name, workspace) -> None:
    """Delete secret NAME."""
    from audiences_app.core.db import write_transaction
    from audiences_app.core.enrichment import delete_secret

    workspace_id = _workspace(ctx, workspace)
    with write_transaction(ctx.engine) as conn:
        found = delete_secret(conn, workspace_id, name)
    click.echo(f"secret {name!r} deleted" if found else f"no secret {name!r}")
