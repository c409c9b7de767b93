"""An enrichment spec: its steps (providers or waterfalls) and where each output lands.

    {"steps": [
        {"provider": {"kind": "derived"}, "map": {"size_band": "size_band"}},
        {"waterfall": [{"kind": "http_api", "name": "cheap", …}, {"kind": "http_api", "name": "dear", …}],
         "map": {"employees": {"field": "employees_est", "label": "Employees (est.)", "refresh_days": 90}}}
     ],
     "spend_limit": 500}

Outputs land in the records' `attributes` under custom field keys, described in the catalog
(source "enrichment", type from the provider's output), so a segment can filter on them as
soon as they are written. Core columns are never written by enrichment: they are the
source's data, and an enrichment that disagrees belongs in a field of its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from audiences_app.core.catalog import CORE_FIELDS, ENTITIES
from audiences_app.core.enrichment.providers.ai_prompt import AiPromptProvider
from audiences_app.core.enrichment.providers.base import Provider, SpecError, credits_to_milli
from audiences_app.core.enrichment.providers.derived import DerivedProvider
from audiences_app.core.enrichment.providers.http_api import HttpApiProvider
from audiences_app.core.enrichment.providers.reference import ReferenceProvider
from audiences_app.core.enrichment.providers.waterfall import FieldMap, Step
from audiences_app.core.enrichment.providers.website import WebsiteProvider
from audiences_app.core.models import TABLES

PROVIDERS: dict[str, type[Provider]] = {
    cls.kind: cls for cls in (DerivedProvider, ReferenceProvider, WebsiteProvider, HttpApiProvider, AiPromptProvider)
}
FIELD_KEY = re.compile(r"[a-z][a-z0-9_]{0,79}")
MAX_STEPS = 20


@dataclass
class Plan:
    """A spec, parsed: the steps, their providers, and the run's own spend limit."""

    entity: str
    steps: list[Step]
    run_spend_limit_milli: int | None

    @property
    def providers(self) -> list[Provider]:
        return [p for step in self.steps for p in step.providers]

    @property
    def fields(self) -> dict[str, FieldMap]:
        return {m.field: m for step in self.steps for m in step.mapping.values()}

    @property
    def secret_names(self) -> set[str]:
        return {name for p in self.providers for name in p.secret_names}

    @property
    def network(self) -> bool:
        return any(p.network for p in self.providers)


def build_provider(spec: Any, entity: str) -> Provider:
    if not isinstance(spec, dict) or spec.get("kind") not in PROVIDERS:
        kind = spec.get("kind") if isinstance(spec, dict) else spec
        raise SpecError(f"unknown provider kind {kind!r}: use one of {', '.join(PROVIDERS)}")
    return PROVIDERS[spec["kind"]](spec, entity=entity)


def _check_field_key(entity: str, key: str, where: str) -> None:
    if not FIELD_KEY.fullmatch(key):
        raise SpecError(f"{where}: field key {key!r}: use lower-case letters, digits and _, starting with a letter")
    if key in {f.key for f in CORE_FIELDS[entity]} or key in TABLES[entity].__table__.c or key == "location":
        raise SpecError(f"{where}: {key!r} is a core field of {entity}; enrichment writes custom fields — choose another key")


def _mapping(raw: Any, providers: list[Provider], entity: str, where: str) -> dict[str, FieldMap]:
    if not isinstance(raw, dict) or not raw:
        raise SpecError(f"{where}: 'map' names at least one output and the field it lands in")
    mapping = {}
    for output, target in raw.items():
        offering = [p for p in providers if output in p.outputs]
        if not offering:
            names = sorted({o for p in providers for o in p.outputs})
            raise SpecError(f"{where}: no provider of this step has an output {output!r} (outputs: {', '.join(names)})")
        types = {p.outputs[output].type for p in offering}
        if len(types) > 1:
            raise SpecError(f"{where}: the providers disagree on the type of {output!r} ({', '.join(sorted(types))})")
        target = {"field": target} if isinstance(target, str) else dict(target or {})
        key = str(target.get("field") or output)
        _check_field_key(entity, key, where)
        label = str(target.get("label") or offering[0].outputs[output].label or key.replace("_", " ").capitalize())
        refresh = target.get("refresh_days")
        if refresh is not None and (not isinstance(refresh, (int, float)) or refresh <= 0):
            raise SpecError(f"{where}: refresh_days of {output!r} must be a positive number of days")
        mapping[output] = FieldMap(output, key, types.pop(), label[:120], refresh)
    return mapping


def parse_spec(spec: Any, entity: str) -> Plan:
    """The spec as a Plan; SpecError names the step and the part that is wrong."""
    if entity not in ENTITIES:
        raise SpecError(f"unknown entity {entity!r}: use one of {', '.join(ENTITIES)}")
    if not isinstance(spec, dict) or not isinstance(spec.get("steps"), list) or not spec["steps"]:
        raise SpecError("an enrichment spec has 'steps': a list of {\"provider\": …} or {\"waterfall\": […]} with a 'map'")
    if len(spec["steps"]) > MAX_STEPS:
        raise SpecError(f"an enrichment has at most {MAX_STEPS} steps")
    steps, keys, fields = [], set(), set()
    for number, raw in enumerate(spec["steps"], start=1):
        where = f"step {number}"
        if not isinstance(raw, dict) or ("provider" in raw) == ("waterfall" in raw):
            raise SpecError(f"{where}: give either 'provider' (one) or 'waterfall' (a list, tried in order)")
        specs = [raw["provider"]] if "provider" in raw else raw["waterfall"]
        if not isinstance(specs, list) or not specs:
            raise SpecError(f"{where}: a waterfall lists at least one provider")
        try:
            providers = [build_provider(s, entity) for s in specs]
        except SpecError as exc:
            raise SpecError(f"{where}: {exc}") from None
        for provider in providers:
            if provider.key in keys:
                raise SpecError(f"{where}: provider {provider.key!r} appears twice; give each a distinct 'name'")
            keys.add(provider.key)
        mapping = _mapping(raw.get("map"), providers, entity, where)
        for target in mapping.values():
            if target.field in fields:
                raise SpecError(f"{where}: field {target.field!r} is filled by an earlier step already")
            fields.add(target.field)
        steps.append(Step(providers, mapping))
    limit = spec.get("spend_limit")
    return Plan(entity, steps, None if limit is None else credits_to_milli(limit, "spend_limit"))
