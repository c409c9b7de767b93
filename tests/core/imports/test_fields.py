"""Field health (fill rates, common values, last update) and custom field management."""

from __future__ import annotations

from datetime import datetime

import pytest
import sqlalchemy as sa

from audiences_app.core import fields
from audiences_app.core.db import write_transaction
from audiences_app.core.models import Company


@pytest.fixture
def loaded(engine, workspace_id, write_file, run_import):
    run_import(write_file("Company,Website,Country,Employees,Tier,Partner\n"
                          "Acme,acme.com,US,10,gold,yes\nBeta,beta.io,US,,silver,\nGamma,gamma.org,FR,5,,no\n"
                          "Delta,delta.net,,,,\n"), keep_unmapped=True)
    return workspace_id


def _health(engine, workspace_id, **options):
    with engine.connect() as conn:
        return {f.key: f for f in fields.field_health(conn, workspace_id, "companies", **options)}


def test_fill_counts_and_percent_for_core_and_custom_fields(engine, loaded):
    health = _health(engine, loaded)
    assert (health["name"].filled, health["name"].percent, health["name"].total) == (4, 100.0, 4)
    assert (health["country"].filled, health["country"].percent) == (3, 75.0)
    assert (health["employee_count"].filled, health["employee_count"].percent) == (2, 50.0)
    assert (health["tier"].filled, health["tier"].source, health["tier"].type) == (2, "import", "text")
    assert (health["partner"].filled, health["partner"].type) == (2, "boolean")
    assert health["description"].filled == 0 and health["description"].last_updated is None
    assert health["name"].last_updated is not None and health["tags"].filled == 0


def test_low_cardinality_fields_list_their_values(engine, loaded):
    country = _health(engine, loaded)["country"]
    assert (country.distinct, country.values) == (2, [{"value": "US", "count": 2}, {"value": "FR", "count": 1}])
    assert _health(engine, loaded, distinct_limit=1)["country"].values is None
    assert _health(engine, loaded)["domain"].values is None  # identity keys are never listed


def test_last_updated_is_the_newest_change_among_records_holding_a_value(engine, loaded):
    table = Company.__table__
    with write_transaction(engine) as conn:
        conn.execute(sa.update(table).where(table.c.workspace_id == loaded, table.c.domain == "gamma.org")
                     .values(updated_at=datetime(2030, 1, 1)))
    health = _health(engine, loaded)
    assert health["country"].last_updated.year == 2030
    assert health["tier"].last_updated.year < 2030  # gamma has no tier


def test_a_field_distribution_for_the_detail_chart(engine, loaded):
    with engine.connect() as conn:
        assert fields.field_values(conn, loaded, "companies", "tier") == {
            "values": [{"value": "gold", "count": 1}, {"value": "silver", "count": 1}], "other": 0, "empty": 2}
        assert fields.field_values(conn, loaded, "companies", "country", limit=1) == {
            "values": [{"value": "US", "count": 2}], "other": 1, "empty": 1}
        with pytest.raises(ValueError, match="no field 'nope'"):
            fields.field_values(conn, loaded, "companies", "nope")


def test_custom_fields_are_added_edited_and_hidden_without_losing_data(engine, loaded):
    with write_transaction(engine) as conn:
        added = fields.add_custom_field(conn, loaded, "companies", "Renewal Date", "date", description="Next renewal")
        assert (added["key"], added["type"], added["source"], added["hidden"]) == ("renewal_date", "date", "custom", False)
        edited = fields.edit_custom_field(conn, loaded, "companies", "renewal_date", label="Renews on", kind="text")
        assert (edited["label"], edited["type"]) == ("Renews on", "text")
        with pytest.raises(ValueError, match="holds 2 text values: its type cannot become number"):
            fields.edit_custom_field(conn, loaded, "companies", "tier", kind="number")
        hidden = fields.set_field_hidden(conn, loaded, "companies", "tier")
        assert hidden["hidden"] is True
    health = _health(engine, loaded)
    assert health["tier"].hidden and health["tier"].filled == 2
    with engine.connect() as conn:
        visible = {f.key for f in fields.field_health(conn, loaded, "companies", include_hidden=False)}
    assert "tier" not in visible and "partner" in visible


@pytest.mark.parametrize("label, key, message", [
    ("Name", "name", "'name' is a core field"),
    ("Bad", "Bad Key", "not a valid field key"),
    ("Tier", None, "already have a field 'tier'"),
    ("", None, "needs a label"),
])
def test_a_wrong_custom_field_is_refused_with_the_reason(engine, loaded, label, key, message):
    with write_transaction(engine) as conn, pytest.raises(ValueError, match=message):
        fields.add_custom_field(conn, loaded, "companies", label, key=key)


def test_core_fields_cannot_be_hidden_or_retyped(engine, loaded):
    with write_transaction(engine) as conn:
        with pytest.raises(ValueError, match="core field"):
            fields.set_field_hidden(conn, loaded, "companies", "industry")
        with pytest.raises(ValueError, match="core field"):
            fields.edit_custom_field(conn, loaded, "companies", "industry", label="Sector")
