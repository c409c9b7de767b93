"""The built-in providers against loopback servers: derived fields, reference data, website
metadata, the HTTP API column, the AI prompt column, and waterfalls."""

from __future__ import annotations

import asyncio
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from audiences_app.core.enrichment.net import OutboundPolicy
from audiences_app.core.enrichment.providers.base import CallContext, ProviderError, SpecError
from audiences_app.core.enrichment.providers.waterfall import run_step
from audiences_app.core.enrichment.runner import HttpRunner
from audiences_app.core.enrichment.secret_store import SecretValue
from audiences_app.core.enrichment.spec import build_provider, parse_spec
from audiences_app.settings import get_settings


def fetch(spec: dict, record: dict, *, entity: str = "companies", secrets: dict | None = None) -> dict:
    provider = build_provider(spec, entity)
    provider.prepare()
    inputs = provider.read_inputs(record)

    async def go():
        runner = HttpRunner(OutboundPolicy.allowing(["127.0.0.1"]))
        try:
            return provider.coerce_outputs(await provider.fetch(inputs, CallContext(runner, secrets or {}, "key-1")))
        finally:
            await runner.aclose()

    return asyncio.run(go())


@pytest.mark.parametrize("record, expected", [
    ({"employee_count": 120, "country": "DE", "industry": "Software"},
     {"size_band": "51-200", "world_region": "EMEA", "lookalike_group": "software · 51-200 · EMEA"}),
    ({"employee_count": 25_000, "country": "JP", "industry": None}, {"size_band": "10001+", "world_region": "APAC"}),
    ({"employee_count": 3, "country": "BR", "industry": "retail"},
     {"size_band": "1-10", "world_region": "Latin America", "lookalike_group": "retail · 1-10 · Latin America"}),
    ({"employee_count": None, "country": "CA"}, {"world_region": "North America"}),
])
def test_derived_company_fields(record, expected):
    assert fetch({"kind": "derived"}, record) == expected


def test_derived_person_fields():
    assert fetch({"kind": "derived"}, {"email": "Ann@Mail.Example.co.uk", "country": "FR"}, entity="people") == \
        {"email_domain": "example.co.uk", "world_region": "EMEA"}


@pytest.fixture
def reference_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("AUDIENCES_REFERENCE_DIRS", str(tmp_path))
    get_settings.cache_clear()
    (tmp_path / "firms.csv").write_text("domain,funding,hq\nacme.com,1500000,Berlin\nbeta.io,,Paris\n")
    pq.write_table(pa.table({"site": ["https://www.gamma.org/"], "funding": [42.5]}), tmp_path / "firms.parquet")
    return tmp_path


def test_reference_lookup_matches_the_normalized_domain_in_csv_and_parquet(reference_dir):
    csv_spec = {"kind": "reference", "path": str(reference_dir / "firms.csv"),
                "columns": {"funding": {"column": "funding", "type": "number"}, "hq": "hq"}}
    assert fetch(csv_spec, {"domain": "WWW.Acme.com"}) == {"funding": 1500000, "hq": "Berlin"}
    assert fetch(csv_spec, {"domain": "beta.io"}) == {"hq": "Paris"}
    assert fetch(csv_spec, {"domain": "nowhere.net"}) == {}
    parquet_spec = {"kind": "reference", "path": str(reference_dir / "firms.parquet"), "match_column": "site",
                    "columns": {"funding": {"column": "funding", "type": "number"}}}
    assert fetch(parquet_spec, {"domain": "gamma.org"}) == {"funding": 42.5}


def test_reference_files_are_read_only_from_the_reference_folders(reference_dir):
    with pytest.raises(SpecError, match="reference files are read from"):
        build_provider({"kind": "reference", "path": "/etc/passwd.csv", "columns": {"x": "x"}}, "companies")


def test_website_metadata_follows_redirects_and_reads_title_description_and_social_links(server):
    found = fetch({"kind": "website"}, {"website": f"{server.url}/redirect/home"})
    assert found == {"website_title": "Acme & Co — Widgets", "website_description": "Acme makes widgets for teams.",
                     "linkedin_url": "https://www.linkedin.com/company/acme/", "twitter_url": "https://twitter.com/acme"}


def test_a_huge_homepage_is_cut_at_the_cap_and_still_read(server):
    found = fetch({"kind": "website", "max_response_bytes": 50_000}, {"website": f"{server.url}/big-home"})
    assert found["website_title"] == "Acme & Co — Widgets"


def test_a_homepage_redirecting_to_a_private_address_is_refused(server):
    with pytest.raises(ProviderError, match="refused: 10.0.0.1 is a private address"):
        fetch({"kind": "website"}, {"website": f"{server.url}/redirect/private"})


def _api(server, **spec) -> dict:
    return {"kind": "http_api", "name": "echo", "url": f"{server.url}/echo?d={{{{domain}}}}&n={{{{name}}}}",
            "outputs": {"query": {"path": "$.query.n"}, "auth": {"path": "$.headers.Authorization"},
                        "body": {"path": "$.body"}}, **spec}


def test_http_api_encodes_record_values_and_fills_secrets_in_headers(server):
    key = SecretValue("echo_key", "s3cret-value")
    found = fetch(_api(server, headers={"Authorization": "Bearer {{secret:echo_key}}"}),
                  {"domain": "acme.com", "name": "A&B co/x?y=1"}, secrets={"echo_key": key})
    assert found["query"] == "A&B co/x?y=1"  # one query value, whatever its characters
    assert found["auth"] == "Bearer s3cret-value"
    assert "s3cret" not in repr(key)


def test_http_api_body_template_keeps_value_types(server):
    spec = _api(server, method="POST", body={"domain": "{{domain}}", "size": "{{employee_count}}", "note": "d={{domain}}"})
    found = fetch(spec, {"domain": "acme.com", "employee_count": 42, "name": "x"})
    assert json.loads(found["body"]) == {"domain": "acme.com", "size": 42, "note": "d=acme.com"}


def test_a_secret_bound_to_hosts_is_never_sent_elsewhere(server):
    bound = SecretValue("echo_key", "s3cret-value", frozenset({"api.example.com"}))
    with pytest.raises(ProviderError, match="may only be sent to api.example.com"):
        fetch(_api(server, headers={"Authorization": "{{secret:echo_key}}"}), {"domain": "acme.com"},
              secrets={"echo_key": bound})


def test_http_api_maps_json_paths_and_treats_404_as_a_miss(server):
    spec = {"kind": "http_api", "url": f"{server.url}/company?domain={{{{domain}}}}",
            "outputs": {"employees": {"path": "$.company.employees", "type": "number"},
                        "founded": {"path": "$.company.founded", "type": "date"},
                        "public": {"path": "$.company.public", "type": "boolean"}}}
    found = fetch(spec, {"domain": "acme.com"})
    assert set(found) == {"employees", "founded", "public"} and isinstance(found["employees"], int)
    assert fetch(spec, {"domain": "unknown.com"}) == {}


def test_http_api_refuses_malformed_json(server):
    spec = {"kind": "http_api", "url": f"{server.url}/malformed?d={{{{domain}}}}", "outputs": {"x": "text"}}
    with pytest.raises(ProviderError, match="malformed JSON"):
        fetch(spec, {"domain": "acme.com"})


def _ai(server, model: str = "m1", **spec) -> dict:
    return {"kind": "ai_prompt", "base_url": f"{server.url}/v1", "model": model, "api_key": "{{secret:openai}}",
            "prompt": "Describe {{name}} ({{domain}}), a B2B company.",
            "outputs": {"summary": "text", "is_b2b": "boolean", "employees": "number"}, **spec}


OPENAI = {"openai": SecretValue("openai", "sk-test-123")}


def test_ai_prompt_maps_the_json_answer_to_typed_fields(server):
    found = fetch(_ai(server), {"name": "Acme", "domain": "acme.com"}, secrets=OPENAI)
    assert found == {"summary": "About: Describe Acme (acme.com), a B2B company.", "is_b2b": True, "employees": 1200}
    fenced = fetch(_ai(server, model="fenced"), {"name": "Acme"}, secrets=OPENAI)
    assert fenced == {"summary": "fenced answer", "is_b2b": True}


@pytest.mark.parametrize("model, secret, message", [
    ("broken", OPENAI, "not the JSON object asked for"),
    ("m1", {"openai": SecretValue("openai", "wrong")}, "HTTP 401"),
])
def test_ai_prompt_failures_name_the_cause(server, model, secret, message):
    with pytest.raises(ProviderError, match=message):
        fetch(_ai(server, model=model), {"name": "Acme"}, secrets=secret)


def test_a_waterfall_stops_at_the_first_provider_that_fills_and_records_it(server):
    plan = parse_spec({"steps": [{"waterfall": [
        {"kind": "http_api", "name": "first", "url": f"{server.url}/company?domain=unknown-{{{{domain}}}}",
         "outputs": {"employees": {"path": "$.company.employees", "type": "number"}}},
        {"kind": "http_api", "name": "second", "url": f"{server.url}/company?domain={{{{domain}}}}",
         "outputs": {"employees": {"path": "$.company.employees", "type": "number"}}},
        {"kind": "http_api", "name": "third", "url": f"{server.url}/company?domain={{{{domain}}}}",
         "outputs": {"employees": {"path": "$.company.employees", "type": "number"}}},
    ], "map": {"employees": "employees_est"}}]}, "companies")
    asked = []

    async def answer(provider):
        asked.append(provider.name)
        return {"employees": None} if provider.name == "first" else {"employees": 7}

    outcome = asyncio.run(run_step(plan.steps[0], answer))
    assert (outcome.values, outcome.winners, asked) == ({"employees_est": 7}, {"employees_est": "http_api:second"},
                                                        ["first", "second"])


@pytest.mark.parametrize("spec, message", [
    ({"steps": [{"provider": {"kind": "oracle"}, "map": {"x": "x"}}]}, "unknown provider kind 'oracle'"),
    ({"steps": [{"provider": {"kind": "derived"}, "map": {"size_band": "industry"}}]}, "core field"),
    ({"steps": [{"provider": {"kind": "derived"}, "map": {"colour": "colour"}}]}, "no provider of this step"),
    ({"steps": [{"provider": {"kind": "derived"}, "map": {"size_band": "a"}},
                {"provider": {"kind": "derived"}, "map": {"world_region": "b"}}]}, "appears twice"),
    ({"steps": [{"provider": {"kind": "http_api", "url": "http://x/{{domain}}", "outputs": {"a": {"path": "$..a"}}},
                 "map": {"a": "a"}}]}, "JSON path"),
    ({"steps": [{"provider": {"kind": "http_api", "url": "http://x/static", "outputs": {"a": "text"}},
                 "map": {"a": "a"}}]}, "at least one record field"),
    ({"steps": [{"provider": {"kind": "derived", "cost": 1}, "map": {"size_band": "size_band"}}]},
     "works offline and is free: remove its cost"),
])
def test_a_spec_that_cannot_work_is_refused_with_the_reason(spec, message):
    with pytest.raises(SpecError, match=message):
        parse_spec(spec, "companies")
