"""Saved enrichment configs: a name, an entity, a versioned spec, a target and auto-enrich.

Saving a spec that differs from the stored one adds one to the version, and a full run needs
a succeeded 10-row test of the version it runs (runs.py). The target is a segment filter or
a saved segment; a saved segment is kept as the filter `{"segment": id, "op": "in_segment"}`,
so each run reads the segment's current definition (segments are dynamic).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from audiences_app.core.enrichment.providers.base import SpecError
from audiences_app.core.enrichment.spec import Plan, parse_spec
from audiences_app.core.models import EnrichmentConfig, utcnow
from audiences_app.core.segments.resolve import member_clause
from audiences_app.core.segments.compiler import segment_query

CONFIG = EnrichmentConfig.__table__
MATCH_ALL: dict = {"and": []}


def target_for(*, filter_json: Any = None, segment_id: int | None = None) -> dict:
    """A run target from a segment filter or a saved segment id (not both)."""
    if filter_json is not None and segment_id is not None:
        raise SpecError("target either a filter or a saved segment, not both")
    if segment_id is not None:
        return {"filter": {"segment": int(segment_id), "op": "in_segment"}}
    return {"filter": filter_json if filter_json is not None else MATCH_ALL}


def target_members(conn: Connection, workspace_id: int, entity: str, target: dict) -> sa.Select:
    """SELECT id of the live records the target covers now (FilterError / LookupError)."""
    clause = member_clause(conn, workspace_id, entity, target.get("filter", MATCH_ALL))
    return segment_query(entity, clause, workspace_id)


def save_config(conn: Connection, workspace_id: int, name: str, entity: str, spec: dict, *,
                target: dict | None = None) -> dict:
    """Create the config `name`, or update it: a changed spec becomes the next version.

    The spec is checked first (SpecError); the target, when given, too (FilterError)."""
    name = " ".join((name or "").split())
    if not name or len(name) > 120:
        raise SpecError("an enrichment config needs a name of 1 to 120 characters")
    plan = parse_spec(spec, entity)
    if target is not None:
        target_members(conn, workspace_id, entity, target)
    now = utcnow()
    row = conn.execute(sa.select(CONFIG).where(CONFIG.c.workspace_id == workspace_id, CONFIG.c.name == name)).first()
    limit = plan.run_spend_limit_milli
    if row is None:
        config_id = conn.execute(sa.insert(CONFIG).values(
            workspace_id=workspace_id, name=name, entity=entity, spec=spec, version=1, target=target or {},
            run_spend_limit_milli=limit, auto_enrich=False, created_at=now, updated_at=now,
        ).returning(CONFIG.c.id)).scalar_one()
        return get_config(conn, workspace_id, config_id)
    if row.entity != entity:
        raise SpecError(f"config {name!r} enriches {row.entity}; give a {entity} config another name")
    values: dict[str, Any] = {"updated_at": now, "run_spend_limit_milli": limit}
    if _tested_part(row.spec) != _tested_part(spec):
        values["version"] = row.version + 1
    values["spec"] = spec
    if target is not None:
        values["target"] = target
    conn.execute(sa.update(CONFIG).where(CONFIG.c.id == row.id).values(**values))
    return get_config(conn, workspace_id, row.id)


def _tested_part(spec: dict) -> dict:
    """What a 10-row test vouches for: everything but the run's spend limit."""
    return {k: v for k, v in spec.items() if k != "spend_limit"}


def set_target(conn: Connection, workspace_id: int, config_id: int, target: dict) -> dict:
    config = get_config(conn, workspace_id, config_id)
    target_members(conn, workspace_id, config["entity"], target)
    conn.execute(sa.update(CONFIG).where(CONFIG.c.id == config_id).values(target=target, updated_at=utcnow()))
    return get_config(conn, workspace_id, config_id)


def get_config(conn: Connection, workspace_id: int, config_id: int) -> dict:
    """id, name, entity, spec, version, target, run_spend_limit (credits), auto_enrich,
    auto_run_id, created_at, updated_at. LookupError when it is not in the workspace."""
    row = conn.execute(sa.select(CONFIG).where(CONFIG.c.id == config_id, CONFIG.c.workspace_id == workspace_id)).first()
    if row is None:
        raise LookupError(f"There is no enrichment config #{config_id} in this workspace.")
    data = dict(row._mapping)
    milli = data.pop("run_spend_limit_milli")
    data["run_spend_limit"] = None if milli is None else milli / 1000
    return data


def config_plan(config: dict) -> Plan:
    return parse_spec(config["spec"], config["entity"])


def find_config(conn: Connection, workspace_id: int, name: str) -> dict | None:
    found = conn.execute(sa.select(CONFIG.c.id).where(CONFIG.c.workspace_id == workspace_id,
                                                      CONFIG.c.name == " ".join(name.split()))).scalar()
    return None if found is None else get_config(conn, workspace_id, found)
