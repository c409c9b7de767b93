"""A filter's field: resolved through the catalog, then read the same way in SQL and in Python.

A field name is looked up in a dict built from the catalog (never formatted into SQL) and
resolves to a `Field`: its type, and where its value is stored — a typed core column, a key of
the `attributes` JSON, the tag tables, or any of these on a person's company
(`company.<field>`). `sql_target` and `read` then read that value in SQL and in Python; they
sit side by side here because the compiler and the reference evaluator must agree on every
record, and these rules are where they could drift apart.

What counts as a value (anything else is *empty*, and empty satisfies no positive operator):

- text: the string without surrounding spaces, compared A–Z case-insensitively (`fold`, see
  core/text_search.py); '' and '   ' are empty. In JSON only strings are text.
- number: the column's integer; in JSON only JSON numbers (true, "12", [] are empty), so
  garbage never reaches a cast and never raises an SQL error.
- boolean: JSON true/false only.
- date: JSON strings that start YYYY-MM-DD (then the end, 'T' or a space), compared as those
  ten characters, which sort like the dates they spell.
- datetime: core columns as stored (naive UTC). In JSON, 'YYYY-MM-DD[T ]HH:MM:SS…' read at
  whole seconds as UTC wall-clock time (fractions and offsets are ignored), or 'YYYY-MM-DD'
  read as midnight; compared as 'YYYY-MM-DD HH:MM:SS' text.
- list: tags by name (folded like text, blank names ignored); in JSON, arrays, of which only
  the non-blank strings count. An empty list is empty.

Dates in JSON are compared as text because PostgreSQL 15 has no cast that returns NULL on
garbage ('2024-02-30'::date raises), and a filter must never fail on a record's data.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection

from audiences_app.core.catalog import CORE_FIELDS, ENTITIES, FIELD_TYPES, catalog
from audiences_app.core.models import Company, CompanyTag, Person, PersonTag, Tag
from audiences_app.core.segments.errors import FilterError, quoted
from audiences_app.core.text_search import TrigramShares, contains, fold, normalized

TABLES: dict[str, sa.Table] = {"companies": Company.__table__, "people": Person.__table__}
TAG_LINKS: dict[str, tuple[sa.Table, str]] = {
    "companies": (CompanyTag.__table__, "company_id"),
    "people": (PersonTag.__table__, "person_id"),
}
CORE_TYPES: dict[str, dict[str, str]] = {
    entity: {f.key: f.type for f in fields} for entity, fields in CORE_FIELDS.items()
}
COMPANY_PREFIX = "company."
DIALECTS = ("sqlite", "postgresql")

_UNREADABLE_JSON_KEY = re.compile(r'["\\\x00-\x1f]')
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[T ]|\Z)")
_DATE_ONLY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}")
# The same three shapes for SQLite's GLOB (whole-string match) and PostgreSQL's regex.
_D = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]"
_GLOBS = {"date": (_D, _D + "[T ]*"), "date_only": (_D,), "datetime": (_D + "[T ][0-9][0-9]:[0-9][0-9]:[0-9][0-9]*",)}
_REGEXES = {
    "date": "^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ]|$)",
    "date_only": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
    "datetime": "^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}",
}


# -- resolving names ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Field:
    name: str          # as the filter names it: "industry", "company.industry"
    key: str           # the column or attribute key on the table that holds the value
    label: str
    type: str          # text number date datetime boolean list
    storage: str       # "column" | "attribute" | "tags"
    home: str          # the entity whose table holds the value
    via_company: bool  # a person's company field: empty when the person has no company


def fields_for(
    entity: str, own: Iterable[Mapping], company: Iterable[Mapping] = ()
) -> dict[str, dict]:
    """The fields a filter of `entity` may name, from catalog rows: its own, and for people
    `company.<key>` for each company field."""
    if entity not in ENTITIES:
        raise ValueError(f"unknown entity {entity!r}: use one of {', '.join(ENTITIES)}")
    fields = {f["key"]: dict(f) for f in own}
    if entity == "people":
        for f in company:
            name = COMPANY_PREFIX + f["key"]
            fields[name] = {**f, "key": name, "label": company_label(f["label"])}
    return fields


def filter_fields(conn: Connection, workspace_id: int, entity: str) -> dict[str, dict]:
    """`fields_for` over the workspace's catalog."""
    company = catalog(conn, workspace_id, "companies") if entity == "people" else []
    return fields_for(entity, catalog(conn, workspace_id, entity), company)


def company_label(label: str) -> str:
    """'Industry' → 'Company industry'; acronyms and brand names keep their capitals."""
    first, _, rest = label.partition(" ")
    if first[:1].isupper() and first[1:].islower():
        first = first.lower()
    return " ".join(["Company", first, rest]).strip()


def resolve_field(name: object, *, entity: str, fields: Mapping[str, Mapping], path: str) -> Field:
    if not isinstance(name, str) or not name:
        raise FilterError(path, f"field must be a field name, got {quoted(name)}")
    spec = fields.get(name)
    if spec is None:
        close = difflib.get_close_matches(name, list(fields), n=1, cutoff=0.75)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise FilterError(path, f"field {quoted(name)} is not in the {entity} catalog{hint}")
    via_company = entity == "people" and name.startswith(COMPANY_PREFIX)
    home = "companies" if via_company else entity
    key = name.removeprefix(COMPANY_PREFIX) if via_company else name
    core_type = CORE_TYPES[home].get(key)
    field_type = core_type or spec.get("type")
    if field_type not in FIELD_TYPES:
        raise FilterError(path, f"field {quoted(name)} has type {quoted(field_type)}, which filters do not support")
    if core_type and key == "tags":
        storage = "tags"
    elif core_type:
        storage = "column"
    else:
        storage = "attribute"
        if _UNREADABLE_JSON_KEY.search(key):
            raise FilterError(
                path, f"field {quoted(name)} cannot be filtered: its key has a quote, backslash or control character"
            )
    label = str(spec.get("label") or name)
    return Field(name, key, label, field_type, storage, home, via_company)


# -- reading values in Python ------------------------------------------------------------------

def read(field: Field, record: Mapping) -> Any:
    """The field's value in a record dict (columns, "attributes", "tags", "company"), or None
    when it has none. The reference evaluator's half of the rules above."""
    source = record.get("company") if field.via_company else record
    if source is None:
        return None
    if field.storage == "tags":
        return _names(source.get("tags") or ())
    if field.storage == "column":
        value = source.get(field.key)
        return _text(value) if field.type == "text" and value is not None else value
    return _from_json(field.type, (source.get("attributes") or {}).get(field.key))


def _text(value: str) -> str | None:
    return fold(value) or None


def _names(names: Iterable[str]) -> frozenset[str] | None:
    return frozenset(name for name in map(fold, names) if name) or None


def _from_json(field_type: str, value: Any) -> Any:
    if field_type == "text":
        return _text(value) if isinstance(value, str) else None
    if field_type == "number":
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if field_type == "boolean":
        return value if isinstance(value, bool) else None
    if field_type == "list":
        return _names(v for v in value if isinstance(v, str)) if isinstance(value, list) else None
    if not isinstance(value, str):
        return None
    if field_type == "date":
        return value[:10] if _DATE.match(value) else None
    if _DATETIME.match(value):
        return f"{value[:10]} {value[11:19]}"
    return f"{value} 00:00:00" if _DATE_ONLY.match(value) else None


# -- reading values in SQL ---------------------------------------------------------------------

def _same(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class SqlTarget:
    """A field's value in SQL, for one dialect.

    `value` is the comparable expression, NULL when the record has no usable value. `guard`
    is `value IS NOT NULL`: the compiler writes every predicate as `guard AND <comparison>`,
    which is never NULL, because a NULL predicate would be lost by both a filter and its
    negation. `nonblank` is what else having a value takes (text: more than spaces). Lists
    have no scalar value, only `has_any(names)` and `nonblank`, both never NULL. `bind` turns
    an operand into the parameter to compare with. `contains(term)`, on text columns, is the
    substring test that a trigram index may serve (text_search.contains); without it the
    operator scans `value` with LIKE, with the same results.
    """

    value: Any = None
    guard: Any = None
    nonblank: Any = sa.true()
    has_any: Callable[[tuple[str, ...]], Any] | None = None
    bind: Callable[[Any], Any] = _same
    contains: Callable[[str], Any] | None = None
    shown: Any = None  # text: the stored text, trimmed, to show (value suggestions)


def sql_target(
    field: Field, dialect: str, workspace_id: int | None = None, shares: TrigramShares | None = None
) -> SqlTarget:
    """The field's value on its home table (the compiler joins a person to its company);
    `shares` lets `contains` ask the trigram index for the term's rarest trigrams only."""
    table = TABLES[field.home]
    if field.storage == "tags":
        return _tags(field.home, dialect, workspace_id)
    json = None
    if field.storage == "attribute":
        json = (_SqliteJson if dialect == "sqlite" else _PostgresJson)(table, field.key)
    column = table.c[field.key] if field.storage == "column" else None
    if field.type == "text":
        raw = column if column is not None else json.string()
        substring = None if column is None else functools.partial(contains, table, (field.key,), dialect=dialect, shares=shares)
        return SqlTarget(
            value=normalized(raw, dialect), guard=raw.is_not(None), nonblank=sa.func.trim(raw) != "",
            contains=substring, shown=sa.func.trim(raw),
        )
    if field.type == "list":
        return json.list(dialect)
    if column is not None:
        value = column
    elif field.type in ("date", "datetime"):
        value = json.date_key() if field.type == "date" else json.datetime_key()
    else:
        value = json.number() if field.type == "number" else json.boolean()
    bind = _number_binder(dialect) if field.type == "number" else _same
    return SqlTarget(value=value, guard=value.is_not(None), bind=bind)


def _number_binder(dialect: str) -> Callable[[Any], Any]:
    """Integers bind as BIGINT, so `employee_count > 50` stays an index range on PostgreSQL
    (int4 vs int8 is in the same operator family); a fractional value binds as NUMERIC
    (exact, compared correctly against integers and JSON numbers alike) on PostgreSQL."""

    def bind(value: int | float) -> Any:
        if isinstance(value, int):
            return sa.literal(value, sa.BigInteger)
        if dialect == "postgresql":
            return sa.literal(Decimal(repr(value)), sa.Numeric)
        return sa.literal(value, sa.Float)

    return bind


def _tags(home: str, dialect: str, workspace_id: int | None) -> SqlTarget:
    """Tags as an uncorrelated `id IN (tagged ids)`: the database builds the tagged set once
    from the tag index instead of probing per record; ids are never NULL, so neither is IN."""
    table, tag = TABLES[home], Tag.__table__
    link, owner = TAG_LINKS[home]

    def tagged(condition: Any) -> Any:
        ids = sa.select(link.c[owner]).join(tag, tag.c.id == link.c.tag_id).where(condition)
        if workspace_id is not None:
            ids = ids.where(tag.c.workspace_id == workspace_id)
        return table.c.id.in_(ids)

    return SqlTarget(
        has_any=lambda names: tagged(normalized(tag.c.name, dialect).in_(names)),
        nonblank=tagged(sa.func.trim(tag.c.name) != ""),
    )


class _Json:
    """One key of a table's `attributes`, typed as the rules above say. The key is a bound
    parameter; dialect subclasses say how to extract and how to test a string's shape."""

    def __init__(self, table: sa.Table, key: str):
        self.table = table
        self.attributes = table.c.attributes

    def string(self) -> Any: raise NotImplementedError
    def raw(self) -> Any: raise NotImplementedError  # the value as text, whatever its JSON type
    def number(self) -> Any: raise NotImplementedError
    def boolean(self) -> Any: raise NotImplementedError
    def shaped(self, text: Any, shape: str) -> Any: raise NotImplementedError
    def elements(self) -> tuple[Any, Any, Any]: raise NotImplementedError

    # Date keys read the raw text: only a JSON string can spell YYYY-MM-DD (a number, an
    # array or an object never starts that way), so no type check is needed.
    def date_key(self) -> Any:
        text = self.raw()
        return sa.case((self.shaped(text, "date"), self.bytewise(sa.func.substr(text, 1, 10))))

    def datetime_key(self) -> Any:
        text = self.raw()
        return sa.case(
            (self.shaped(text, "datetime"),
             self.bytewise(sa.func.substr(text, 1, 10) + " " + sa.func.substr(text, 12, 8))),
            (self.shaped(text, "date_only"), self.bytewise(text + " 00:00:00")),
        )

    def bytewise(self, text: Any) -> Any:
        """Keys compare in byte order (SQLite's default; "C" on PostgreSQL, set inside the
        CASE, from where the explicit collation carries to every comparison)."""
        return text

    def list(self, dialect: str) -> SqlTarget:
        """A JSON array as an EXISTS over its elements (correlated to this record)."""

        def exists(condition: Any) -> Any:
            rows, is_string, text = self.elements()
            query = sa.select(sa.literal(1)).select_from(rows).where(is_string, condition(text))
            return sa.exists(query).correlate(self.table)

        return SqlTarget(
            has_any=lambda names: exists(lambda text: normalized(text, dialect).in_(names)),
            nonblank=exists(lambda text: sa.func.trim(text) != ""),
        )


class _SqliteJson(_Json):
    def __init__(self, table: sa.Table, key: str):
        super().__init__(table, key)
        self.path = sa.literal(f'$."{key}"')  # resolve_field refused keys that could break out
        self.kind = sa.func.json_type(self.attributes, self.path)
        self.extract = sa.func.json_extract(self.attributes, self.path)

    def string(self) -> Any:
        return sa.case((self.kind == "text", self.raw()))

    def raw(self) -> Any:
        return sa.type_coerce(self.extract, sa.String)

    def number(self) -> Any:
        return sa.case((self.kind.in_(["integer", "real"]), sa.type_coerce(self.extract, sa.Float)))

    def boolean(self) -> Any:
        return sa.case((self.kind == "true", sa.true()), (self.kind == "false", sa.false()))

    def shaped(self, text: Any, shape: str) -> Any:
        return sa.or_(*(text.op("GLOB", is_comparison=True)(glob) for glob in _GLOBS[shape]))

    def elements(self) -> tuple[Any, Any, Any]:
        # json_each on a scalar yields that scalar as one row, hence the array check.
        rows = sa.func.json_each(self.attributes, self.path).table_valued("value", "type").alias()
        return rows, sa.and_(self.kind == "array", rows.c.type == "text"), rows.c.value


class _PostgresJson(_Json):
    def __init__(self, table: sa.Table, key: str):
        super().__init__(table, key)
        name = sa.literal(key, sa.Text)
        self.node = self.attributes.op("->", return_type=JSONB)(name)
        self.text = self.attributes.op("->>", return_type=sa.Text)(name)
        self.kind = sa.func.jsonb_typeof(self.node)

    def string(self) -> Any:
        return sa.case((self.kind == "string", self.text))

    def raw(self) -> Any:
        return self.text

    def number(self) -> Any:
        return sa.case((self.kind == "number", sa.cast(self.text, sa.Numeric)))

    def boolean(self) -> Any:
        return sa.case((self.kind == "boolean", sa.cast(self.text, sa.Boolean)))

    def shaped(self, text: Any, shape: str) -> Any:
        return text.regexp_match(_REGEXES[shape])

    def bytewise(self, text: Any) -> Any:
        # type_coerce: SQLAlchemy would otherwise put COLLATE on the bound values too, which
        # PostgreSQL's grammar refuses after BETWEEN.
        return sa.type_coerce(sa.collate(text, "C"), sa.String())

    def elements(self) -> tuple[Any, Any, Any]:
        # jsonb_array_elements raises on a non-array, and yields nothing for NULL.
        array = sa.case((self.kind == "array", self.node))
        rows = sa.func.jsonb_array_elements(array).table_valued("value").alias()
        text = rows.c.value.op("#>>", return_type=sa.Text)(sa.literal_column("'{}'"))
        return rows, sa.func.jsonb_typeof(rows.c.value) == "string", text
