"""Segment filters: the filter JSON of DESIGN.md checked, compiled to SQL, evaluated in Python
and described in English.

    validate(filter_json, entity=..., fields=...)              FilterError naming the node
    compile_filter(filter_json, entity=..., fields=..., dialect_name=..., as_of=...)
                                                                a WHERE clause on the entity's table
    matching_ids(conn, workspace_id, entity, filter_json) / count_matching(...)
    evaluate(filter_json, record, entity=..., fields=..., as_of=...)   the reference evaluator
    describe(filter_json, entity=..., fields=...)               one English sentence
    filter_sql(...)                                             "View SQL", values written in
    operators_for(field_type)                                   the builder's operator menu

`fields` is `filter_fields(conn, workspace_id, entity)`: the catalog, plus `company.<key>` for
people. Saved segments plug in through `segment_resolver`: segment id → its filter JSON.

Over a workspace's data (catalog and saved segments resolved for you):

    saved.py     saved segments and their versions, diff before saving, last counts
    members.py   member pages, capped and exact counts, export, value suggestions
    explain.py   per-clause counts (funnel) and why one record is in or out
    resolve.py   the clause they share, and counts bounded by a time limit
"""

from audiences_app.core.segments.compiler import (
    compile_filter, compile_node, count_matching, filter_sql, matching_ids, members_query, segment_query,
)
from audiences_app.core.segments.describe import describe, describe_node
from audiences_app.core.segments.errors import FilterError
from audiences_app.core.segments.evaluate import evaluate, node_predicate, record_predicate
from audiences_app.core.segments.fields import Field, fields_for, filter_fields, fold
from audiences_app.core.segments.operators import OPERATORS, Operator, ValueShape, operators_for
from audiences_app.core.segments.validate import (
    MAX_CONDITIONS, MAX_DEPTH, Node, SegmentResolver, parse_filter, validate,
)

__all__ = [
    "MAX_CONDITIONS", "MAX_DEPTH", "OPERATORS", "Field", "FilterError", "Node", "Operator",
    "SegmentResolver", "ValueShape", "compile_filter", "compile_node", "count_matching",
    "describe", "describe_node", "evaluate", "fields_for", "filter_fields", "filter_sql", "fold",
    "matching_ids", "members_query", "node_predicate", "operators_for", "parse_filter", "record_predicate",
    "segment_query", "validate",
]
