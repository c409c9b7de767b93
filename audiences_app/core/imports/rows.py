"""One raw row → the record it would become (typed, normalized), or a rejection with its reason.

Rules, so that nothing is lost without a word:
- A row with no identity key is rejected (DESIGN.md, Identity); the reason names the column
  that came closest ("homepage_url 'angel.co/acme' is on a shared platform…").
- An identity value that cannot be used (an email without a domain, a CRM id longer than
  its column) is skipped with a reported reason when the row has another key, and rejects
  the row when it has none. Identity values are never truncated: a cut key is another key.
- Any other value that cannot be read as its field's type is skipped and reported
  (`value_skipped`); the rest of the row is imported.
- Text longer than its column is cut to fit and reported (`truncated`); descriptions and
  custom text are capped at TEXT_CAP characters.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from audiences_app.core.imports.mapping import IDENTITY_FIELDS, IDENTITY_SOURCES, LOCATION, Mapping, is_custom
from audiences_app.core.imports.reading import BadLine, SourceRow
from audiences_app.core.models import TABLES, utcnow
from audiences_app.core.normalize import (
    clean_text, normalize_country, normalize_email, normalize_linkedin_company, normalize_linkedin_profile,
    normalize_phone,
)
from audiences_app.core.platforms import company_domain, linkedin_company_homepage

TEXT_CAP = 10_000
"""Longest description or custom text value kept (longer ones are cut and reported)."""
CACHE_SIZE = 20_000
"""Parsed values remembered per field: countries, industries and dates repeat a lot."""
LOWER_CASE = frozenset({"industry", "seniority", "department"})
FIELD_LABELS = {
    "domain": "domain", "website": "website", "linkedin_url": "LinkedIn URL", "crm_id": "CRM id",
    "email": "email", "phone": "phone",
}


@dataclass(frozen=True)
class Issue:
    line: int
    column: str | None
    reason: str
    outcome: str
    """rejected, value_skipped or truncated."""


@dataclass
class ParsedRow:
    line: int
    values: dict[str, Any]
    """Core column → value; a mapped column whose cell is empty is present with None."""
    attributes: dict[str, Any]
    """Custom field → value, None when the cell is empty."""
    keys: dict[str, str]
    """Identity field → normalized key."""
    raw: list[str]
    issues: tuple[Issue, ...] = ()
    """What was skipped or cut. A tuple: most rows have none, and the empty tuple is shared,
    where a list per row would be one more object for every garbage collection to visit."""
    columns: dict[str, str] = field(default_factory=dict)
    """Field → the column it came from, for messages."""


@dataclass(frozen=True)
class Rejection:
    line: int
    column: str | None
    reason: str
    raw: list[str]

    @property
    def issue(self) -> Issue:
        return Issue(self.line, self.column, self.reason, "rejected")


# -- values -------------------------------------------------------------------------------------

_CURRENCY = re.compile(r"^(?:usd|eur|gbp|us\$|[$€£¥])|(?:usd|eur|gbp|[$€£¥])$")
_PLAIN_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?")
_THOUSANDS = re.compile(r"[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_SUFFIXES = {"k": 1_000, "m": 1_000_000, "mm": 1_000_000, "b": 1_000_000_000, "bn": 1_000_000_000}
_SUFFIX = re.compile(r"^(.*?\d)\s*(k|mm|m|bn|b)$")
_YEAR = re.compile(r"(?<!\d)(1[5-9]\d\d|20\d\d)(?!\d)")
_TRUE = frozenset({"true", "yes", "y", "t", "x", "✓", "✔"})
_FALSE = frozenset({"false", "no", "n", "f"})
_ISO_DATE = re.compile(r"(\d{4})[-/.](\d{1,2})(?:[-/.](\d{1,2}))?(?:[ t]\d{1,2}:\d{2}.*)?")
_DAY_FIRST_OR_MONTH_FIRST = re.compile(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{2}|\d{4})(?:[ t]\d{1,2}:\d{2}.*)?")


def parse_number(text: str) -> int | float | None:
    """A number from how spreadsheets and CRMs write them: "1,234", "2.10E+07", "$1.2M", "3,5"."""
    value = text.strip().casefold().replace(" ", "").replace("\u00a0", "").replace("_", "")
    value = _CURRENCY.sub("", value)
    multiplier = 1
    if match := _SUFFIX.match(value):
        value, multiplier = match.group(1), _SUFFIXES[match.group(2)]
    if "," in value:
        if _THOUSANDS.fullmatch(value):
            value = value.replace(",", "")
        elif value.count(",") == 1 and "." not in value:
            value = value.replace(",", ".")  # a decimal comma: "3,5"
        else:
            return None
    if not _PLAIN_NUMBER.fullmatch(value):
        return None
    number = float(value) * multiplier
    if number != number or number in (float("inf"), float("-inf")):
        return None
    return int(number) if number.is_integer() and abs(number) < 2**63 else number


def parse_boolean(text: str) -> bool | None:
    folded = text.strip().casefold()
    return True if folded in _TRUE else False if folded in _FALSE else None


def parse_date(text: str) -> str | None:
    """ISO date text ("2012-06-01") from ISO, US month-first or (when it must be) day-first dates."""
    value = text.strip().casefold()
    if match := _ISO_DATE.fullmatch(value):
        year, month, day = int(match.group(1)), int(match.group(2)), int(match.group(3) or 1)
    elif match := _DAY_FIRST_OR_MONTH_FIRST.fullmatch(value):
        first, second, year = int(match.group(1)), int(match.group(2)), int(match.group(3))
        if year < 100:
            year += 2000 if year < 70 else 1900
        month, day = (second, first) if first > 12 else (first, second)
    else:
        return None
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def parse_year(text: str) -> int | None:
    """The first plausible year: "2013 (1888)" → 2013, "6/1/2012" → 2012, "1902.0" → 1902."""
    match = _YEAR.search(text)
    if not match:
        return None
    year = int(match.group(1))
    return year if year <= utcnow().year + 1 else None


def infer_type(values: list[str]) -> str:
    """The custom field type that every non-empty value fits: boolean, number, date or text."""
    texts = [t for t in (clean_text(v) for v in values) if t is not None]
    if not texts:
        return "text"
    if all(parse_boolean(t) is not None for t in texts):
        return "boolean"
    if all(parse_number(t) is not None for t in texts):
        return "number"
    if all(parse_date(t) is not None for t in texts):
        return "date"
    return "text"


# -- fields -------------------------------------------------------------------------------------

Problem = tuple[str, str]  # (outcome, reason)
Parser = Callable[[str], tuple[Any, Problem | None]]


def _text_parser(limit: int | None, *, lower: bool = False, cut: bool = True) -> Parser:
    limit = limit or TEXT_CAP

    def parse(text: str) -> tuple[Any, Problem | None]:
        if lower:
            text = text.lower()
        if len(text) <= limit:
            return text, None
        if not cut:
            return None, ("value_skipped", f"is {len(text):,} characters long; the field holds {limit:,}")
        return text[:limit], ("truncated", f"was {len(text):,} characters long: cut to {limit:,}")

    return parse


def _number_parser(*, whole: bool, minimum: int | None = None) -> Parser:
    def parse(text: str) -> tuple[Any, Problem | None]:
        number = parse_number(text)
        if number is None:
            if re.fullmatch(r"\s*\d[\d,.]*\s*[-–]\s*\d[\d,.]*\s*\+?", text):
                return None, ("value_skipped", "is a range, not a number")
            return None, ("value_skipped", "is not a number")
        if whole:
            number = round(number)
            if abs(number) >= 2**63:
                return None, ("value_skipped", "is too large")
        if minimum is not None and number < minimum:
            return None, ("value_skipped", f"is below {minimum}")
        return number, None

    return parse


def _year(text: str) -> tuple[Any, Problem | None]:
    year = parse_year(text)
    return (year, None) if year is not None else (None, ("value_skipped", "is not a year"))


def _country(text: str) -> tuple[Any, Problem | None]:
    code = normalize_country(text)
    return (code, None) if code else (None, ("value_skipped", "is not a country we recognize (use a name or ISO code)"))


def _typed_custom(kind: str) -> Parser:
    if kind == "number":
        return _number_parser(whole=False)
    if kind == "boolean":
        def parse_bool(text: str) -> tuple[Any, Problem | None]:
            value = parse_boolean(text)
            return (value, None) if value is not None else (None, ("value_skipped", "is not yes/no or true/false"))
        return parse_bool
    if kind == "date":
        def parse_a_date(text: str) -> tuple[Any, Problem | None]:
            value = parse_date(text)
            return (value, None) if value else (None, ("value_skipped", "is not a date"))
        return parse_a_date
    return _text_parser(TEXT_CAP)


def _column_parser(entity: str, key: str) -> Parser:
    column = TABLES[entity].__table__.c[key]
    if key == "country":
        return _country
    if key == "founded_year":
        return _year
    if key in ("employee_count", "annual_revenue"):
        return _number_parser(whole=True, minimum=0)
    if key == "website":
        return _text_parser(column.type.length, cut=False)
    return _text_parser(getattr(column.type, "length", None), lower=key in LOWER_CASE)


# -- rows ---------------------------------------------------------------------------------------

class RowParser:
    """Parses the rows of one file under one mapping; build once, call `parse` per row."""

    def __init__(self, mapping: Mapping, headers: list[str]):
        self.entity = mapping.entity
        self.mapping = mapping
        self._identity = IDENTITY_FIELDS[self.entity]
        position = {header: index for index, header in enumerate(headers)}
        # (index, column, field, parser, cache of cell → (value, problem, clean text)); the cache
        # pays off on what repeats a lot: countries, industries, sizes, years, dates.
        self._plain: list[tuple[int, str, str, Parser, dict]] = []
        self._custom: list[tuple[int, str, str, Parser, dict]] = []
        self._special: dict[str, tuple[int, str]] = {}  # identity, location, derived sources
        special = {*IDENTITY_SOURCES[self.entity], LOCATION, "company_domain"}
        for column_map in mapping.columns:
            if not column_map.field:
                continue
            if column_map.column not in position:
                raise ValueError(f"The mapping names column {column_map.column!r}, which the file does not have.")
            index, key = position[column_map.column], column_map.field
            if key in special:
                self._special[key] = (index, column_map.column)
            elif is_custom(self.entity, key):
                self._custom.append((index, column_map.column, key, _typed_custom(column_map.type or "text"), {}))
            else:
                self._plain.append((index, column_map.column, key, _column_parser(self.entity, key), {}))
        self._limits = {key: TABLES[self.entity].__table__.c[key].type.length for key in self._identity}
        mapped = set(mapping.targets())
        self.fills = {key for key in ("city", "region", "country") if key not in mapped} if LOCATION in mapped else set()

    def parse(self, row: SourceRow | BadLine) -> ParsedRow | Rejection:
        if isinstance(row, BadLine):
            return Rejection(row.line, None, row.reason, row.values)
        cells = row.values
        parsed = ParsedRow(row.line, {}, {}, {}, cells)
        _take(parsed, parsed.values, self._plain, cells)
        if self._custom:
            _take(parsed, parsed.attributes, self._custom, cells)
        if LOCATION in self._special:
            self._location(parsed)
        problems: list[tuple[str, str, str]] = []  # (column, value, why) of unusable identity values
        if self.entity == "companies":
            self._company_identity(parsed, problems)
        else:
            self._person_identity(parsed, problems)
        if not parsed.keys:
            return self._no_key(parsed, problems)
        for column, value, why in problems:
            parsed.issues += (Issue(row.line, column, f"{_quote(value)} {why}: skipped", "value_skipped"),)
        return parsed

    def _cell(self, parsed: ParsedRow, key: str) -> tuple[str | None, str | None]:
        """(clean text, column) of a special source field, or (None, None)."""
        if key not in self._special:
            return None, None
        index, column = self._special[key]
        return clean_text(parsed.raw[index]), column

    def _location(self, parsed: ParsedRow) -> None:
        text, column = self._cell(parsed, LOCATION)
        parts = [p.strip() for p in (text or "").split(",") if p.strip()]
        found: dict[str, Any] = {}
        if parts:
            country = normalize_country(parts[-1]) if len(parts) > 1 else None
            if country:
                parts = parts[:-1]
                found["country"] = country
            found["city"] = parts[0][:100] if parts else None
            if len(parts) > 1:
                found["region"] = ", ".join(parts[1:])[:100]
        for key in self.fills:
            parsed.values[key] = found.get(key)
            if found.get(key) is not None:
                parsed.columns[key] = column

    def _identity_value(self, parsed: ParsedRow, key: str, normalize: Callable[[str], Any],
                        problems: list, why: str = "") -> None:
        text, column = self._cell(parsed, key)
        if text is None:
            if column is not None:
                parsed.values.setdefault(key, None)
            return
        value = normalize(text)
        limit = self._limits[key]
        if value is not None and len(value) > limit:
            problems.append((column, text, f"is longer than the {limit} characters a {FIELD_LABELS[key]} can have"))
        elif value is None:
            problems.append((column, text, why or f"is not a valid {FIELD_LABELS[key]}"))
        else:
            parsed.values[key] = value
            parsed.keys[key] = value
            parsed.columns[key] = column

    def _company_identity(self, parsed: ParsedRow, problems: list) -> None:
        self._identity_value(parsed, "crm_id", lambda t: t, problems)
        self._identity_value(parsed, "linkedin_url", normalize_linkedin_company, problems,
                             "is not a LinkedIn company page URL")
        domain_text, domain_column = self._cell(parsed, "domain")
        website, website_column = self._cell(parsed, "website")
        if website_column is not None:
            if website is not None and len(website) > 500:
                problems.append((website_column, website, "is longer than the 500 characters a website can have"))
                website = None
            parsed.values["website"] = website
            if website is not None:
                parsed.columns["website"] = website_column
        domain = None
        for text, column in ((domain_text, domain_column), (website, website_column)):
            if text is None:
                continue
            linkedin = linkedin_company_homepage(text) if "linkedin" in text.lower() else None
            if linkedin:
                if "linkedin_url" not in parsed.keys:
                    parsed.values["linkedin_url"] = parsed.keys["linkedin_url"] = linkedin
                    parsed.columns["linkedin_url"] = column
                continue
            domain, why = company_domain(text)
            if domain:
                parsed.values["domain"] = parsed.keys["domain"] = domain
                parsed.columns["domain"] = column
                break
            if why:
                problems.append((column, text, why))
        if domain is None and (domain_column or website_column):
            parsed.values.setdefault("domain", None)

    def _person_identity(self, parsed: ParsedRow, problems: list) -> None:
        self._identity_value(parsed, "crm_id", lambda t: t, problems)
        self._identity_value(parsed, "email", normalize_email, problems)
        self._identity_value(parsed, "linkedin_url", normalize_linkedin_profile, problems,
                             "is not a LinkedIn profile URL (linkedin.com/in/…)")
        region = parsed.values.get("country") or "US"
        self._identity_value(parsed, "phone", lambda t: normalize_phone(t, region), problems,
                             "is not a valid phone number")
        text, column = self._cell(parsed, "company_domain")
        if column is not None:
            domain, why = company_domain(text) if text else (None, None)
            parsed.values["company_domain"] = domain
            if domain:
                parsed.columns["company_domain"] = column
            elif why:
                parsed.issues += (Issue(parsed.line, column, f"{_quote(text)} {why}: skipped", "value_skipped"),)
        if "full_name" not in self.mapping.targets() and ("first_name" in parsed.values or "last_name" in parsed.values):
            parts = [parsed.values.get("first_name"), parsed.values.get("last_name")]
            full = " ".join(p for p in parts if p) or None
            parsed.values["full_name"] = full[:200] if full else None

    def _no_key(self, parsed: ParsedRow, problems: list) -> Rejection:
        if problems:
            column, text, why = problems[0]
            return Rejection(parsed.line, column, f"no identity key: {_quote(text)} {why}", parsed.raw)
        columns = self.mapping.identity_columns()
        if not columns:
            labels = [FIELD_LABELS[k] for k in IDENTITY_SOURCES[self.entity]]
            fields = f"{', '.join(labels[:-1])} or {labels[-1]}"
            return Rejection(parsed.line, None, f"no identity key: no column is mapped to a {fields}", parsed.raw)
        names = ", ".join(columns)
        return Rejection(parsed.line, columns[0], f"no identity key: {names} {'is' if len(columns) == 1 else 'are'} empty",
                         parsed.raw)


_NOTHING = (None, None, None)


def _take(parsed: ParsedRow, into: dict, fields: list[tuple[int, str, str, Parser, dict]], cells: list[str]) -> None:
    """Parse the cells of `fields` into `into` (values or attributes); note their columns and problems.

    One loop over the fields rather than a call per cell: it runs for every cell of the file.
    """
    columns = parsed.columns
    for index, column, key, parse, cache in fields:
        cell = cells[index]
        if not cell:
            into[key] = None
            continue
        found = cache.get(cell)
        if found is None:
            text = clean_text(cell)
            found = _NOTHING if text is None else (*parse(text), text)
            if len(cache) < CACHE_SIZE:
                cache[cell] = found
        value, problem, text = found
        into[key] = value
        if text is None:
            continue
        columns[key] = column
        if problem:
            outcome, why = problem
            parsed.issues += (Issue(parsed.line, column, f"{_quote(text)} {why}", outcome),)


def _quote(text: str) -> str:
    return repr(text if len(text) <= 80 else text[:77] + "...")
