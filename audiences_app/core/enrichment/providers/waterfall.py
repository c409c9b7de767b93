"""Steps of an enrichment: one provider, or a waterfall of providers tried in order until
every mapped field is filled, recording which provider filled (won) each field.

A step does not call anything itself: `run_step` asks an `answer(provider)` coroutine for
each provider's outputs (from the cache or from a call — the run decides), so the order
and the stopping rule live here, once, for runs, tests and estimates alike.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from audiences_app.core.enrichment.providers.base import Provider, ProviderError


@dataclass(frozen=True)
class FieldMap:
    """Where one output lands: a key of the record's attributes, typed in the catalog."""

    output: str
    field: str
    type: str
    label: str
    refresh_days: float | None = None


@dataclass
class Step:
    providers: list[Provider]
    mapping: dict[str, FieldMap]

    @property
    def is_waterfall(self) -> bool:
        return len(self.providers) > 1

    @property
    def max_age_days(self) -> float | None:
        """Cache entries older than this are asked again (the shortest refresh interval)."""
        intervals = [m.refresh_days for m in self.mapping.values() if m.refresh_days is not None]
        return min(intervals) if intervals else None

    def expected_cost_milli(self, fill_rates: dict[str, float]) -> float:
        """Cost expected per record: each provider is paid only if those before it left a
        field empty, with the chance given by their fill rates."""
        expected, reach = 0.0, 1.0
        for provider in self.providers:
            expected += reach * provider.cost_milli
            reach *= 1 - fill_rates.get(provider.key, provider.expected_fill)
        return expected

    def max_cost_milli(self) -> int:
        return sum(p.cost_milli for p in self.providers)


@dataclass
class StepOutcome:
    values: dict[str, Any] = field(default_factory=dict)  # field key → value
    winners: dict[str, str] = field(default_factory=dict)  # field key → provider key
    errors: list[str] = field(default_factory=list)


Answer = Callable[[Provider], Awaitable[dict[str, Any] | None]]
"""A provider's coerced outputs for the record ({} found nothing, None: no inputs); raises ProviderError."""


async def run_step(step: Step, answer: Answer) -> StepOutcome:
    outcome = StepOutcome()
    for provider in step.providers:
        missing = [m for m in step.mapping.values() if m.field not in outcome.values and m.output in provider.outputs]
        if not missing:
            continue
        try:
            found = await answer(provider)
        except ProviderError as exc:
            outcome.errors.append(f"{provider.key}: {exc}")
            continue
        for target in missing:
            value = (found or {}).get(target.output)
            if value is not None:
                outcome.values[target.field] = value
                outcome.winners[target.field] = provider.key
        if all(m.field in outcome.values for m in step.mapping.values()):
            break
    return outcome
