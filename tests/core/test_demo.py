"""The demo workspace: deterministic, realistic, consistent, and loaded through the bulk path."""

from __future__ import annotations

import collections
import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np
import pytest
import sqlalchemy as sa

from audiences_app.core import demo
from audiences_app.core.catalog import FIELD_TYPES
from audiences_app.core.db import make_engine, write_transaction
from audiences_app.core.migrate import upgrade
from audiences_app.core.demo import DEMO_EPOCH, HISTORY, DemoReport, DemoWorkspaceNotEmpty, load_demo
from audiences_app.core.models import Company, CompanyTag, FieldDef, Person, PersonTag, Tag
from audiences_app.core.normalize import (
    normalize_domain,
    normalize_email,
    normalize_linkedin_company,
    normalize_linkedin_profile,
    normalize_phone,
)

COMPANY, PERSON = Company.__table__, Person.__table__
COMPANY_TAG, PERSON_TAG, TAG = CompanyTag.__table__, PersonTag.__table__, Tag.__table__
COMPANIES, PEOPLE, CHUNK = 600, 1_800, 250  # several chunks, and companies split across them


@dataclass
class Loaded:
    engine: sa.Engine
    report: DemoReport
    progress: list[tuple[str, int, int]]


def load(engine, *, seed: int = 7, companies: int = COMPANIES, people: int = PEOPLE, slug: str | None = None,
         epoch: datetime = DEMO_EPOCH):
    calls: list[tuple[str, int, int]] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(demo, "CHUNK_ROWS", CHUNK)
        report = load_demo(
            engine, workspace_slug=slug or f"demo-{uuid.uuid4().hex[:8]}", companies=companies,
            people=people, seed=seed, epoch=epoch, progress=lambda *call: calls.append(call),
        )  # fmt: skip
    return Loaded(engine, report, calls)


@pytest.fixture(scope="module")
def loaded(engine) -> Loaded:
    return load(engine)


def rows(loaded: Loaded, query) -> list[sa.Row]:
    with loaded.engine.connect() as conn:
        return conn.execute(query).all()


def companies_of(loaded: Loaded, *columns):
    return rows(loaded, sa.select(*columns).where(COMPANY.c.workspace_id == loaded.report.workspace_id))


def people_of(loaded: Loaded, *columns):
    return rows(loaded, sa.select(*columns).where(PERSON.c.workspace_id == loaded.report.workspace_id))


def checksum(loaded: Loaded) -> str:
    """A digest of every value a user sees, with ids made relative to the workspace's first."""
    workspace = loaded.report.workspace_id
    data = [c for c in COMPANY.c if c.name not in ("id", "workspace_id")]
    pdata = [c for c in PERSON.c if c.name not in ("id", "workspace_id", "company_id")]
    with loaded.engine.connect() as conn:
        first = conn.execute(sa.select(sa.func.min(COMPANY.c.id)).where(COMPANY.c.workspace_id == workspace)).scalar()
        first_person = conn.execute(sa.select(sa.func.min(PERSON.c.id)).where(PERSON.c.workspace_id == workspace)).scalar()
        parts = [
            conn.execute(sa.select(*data).where(COMPANY.c.workspace_id == workspace).order_by(COMPANY.c.id)).all(),
            conn.execute(
                sa.select(*pdata, PERSON.c.company_id - first)
                .where(PERSON.c.workspace_id == workspace).order_by(PERSON.c.id)
            ).all(),
            conn.execute(
                sa.select(COMPANY_TAG.c.company_id - first, TAG.c.name).join(TAG)
                .where(TAG.c.workspace_id == workspace).order_by(COMPANY_TAG.c.company_id, TAG.c.name)
            ).all(),
            conn.execute(
                sa.select(PERSON_TAG.c.person_id - first_person, TAG.c.name).join(TAG)
                .where(TAG.c.workspace_id == workspace).order_by(PERSON_TAG.c.person_id, TAG.c.name)
            ).all(),
        ]  # fmt: skip
    return hashlib.sha256(repr([[tuple(r) for r in part] for part in parts]).encode()).hexdigest()


# ----------------------------------------------------------------------------- determinism


def test_same_seed_gives_identical_data(engine, loaded):
    assert checksum(load(engine, seed=7)) == checksum(loaded)


def test_another_seed_gives_other_data(engine, loaded):
    assert checksum(load(engine, seed=8)) != checksum(loaded)


def test_timestamps_do_not_depend_on_the_clock(loaded):
    created = [r.created_at for r in companies_of(loaded, COMPANY.c.created_at)]
    created += [r.created_at for r in people_of(loaded, PERSON.c.created_at)]
    assert DEMO_EPOCH - HISTORY <= min(created) and max(created) < DEMO_EPOCH


def test_another_epoch_moves_every_time_by_the_same_amount_and_nothing_else(engine, loaded):
    later = load(engine, epoch=datetime(2027, 3, 1, tzinfo=UTC))  # an aware epoch is read in UTC
    shift = datetime(2027, 3, 1) - DEMO_EPOCH
    columns = (COMPANY.c.domain, COMPANY.c.name, COMPANY.c.created_at, COMPANY.c.updated_at, COMPANY.c.founded_year)
    before = {r.domain: r for r in companies_of(loaded, *columns)}
    after = {r.domain: r for r in companies_of(later, *columns)}
    assert before.keys() == after.keys()
    for domain, old in before.items():
        new = after[domain]
        assert (new.name, new.created_at - old.created_at, new.updated_at - old.updated_at) == (old.name, shift, shift)
        if old.founded_year is None or old.founded_year > 1900:  # 1900 is the floor: older ones stay there
            assert new.founded_year == (None if old.founded_year is None else old.founded_year + 1)
    contacted = {r.email: r.attributes.get("last_contacted") for r in people_of(loaded, PERSON.c.email, PERSON.c.attributes)}
    for row in people_of(later, PERSON.c.email, PERSON.c.attributes):
        if contacted[row.email] is not None:
            moved = date.fromisoformat(row.attributes["last_contacted"]) - date.fromisoformat(contacted[row.email])
            assert moved == shift


# ----------------------------------------------------------------------------- counts


def test_counts_are_exact(loaded):
    workspace = loaded.report.workspace_id
    company_tags = rows(loaded, sa.select(sa.func.count()).select_from(COMPANY_TAG.join(TAG)).where(TAG.c.workspace_id == workspace))
    person_tags = rows(loaded, sa.select(sa.func.count()).select_from(PERSON_TAG.join(TAG)).where(TAG.c.workspace_id == workspace))
    assert len(companies_of(loaded, COMPANY.c.id)) == loaded.report.companies == COMPANIES
    assert len(people_of(loaded, PERSON.c.id)) == loaded.report.people == PEOPLE
    assert company_tags[0][0] + person_tags[0][0] == loaded.report.tags > 0


def test_report_gives_the_speed(loaded):
    report = loaded.report
    assert report.seconds > 0
    assert report.rows_per_second == pytest.approx((report.companies + report.people + report.tags) / report.seconds)


def test_progress_is_reported_after_every_chunk(loaded):
    stages = collections.defaultdict(list)
    for stage, done, total in loaded.progress:
        stages[stage].append((done, total))
    assert stages["companies"] == [(250, 600), (500, 600), (600, 600)]
    assert stages["people"] == [(n, PEOPLE) for n in (*range(250, PEOPLE, 250), PEOPLE)]


def test_a_load_into_empty_tables_builds_the_indexes_once_at_the_end(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    upgrade(engine)
    expected = {i.name for t in (COMPANY, PERSON, COMPANY_TAG, PERSON_TAG) for i in t.indexes}
    fresh = load(engine, companies=40, people=120)
    indexes = [(done, total) for stage, done, total in fresh.progress if stage == "indexes"]
    assert indexes and indexes[-1][0] == indexes[-1][1] == len(indexes) >= len(expected)
    inspector = sa.inspect(engine)
    present = {i["name"] for t in ("company", "person", "company_tag", "person_tag") for i in inspector.get_indexes(t)}
    assert expected <= present
    engine.dispose()


def test_a_workspace_with_records_is_refused(engine, loaded):
    slug = rows(loaded, sa.text(f"SELECT slug FROM workspace WHERE id = {loaded.report.workspace_id}"))[0][0]
    with pytest.raises(DemoWorkspaceNotEmpty, match=f"workspace '{slug}' already has companies and people"):
        load(engine, slug=slug)
    assert len(companies_of(loaded, COMPANY.c.id)) == COMPANIES


def test_people_need_companies(engine):
    with pytest.raises(ValueError, match="at least one company"):
        load_demo(engine, workspace_slug=f"demo-{uuid.uuid4().hex[:8]}", companies=0, people=5)


def test_companies_without_people(engine):
    report = load(engine, companies=30, people=0).report
    assert (report.companies, report.people) == (30, 0)


def test_rows_inserted_later_get_fresh_ids(loaded):
    with write_transaction(loaded.engine) as conn:
        new_id = conn.execute(
            sa.insert(COMPANY)
            .values(workspace_id=loaded.report.workspace_id, domain=f"later-{uuid.uuid4().hex[:6]}.com", attributes={})
            .returning(COMPANY.c.id)
        ).scalar_one()
        conn.execute(sa.delete(COMPANY).where(COMPANY.c.id == new_id))
    assert new_id > max(r.id for r in companies_of(loaded, COMPANY.c.id))


# ----------------------------------------------------------------------------- identity keys


def test_domains_are_unique_and_normalized(loaded):
    domains = [r.domain for r in companies_of(loaded, COMPANY.c.domain)]
    assert len(set(domains)) == len(domains) == COMPANIES
    assert all(normalize_domain(d) == d for d in domains)


def test_websites_and_linkedin_pages_belong_to_the_company(loaded):
    found = companies_of(loaded, COMPANY.c.domain, COMPANY.c.website, COMPANY.c.linkedin_url)
    assert all(normalize_domain(r.website) == r.domain for r in found if r.website)
    pages = [r.linkedin_url for r in found if r.linkedin_url]
    assert 0.75 < len(pages) / len(found) < 0.95
    assert len(set(pages)) == len(pages)
    assert all(normalize_linkedin_company(p) == p for p in pages)


def test_people_work_at_their_company_domain(loaded):
    found = rows(
        loaded,
        sa.select(PERSON.c.email, PERSON.c.company_domain, COMPANY.c.domain)
        .join(COMPANY, PERSON.c.company_id == COMPANY.c.id)
        .where(PERSON.c.workspace_id == loaded.report.workspace_id),
    )
    assert len(found) == PEOPLE
    assert all(r.company_domain == r.domain for r in found)
    assert all(r.email.endswith("@" + r.domain) for r in found if r.email)


def test_emails_are_first_dot_last_unique_and_normalized(loaded):
    found = people_of(loaded, PERSON.c.email, PERSON.c.first_name, PERSON.c.last_name)
    emails = [r.email for r in found if r.email]
    assert 0.88 < len(emails) / len(found) < 0.96
    assert len(set(emails)) == len(emails)
    assert all(normalize_email(e) == e for e in emails)
    assert all(re.fullmatch(r"[a-z-]+\.[a-z-]+\d*@[a-z0-9.-]+", e) for e in emails)


def test_email_collisions_in_one_company_get_a_number(engine):
    crowded = load(engine, companies=1, people=600)
    emails = [r.email for r in people_of(crowded, PERSON.c.email) if r.email]
    assert len(set(emails)) == len(emails)
    assert any(re.search(r"\d@", e) for e in emails)


def test_phones_are_valid_unique_e164(loaded):
    phones = [r.phone for r in people_of(loaded, PERSON.c.phone) if r.phone]
    assert 0.3 < len(phones) / PEOPLE < 0.45
    assert len(set(phones)) == len(phones)
    assert all(normalize_phone(p, None) == p for p in phones)


def test_profile_urls_are_unique_and_normalized(loaded):
    urls = [r.linkedin_url for r in people_of(loaded, PERSON.c.linkedin_url) if r.linkedin_url]
    assert 0.55 < len(urls) / PEOPLE < 0.75
    assert len(set(urls)) == len(urls)
    assert all(normalize_linkedin_profile(u) == u for u in urls)


def test_every_record_has_an_identity_key(loaded):
    assert all(any(r) for r in people_of(loaded, PERSON.c.email, PERSON.c.linkedin_url, PERSON.c.phone, PERSON.c.crm_id))
    assert all(r.domain for r in companies_of(loaded, COMPANY.c.domain))


def test_crm_ids_for_about_a_third_of_companies(loaded):
    ids = [r.crm_id for r in companies_of(loaded, COMPANY.c.crm_id) if r.crm_id]
    assert 0.2 < len(ids) / COMPANIES < 0.4
    assert len(set(ids)) == len(ids)


# ----------------------------------------------------------------------------- consistency


def test_some_values_are_missing(loaded):
    found = companies_of(loaded, COMPANY.c.industry, COMPANY.c.employee_count, COMPANY.c.city, COMPANY.c.annual_revenue)
    for column in ("industry", "employee_count", "city", "annual_revenue"):
        missing = sum(getattr(r, column) is None for r in found) / len(found)
        assert 0.01 < missing < 0.25, column
    assert any(r.title is None for r in people_of(loaded, PERSON.c.title))


def test_places_are_consistent_with_the_country(loaded):
    places = {(code, region, city) for code, *_, cities in demo.COUNTRIES for region, city, _ in cities}
    regions = {(code, region) for code, region, _ in places}
    for r in companies_of(loaded, COMPANY.c.country, COMPANY.c.region, COMPANY.c.city):
        if r.city:
            assert (r.country, r.region, r.city) in places
        elif r.region:
            assert (r.country, r.region) in regions
        else:
            assert r.city is None
    cities = {(code, city) for code, _, city in places}
    assert all((r.country, r.city) in cities for r in people_of(loaded, PERSON.c.country, PERSON.c.city) if r.country and r.city)


def test_titles_fit_seniority_and_department(loaded):
    titles = {(d, s): set(t) for d, _, by_level in demo.DEPARTMENTS for s, t in by_level.items()}
    found = people_of(loaded, PERSON.c.title, PERSON.c.seniority, PERSON.c.department)
    for r in found:
        assert (r.title is None) == (r.seniority is None) == (r.department is None)
        if r.title:
            assert r.title in titles[(r.department, r.seniority)]


def test_sizes_revenue_and_founding_are_plausible(loaded):
    found = companies_of(loaded, COMPANY.c.employee_count, COMPANY.c.annual_revenue, COMPANY.c.founded_year)
    assert all(1 <= r.employee_count <= 200_000 for r in found if r.employee_count)
    assert all(1900 <= r.founded_year <= DEMO_EPOCH.year - 1 for r in found if r.founded_year)
    pairs = np.array([(r.employee_count, r.annual_revenue) for r in found if r.employee_count and r.annual_revenue])
    assert np.corrcoef(np.log(pairs[:, 0]), np.log(pairs[:, 1] + 1))[0, 1] > 0.7


def test_updates_follow_creation_and_people_follow_their_company(loaded):
    assert all(r.updated_at >= r.created_at for r in companies_of(loaded, COMPANY.c.created_at, COMPANY.c.updated_at))
    found = rows(
        loaded,
        sa.select(PERSON.c.created_at, PERSON.c.updated_at, COMPANY.c.created_at.label("company_created"))
        .join(COMPANY, PERSON.c.company_id == COMPANY.c.id)
        .where(PERSON.c.workspace_id == loaded.report.workspace_id),
    )
    assert all(r.company_created <= r.created_at <= r.updated_at < DEMO_EPOCH for r in found)


def test_people_per_company_are_skewed(loaded):
    per_company = collections.Counter(r.company_id for r in people_of(loaded, PERSON.c.company_id))
    counts = [per_company.get(r.id, 0) for r in companies_of(loaded, COMPANY.c.id)]
    assert sum(c <= 2 for c in counts) / len(counts) > 0.5
    assert max(counts) >= 15


def test_every_tag_is_attached(loaded):
    workspace = loaded.report.workspace_id
    used = collections.Counter(
        name for (name,) in rows(loaded, sa.select(TAG.c.name).join(COMPANY_TAG).where(TAG.c.workspace_id == workspace))
    ) + collections.Counter(
        name for (name,) in rows(loaded, sa.select(TAG.c.name).join(PERSON_TAG).where(TAG.c.workspace_id == workspace))
    )
    assert set(used) == {name for name, *_ in demo.TAGS}


def test_customer_target_and_churned_exclude_one_another(loaded):
    tags_of = collections.defaultdict(set)
    for company_id, name in rows(
        loaded, sa.select(COMPANY_TAG.c.company_id, TAG.c.name).join(TAG).where(TAG.c.workspace_id == loaded.report.workspace_id)
    ):
        tags_of[company_id].add(name)
    assert all(len(tags & {"customer", "target-account", "churned"}) <= 1 for tags in tags_of.values())


def test_custom_fields_are_in_the_catalog_with_their_type(loaded):
    catalog = {
        (r.entity, r.key): r
        for r in rows(loaded, sa.select(FieldDef.__table__).where(FieldDef.__table__.c.workspace_id == loaded.report.workspace_id))
    }
    for entity, key, _, type_, _ in demo.CUSTOM_FIELDS:
        assert catalog[(entity, key)].source == "custom"
        assert catalog[(entity, key)].type == type_ in FIELD_TYPES
    used = {("companies", k) for r in companies_of(loaded, COMPANY.c.attributes) for k in r.attributes}
    used |= {("people", k) for r in people_of(loaded, PERSON.c.attributes) for k in r.attributes}
    assert used == {(entity, key) for entity, key, *_ in demo.CUSTOM_FIELDS}


def test_custom_values_have_their_catalog_type(loaded):
    python_type = {"text": str, "number": int, "list": list, "boolean": bool, "date": str}
    types = {key: python_type[type_] for _, key, _, type_, _ in demo.CUSTOM_FIELDS}
    for r in companies_of(loaded, COMPANY.c.attributes) + people_of(loaded, PERSON.c.attributes):
        assert all(type(value) is types[key] for key, value in r.attributes.items())


# ----------------------------------------------------------------------------- generator


def test_name_words_join_without_ambiguity():
    """Joined labels ("acmeanalytics") never coincide for two different word triples."""
    joined = collections.Counter(p + r + q for p in demo.PREFIXES for r in demo.ROOTS for q in demo.QUALIFIERS)
    assert max(joined.values()) == 1
    assert all(re.fullmatch(r"[a-z]+", w) for w in demo.PREFIXES + demo.ROOTS + demo.QUALIFIERS[1:])


def test_domain_labels_stay_unique_past_the_word_grid():
    names = demo._CompanyNames(2_000_000, np.random.default_rng(1))
    index = np.concatenate([np.arange(200_000), np.arange(1_800_000, 2_000_000)])
    labels = names.labels(index)
    assert len(set(labels)) == len(labels)
    assert any(re.search(r"\d$", label) for label in labels)  # qualifiers ran out: numbered


def test_industries_and_countries_are_skewed():
    plan = demo._DemoPlan(3, 20_000, 0, DEMO_EPOCH)
    columns = dict(zip(demo.COMPANY_COLUMNS, plan.company_columns(0, 20_000)))
    industries = collections.Counter(i for i in columns["industry"] if i)
    countries = collections.Counter(c for c in columns["country"] if c)
    assert industries.most_common(1)[0][0] == "software"
    assert industries.most_common()[-1][1] < industries["software"] / 5
    assert 0.38 < countries["US"] / sum(countries.values()) < 0.52
    assert {"GB", "DE", "FR", "CA", "IN"} <= {c for c, _ in countries.most_common(8)}
