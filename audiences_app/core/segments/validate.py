"""Checking a filter and turning it into typed nodes, every error naming the node at fault.

`parse_filter` is the one gate between filter JSON (from a URL, a saved segment, the CLI) and
everything else: the compiler, the evaluator and `describe` walk its nodes, never the JSON.
It resolves field names through the catalog, checks each operator against the field's type
and each value against the operator, inlines saved segments through the caller's resolver
(refusing cycles), and bounds the filter's size: 32 levels of nesting, 500 conditions and
5,000 listed values, so that no filter can exhaust Python's stack or SQLite's expression
depth (1,000) or parameter count (32,766).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from audiences_app.core.catalog import ENTITIES
from audiences_app.core.segments.errors import FilterError, quoted
from audiences_app.core.segments.fields import Field, resolve_field
from audiences_app.core.segments.operators import OPERATORS, SEGMENT_ID, SEGMENT_OPERATORS, Operator

MAX_DEPTH = 32
MAX_CONDITIONS = 500
MAX_VALUES = 5_000

SegmentResolver = Callable[[int], Mapping[str, Any]]
"""Saved segment id → its filter JSON (same entity); raises LookupError when there is none."""

_GROUPS = ("and", "or", "not")
_SHAPES = (
    "a condition {field, op, value}, a group {and: [...]} or {or: [...]}, "
    "{not: ...} or a segment {segment, op}"
)


@dataclass(frozen=True)
class Group:
    path: str
    kind: str  # "and" | "or"
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Negation:
    path: str
    child: Node


@dataclass(frozen=True)
class Condition:
    path: str
    field: Field
    op: Operator
    value: Any  # parsed by the operator's value shape; None when it takes none

    def operand(self, as_of: datetime) -> Any:
        try:
            return self.op.operand(self.value, self.field, as_of)
        except (OverflowError, ValueError):
            reason = f"{self.op.key} reaches past the calendar from {as_of:%Y-%m-%d}"
            raise FilterError(self.path, f"field {quoted(self.field.name)}: {reason}") from None


@dataclass(frozen=True)
class Membership:
    path: str
    segment_id: int
    op: Operator
    body: Node | None  # the segment's own filter; None when parsed without a resolver

    def resolved(self) -> Node:
        """The segment's filter; compiling or evaluating membership needs it looked up."""
        if self.body is None:
            raise FilterError(
                self.path, f"{self.op.key} #{self.segment_id} needs saved segments: no segment resolver was given"
            )
        return self.body


Node = Group | Negation | Condition | Membership


def parse_filter(
    filter_json: Any,
    *,
    entity: str,
    fields: Mapping[str, Mapping],
    segment_resolver: SegmentResolver | None = None,
) -> Node:
    """The filter as typed nodes, or FilterError naming the first node that is wrong."""
    if entity not in ENTITIES:
        raise ValueError(f"unknown entity {entity!r}: use one of {', '.join(ENTITIES)}")
    return _Parser(entity, fields, segment_resolver).node(filter_json, "", 1, ())


def validate(
    filter_json: Any,
    *,
    entity: str,
    fields: Mapping[str, Mapping],
    segment_resolver: SegmentResolver | None = None,
) -> None:
    """Raise FilterError when the filter cannot run; saved segments are checked when a
    resolver is given."""
    parse_filter(filter_json, entity=entity, fields=fields, segment_resolver=segment_resolver)


def _join(path: str, step: str) -> str:
    return f"{path}.{step}" if path else step


class _Parser:
    def __init__(self, entity: str, fields: Mapping[str, Mapping], resolver: SegmentResolver | None):
        self.entity = entity
        self.fields = fields
        self.resolver = resolver
        self.conditions = 0
        self.values = 0

    def node(self, raw: Any, path: str, depth: int, segments: tuple[int, ...]) -> Node:
        if not isinstance(raw, dict):
            raise FilterError(path, f"expected {_SHAPES}; got {type(raw).__name__}")
        groups = [key for key in _GROUPS if key in raw]
        if groups:
            if len(raw) != 1:
                extra = next(key for key in raw if key != groups[0])
                raise FilterError(path, f"a group has one key, {groups[0]}; remove {quoted(extra)}")
            if depth > MAX_DEPTH:
                raise FilterError(path, f"filters are limited to {MAX_DEPTH} levels of nesting")
            return self.group(groups[0], raw[groups[0]], path, depth, segments)
        if "segment" in raw:
            return self.membership(raw, path, depth, segments)
        if "field" in raw:
            return self.condition(raw, path)
        raise FilterError(path, f"expected {_SHAPES}; got keys {', '.join(map(quoted, raw)) or 'none'}")

    def group(self, kind: str, items: Any, path: str, depth: int, segments: tuple[int, ...]) -> Node:
        if kind == "not":
            return Negation(path, self.node(items, _join(path, "not"), depth + 1, segments))
        if not isinstance(items, list):
            raise FilterError(path, f"{kind} takes a list of conditions and groups")
        children = tuple(
            self.node(item, _join(path, f"{kind}[{index}]"), depth + 1, segments)
            for index, item in enumerate(items)
        )
        return Group(path, kind, children)

    def count(self, path: str, values: int = 0) -> None:
        self.conditions += 1
        self.values += values
        if self.conditions > MAX_CONDITIONS:
            raise FilterError(path, f"filters are limited to {MAX_CONDITIONS} conditions")
        if self.values > MAX_VALUES:
            raise FilterError(path, f"filters are limited to {MAX_VALUES:,} listed values in all")

    def condition(self, raw: dict, path: str) -> Condition:
        extra = set(raw) - {"field", "op", "value"}
        if extra:
            raise FilterError(path, f"a condition has keys field, op and value; remove {quoted(sorted(extra)[0])}")
        field = resolve_field(raw["field"], entity=self.entity, fields=self.fields, path=path)
        op_key = raw.get("op")
        op = OPERATORS.get(op_key) if isinstance(op_key, str) else None
        if op is None:
            raise FilterError(path, f"field {quoted(field.name)}: unknown operator {quoted(op_key)}")
        if field.type not in op.values:
            usable = ", ".join(o.key for o in OPERATORS.values() if field.type in o.values)
            raise FilterError(
                path, f"field {quoted(field.name)} is {field.type}: {op.key} does not apply (use one of {usable})"
            )
        shape = op.values[field.type]
        raw_value = raw.get("value")
        try:
            value = shape.parse(raw_value)
        except ValueError as reason:
            raise FilterError(path, f"field {quoted(field.name)}: {op.key} needs {shape.expected} ({reason})") from None
        self.count(path, len(value) if shape.kind == "text_list" else 0)
        return Condition(path, field, op, value)

    def membership(self, raw: dict, path: str, depth: int, segments: tuple[int, ...]) -> Membership:
        extra = set(raw) - {"segment", "op"}
        if extra:
            raise FilterError(path, f"a segment condition has keys segment and op; remove {quoted(sorted(extra)[0])}")
        op_key = raw.get("op")
        if op_key not in SEGMENT_OPERATORS:
            raise FilterError(path, f"a segment condition's op is in_segment or not_in_segment, not {quoted(op_key)}")
        try:
            segment_id = SEGMENT_ID.parse(raw["segment"])
        except ValueError as reason:
            raise FilterError(path, f"segment must be {SEGMENT_ID.expected} ({reason})") from None
        self.count(path)
        op = OPERATORS[op_key]
        if self.resolver is None:
            return Membership(path, segment_id, op, None)
        if segment_id in segments:
            chain = " → ".join(f"#{sid}" for sid in (*segments[segments.index(segment_id):], segment_id))
            raise FilterError(path, f"segment #{segment_id} includes itself ({chain})")
        if depth > MAX_DEPTH:
            raise FilterError(path, f"filters are limited to {MAX_DEPTH} levels of nesting, saved segments included")
        try:
            body = self.resolver(segment_id)
        except LookupError:
            raise FilterError(path, f"segment #{segment_id} does not exist") from None
        except FilterError as error:
            raise FilterError(path, f"segment #{segment_id}: {error.message}") from None
        inner = _join(path, f"segment[{segment_id}]")
        return Membership(path, segment_id, op, self.node(body, inner, depth + 1, (*segments, segment_id)))
