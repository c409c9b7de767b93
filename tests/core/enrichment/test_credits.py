"""Credits: balance, a ledger whose idempotency keys make every entry happen once, refunds,
monthly limits, and the spend figures of the Credits page."""

from __future__ import annotations

import pytest

from audiences_app.core.db import write_transaction
from audiences_app.core.enrichment import credits


def test_a_grant_with_a_key_is_added_once(engine, workspace_id):
    with write_transaction(engine) as conn:
        credits.grant(conn, workspace_id, 100, key="invoice-7")
        again = credits.grant(conn, workspace_id, 100, key="invoice-7")
        assert again["balance_after"] == 100
        assert credits.account(conn, workspace_id)["balance"] == 100


def test_a_charge_key_is_charged_once_and_refunded_once(engine, workspace_id):
    with write_transaction(engine) as conn:
        credits.grant(conn, workspace_id, 10)
        key = credits.charge_key(workspace_id, 1, 42, "http_api:firmo")
        assert credits.charge(conn, workspace_id, 2500, key=key, run_id=None, provider="http_api:firmo",
                              entity="companies", record_id=42)
        assert not credits.charge(conn, workspace_id, 2500, key=key, run_id=None, provider="http_api:firmo",
                                  entity="companies", record_id=42)
        assert credits.account(conn, workspace_id)["balance"] == 7.5
        charge = credits.ledger_page(conn, workspace_id, kind="charge")["data"][0]
        assert (charge["amount"], charge["record_id"], charge["idempotency_key"]) == (-2.5, 42, key)
        refund = credits.refund(conn, workspace_id, charge["id"], note="bad data")
        assert refund["balance_after"] == 10 and refund["idempotency_key"] == f"refund:{key}"
        with pytest.raises(credits.CreditError, match="already refunded"):
            credits.refund(conn, workspace_id, charge["id"])


def test_the_ledger_pages_newest_first(engine, workspace_id):
    with write_transaction(engine) as conn:
        for n in range(5):
            credits.grant(conn, workspace_id, n + 1)
        first = credits.ledger_page(conn, workspace_id, limit=3)
        rest = credits.ledger_page(conn, workspace_id, limit=3, before_id=first["next_before_id"])
    assert [e["amount"] for e in first["data"] + rest["data"]] == [5, 4, 3, 2, 1]
    assert rest["next_before_id"] is None


def test_spend_over_time_by_provider_and_by_run(engine, workspace_id):
    with write_transaction(engine) as conn:
        credits.grant(conn, workspace_id, 100)
        for n, provider in enumerate(["a", "a", "b"]):
            credits.charge(conn, workspace_id, 1000 * (n + 1), key=f"k{workspace_id}-{n}", run_id=None,
                           provider=f"http_api:{provider}", entity="companies", record_id=n)
        by_provider = credits.spend_over_time(conn, workspace_id, by="provider")
    assert [(r["key"], r["credits"]) for r in by_provider] == [("http_api:a", 3.0), ("http_api:b", 3.0)]


def test_the_monthly_limit_counts_this_months_spend(engine, workspace_id):
    with write_transaction(engine) as conn:
        credits.grant(conn, workspace_id, 50)
        credits.set_monthly_limit(conn, workspace_id, 20)
        credits.charge(conn, workspace_id, 5000, key=f"m{workspace_id}", run_id=None, provider="p", entity="companies",
                       record_id=1)
        info = credits.account(conn, workspace_id)
        assert (info["month_spent"], info["month_left"], info["balance"]) == (5, 15, 45)
        assert credits.budget_milli(conn, workspace_id) == (15_000, "the workspace's monthly spend limit")
