"""The provider interface: a record's inputs in, named and typed output fields out.

A provider declares its inputs (record fields), its outputs (name → type), what one call
costs (credits), whether a call that finds nothing is charged, whether its answers are
cached, and a version. The version is the implementation's number plus a hash of the spec,
so changing a URL, a prompt or a mapping path makes earlier cache entries irrelevant, and
a spec that only renames nothing keeps them.

Also here: `{{field}}` / `{{secret:name}}` templates over record fields, a small JSON path
subset ($.a.b[0].c — dotted keys and list indexes; enough for API responses, and nothing
that evaluates expressions), and the coercion of raw answers to the catalog's field types.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

from audiences_app.core.enrichment.runner import CallLimits, HttpRunner
from audiences_app.core.enrichment.secret_store import SecretValue
from audiences_app.core.normalize import clean_text, normalize_domain, normalize_email

OUTPUT_TYPES = ("text", "number", "date", "boolean")
MAX_TEXT = 5_000
NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
_VARIABLE = re.compile(r"\{\{\s*(secret:[a-z][a-z0-9_]*|[a-z_][a-z0-9_]*)\s*\}\}")
_PATH_STEP = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]")
_DOMAIN_INPUTS = frozenset({"domain", "company_domain"})
OPERATIONAL_KEYS = frozenset({"cost", "charge_on_miss", "expected_fill", "concurrency", "rate_per_second", "burst",
                              "timeout_seconds", "max_attempts", "max_response_bytes"})


class SpecError(ValueError):
    """A provider or config spec that cannot work; the message names the part and the fix."""


class ProviderError(Exception):
    """A provider call that failed. `retryable`: the same call later may succeed."""

    def __init__(self, message: str, *, retryable: bool = False):
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class Output:
    name: str
    type: str = "text"
    label: str = ""


@dataclass
class CallContext:
    """What a provider may use during one call: the HTTP runner, the secrets its spec names,
    and an idempotency key stable across retries of the same work (sent as Idempotency-Key)."""

    runner: HttpRunner | None
    secrets: dict[str, SecretValue] = field(default_factory=dict)
    idempotency_key: str = ""


# -- templates ------------------------------------------------------------------------------------

def template_variables(*templates: Any) -> tuple[set[str], set[str]]:
    """(record fields, secret names) that the templates refer to (strings, lists, dicts)."""
    fields, secrets = set(), set()

    def walk(value: Any) -> None:
        if isinstance(value, str):
            for name in _VARIABLE.findall(value):
                (secrets.add(name[7:]) if name.startswith("secret:") else fields.add(name))
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for template in templates:
        walk(template)
    return fields, secrets


def render(template: str, values: dict[str, Any], secrets: dict[str, SecretValue] | None, *,
           host: str | None = None, escape=lambda text: text) -> str:
    """The template with `{{field}}` and `{{secret:name}}` filled in; `escape` applies to
    record values (URL quoting in URLs). A secret bound to hosts is only given to those hosts.
    With `secrets=None` secrets become a placeholder (to find where a URL points)."""

    def fill(match: re.Match) -> str:
        name = match.group(1)
        if name.startswith("secret:"):
            if secrets is None:
                return "secret"
            secret = secrets[name[7:]]
            if secret.hosts and (host or "").lower() not in secret.hosts:
                raise ProviderError(f"secret {secret.name!r} may only be sent to {', '.join(sorted(secret.hosts))}, "
                                    f"not to {host or 'this destination'}")
            return secret.reveal()
        value = values.get(name)
        return "" if value is None else escape(str(value))

    return _VARIABLE.sub(fill, template)


def render_url(template: str, values: dict[str, Any], secrets: dict[str, SecretValue]) -> tuple[str, str]:
    """(URL, host) from a URL template: record values are percent-encoded, so a value can
    never add a path segment, a query parameter or another host."""
    host = (urlsplit(render(template, values, None, escape=_quote)).hostname or "").lower()
    return render(template, values, secrets, host=host, escape=_quote), host


def _quote(text: str) -> str:
    return quote(text, safe="")


def render_header(template: str, values: dict[str, Any], secrets: dict[str, SecretValue], host: str) -> str:
    text = render(template, values, secrets, host=host)
    if "\r" in text or "\n" in text:
        raise ProviderError("a header value may not contain a line break")
    return text


def render_json(template: Any, values: dict[str, Any], secrets: dict[str, SecretValue], host: str) -> Any:
    """A JSON body template: a string that is exactly "{{field}}" becomes the value itself
    (number, bool…); other strings are filled in as text."""
    if isinstance(template, str):
        whole = _VARIABLE.fullmatch(template.strip())
        if whole and not whole.group(1).startswith("secret:"):
            return values.get(whole.group(1))
        return render(template, values, secrets, host=host)
    if isinstance(template, dict):
        return {key: render_json(item, values, secrets, host) for key, item in template.items()}
    if isinstance(template, list):
        return [render_json(item, values, secrets, host) for item in template]
    return template


# -- JSON paths ------------------------------------------------------------------------------------

def check_path(path: str) -> str:
    """A JSON path of the supported subset ('$.a.b[0]'), normalized; SpecError otherwise."""
    text = path.strip()
    if not text.startswith("$"):
        text = "$." + text
    rest = text[1:]
    if rest and "".join(m.group(0) for m in _PATH_STEP.finditer(rest)) != rest:
        raise SpecError(f"JSON path {path!r} is not supported: use $.key.key[0] (keys and list indexes)")
    return text


def extract(data: Any, path: str) -> Any:
    """The value at `path` in parsed JSON, or None when any step is missing."""
    for match in _PATH_STEP.finditer(check_path(path)[1:]):
        key, index = match.groups()
        if key is not None:
            data = data.get(key) if isinstance(data, dict) else None
        else:
            data = data[int(index)] if isinstance(data, list) and int(index) < len(data) else None
        if data is None:
            return None
    return data


# -- values --------------------------------------------------------------------------------------

def coerce(kind: str, value: Any) -> Any:
    """A raw answer as a value of the field type, or None when it cannot be one (never NaN)."""
    if value is None:
        return None
    if kind == "text":
        if isinstance(value, (dict, list)):
            value = json.dumps(value, ensure_ascii=False)
        text = " ".join(str(value).split())
        return text[:MAX_TEXT] or None
    if kind == "number":
        if isinstance(value, bool):
            return None
        if isinstance(value, str):
            try:
                value = float(value.replace(",", "").strip())
            except ValueError:
                return None
        if isinstance(value, (int, float)) and math.isfinite(value):
            return int(value) if float(value).is_integer() and abs(value) < 2**53 else float(value)
        return None
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "yes", "1", "false", "no", "0"):
            return value.strip().lower() in ("true", "yes", "1")
        return None
    if kind == "date":
        if isinstance(value, (date, datetime)):
            return value.isoformat()[:10]
        if isinstance(value, str) and re.match(r"\d{4}-\d{2}-\d{2}", value.strip()):
            try:
                return date.fromisoformat(value.strip()[:10]).isoformat()
            except ValueError:
                return None
        return None
    raise SpecError(f"unknown output type {kind!r}")


def normalize_input(name: str, value: Any) -> Any:
    """A record value as providers see it, so equal inputs hash alike (cache keys)."""
    if value is None:
        return None
    if name in _DOMAIN_INPUTS:
        return normalize_domain(str(value))
    if name == "email":
        return normalize_email(str(value))
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def record_value(record: dict, name: str) -> Any:
    """A field of a record dict (columns, then `attributes`)."""
    if name in record and name != "attributes":
        return record[name]
    return (record.get("attributes") or {}).get(name)


def spec_hash(spec: Any) -> str:
    return hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()[:16]


# -- the interface --------------------------------------------------------------------------------

class Provider(ABC):
    """Turns a record's inputs into output fields.

    Subclasses set `kind`, `IMPLEMENTATION` (raise it when the code's answers change), and
    in `__init__` their `inputs`, `outputs` and limits; `fetch` does the work.
    """

    kind: ClassVar[str]
    IMPLEMENTATION: ClassVar[int] = 1
    network: ClassVar[bool] = False
    """Calls leave the machine: they go through the runner, count as calls and are cached."""

    def __init__(self, spec: dict):
        self.spec = dict(spec)
        self.name = str(spec.get("name") or self.kind)
        if not NAME.fullmatch(self.name):
            raise SpecError(f"provider name {self.name!r}: use lower-case letters, digits and _")
        self.cost_milli = credits_to_milli(spec.get("cost", 0), f"{self.kind} provider {self.name!r} cost")
        if self.cost_milli and not self.network:
            # Only calls that leave the machine are charged: a price here would be shown in
            # estimates and never taken, so it is refused rather than silently ignored.
            raise SpecError(f"{self.kind} provider {self.name!r} works offline and is free: remove its cost")
        self.charge_on_miss = bool(spec.get("charge_on_miss", False))
        self.expected_fill = float(spec.get("expected_fill", 0.6))
        if not 0 <= self.expected_fill <= 1:
            raise SpecError(f"{self.name}: expected_fill is a share between 0 and 1")
        self.inputs: tuple[str, ...] = ()
        self.outputs: dict[str, Output] = {}
        self.secret_names: set[str] = set()
        self.limits = CallLimits()

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.name}"

    @property
    def version(self) -> str:
        """What the answers depend on: the code and the spec, less the knobs that only change
        how (fast, how often, at what price) the same question is asked."""
        asked = {k: v for k, v in self.spec.items() if k not in OPERATIONAL_KEYS}
        return f"{self.IMPLEMENTATION}.{spec_hash(asked)}"

    @property
    def cacheable(self) -> bool:
        return self.network

    def read_inputs(self, record: dict) -> dict | None:
        """The normalized inputs of a record, or None when it lacks what a call needs."""
        values = {name: normalize_input(name, record_value(record, name)) for name in self.inputs}
        if not any(v not in (None, "") for v in values.values()):
            return None
        return values

    def prepare(self) -> None:
        """Load what calls need before they start (outside the event loop); default nothing."""

    def input_hash(self, inputs: dict) -> str:
        return hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()

    @abstractmethod
    async def fetch(self, inputs: dict, ctx: CallContext) -> dict[str, Any]:
        """Output name → raw value for what was found ({} when nothing was); ProviderError on failure."""

    def coerce_outputs(self, raw: dict[str, Any]) -> dict[str, Any]:
        found = {}
        for name, output in self.outputs.items():
            value = coerce(output.type, raw.get(name))
            if value is not None:
                found[name] = value
        return found

    def describe(self) -> dict:
        return {"key": self.key, "kind": self.kind, "version": self.version, "cost": self.cost_milli / 1000,
                "charge_on_miss": self.charge_on_miss, "network": self.network, "inputs": list(self.inputs),
                "outputs": {o.name: o.type for o in self.outputs.values()}}


def credits_to_milli(value: Any, what: str) -> int:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SpecError(f"{what} must be a number of credits, not {value!r}") from None
    if not math.isfinite(number) or number < 0 or number > 1_000_000:
        raise SpecError(f"{what} must be between 0 and 1,000,000 credits")
    return round(number * 1000)


def parse_outputs(spec: dict, where: str) -> dict[str, Output]:
    """`outputs`: {name: type} or {name: {"type": …, "label": …, …}}."""
    raw = spec.get("outputs")
    if not isinstance(raw, dict) or not raw:
        raise SpecError(f"{where}: 'outputs' must name at least one output field")
    outputs = {}
    for name, value in raw.items():
        if not NAME.fullmatch(name):
            raise SpecError(f"{where}: output name {name!r}: use lower-case letters, digits and _")
        kind = value if isinstance(value, str) else (value or {}).get("type", "text")
        if kind not in OUTPUT_TYPES:
            raise SpecError(f"{where}: output {name!r} has type {kind!r}; use one of {', '.join(OUTPUT_TYPES)}")
        label = "" if isinstance(value, str) else str((value or {}).get("label", ""))
        outputs[name] = Output(name, kind, label)
    return outputs


def parse_limits(spec: dict, where: str, **defaults: Any) -> CallLimits:
    names = ("concurrency", "rate_per_second", "burst", "timeout_seconds", "max_response_bytes", "max_attempts")
    values = {**defaults, **{name: spec[name] for name in names if name in spec}}
    try:
        return CallLimits(**values)
    except (TypeError, ValueError) as exc:
        raise SpecError(f"{where}: {exc}") from None
