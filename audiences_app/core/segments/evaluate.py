"""The reference evaluator: a filter run in plain Python over record dicts.

It is the filter's meaning written without SQL, for tests (the differential test holds the
compiler to it on both backends) and for "why is this record in or out". A record dict holds
the entity's columns by name, `attributes` (the JSON dict), `tags` (names) and, for a person,
`company` (the company's dict, with its own `tags`, or None).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from typing import Any

from audiences_app.core.segments.fields import read
from audiences_app.core.segments.operators import clock
from audiences_app.core.segments.validate import (
    Condition, Group, Membership, Negation, Node, SegmentResolver, parse_filter,
)

RecordTest = Callable[[Mapping[str, Any]], bool]


def record_predicate(
    filter_json: Any,
    *,
    entity: str,
    fields: Mapping[str, Mapping],
    as_of: datetime | date | None = None,
    segment_resolver: SegmentResolver | None = None,
) -> RecordTest:
    """The filter as a Python function of one record dict; parse once, call per record."""
    node = parse_filter(filter_json, entity=entity, fields=fields, segment_resolver=segment_resolver)
    return node_predicate(node, as_of=as_of)


def evaluate(
    filter_json: Any,
    record: Mapping[str, Any],
    *,
    entity: str,
    fields: Mapping[str, Mapping],
    as_of: datetime | date | None = None,
    company: Mapping[str, Any] | None = None,
    tags: Iterable[str] | None = None,
    segment_resolver: SegmentResolver | None = None,
) -> bool:
    """Whether one record matches; `company` and `tags`, when given, override the record's."""
    record = dict(record)
    if company is not None:
        record["company"] = company
    if tags is not None:
        record["tags"] = tags
    predicate = record_predicate(
        filter_json, entity=entity, fields=fields, as_of=as_of, segment_resolver=segment_resolver
    )
    return predicate(record)


def node_predicate(node: Node, *, as_of: datetime | date | None = None) -> RecordTest:
    return _predicate(node, clock(as_of))


def _predicate(node: Node, as_of: datetime) -> RecordTest:
    if isinstance(node, Group):
        children = [_predicate(child, as_of) for child in node.children]
        if node.kind == "and":
            return lambda record: all(child(record) for child in children)
        return lambda record: any(child(record) for child in children)
    if isinstance(node, Negation):
        child = _predicate(node.child, as_of)
        return lambda record: not child(record)
    if isinstance(node, Membership):
        body = _predicate(node.resolved(), as_of)
        return (lambda record: not body(record)) if node.op.negated else body
    return _condition(node, as_of)


def _condition(node: Condition, as_of: datetime) -> RecordTest:
    field, test, negated = node.field, node.op.test, node.op.negated
    operand = node.operand(as_of)

    def matches(record: Mapping[str, Any]) -> bool:
        value = read(field, record)
        return (value is not None and test(value, operand)) != negated

    return matches
