"""Filters in plain English, from the operator registry's phrases and the catalog's labels:
"Industry is any of software, biotech and (Employees is between 50 and 500 or not Country is US)".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from audiences_app.core.segments.operators import SEGMENT_ID
from audiences_app.core.segments.validate import Group, Membership, Negation, Node, parse_filter


def describe(
    filter_json: Any,
    *,
    entity: str,
    fields: Mapping[str, Mapping],
    segment_names: Mapping[int, str] | None = None,
) -> str:
    """The filter as one English sentence; saved segments by name when `segment_names` has it."""
    node = parse_filter(filter_json, entity=entity, fields=fields)
    return describe_node(node, entity=entity, segment_names=segment_names or {})


def describe_node(
    node: Node, *, entity: str, segment_names: Mapping[int, str], nested: bool = False
) -> str:
    if isinstance(node, Group):
        if not node.children:
            return f"all {entity}" if node.kind == "and" else f"no {entity}"
        text = f" {node.kind} ".join(
            describe_node(child, entity=entity, segment_names=segment_names, nested=True)
            for child in node.children
        )
        return f"({text})" if nested and len(node.children) > 1 else text
    if isinstance(node, Negation):
        return "not " + describe_node(node.child, entity=entity, segment_names=segment_names, nested=True)
    if isinstance(node, Membership):
        name = segment_names.get(node.segment_id)
        return node.op.phrase.format(f'"{name}"' if name else SEGMENT_ID.show(node.segment_id))
    return node.op.describe(node.field.label, node.value, node.field.type)
