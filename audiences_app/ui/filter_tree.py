"""The segment builder's filter as a flat list of nodes, and the way to and from filter JSON.

A page cannot recurse over a tree of any depth, so the builder keeps the filter as a list of
nodes in reading order (a group, then its children, each with its parent's id and its depth)
and renders it as indented rows. This module is plain Python: it edits that list (add,
remove, move, toggle), turns it into the filter JSON of DESIGN.md and reads a filter JSON back
into it. The state calls it; the tests call it directly.

What the user is still typing is kept as text (`value`, `value2`, `values`) and only becomes
JSON here, so that a half-typed number is a hint beside its condition, not an error for the
whole filter. `to_filter` leaves out conditions that are incomplete or invalid (and groups
left empty by that) and reports why beside each; the core then checks each condition as it
would check a saved filter, so every message comes from the same rules.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypedDict

from audiences_app.core.segments import MAX_DEPTH, FilterError, operators_for, parse_filter
from audiences_app.core.segments.operators import MAX_AMOUNT, OPERATORS, show_number

# A filter is bounded by what one page can show and one request can carry.
MAX_NODES = 200
MAX_TEXT_LENGTH = 1_000
MAX_LIST_VALUES = 500
MAX_TOTAL_TEXT = 100_000  # characters of values in the whole filter: keeps the page's state small
MAX_LINK_LENGTH = 32_000  # characters of ?f=…: what browsers and proxies reliably pass on

SEGMENT_FIELD = "@segment"  # the field picker's entry for "is in segment"; no catalog key starts with @
SEGMENT_LABEL = "Saved segment"
UNITS = tuple(MAX_AMOUNT)  # day week month year
DEFAULT_OPERATOR = {"date": "within_last", "datetime": "within_last"}  # else the type's first
ROOT_ID = "n0"


class FilterNode(TypedDict):
    """One row of the builder: a group (and/or, maybe negated) or a condition."""

    id: str
    parent: str  # "" for the root group
    depth: int  # 0 for the root group
    kind: str  # "group" | "condition"
    group: str  # groups: "and" | "or"
    negated: bool
    field: str  # conditions: a catalog key, SEGMENT_FIELD, or "" until chosen
    field_label: str
    field_type: str  # text number date datetime boolean list segment
    op: str
    shape: str  # the operator's value kind: none text text_list number number_range date date_range relative segment
    value: str  # text, number, date, amount, segment id; the lower end of a range
    value2: str  # the upper end of a range; the unit of a relative date
    values: list[str]  # the listed values of in / not_in / contains_any …
    # Display-ready, recomputed after every change:
    lead: str  # "Where" before a group's first child, then the group's "and" / "or"
    first: bool  # first among its siblings (cannot move up)
    last: bool  # last among its siblings (cannot move down)
    problem: str  # why the condition is left out of the filter, or what the core refused
    invalid: bool  # the problem is an error to fix, not a condition still being filled in
    count: str  # the funnel: how many records are left after this clause ("1,234"), when counted
    count_hint: str  # what the count means, in a sentence


def _node(node_id: str, parent: str, kind: str, **values: Any) -> FilterNode:
    node: FilterNode = {
        "id": node_id, "parent": parent, "depth": 0, "kind": kind, "group": "and", "negated": False,
        "field": "", "field_label": "", "field_type": "", "op": "", "shape": "",
        "value": "", "value2": "", "values": [],
        "lead": "", "first": True, "last": True, "problem": "", "invalid": False, "count": "", "count_hint": "",
    }
    node.update(values)  # type: ignore[typeddict-item]
    return node


def new_tree() -> list[FilterNode]:
    """An empty AND group: matches every record."""
    return [_node(ROOT_ID, "", "group")]


def next_id(nodes: list[FilterNode]) -> str:
    """An id no node has: one more than the largest."""
    return f"n{max(int(node['id'][1:]) for node in nodes) + 1}"


# -- structure --------------------------------------------------------------------------------

def find(nodes: list[FilterNode], node_id: Any) -> FilterNode:
    """The node with this id; ValueError (a message for the user) when there is none."""
    if isinstance(node_id, str):
        for node in nodes:
            if node["id"] == node_id:
                return node
    raise ValueError("That condition is no longer in the filter; the page was out of date. Try again.")


def _children(nodes: list[FilterNode]) -> dict[str, list[FilterNode]]:
    children: dict[str, list[FilterNode]] = {}
    for node in nodes:
        children.setdefault(node["parent"], []).append(node)
    return children


def _flatten(children: dict[str, list[FilterNode]], root: FilterNode) -> list[FilterNode]:
    """The tree in reading order, with depth, lead and sibling flags recomputed."""
    out: list[FilterNode] = []

    def visit(node: FilterNode, depth: int, lead: str, first: bool, last: bool) -> None:
        out.append({**node, "depth": depth, "lead": lead, "first": first, "last": last})
        kids = children.get(node["id"], [])
        for index, child in enumerate(kids):
            child_lead = "Where" if index == 0 else node["group"]
            visit(child, depth + 1, child_lead, index == 0, index == len(kids) - 1)

    visit(root, 0, "", True, True)
    return out


def relabel(nodes: list[FilterNode]) -> list[FilterNode]:
    root = nodes[0]
    return _flatten(_children(nodes), root)


def _subtree_ids(nodes: list[FilterNode], node_id: str) -> set[str]:
    ids = {node_id}
    for node in nodes:  # reading order: a parent comes before its children
        if node["parent"] in ids:
            ids.add(node["id"])
    return ids


def nesting(nodes: list[FilterNode], node_id: str) -> int:
    """How deep the filter JSON is at this node: one level per group and per `not`
    (what the core's 32-level limit counts)."""
    by_id = {node["id"]: node for node in nodes}
    levels, node = 0, by_id[node_id]
    while True:
        levels += (node["kind"] == "group") + node["negated"]
        if not node["parent"]:
            return levels
        node = by_id[node["parent"]]


def _check_size(nodes: list[FilterNode], adding: int) -> None:
    if len(nodes) + adding > MAX_NODES:
        raise ValueError(f"A segment can have at most {MAX_NODES} conditions and groups.")


def _group(nodes: list[FilterNode], group_id: Any) -> FilterNode:
    group = find(nodes, group_id)
    if group["kind"] != "group":
        raise ValueError("Conditions can only be added to a group.")
    return group


def _append_child(nodes: list[FilterNode], parent: str, *new: FilterNode) -> list[FilterNode]:
    """`new` inserted after the parent's last descendant, as its last children."""
    subtree = _subtree_ids(nodes, parent)
    position = max(index for index, node in enumerate(nodes) if node["id"] in subtree) + 1
    return relabel([*nodes[:position], *new, *nodes[position:]])


def add_condition(nodes: list[FilterNode], group_id: Any) -> tuple[list[FilterNode], str]:
    """A new, empty condition at the end of the group; returns the tree and its id."""
    group = _group(nodes, group_id)
    _check_size(nodes, 1)
    new_id = next_id(nodes)
    return _append_child(nodes, group["id"], _node(new_id, group["id"], "condition")), new_id


def add_group(nodes: list[FilterNode], group_id: Any) -> tuple[list[FilterNode], str]:
    """A new group (the other conjunction than its parent's) holding one empty condition."""
    group = _group(nodes, group_id)
    _check_size(nodes, 2)
    if nesting(nodes, group["id"]) + 1 > MAX_DEPTH:
        raise ValueError(f"Groups can be nested at most {MAX_DEPTH} levels deep.")
    new_id = next_id(nodes)
    condition_id = f"n{int(new_id[1:]) + 1}"
    kind = "or" if group["group"] == "and" else "and"
    return _append_child(
        nodes, group["id"],
        _node(new_id, group["id"], "group", group=kind),
        _node(condition_id, new_id, "condition"),
    ), condition_id


def remove(nodes: list[FilterNode], node_id: Any) -> list[FilterNode]:
    """The tree without the node and everything inside it; the root group stays."""
    node = find(nodes, node_id)
    if not node["parent"]:
        raise ValueError("The top group cannot be removed; remove its conditions instead.")
    gone = _subtree_ids(nodes, node["id"])
    return relabel([n for n in nodes if n["id"] not in gone])


def move(nodes: list[FilterNode], node_id: Any, direction: Any) -> list[FilterNode]:
    """The node (with what it holds) swapped with its previous ("up") or next ("down") sibling."""
    node = find(nodes, node_id)
    if direction not in ("up", "down"):
        raise ValueError("Move a condition up or down.")
    if not node["parent"]:
        return nodes
    children = _children(nodes)
    siblings = children[node["parent"]]
    index = next(i for i, sibling in enumerate(siblings) if sibling["id"] == node["id"])
    other = index - 1 if direction == "up" else index + 1
    if not 0 <= other < len(siblings):
        return nodes
    siblings[index], siblings[other] = siblings[other], siblings[index]
    return _flatten(children, nodes[0])


def set_group_kind(nodes: list[FilterNode], group_id: Any, kind: Any) -> list[FilterNode]:
    group = _group(nodes, group_id)
    if kind not in ("and", "or"):
        raise ValueError("A group matches all (and) or any (or) of its conditions.")
    return relabel([{**n, "group": kind} if n["id"] == group["id"] else n for n in nodes])


def toggle_negated(nodes: list[FilterNode], node_id: Any) -> list[FilterNode]:
    node = find(nodes, node_id)
    if not node["negated"]:
        # The `not` is one more level for everything inside the node.
        deepest = max(nesting(nodes, inner) for inner in _subtree_ids(nodes, node["id"]))
        if deepest + 1 > MAX_DEPTH:
            raise ValueError(f"Groups can be nested at most {MAX_DEPTH} levels deep, each 'not' counting as one.")
    return [{**n, "negated": not n["negated"]} if n["id"] == node["id"] else n for n in nodes]


# -- editing one condition --------------------------------------------------------------------

@dataclass(frozen=True)
class FieldChoice:
    key: str
    label: str
    type: str


def condition(nodes: list[FilterNode], node_id: Any) -> FilterNode:
    node = find(nodes, node_id)
    if node["kind"] != "condition":
        raise ValueError("That is a group, not a condition.")
    return node


def _replace(nodes: list[FilterNode], node_id: str, **changes: Any) -> list[FilterNode]:
    return [{**n, **changes, "problem": "", "invalid": False, "count": "", "count_hint": ""} if n["id"] == node_id else n for n in nodes]  # type: ignore[typeddict-item]


def operator_keys(field_type: str) -> list[str]:
    return [op.key for op in operators_for(field_type)]


def shape_of(field_type: str, op: str) -> str:
    return OPERATORS[op].values[field_type].kind


def set_field(nodes: list[FilterNode], node_id: Any, choice: FieldChoice) -> list[FilterNode]:
    """Choose the condition's field: its value is cleared, and its operator kept when the new
    field has the same type (else the type's default)."""
    node = condition(nodes, node_id)
    if node["field"] == choice.key:
        return nodes
    ops = operator_keys(choice.type)
    keep_op = node["field_type"] == choice.type and node["op"] in ops
    op = node["op"] if keep_op else DEFAULT_OPERATOR.get(choice.type, ops[0])
    shape = shape_of(choice.type, op)
    return _replace(
        nodes, node["id"], field=choice.key, field_label=choice.label, field_type=choice.type, op=op,
        shape=shape, value="", value2="day" if shape == "relative" else "", values=[],
    )


# Value kinds that read the same single value: a text carries into a list and back, a
# number into a range (as its lower end), a date into a date range.
_SINGLE = {
    "text": "text", "text_list": "text", "number": "number", "number_range": "number",
    "date": "date", "date_range": "date",
}


def _carried(node: FilterNode, shape: str) -> dict[str, Any]:
    """The value a condition keeps when its operator changes to one taking `shape`."""
    old = node["shape"]
    if shape == old:
        return {}
    first = node["values"][0] if node["values"] else node["value"]
    if _SINGLE.get(shape) is not None and _SINGLE.get(shape) == _SINGLE.get(old):
        if shape == "text_list":
            return {"value": "", "value2": "", "values": [first] if first.strip() else []}
        return {"value": first, "value2": "", "values": []}
    return {"value": "", "value2": "day" if shape == "relative" else "", "values": []}


def set_operator(nodes: list[FilterNode], node_id: Any, op: Any) -> list[FilterNode]:
    """Choose the operator; the value carries over as far as it still fits."""
    node = condition(nodes, node_id)
    if not node["field"]:
        raise ValueError("Choose a field first.")
    if not isinstance(op, str) or op not in operator_keys(node["field_type"]):
        raise ValueError(f"{node['field_label']} cannot be compared with {str(op)[:40]!r}.")
    shape = shape_of(node["field_type"], op)
    return _replace(nodes, node["id"], op=op, shape=shape, **_carried(node, shape))


def _within_budget(nodes: list[FilterNode]) -> list[FilterNode]:
    total = sum(len(n["value"]) + len(n["value2"]) + sum(len(v) for v in n["values"]) for n in nodes)
    if total > MAX_TOTAL_TEXT:
        raise ValueError(f"A filter's values are limited to {MAX_TOTAL_TEXT:,} characters in all.")
    return nodes


def _text(value: Any, what: str = "A value") -> str:
    if not isinstance(value, str):
        raise ValueError(f"{what} must be text.")
    if len(value) > MAX_TEXT_LENGTH:
        raise ValueError(f"{what} is limited to {MAX_TEXT_LENGTH:,} characters.")
    return value


def set_value(nodes: list[FilterNode], node_id: Any, value: Any, *, second: bool = False) -> list[FilterNode]:
    """Set the value as typed (or the upper end of a range / the unit of a relative date)."""
    node = condition(nodes, node_id)
    text = _text(value)
    if second and node["shape"] == "relative" and text not in UNITS:
        raise ValueError(f"The unit is one of {', '.join(UNITS)}.")
    return _within_budget(_replace(nodes, node["id"], **{"value2" if second else "value": text}))


def add_list_value(nodes: list[FilterNode], node_id: Any, value: Any) -> list[FilterNode]:
    """Add one listed value (case and surrounding spaces ignored, as the filter compares)."""
    node = condition(nodes, node_id)
    if node["shape"] != "text_list":
        raise ValueError(f"{node['field_label'] or 'This condition'} takes one value, not a list.")
    text = _text(value).strip()
    if not text:
        return nodes
    if text.casefold() in {v.casefold() for v in node["values"]}:
        return nodes
    if len(node["values"]) >= MAX_LIST_VALUES:
        raise ValueError(f"A condition can list at most {MAX_LIST_VALUES} values.")
    return _within_budget(_replace(nodes, node["id"], values=[*node["values"], text]))


def remove_list_value(nodes: list[FilterNode], node_id: Any, value: Any) -> list[FilterNode]:
    node = condition(nodes, node_id)
    text = _text(value)
    return _replace(nodes, node["id"], values=[v for v in node["values"] if v != text])


# -- to filter JSON ---------------------------------------------------------------------------

@dataclass
class Compiled:
    """The runnable part of the builder's filter, and where each of its nodes came from."""

    filter: dict
    problems: dict[str, str] = field(default_factory=dict)  # node id → why it is left out
    invalid: set[str] = field(default_factory=set)  # nodes whose problem is an error, not unfinished
    paths: dict[str, str] = field(default_factory=dict)  # filter path → node id (its `not` too)
    node_paths: dict[str, str] = field(default_factory=dict)  # node id → its path (outside its `not`)

    @property
    def complete(self) -> bool:
        return not self.problems


class Incomplete(ValueError):
    """A condition still being filled in: no field, or no value yet."""


def _number(text: str) -> int | float:
    cleaned = text.strip().replace(",", "").replace("_", "")
    try:
        number = float(cleaned)
    except ValueError:
        raise ValueError(f"{text.strip()[:40]!r} is not a number") from None
    return int(number) if number.is_integer() and "." not in cleaned and "e" not in cleaned.lower() else number


def condition_value(node: FilterNode) -> Any:
    """The JSON value of a condition's typed-in value; ValueError with a hint when it has none yet."""
    shape, value, value2 = node["shape"], node["value"].strip(), node["value2"].strip()
    if shape == "none":
        return None
    if shape == "text_list":
        if not node["values"]:
            raise Incomplete("Add at least one value")
        return list(node["values"])
    if shape in ("number_range", "date_range"):
        if not value or not value2:
            raise Incomplete("Enter both ends of the range")
        return [_number(value), _number(value2)] if shape == "number_range" else [value, value2]
    if not value:
        return _missing(shape)
    if shape == "number":
        return _number(value)
    if shape == "relative":
        try:
            amount = int(value)
        except ValueError:
            raise ValueError(f"{value[:40]!r} is not a whole number") from None
        return {"amount": amount, "unit": value2 or "day"}
    if shape == "segment":
        if not value.isdigit():
            raise Incomplete("Choose a segment")
        return int(value)
    return node["value"]  # text and date: the core trims and checks them


def _missing(shape: str) -> Any:
    hints = {"segment": "Choose a segment", "date": "Pick a date", "relative": "Enter an amount"}
    raise Incomplete(hints.get(shape, "Enter a value"))


def condition_json(node: FilterNode) -> dict:
    """The condition as filter JSON (without its `not`); ValueError with a hint when incomplete."""
    if not node["field"]:
        raise Incomplete("Choose a field")
    value = condition_value(node)
    if node["field"] == SEGMENT_FIELD:
        return {"segment": value, "op": node["op"]}
    raw = {"field": node["field"], "op": node["op"]}
    if node["shape"] != "none":
        raw["value"] = value
    return raw


def _join(path: str, step: str) -> str:
    return f"{path}.{step}" if path else step


def to_filter(
    nodes: list[FilterNode], *, entity: str, fields: Mapping[str, Mapping],
    refused: Mapping[str, str] | None = None,
) -> Compiled:
    """The filter JSON of the complete, valid conditions, with a problem for every other one.

    Each condition is checked by the core on its own (so a message names what is wrong with
    it, not where it sits); a group whose conditions are all left out is left out too, except
    the top one. `refused` leaves out nodes the core refused in the whole filter (a segment
    that no longer exists, one that includes itself), with the core's message.
    """
    children = _children(nodes)
    compiled = Compiled(filter={})
    refused = refused or {}

    def emit(node: FilterNode, path: str) -> dict | None:
        inner_path = _join(path, "not") if node["negated"] else path
        if node["id"] in refused and node["parent"]:
            compiled.problems[node["id"]] = refused[node["id"]]
            compiled.invalid.add(node["id"])
            return None
        if node["kind"] == "group":
            kept = []
            for child in children.get(node["id"], []):
                raw = emit(child, _join(inner_path, f"{node['group']}[{len(kept)}]"))
                if raw is not None:
                    kept.append(raw)
            if not kept and node["parent"]:
                if not children.get(node["id"]):  # else its unfinished conditions say why
                    compiled.problems[node["id"]] = "Empty group: add a condition or remove it"
                return None
            raw = {node["group"]: kept}
        else:
            try:
                raw = condition_json(node)
                parse_filter(raw, entity=entity, fields=fields)
            except FilterError as error:
                compiled.problems[node["id"]] = readable(error, node)
                compiled.invalid.add(node["id"])
                return None
            except ValueError as error:
                compiled.problems[node["id"]] = str(error)
                if not isinstance(error, Incomplete):
                    compiled.invalid.add(node["id"])
                return None
        compiled.paths[path] = compiled.paths[inner_path] = node["id"]
        compiled.node_paths[node["id"]] = path
        return {"not": raw} if node["negated"] else raw

    compiled.filter = emit(nodes[0], "") or {"and": []}
    return compiled


def readable(error: FilterError, node: FilterNode | None = None) -> str:
    """A core message shown beside its condition: the field's name is already on the row."""
    message = error.message
    if node is not None and node["field"]:
        prefix = f"field '{node['field']}': "
        message = message.removeprefix(prefix)
    return message[:1].upper() + message[1:]


def node_at(paths: Mapping[str, str], path: str) -> str | None:
    """The builder node a core path points into: the longest known path that starts it."""
    best = None
    for known, node_id in paths.items():
        if (path == known or path.startswith(known + ".") or not known) and (best is None or len(known) > len(best[0])):
            best = (known, node_id)
    return best[1] if best else None


def with_problems(nodes: list[FilterNode], compiled: Compiled) -> list[FilterNode]:
    return [
        {**n, "problem": compiled.problems.get(n["id"], ""), "invalid": n["id"] in compiled.invalid}
        for n in nodes
    ]


def with_counts(nodes: list[FilterNode], counts: Mapping[str, tuple[str, str]]) -> list[FilterNode]:
    """Each node's count label and its explanation (node id → (label, hint))."""
    return [{**n, "count": counts.get(n["id"], ("", ""))[0], "count_hint": counts.get(n["id"], ("", ""))[1]} for n in nodes]


# -- from filter JSON -------------------------------------------------------------------------

def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return show_number(value)
    return str(value)


def from_filter(
    filter_json: Any, *, entity: str, fields: Mapping[str, Mapping],
    label: Callable[[str], tuple[str, str]] | None = None,
) -> list[FilterNode]:
    """The builder's nodes for a filter the core accepts; FilterError when it does not.

    `label(field)` gives a field's (label, type); by default it is read from `fields`.
    """
    parse_filter(filter_json, entity=entity, fields=fields)  # the one gate: FilterError names the node
    nodes: list[FilterNode] = []

    def describe_field(key: str) -> tuple[str, str]:
        if label is not None:
            return label(key)
        spec = fields[key]
        return str(spec.get("label") or key), str(spec["type"])

    def add(raw: dict, parent: str, negated: bool) -> None:
        node_id = f"n{len(nodes)}"
        if "not" in raw:
            child = raw["not"]
            if negated:  # not(not(x)): a negated group holding the negated x
                nodes.append(_node(node_id, parent, "group", negated=True))
                add(child, node_id, True)
            else:
                add(child, parent, True)
            return
        if "and" in raw or "or" in raw:
            kind = "and" if "and" in raw else "or"
            nodes.append(_node(node_id, parent, "group", group=kind, negated=negated))
            for item in raw[kind]:
                add(item, node_id, False)
            return
        if "segment" in raw:
            nodes.append(_node(
                node_id, parent, "condition", negated=negated, field=SEGMENT_FIELD, field_label=SEGMENT_LABEL,
                field_type="segment", op=raw["op"], shape="segment", value=str(raw["segment"]),
            ))
            return
        field_label, field_type = describe_field(raw["field"])
        op = raw["op"]
        shape = shape_of(field_type, op)
        value = raw.get("value")
        node = _node(
            node_id, parent, "condition", negated=negated, field=raw["field"], field_label=field_label,
            field_type=field_type, op=op, shape=shape,
        )
        if shape == "text_list":
            node["values"] = [str(v) for v in value]
        elif shape in ("number_range", "date_range"):
            node["value"], node["value2"] = _shown(value[0]), _shown(value[1])
        elif shape == "relative":
            node["value"], node["value2"] = str(value["amount"]), str(value["unit"])
        elif shape != "none":
            node["value"] = _shown(value)
        nodes.append(node)

    root_negated = False
    raw = filter_json
    if "and" not in raw and "or" not in raw:
        if "not" in raw and isinstance(raw["not"], dict) and ("and" in raw["not"] or "or" in raw["not"]):
            root_negated, raw = True, raw["not"]
        else:
            raw = {"and": [raw]}  # a lone condition (or not-condition) becomes the root's only child
    add(raw, "", root_negated)
    if len(nodes) > MAX_NODES:
        raise ValueError(f"This filter has {len(nodes)} conditions and groups; the builder shows at most {MAX_NODES}.")
    return _within_budget(relabel(nodes))


# -- in the URL -------------------------------------------------------------------------------

def canonical(filter_json: Any) -> str:
    """The filter as compact JSON: what the URL carries and what "unsaved changes" compares.
    Keys are sorted, since PostgreSQL's JSONB gives a saved filter back in its own key order."""
    return json.dumps(filter_json, separators=(",", ":"), ensure_ascii=False, sort_keys=True, allow_nan=False)


def encode_link(filter_json: Any) -> str:
    """`?f=` for a filter: URL-safe base64 of its compact JSON, without padding."""
    return base64.urlsafe_b64encode(canonical(filter_json).encode()).decode().rstrip("=")


class BrokenLink(ValueError):
    """A `?f=` that is not a filter this builder can read."""


def decode_link(text: Any) -> Any:
    """The filter JSON of a `?f=` (not yet checked against the catalog); BrokenLink otherwise."""
    if not isinstance(text, str) or not text:
        raise BrokenLink("The link has no filter.")
    if len(text) > MAX_LINK_LENGTH:
        raise BrokenLink("The filter in this link is too long to read.")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        value = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except (binascii.Error, UnicodeDecodeError, ValueError, RecursionError):
        raise BrokenLink("The filter in this link is damaged (it may have been cut short when copied).") from None
    if not isinstance(value, dict):
        raise BrokenLink("The filter in this link is not a filter.")
    return value


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a value a filter can hold")
