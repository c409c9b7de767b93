"""A generic HTTP API column: URL, method, headers and body templates over record fields,
secrets by reference, and JSON paths from the answer to output fields.

    {"kind": "http_api", "name": "firmo", "method": "GET",
     "url": "https://api.example.com/v1/companies?domain={{domain}}",
     "headers": {"Authorization": "Bearer {{secret:firmo_key}}"},
     "body": null,                       # or a JSON template: {"domain": "{{domain}}"}
     "outputs": {"employees": {"path": "$.company.metrics.employees", "type": "number"}},
     "cost": 1, "charge_on_miss": false, "miss_statuses": [404],
     "concurrency": 20, "rate_per_second": 10, "timeout_seconds": 20, "max_response_bytes": 1000000}

Record values in the URL are percent-encoded; header values may not break lines; a secret
bound to hosts is only sent there. Every request carries an Idempotency-Key that stays the
same when the same work is retried (after a crash too), so a provider that honours it bills
the work once.
"""

from __future__ import annotations

import json
from typing import Any

from audiences_app.core.enrichment.providers.base import (
    CallContext, Provider, ProviderError, SpecError, check_path, extract, parse_limits, parse_outputs,
    render_header, render_json, render_url, template_variables,
)
from audiences_app.core.enrichment.runner import FetchError

METHODS = ("GET", "POST", "PUT", "PATCH")


class HttpApiProvider(Provider):
    kind = "http_api"
    network = True

    def __init__(self, spec: dict, *, entity: str):
        super().__init__(spec)
        where = f"http_api provider {self.name!r}"
        self.url = str(spec.get("url") or "")
        if not self.url.lower().startswith(("http://", "https://")):
            raise SpecError(f"{where}: 'url' must start with http:// or https://")
        self.method = str(spec.get("method", "GET")).upper()
        if self.method not in METHODS:
            raise SpecError(f"{where}: method {self.method!r} is not one of {', '.join(METHODS)}")
        self.headers = {str(k): str(v) for k, v in (spec.get("headers") or {}).items()}
        self.body = spec.get("body")
        self.outputs = parse_outputs(spec, where)
        self.paths = {}
        for name, value in spec["outputs"].items():
            path = value.get("path") if isinstance(value, dict) else None
            self.paths[name] = check_path(path or f"$.{name}")
        self.miss_statuses = frozenset(int(s) for s in spec.get("miss_statuses", [404]))
        fields, self.secret_names = template_variables(self.url, self.headers, self.body)
        if not fields:
            raise SpecError(f"{where}: the URL or body must use at least one record field, e.g. {{{{domain}}}}")
        self.inputs = tuple(sorted(fields))
        self.limits = parse_limits(spec, where)

    async def fetch(self, inputs: dict, ctx: CallContext) -> dict[str, Any]:
        url, host = render_url(self.url, inputs, ctx.secrets)
        headers = {k: render_header(v, inputs, ctx.secrets, host) for k, v in self.headers.items()}
        headers.setdefault("accept", "application/json")
        if ctx.idempotency_key:
            headers["idempotency-key"] = ctx.idempotency_key
        content = None
        if self.body is not None:
            content = json.dumps(render_json(self.body, inputs, ctx.secrets, host)).encode()
            headers.setdefault("content-type", "application/json")
        try:
            response = await ctx.runner.fetch(self.key, self.limits, self.method, url, headers=headers, content=content)
        except FetchError as exc:
            raise ProviderError(str(exc), retryable=exc.retryable) from None
        if response.status in self.miss_statuses:
            return {}
        if not 200 <= response.status < 300:
            raise ProviderError(f"{self.name} answered HTTP {response.status}: {response.text()[:200]}")
        try:
            data = json.loads(response.body)
        except ValueError:
            raise ProviderError(f"{self.name} answered with malformed JSON ({len(response.body):,} bytes)") from None
        return {name: extract(data, path) for name, path in self.paths.items()}
