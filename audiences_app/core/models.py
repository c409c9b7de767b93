"""Tables of the data layer: workspaces, companies, people, tags and the field catalog.

Every row carries workspace_id. Core fields are typed, indexed columns (the common
filters); custom and enriched fields live in `attributes` (JSON, JSONB on PostgreSQL) and are
described in the field catalog. Identity keys are unique per workspace, and a record with no
identity key at all is refused by a CHECK constraint, because it could never be deduplicated.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

JSONType = sa.JSON().with_variant(JSONB(), "postgresql")
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # INTEGER PRIMARY KEY = rowid


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def naive_utc(moment: datetime) -> datetime:
    """`moment` as the tables store it: naive UTC (a naive moment is taken to be UTC already)."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo is not None else moment


def _id() -> Any:
    return Field(default=None, sa_column=sa.Column(BigId, primary_key=True, autoincrement=True))


def _workspace_fk() -> Any:
    return Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("workspace.id", ondelete="CASCADE"), nullable=False
        )
    )


def _attributes() -> Any:
    return Field(default_factory=dict, sa_column=sa.Column(JSONType, nullable=False))


def _timestamp(nullable: bool = False) -> Any:
    """Naive UTC everywhere: the same value on SQLite (no time zones) and PostgreSQL."""
    if nullable:
        return Field(default=None, sa_type=sa.DateTime(), nullable=True)
    return Field(default_factory=utcnow, sa_type=sa.DateTime(), nullable=False)


def _indexes(table: str, columns: list[str]) -> list[sa.Index]:
    """(workspace_id, column, id) per column: serves filters, sorted keyset pages, and counts."""
    return [sa.Index(f"ix_{table}_ws_{col}", "workspace_id", col, "id") for col in columns]


class Workspace(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=200)
    created_at: datetime = _timestamp()


COMPANY_SORTABLE = [
    "name", "domain", "industry", "employee_count", "annual_revenue", "country",
    "city", "founded_year", "created_at", "updated_at",
]


class Company(SQLModel, table=True):
    __table_args__ = (
        sa.UniqueConstraint("workspace_id", "domain", name="uq_company_domain"),
        sa.UniqueConstraint("workspace_id", "linkedin_url", name="uq_company_linkedin"),
        sa.UniqueConstraint("workspace_id", "crm_id", name="uq_company_crm_id"),
        sa.CheckConstraint(
            "domain IS NOT NULL OR linkedin_url IS NOT NULL OR crm_id IS NOT NULL",
            name="ck_company_identity",
        ),
        sa.Index("ix_company_ws_id", "workspace_id", "id"),
        *_indexes("company", [c for c in COMPANY_SORTABLE if c != "domain"]),
    )

    id: int | None = _id()
    workspace_id: int = _workspace_fk()
    name: str | None = Field(default=None, max_length=300)
    domain: str | None = Field(default=None, max_length=253)
    linkedin_url: str | None = Field(default=None, max_length=300)
    website: str | None = Field(default=None, max_length=500)
    industry: str | None = Field(default=None, max_length=100)
    employee_count: int | None = None
    annual_revenue: int | None = Field(default=None, sa_type=sa.BigInteger)
    country: str | None = Field(default=None, max_length=2)
    region: str | None = Field(default=None, max_length=100)
    city: str | None = Field(default=None, max_length=100)
    founded_year: int | None = None
    description: str | None = Field(default=None, sa_type=sa.Text)
    crm_id: str | None = Field(default=None, max_length=64)
    source: str | None = Field(default=None, max_length=40)
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()
    archived_at: datetime | None = _timestamp(nullable=True)
    attributes: dict = _attributes()


PERSON_SORTABLE = [
    "full_name", "email", "title", "seniority", "department", "company_domain",
    "country", "city", "created_at", "updated_at",
]


class Person(SQLModel, table=True):
    __table_args__ = (
        sa.UniqueConstraint("workspace_id", "email", name="uq_person_email"),
        sa.UniqueConstraint("workspace_id", "linkedin_url", name="uq_person_linkedin"),
        sa.UniqueConstraint("workspace_id", "phone", name="uq_person_phone"),
        sa.UniqueConstraint("workspace_id", "crm_id", name="uq_person_crm_id"),
        sa.CheckConstraint(
            "email IS NOT NULL OR linkedin_url IS NOT NULL OR phone IS NOT NULL"
            " OR crm_id IS NOT NULL",
            name="ck_person_identity",
        ),
        sa.Index("ix_person_company_id", "company_id"),
        sa.Index("ix_person_ws_id", "workspace_id", "id"),
        *_indexes("person", [c for c in PERSON_SORTABLE if c != "email"]),
    )

    id: int | None = _id()
    workspace_id: int = _workspace_fk()
    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    full_name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    linkedin_url: str | None = Field(default=None, max_length=300)
    phone: str | None = Field(default=None, max_length=20)
    title: str | None = Field(default=None, max_length=200)
    seniority: str | None = Field(default=None, max_length=40)
    department: str | None = Field(default=None, max_length=60)
    company_id: int | None = Field(
        default=None,
        sa_column=sa.Column(BigId, sa.ForeignKey("company.id", ondelete="SET NULL")),
    )
    company_domain: str | None = Field(default=None, max_length=253)
    country: str | None = Field(default=None, max_length=2)
    city: str | None = Field(default=None, max_length=100)
    crm_id: str | None = Field(default=None, max_length=64)
    source: str | None = Field(default=None, max_length=40)
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()
    archived_at: datetime | None = _timestamp(nullable=True)
    attributes: dict = _attributes()


class Tag(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("workspace_id", "name", name="uq_tag_name"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = _workspace_fk()
    name: str = Field(max_length=80)
    color: str | None = Field(default=None, max_length=20)


class CompanyTag(SQLModel, table=True):
    __tablename__ = "company_tag"
    __table_args__ = (sa.Index("ix_company_tag_tag", "tag_id", "company_id"),)

    company_id: int = Field(
        sa_column=sa.Column(
            BigId, sa.ForeignKey("company.id", ondelete="CASCADE"), primary_key=True
        )
    )
    tag_id: int = Field(foreign_key="tag.id", primary_key=True, ondelete="CASCADE")


class PersonTag(SQLModel, table=True):
    __tablename__ = "person_tag"
    __table_args__ = (sa.Index("ix_person_tag_tag", "tag_id", "person_id"),)

    person_id: int = Field(
        sa_column=sa.Column(
            BigId, sa.ForeignKey("person.id", ondelete="CASCADE"), primary_key=True
        )
    )
    tag_id: int = Field(foreign_key="tag.id", primary_key=True, ondelete="CASCADE")


class FieldDef(SQLModel, table=True):
    """One entry of the field catalog: what a field is called, its type, and where it comes from."""

    __tablename__ = "field_catalog"
    __table_args__ = (
        sa.UniqueConstraint("workspace_id", "entity", "key", name="uq_field_catalog_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = _workspace_fk()
    entity: str = Field(max_length=20)  # "companies" | "people"
    key: str = Field(max_length=80)
    label: str = Field(max_length=120)
    type: str = Field(max_length=20)  # text number date datetime boolean list
    source: str = Field(max_length=20)  # core import crm enrichment custom
    description: str = Field(default="", max_length=500)
    is_core: bool = Field(default=False)
    hidden: bool = Field(default=False)
    created_at: datetime = _timestamp()


class Run(SQLModel, table=True):
    """A durable piece of long work (import, enrichment, export…): progress lives here, not in memory."""

    __table_args__ = (sa.Index("ix_run_ws_created", "workspace_id", "created_at"),
                      sa.Index("ix_run_status", "status"))

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = _workspace_fk()
    kind: str = Field(max_length=40)
    title: str = Field(default="", max_length=200)
    status: str = Field(default="queued", max_length=20)
    params: dict = _attributes()
    total_items: int = 0
    done_items: int = 0
    failed_items: int = 0
    skipped_items: int = 0
    error: str | None = Field(default=None, sa_type=sa.Text)
    created_by: str = Field(default="system", max_length=120)
    created_at: datetime = _timestamp()
    started_at: datetime | None = _timestamp(nullable=True)
    finished_at: datetime | None = _timestamp(nullable=True)
    updated_at: datetime = _timestamp()


class RunItem(SQLModel, table=True):
    """One unit of a run's work, claimed by a worker under a lease that expires if it dies."""

    __tablename__ = "run_item"
    __table_args__ = (
        sa.UniqueConstraint("run_id", "seq", name="uq_run_item_seq"),
        sa.Index("ix_run_item_claim", "status", "available_at", "id"),
        sa.Index("ix_run_item_run_status", "run_id", "status"),
    )

    id: int | None = _id()
    run_id: int = Field(sa_column=sa.Column(sa.Integer, sa.ForeignKey("run.id", ondelete="CASCADE"), nullable=False))
    seq: int
    status: str = Field(default="pending", max_length=20)
    attempts: int = 0
    payload: dict = _attributes()
    result: dict | None = Field(default=None, sa_column=sa.Column(JSONType, nullable=True))
    error: str | None = Field(default=None, sa_type=sa.Text)
    lease_owner: str | None = Field(default=None, max_length=80)
    lease_expires_at: datetime | None = _timestamp(nullable=True)
    available_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()


TABLES = {"companies": Company, "people": Person}


class ImportLine(SQLModel, table=True):
    """What an import run did with one line of its file, when there is something to keep.

    Two kinds of entries: problems (outcome `rejected`, `value_skipped`, `truncated`) with the
    column, the reason and the line's raw values, from which the reject report is written;
    and `matched` entries naming an existing record that a line of this run already matched,
    so that a later line of the same file naming it again merges as a duplicate (first row
    wins) even when it comes in another chunk. Matched entries are dropped when the run ends.
    """

    __tablename__ = "import_line"
    __table_args__ = (
        sa.Index("ix_import_line_run_line", "run_id", "line"),
        sa.Index("ix_import_line_run_record", "run_id", "record_id"),
    )

    id: int | None = _id()
    run_id: int = Field(sa_column=sa.Column(sa.Integer, sa.ForeignKey("run.id", ondelete="CASCADE"), nullable=False))
    line: int
    outcome: str = Field(max_length=20)  # rejected value_skipped truncated matched
    column_name: str | None = Field(default=None, max_length=200)
    reason: str | None = Field(default=None, sa_type=sa.Text)
    record_id: int | None = Field(default=None, sa_type=sa.BigInteger)
    raw: list | None = Field(default=None, sa_column=sa.Column(JSONType, nullable=True))


class Segment(SQLModel, table=True):
    """A saved, dynamic segment: a name over one entity whose filter lives in its versions.

    Membership is never stored; `last_count` only remembers how many records the current
    version selected when it was last evaluated, for the Segments list. A live (not archived)
    segment's name is unique in its workspace.
    """

    __table_args__ = (
        sa.Index("ix_segment_ws_updated", "workspace_id", "updated_at"),
        sa.Index(
            "uq_segment_live_name", "workspace_id", "name", unique=True,
            sqlite_where=sa.text("archived_at IS NULL"), postgresql_where=sa.text("archived_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = _workspace_fk()
    entity: str = Field(max_length=20)  # "companies" | "people"
    name: str = Field(max_length=120)
    owner: str = Field(max_length=120)
    current_version: int = 1
    last_count: int | None = Field(default=None, sa_type=sa.BigInteger)
    last_evaluated_at: datetime | None = _timestamp(nullable=True)
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()
    archived_at: datetime | None = _timestamp(nullable=True)


class SegmentVersion(SQLModel, table=True):
    """One saved filter of a segment. Versions are immutable: every save adds the next one."""

    __tablename__ = "segment_version"
    __table_args__ = (sa.UniqueConstraint("segment_id", "version", name="uq_segment_version"),)

    id: int | None = Field(default=None, primary_key=True)
    segment_id: int = Field(
        sa_column=sa.Column(sa.Integer, sa.ForeignKey("segment.id", ondelete="CASCADE"), nullable=False)
    )
    workspace_id: int = _workspace_fk()
    version: int
    filter: dict = _attributes()
    note: str = Field(default="", max_length=500)
    owner: str = Field(max_length=120)
    created_at: datetime = _timestamp()


class Secret(SQLModel, table=True):
    """An API key or token of a workspace, encrypted (Fernet) with a key kept outside the database.

    Only the enrichment providers read the value, at call time; `hosts` (comma-separated,
    optional) names the only hosts it may be sent to.
    """

    __table_args__ = (sa.UniqueConstraint("workspace_id", "name", name="uq_secret_name"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = _workspace_fk()
    name: str = Field(max_length=80)
    ciphertext: str = Field(sa_type=sa.Text)
    hosts: str = Field(default="", max_length=1000)
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()


class EnrichmentConfig(SQLModel, table=True):
    """A saved enrichment: providers and the mapping of their outputs to record fields.

    `spec` is versioned: every change of it adds one to `version`, and a full run needs a
    succeeded 10-row test run of the same version. `target` ({"filter": …} or {"segment": id})
    is what the runs and auto-enrichment cover; changing it needs no new test.
    """

    __tablename__ = "enrichment_config"
    __table_args__ = (sa.UniqueConstraint("workspace_id", "name", name="uq_enrichment_config_name"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = _workspace_fk()
    name: str = Field(max_length=120)
    entity: str = Field(max_length=20)
    spec: dict = _attributes()
    version: int = 1
    target: dict = _attributes()
    run_spend_limit_milli: int | None = Field(default=None, sa_type=sa.BigInteger)
    auto_enrich: bool = Field(default=False)
    auto_run_id: int | None = None
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()


class EnrichmentRun(SQLModel, table=True):
    """What an enrichment run is of (config and version, test/full/auto) and what it cost."""

    __tablename__ = "enrichment_run"
    __table_args__ = (sa.Index("ix_enrichment_run_config", "config_id", "mode"),)

    run_id: int = Field(sa_column=sa.Column(
        sa.Integer, sa.ForeignKey("run.id", ondelete="CASCADE"), primary_key=True, autoincrement=False))
    workspace_id: int = _workspace_fk()
    config_id: int = Field(sa_column=sa.Column(
        sa.Integer, sa.ForeignKey("enrichment_config.id", ondelete="CASCADE"), nullable=False))
    config_version: int
    mode: str = Field(max_length=10)  # test full auto
    cached_items: int = 0
    calls: int = 0
    credits_milli: int = Field(default=0, sa_type=sa.BigInteger)
    spend_limit_milli: int | None = Field(default=None, sa_type=sa.BigInteger)
    stopped_reason: str | None = Field(default=None, sa_type=sa.Text)


class EnrichmentResult(SQLModel, table=True):
    """A record's latest result for a config: the values written, and which provider won each."""

    __tablename__ = "enrichment_result"
    __table_args__ = (sa.UniqueConstraint("config_id", "record_id", name="uq_enrichment_result_record"),)

    id: int | None = _id()
    workspace_id: int = _workspace_fk()
    config_id: int = Field(sa_column=sa.Column(
        sa.Integer, sa.ForeignKey("enrichment_config.id", ondelete="CASCADE"), nullable=False))
    record_id: int = Field(sa_type=sa.BigInteger)
    status: str = Field(max_length=10)  # queued done failed skipped
    data: dict = _attributes()
    winners: dict = _attributes()
    run_id: int | None = None
    enriched_at: datetime = _timestamp()


class EnrichmentCache(SQLModel, table=True):
    """A provider's answer for one normalized input, so that asking again costs nothing."""

    __tablename__ = "enrichment_cache"
    __table_args__ = (
        sa.UniqueConstraint("workspace_id", "provider", "provider_version", "input_hash",
                            name="uq_enrichment_cache_key"),
    )

    id: int | None = _id()
    workspace_id: int = _workspace_fk()
    provider: str = Field(max_length=80)
    provider_version: str = Field(max_length=80)
    input_hash: str = Field(max_length=64)
    outputs: dict = _attributes()
    fetched_at: datetime = _timestamp()


class CreditLedger(SQLModel, table=True):
    """Every change of a workspace's credit balance; an idempotency key makes each happen once.

    Amounts are thousandths of a credit (integers, exact on every backend): negative for
    charges, positive for grants and refunds. `balance_after_milli` is the balance right after.
    """

    __tablename__ = "credit_ledger"
    __table_args__ = (
        sa.UniqueConstraint("idempotency_key", name="uq_credit_ledger_key"),
        sa.Index("ix_credit_ledger_ws_created", "workspace_id", "created_at"),
        sa.Index("ix_credit_ledger_run", "run_id"),
    )

    id: int | None = _id()
    workspace_id: int = _workspace_fk()
    kind: str = Field(max_length=10)  # grant charge refund
    amount_milli: int = Field(sa_type=sa.BigInteger)
    balance_after_milli: int = Field(sa_type=sa.BigInteger)
    run_id: int | None = None
    provider: str | None = Field(default=None, max_length=80)
    entity: str | None = Field(default=None, max_length=20)
    record_id: int | None = Field(default=None, sa_type=sa.BigInteger)
    idempotency_key: str = Field(max_length=200)
    note: str = Field(default="", max_length=500)
    created_at: datetime = _timestamp()


class WorkspaceCredit(SQLModel, table=True):
    """A workspace's credit balance and monthly spend limit (thousandths of a credit)."""

    __tablename__ = "workspace_credit"

    workspace_id: int = Field(sa_column=sa.Column(
        sa.Integer, sa.ForeignKey("workspace.id", ondelete="CASCADE"), primary_key=True, autoincrement=False))
    balance_milli: int = Field(default=0, sa_type=sa.BigInteger)
    monthly_limit_milli: int | None = Field(default=None, sa_type=sa.BigInteger)
    month: str = Field(default="", max_length=7)
    month_spent_milli: int = Field(default=0, sa_type=sa.BigInteger)
    updated_at: datetime = _timestamp()
