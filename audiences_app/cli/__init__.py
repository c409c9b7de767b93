"""The command line: the same core functions the UI calls, for scripts, operators and CI.

The root group and the workspace commands live here; each further area adds its commands
from a module of this package, registered at the bottom.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime

import click

from audiences_app.core.db import make_engine, write_transaction
from audiences_app.settings import get_settings


class Context:
    def __init__(self, database_url: str | None):
        self.database_url = database_url or get_settings().database_url
        self._engine = None

    @property
    def engine(self):
        if self._engine is None:
            self._engine = make_engine(self.database_url)
        return self._engine


pass_context = click.make_pass_decorator(Context)


@click.group()
@click.option("--database-url", envvar=None, default=None, metavar="URL",
              help="SQLAlchemy URL; overrides AUDIENCES_DATABASE_URL.")
@click.pass_context
def main(ctx: click.Context, database_url: str | None) -> None:
    """Audiences: companies, people, segments and enrichment for go-to-market teams."""
    ctx.obj = Context(database_url)


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@pass_context
def db_upgrade(ctx: Context) -> None:
    """Create or migrate the schema to the newest version."""
    from audiences_app.core.migrate import current_revision, upgrade

    upgrade(ctx.engine)
    click.echo(f"database at revision {current_revision(ctx.engine)}")


@main.command()
@click.option("--companies", type=click.IntRange(0), default=20_000, show_default=True)
@click.option("--people", type=click.IntRange(0), default=60_000, show_default=True)
@click.option("--seed", type=int, default=42, show_default=True)
@click.option("--epoch", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Day the demo history ends (UTC midnight); default: today, so recent-date filters find records.")
@click.option("--workspace", default=None, help="Workspace slug (default: AUDIENCES_WORKSPACE).")
@click.option("--if-empty", is_flag=True, help="Do nothing when the workspace already has records.")
@pass_context
def demo(ctx: Context, companies: int, people: int, seed: int, epoch: datetime | None, workspace: str | None,
         if_empty: bool) -> None:
    """Generate a deterministic, realistic demo workspace through the bulk path: the same seed,
    sizes and --epoch give the same records; its two years of history end at --epoch."""
    from audiences_app.core.demo import DemoWorkspaceNotEmpty, load_demo
    from audiences_app.core.migrate import upgrade
    from audiences_app.core.records import entity_counts
    from audiences_app.core.workspaces import ensure_workspace

    slug = workspace or get_settings().workspace
    upgrade(ctx.engine)
    if if_empty:
        with write_transaction(ctx.engine) as conn:
            existing = entity_counts(conn, ensure_workspace(conn, slug))
        if any(existing.values()):
            click.echo(f"workspace {slug!r} already has data ({_counts_line(existing)}); nothing loaded")
            return

    def progress(entity: str, done: int, total: int) -> None:
        click.echo(f"\r  {entity}: {done:,}/{total:,}", nl=done >= total, err=True)

    try:
        report = load_demo(ctx.engine, workspace_slug=slug, companies=companies, people=people,
                           seed=seed, epoch=epoch or _today(), progress=progress)
    except DemoWorkspaceNotEmpty as exc:
        raise click.ClickException(f"{exc} (use another --workspace, or --if-empty)") from None
    click.echo(
        f"loaded {report.companies:,} companies and {report.people:,} people into {slug!r} "
        f"in {report.seconds:.1f} s ({report.rows_per_second:,.0f} rows/s)"
    )


@main.command()
@click.option("--workspace", default=None, help="Workspace slug (default: AUDIENCES_WORKSPACE).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_context
def stats(ctx: Context, workspace: str | None, as_json: bool) -> None:
    """Count the records of each entity in a workspace."""
    from audiences_app.core.records import entity_counts
    from audiences_app.core.workspaces import WorkspaceNotFound, workspace_id

    slug = workspace or get_settings().workspace
    try:
        with ctx.engine.connect() as conn:
            counts = entity_counts(conn, workspace_id(conn, slug))
    except WorkspaceNotFound as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        json.dump({"workspace": slug, **counts}, sys.stdout)
        click.echo()
    else:
        click.echo(f"{slug}: {_counts_line(counts)}")


def _today() -> datetime:
    """Midnight UTC of today, naive: the default end of the demo's history."""
    from audiences_app.core.models import utcnow

    return utcnow().replace(hour=0, minute=0, second=0, microsecond=0)


def _counts_line(counts: dict[str, int]) -> str:
    return ", ".join(f"{value:,} {entity}" for entity, value in counts.items())


@main.command()
@click.option("--batch-size", type=click.IntRange(1, 1000), default=200, show_default=True,
              help="Items claimed at a time (see jobs.Worker.batch_size).")
@pass_context
def worker(ctx: Context, batch_size: int) -> None:
    """Run the durable-run worker on its own (the app runs one too), until Ctrl-C."""
    import signal
    import threading

    from audiences_app.core.jobs import Worker
    from audiences_app.core.run_kinds import handlers

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    runner = Worker(ctx.engine, handlers(), batch_size=batch_size)
    click.echo(f"worker {runner.owner} serving: {', '.join(sorted(runner.handlers)) or 'no run kinds yet'}")
    try:
        runner.run_forever(stop)
    except KeyboardInterrupt:
        stop.set()


from audiences_app.cli import data  # noqa: E402,F401  (import and export commands)
from audiences_app.cli import segments  # noqa: E402,F401
from audiences_app.cli import enrich  # noqa: E402,F401  (enrich, runs, credits and secret commands)
