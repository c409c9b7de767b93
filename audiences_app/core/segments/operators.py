"""The operator registry: one entry per operator, from which the UI, validation, SQL, the
reference evaluator and the English description are all made (Datasette's filters.py habit).

An entry has its key, a UI label, an English phrase, the field types it applies to with the
value each takes (a `ValueShape`), an SQL builder, a Python test and a vectorized test (over
the cached columns of columns.py; None where only SQL answers). All receive the same
prepared operand, so the compiled SQL, the evaluator and the columns cannot disagree on what
a value means. Adding an operator is adding one entry to `OPERATORS`.

Negative operators are `negation(positive, ...)` entries: they compile to NOT(positive) and
evaluate to `not positive`. Every positive predicate is built never to be NULL (see
`fields.SqlTarget`), so each negative is the exact complement of its positive over the
entity, and records whose field is empty match `neq`, `not_contains`, `not_in`,
`not_between`, `contains_none`, `not_within_last`, `not_within_next` and `is_empty`.

Dates: `on`, `before`, `after` and `between` work in whole days (UTC); on a datetime field
`on` means the same calendar day, `before` before it starts, `after` after it ends.
`within_last`/`within_next` run from the `as_of` clock back/forward by an amount of days,
weeks (7 days), calendar months or calendar years (`dateutil.relativedelta`: one month before
31 March is 28/29 February), both ends included; on a date field they count from as_of's day.
"""

from __future__ import annotations

import functools
import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any

import numpy as np
import sqlalchemy as sa
from dateutil.relativedelta import relativedelta

from audiences_app.core.models import naive_utc, utcnow
from audiences_app.core.segments.fields import Field, SqlTarget, fold
from audiences_app.core.text_search import like_pattern

MAX_TEXT_LENGTH = 1_000
MAX_LIST_LENGTH = 1_000
MAX_NUMBER = 10**15  # exact as a float and as a BIGINT, on both backends
MAX_AMOUNT = {"day": 36_600, "week": 5_220, "month": 1_200, "year": 100}  # about a century
MAX_SEGMENT_ID = 2**63 - 1
ONE_DAY = timedelta(days=1)
_DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


# -- values --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ValueShape:
    """The value an operator takes for a field type: how to check it, show it, compare with it."""

    kind: str  # for the UI: none text text_list number number_range date date_range relative segment
    expected: str  # "two numbers, lower first, like [50, 500]"
    parse: Callable[[Any], Any]  # JSON → parsed value, or ValueError(reason)
    show: Callable[[Any], str]  # parsed value → English
    operand: Callable[[Any, Field], Any] = lambda parsed, field: parsed  # noqa: E731


def _got(raw: Any) -> str:
    if raw is None:
        return "got nothing"
    if isinstance(raw, bool):
        return f"got {str(raw).lower()}"
    if isinstance(raw, (int, float)):
        return "got a number"
    if isinstance(raw, str):
        return "got text"
    return f"got {'a list' if isinstance(raw, list) else 'an object' if isinstance(raw, dict) else type(raw).__name__}"


def _no_value(raw: Any) -> None:
    if raw is not None:
        raise ValueError(_got(raw))


def _text(raw: Any) -> str:
    if not isinstance(raw, str):
        raise ValueError(_got(raw))
    text = raw.strip(" ")
    if not text:
        raise ValueError("got blank text; is_empty finds empty values")
    if len(text) > MAX_TEXT_LENGTH:
        raise ValueError(f"text is limited to {MAX_TEXT_LENGTH:,} characters")
    if "\x00" in text:
        raise ValueError("text cannot contain NUL characters")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text is not valid Unicode") from None
    return text


def _texts(raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, list) or not raw:
        raise ValueError(_got(raw) if not isinstance(raw, list) else "got an empty list")
    if len(raw) > MAX_LIST_LENGTH:
        raise ValueError(f"lists are limited to {MAX_LIST_LENGTH:,} values")
    return tuple(_text(item) for item in raw)


def _number(raw: Any) -> int | float:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise ValueError(_got(raw))
    if isinstance(raw, float) and not math.isfinite(raw):
        raise ValueError("NaN and infinity are not numbers a record can have")
    if abs(raw) > MAX_NUMBER:
        raise ValueError(f"numbers are limited to ±{MAX_NUMBER:,}")
    return raw


def _whole(number: int | float) -> int | float:
    """5.0 → 5, so that it binds as an integer (and an integer column's index serves it)."""
    return int(number) if isinstance(number, float) and number.is_integer() else number


def _date(raw: Any) -> date:
    if not isinstance(raw, str) or not _DATE_TEXT.fullmatch(raw):
        raise ValueError(_got(raw) if not isinstance(raw, str) else f"got {raw[:40]!r}")
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"{raw} is not a calendar date") from None
    if day.year > 9998:
        raise ValueError("dates are limited to the year 9998")
    return day


def _pair(parse: Callable[[Any], Any], first: str) -> Callable[[Any], tuple[Any, Any]]:
    def parse_pair(raw: Any) -> tuple[Any, Any]:
        if not isinstance(raw, list) or len(raw) != 2:
            raise ValueError(_got(raw) if not isinstance(raw, list) else f"got {len(raw)} values")
        low, high = parse(raw[0]), parse(raw[1])
        if low > high:
            raise ValueError(f"the {first} one comes first")
        return low, high

    return parse_pair


def _relative(raw: Any) -> tuple[int, str]:
    if not isinstance(raw, dict) or set(raw) != {"amount", "unit"}:
        raise ValueError(_got(raw) if not isinstance(raw, dict) else "the keys are amount and unit")
    unit, amount = raw["unit"], raw["amount"]
    if unit not in MAX_AMOUNT:
        raise ValueError(f"unit must be one of {', '.join(MAX_AMOUNT)}")
    if isinstance(amount, bool) or not isinstance(amount, int) or not 1 <= amount <= MAX_AMOUNT[unit]:
        raise ValueError(f"amount must be a whole number from 1 to {MAX_AMOUNT[unit]:,} for {unit}s")
    return amount, unit


def _segment_id(raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= MAX_SEGMENT_ID:
        raise ValueError(_got(raw) if not isinstance(raw, int) else "ids are positive")
    return raw


def show_number(number: int | float) -> str:
    return str(_whole(number))


def _plural(amount: int, unit: str) -> str:
    return f"{amount} {unit}{'' if amount == 1 else 's'}"


@dataclass(frozen=True)
class Range:
    """low ≤ value < high (≤ high when high_inclusive); a missing end is unbounded."""

    low: Any = None
    high: Any = None
    high_inclusive: bool = False

    def map(self, bind: Callable[[Any], Any]) -> Range:
        return Range(*(None if end is None else bind(end) for end in (self.low, self.high)), self.high_inclusive)


def clock(as_of: datetime | date | None) -> datetime:
    """The `as_of` instant as naive UTC (what the tables store); now when not pinned."""
    if as_of is None:
        return utcnow()
    if not isinstance(as_of, datetime):
        return datetime.combine(as_of, time())
    return naive_utc(as_of)


def _day(field: Field, day: date) -> Any:
    """The start of `day` in the terms the field's value is compared in (see fields.py)."""
    if field.type == "date":
        return day.isoformat()
    if field.storage == "column":
        return datetime.combine(day, time())
    return f"{day.isoformat()} 00:00:00"


def _instant(field: Field, moment: datetime) -> Any:
    return moment if field.storage == "column" else moment.replace(microsecond=0).isoformat(sep=" ")


def _days(pair: tuple[date, date], field: Field) -> Range:
    return Range(_day(field, pair[0]), _day(field, pair[1] + ONE_DAY))


NO_VALUE = ValueShape("none", "no value", _no_value, lambda _: "")
TEXT = ValueShape("text", "text", _text, str, lambda text, field: fold(text))
TEXT_LIST = ValueShape(
    "text_list", 'a list of text values, like ["software", "biotech"]', _texts, ", ".join,
    lambda texts, field: tuple(dict.fromkeys(fold(text) for text in texts)),
)
NUMBER = ValueShape("number", "a number", _number, show_number, lambda n, field: _whole(n))
NUMBER_RANGE = ValueShape(
    "number_range", "two numbers, lower first, like [50, 500]", _pair(_number, "lower"),
    lambda pair: f"{show_number(pair[0])} and {show_number(pair[1])}",
    lambda pair, field: Range(_whole(pair[0]), _whole(pair[1]), high_inclusive=True),
)
DATE = ValueShape("date", "a date like 2024-05-31", _date, date.isoformat)
DATE_RANGE = ValueShape(
    "date_range", 'two dates, earlier first, like ["2024-01-01", "2024-03-31"]', _pair(_date, "earlier"),
    lambda pair: f"{pair[0].isoformat()} and {pair[1].isoformat()}", _days,
)
RELATIVE = ValueShape(
    "relative", 'an amount and a unit, like {"amount": 30, "unit": "day"}', _relative,
    lambda rel: _plural(*rel),
)
SEGMENT_ID = ValueShape("segment", "a saved segment's id", _segment_id, lambda sid: f"#{sid}")


# -- builders shared by several entries ------------------------------------------------------------

def _matches(template: tuple[str, str]) -> Callable[[SqlTarget, str], Any]:
    return lambda target, text: target.value.like(like_pattern(template[0], text, template[1]), escape="\\")


def range_sql(value: Any, bounds: Range) -> Any:
    if bounds.low is not None and bounds.high is not None and bounds.high_inclusive:
        return value.between(bounds.low, bounds.high)
    parts = []
    if bounds.low is not None:
        parts.append(value >= bounds.low)
    if bounds.high is not None:
        parts.append(value <= bounds.high if bounds.high_inclusive else value < bounds.high)
    return sa.and_(*parts)


def range_test(value: Any, bounds: Range) -> bool:
    if bounds.low is not None and value < bounds.low:
        return False
    if bounds.high is None:
        return True
    return value <= bounds.high if bounds.high_inclusive else value < bounds.high


def range_vector(values: Any, bounds: Range) -> Any:
    tests = []
    if bounds.low is not None:
        tests.append(values >= bounds.low)
    if bounds.high is not None:
        tests.append(values <= bounds.high if bounds.high_inclusive else values < bounds.high)
    return functools.reduce(operator.and_, tests)


def _on(day: date, field: Field, as_of: datetime) -> Range:
    return Range(_day(field, day), _day(field, day + ONE_DAY))


def _before(day: date, field: Field, as_of: datetime) -> Range:
    return Range(high=_day(field, day))


def _after(day: date, field: Field, as_of: datetime) -> Range:
    return Range(low=_day(field, day + ONE_DAY))


def _within(direction: int) -> Callable[[tuple[int, str], Field, datetime], Range]:
    def prepare(relative: tuple[int, str], field: Field, as_of: datetime) -> Range:
        amount, unit = relative
        step = relativedelta(**{f"{unit}s": amount})
        if field.type == "date":
            today = as_of.date()
            ends = (today - step, today) if direction < 0 else (today, today + step)
            return Range(*(day.isoformat() for day in ends), high_inclusive=True)
        ends = (as_of - step, as_of) if direction < 0 else (as_of, as_of + step)
        return Range(*(_instant(field, moment) for moment in ends), high_inclusive=True)

    return prepare


# -- the registry ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Operator:
    key: str
    label: str  # in the builder's operator menu
    phrase: str  # English after the field's label; {} is the value
    values: Mapping[str, ValueShape]  # field type → the value the operator takes there
    sql: Callable[[SqlTarget, Any], Any] | None  # the positive predicate on the field's value
    test: Callable[[Any, Any], bool] | None  # the same in Python, on a value that is not empty
    prepare: Callable[[Any, Field, datetime], Any] | None = None  # when the operand needs the clock
    negated: bool = False
    # `test` over many values at once (columns.py): values → a boolean array, which the caller
    # narrows to the records that have a value. The values are a field's distinct texts as a
    # pandas string Series (text, dates), or one per record: columns.Numbers, a numpy array
    # (booleans, timestamps).
    vector: Callable[[Any, Any], Any] | None = None

    @property
    def field_types(self) -> tuple[str, ...]:
        return tuple(self.values)

    def operand(self, parsed: Any, field: Field, as_of: datetime) -> Any:
        """What `sql`, `test` and `vector` compare with: folded text, whole numbers, a Range of dates."""
        if self.prepare is not None:
            return self.prepare(parsed, field, as_of)
        return self.values[field.type].operand(parsed, field)

    def describe(self, subject: str, parsed: Any, field_type: str) -> str:
        shown = self.values[field_type].show(parsed) if parsed is not None else ""
        return " ".join(part for part in (subject, self.phrase.format(shown).strip()) if part)


def negation(positive: Operator, key: str, label: str, phrase: str, **changes: Any) -> Operator:
    """The exact complement of `positive`: NOT(positive) in SQL, `not positive` in Python."""
    return replace(positive, key=key, label=label, phrase=phrase, negated=True, **changes)


_DATES = {"date": DATE, "datetime": DATE}
_RELATIVE = {"date": RELATIVE, "datetime": RELATIVE}
_EXISTS = {t: NO_VALUE for t in ("text", "number", "date", "datetime", "list")}

_eq = Operator("eq", "is", "is {}", {"text": TEXT, "number": NUMBER},
               lambda t, x: t.value == x, operator.eq, vector=operator.eq)
_contains = Operator("contains", "contains", "contains {}", {"text": TEXT},
                     lambda t, x: t.contains(x) if t.contains else _matches(("%", "%"))(t, x),
                     lambda v, x: x in v, vector=lambda v, x: v.str.contains(x, regex=False))
_in = Operator("in", "is any of", "is any of {}", {"text": TEXT_LIST},
               lambda t, x: t.value.in_(x), lambda v, x: v in x, vector=lambda v, x: v.isin(x))
_between = Operator("between", "is between", "is between {}",
                    {"number": NUMBER_RANGE, "date": DATE_RANGE, "datetime": DATE_RANGE},
                    lambda t, x: range_sql(t.value, x), range_test, vector=range_vector)
_within_last = Operator("within_last", "is within the last", "is within the last {}", _RELATIVE,
                        lambda t, x: range_sql(t.value, x), range_test, _within(-1), vector=range_vector)
_within_next = Operator("within_next", "is within the next", "is within the next {}", _RELATIVE,
                        lambda t, x: range_sql(t.value, x), range_test, _within(+1), vector=range_vector)
_is_not_empty = Operator("is_not_empty", "is not empty", "is not empty", _EXISTS,
                         lambda t, x: t.nonblank, lambda v, x: True,
                         vector=lambda v, x: np.ones(len(v), dtype=bool))
_contains_any = Operator("contains_any", "has any of", "has any of {}", {"list": TEXT_LIST},
                         lambda t, x: t.has_any(x), lambda v, x: not v.isdisjoint(x))
_in_segment = Operator("in_segment", "is in segment", "in segment {}", {"segment": SEGMENT_ID}, None, None)

OPERATORS: dict[str, Operator] = {op.key: op for op in [
    # text
    _eq,
    negation(_eq, "neq", "is not", "is not {}"),
    _contains,
    negation(_contains, "not_contains", "does not contain", "does not contain {}"),
    Operator("starts_with", "starts with", "starts with {}", {"text": TEXT},
             _matches(("", "%")), str.startswith, vector=lambda v, x: v.str.startswith(x)),
    Operator("ends_with", "ends with", "ends with {}", {"text": TEXT},
             _matches(("%", "")), str.endswith, vector=lambda v, x: v.str.endswith(x)),
    _in,
    negation(_in, "not_in", "is none of", "is none of {}"),
    # numbers
    Operator("gt", "is greater than", "is greater than {}", {"number": NUMBER},
             lambda t, x: t.value > x, operator.gt, vector=operator.gt),
    Operator("gte", "is at least", "is at least {}", {"number": NUMBER},
             lambda t, x: t.value >= x, operator.ge, vector=operator.ge),
    Operator("lt", "is less than", "is less than {}", {"number": NUMBER},
             lambda t, x: t.value < x, operator.lt, vector=operator.lt),
    Operator("lte", "is at most", "is at most {}", {"number": NUMBER},
             lambda t, x: t.value <= x, operator.le, vector=operator.le),
    _between,
    negation(_between, "not_between", "is not between", "is not between {}"),
    # dates
    Operator("on", "is on", "is on {}", _DATES, lambda t, x: range_sql(t.value, x), range_test, _on,
             vector=range_vector),
    Operator("before", "is before", "is before {}", _DATES,
             lambda t, x: range_sql(t.value, x), range_test, _before, vector=range_vector),
    Operator("after", "is after", "is after {}", _DATES,
             lambda t, x: range_sql(t.value, x), range_test, _after, vector=range_vector),
    _within_last,
    negation(_within_last, "not_within_last", "is not within the last", "is not within the last {}"),
    _within_next,
    negation(_within_next, "not_within_next", "is not within the next", "is not within the next {}"),
    # booleans
    Operator("is_true", "is true", "is true", {"boolean": NO_VALUE},
             lambda t, x: t.value == sa.true(), lambda v, x: v is True, vector=lambda v, x: v),
    Operator("is_false", "is false", "is false", {"boolean": NO_VALUE},
             lambda t, x: t.value == sa.false(), lambda v, x: v is False, vector=lambda v, x: ~v),
    # lists
    _contains_any,
    Operator("contains_all", "has all of", "has all of {}", {"list": TEXT_LIST},
             lambda t, x: sa.and_(*(t.has_any((name,)) for name in x)), lambda v, x: v.issuperset(x)),
    negation(_contains_any, "contains_none", "has none of", "has none of {}"),
    # any type
    _is_not_empty,
    negation(_is_not_empty, "is_empty", "is empty", "is empty", values={**_EXISTS, "boolean": NO_VALUE}),
    # saved segments: the compiler inlines the segment's own filter
    _in_segment,
    negation(_in_segment, "not_in_segment", "is not in segment", "not in segment {}"),
]}

SEGMENT_OPERATORS = ("in_segment", "not_in_segment")


def operators_for(field_type: str) -> list[Operator]:
    """The operators the builder offers for a field type ("segment" for membership)."""
    return [op for op in OPERATORS.values() if field_type in op.values]
