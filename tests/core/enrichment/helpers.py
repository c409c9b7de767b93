"""Building blocks of the enrichment tests: companies, configs, and running to the end."""

from __future__ import annotations

import sqlalchemy as sa

from audiences_app.core.db import write_transaction
from audiences_app.core.enrichment import credits, runs, save_config
from audiences_app.core.models import Company

COMPANY = Company.__table__


def add_companies(engine, workspace_id: int, n: int, *, prefix: str = "co", **columns) -> list[int]:
    """n companies named '<Prefix> i' with domain <prefix>i.com (or, with domain=None, crm id <prefix>-i)."""
    rows = [{"workspace_id": workspace_id, "domain": f"{prefix}{i}.com", "name": f"{prefix.title()} {i}",
             "crm_id": f"{prefix}-{i}", "attributes": {}, **columns} for i in range(n)]
    with write_transaction(engine) as conn:
        conn.execute(sa.insert(COMPANY), rows)
        return list(conn.execute(sa.select(COMPANY.c.id).where(
            COMPANY.c.workspace_id == workspace_id, COMPANY.c.crm_id.like(f"{prefix}-%")).order_by(COMPANY.c.id)).scalars())


def api_step(server_url: str, *, name: str = "firmo", cost: float = 1, path: str = "/company", **extra) -> dict:
    return {"provider": {"kind": "http_api", "name": name, "url": f"{server_url}{path}?domain={{{{domain}}}}",
                         "outputs": {"employees": {"path": "$.company.employees", "type": "number"},
                                     "industry": {"path": "$.company.industry"}},
                         "cost": cost, "concurrency": 10, "timeout_seconds": 5, **extra},
            "map": {"employees": {"field": f"{name}_employees", "label": "Employees (API)"},
                    "industry": f"{name}_industry"}}


def save(engine, workspace_id: int, steps: list[dict], *, name: str = "Firmographics", target=None, **spec) -> dict:
    with write_transaction(engine) as conn:
        return save_config(conn, workspace_id, name, "companies", {"steps": steps, **spec}, target=target)


def grant(engine, workspace_id: int, amount: float) -> None:
    with write_transaction(engine) as conn:
        credits.grant(conn, workspace_id, amount, note="test")


def test_then_run(engine, workspace_id: int, config_id: int, **options) -> dict:
    test_id = runs.start_test_run(engine, workspace_id, config_id)
    assert runs.run_until_done(engine, test_id, workspace_id, timeout_seconds=60)["status"] == "succeeded"
    run_id = runs.start_run(engine, workspace_id, config_id, accept_warnings=True, **options)
    return runs.run_until_done(engine, run_id, workspace_id, timeout_seconds=120)


test_then_run.__test__ = False


def attributes(engine, workspace_id: int) -> dict[str, dict]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(COMPANY.c.domain, COMPANY.c.attributes).where(COMPANY.c.workspace_id == workspace_id))
        return {domain: attrs for domain, attrs in rows}


def charged(engine, workspace_id: int, run_id: int | None = None) -> float:
    with engine.connect() as conn:
        query = sa.select(sa.func.coalesce(sa.func.sum(-credits.LEDGER.c.amount_milli), 0)).where(
            credits.LEDGER.c.workspace_id == workspace_id, credits.LEDGER.c.kind == "charge")
        if run_id is not None:
            query = query.where(credits.LEDGER.c.run_id == run_id)
        return conn.execute(query).scalar_one() / 1000
