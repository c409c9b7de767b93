"""Workspaces: the tenant every record belongs to."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from audiences_app.core.catalog import seed_core_fields
from audiences_app.core.models import Workspace, utcnow


class WorkspaceNotFound(LookupError):
    pass


def ensure_workspace(conn: Connection, slug: str, name: str | None = None) -> int:
    """The id of the workspace `slug`, created with its core field catalog if missing."""
    table = Workspace.__table__
    found = conn.execute(sa.select(table.c.id).where(table.c.slug == slug)).scalar()
    if found is None:
        found = conn.execute(
            sa.insert(table)
            .values(slug=slug, name=name or slug.replace("-", " ").title(), created_at=utcnow())
            .returning(table.c.id)
        ).scalar_one()
    seed_core_fields(conn, found)
    return found


def workspace_id(conn: Connection, slug: str) -> int:
    """The id of an existing workspace; WorkspaceNotFound names the slug when there is none."""
    table = Workspace.__table__
    found = conn.execute(sa.select(table.c.id).where(table.c.slug == slug)).scalar()
    if found is None:
        raise WorkspaceNotFound(f"no workspace {slug!r}: run `python -m audiences_app demo` first")
    return found
