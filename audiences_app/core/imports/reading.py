"""Reading import files in chunks: CSV (encoding detected, delimiter sniffed), XLSX and Parquet.

Memory stays flat whatever the file's size: CSV goes through the `csv` module over a decoded
text stream, XLSX through openpyxl's read-only streaming, Parquet through pyarrow batches;
a chunk holds at most `max_rows` rows and ends at a `position` from which the next chunk
starts, so a durable run can resume any chunk without reading what came before it.

Every row carries its line number (CSV: the physical line where the record starts, the
header being line 1; XLSX: the sheet's row number; Parquet: numbered as if the file were a
CSV with a header line). A line that cannot be parsed becomes a `BadLine` with a reason, and
reading goes on after it; a file that cannot be read at all raises `ImportFileError` with
one message a user can act on.

Encodings: a byte-order mark decides (UTF-8, UTF-16 LE/BE, UTF-32); otherwise UTF-8 when the
sample is valid UTF-8; otherwise charset-normalizer's guess, with Windows-1252 preferred
among equally good guesses (Excel on Western Windows writes it; charset-normalizer cannot
tell it from its siblings on English text). UTF-8 and Windows-1252 files are decoded as
UTF-8 whose invalid bytes are read as Windows-1252: a real-world export is often both (the
Crunchbase file holds "agámi" in UTF-8 beside "Anchor™" in cp1252), and a byte sequence
that is valid UTF-8 is almost never intended as cp1252 text ("Ã©").
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import math
import os
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import charset_normalizer

from audiences_app.core.normalize import clean_text

SAMPLE_BYTES = 1 << 20
"""Bytes read to detect the format, encoding and delimiter."""
MAX_FIELD_CHARS = 16 * 1024 * 1024
"""Largest single CSV value: far above any real cell (a 200,000-character description
passes), low enough that a quote that never closes stops before it eats the whole file."""
MAX_RECORD_LINES = 5_000
"""A quoted value spanning more physical lines than this is taken as an unbalanced quote."""

csv.field_size_limit(MAX_FIELD_CHARS)  # the default (131,072) rejects real long descriptions


class ImportFileError(ValueError):
    """The file cannot be read at all; the message says why and what to do."""


def _cp1252_fallback(error: UnicodeDecodeError) -> tuple[str, int]:
    bad = error.object[error.start : error.end]
    return bad.decode("cp1252", errors="replace"), error.end


UTF8_WITH_CP1252 = "audiences-cp1252-fallback"
codecs.register_error(UTF8_WITH_CP1252, _cp1252_fallback)


@dataclass(frozen=True)
class FileLayout:
    """What inspection found out about a file: enough to read any chunk of it again."""

    path: str
    format: str
    size: int
    mtime_ns: int
    headers: list[str]
    """Column names as read, made unique ("email", "email_2") and never empty."""
    start: dict
    """Position of the first data row."""
    encoding: str | None = None
    errors: str = "strict"
    encoding_label: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    total_rows: int | None = None
    """Known for Parquet and (roughly) XLSX; CSV progress is measured in bytes instead."""
    notes: list[str] = field(default_factory=list)
    """Things the user should know: renamed duplicate headers, NUL bytes, a sep= line…"""

    def to_params(self) -> dict:
        return asdict(self)

    @classmethod
    def from_params(cls, params: dict) -> FileLayout:
        return cls(**params)


@dataclass(frozen=True)
class SourceRow:
    line: int
    values: list[str]
    """One string per header ("" for an empty cell)."""


@dataclass(frozen=True)
class BadLine:
    line: int
    reason: str
    values: list[str]
    """What could be read of the line, for the reject report."""


@dataclass(frozen=True)
class Chunk:
    rows: list[SourceRow | BadLine]
    next: dict | None
    """Where the next chunk starts; None when the file is finished."""
    progress: float
    """Fraction of the file read once this chunk is done (0..1)."""


# -- inspection ---------------------------------------------------------------------------------

def inspect_file(path: str | os.PathLike, *, sheet: str | None = None) -> FileLayout:
    """Detect format, encoding, delimiter and headers; ImportFileError if it cannot be read."""
    path = Path(path)
    try:
        stat = path.stat()
        with path.open("rb") as handle:
            sample = handle.read(SAMPLE_BYTES)
    except FileNotFoundError:
        raise ImportFileError(f"There is no file at {path}.") from None
    except IsADirectoryError:
        raise ImportFileError(f"{path} is a folder, not a file.") from None
    except OSError as exc:
        raise ImportFileError(f"The file {path.name} cannot be opened: {exc.strerror}.") from None
    if not sample.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise ImportFileError(f"The file {path.name} is empty: there is nothing to import.")
    kind = _format_of(path, sample)
    base = {"path": str(path.resolve()), "format": kind, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    if kind == "xlsx":
        return _inspect_xlsx(path, base, sheet)
    if kind == "parquet":
        return _inspect_parquet(path, base)
    return _inspect_csv(path, base, sample)


def _format_of(path: Path, sample: bytes) -> str:
    suffix = path.suffix.lower()
    if sample.startswith(b"PAR1"):
        return "parquet"
    if sample.startswith(b"PK\x03\x04"):
        if suffix in (".xlsx", ".xlsm") or b"xl/" in sample[:4096]:
            return "xlsx"
        raise ImportFileError(f"{path.name} is a ZIP archive, not a CSV or XLSX file: unpack it first.")
    if sample.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError(
            f"{path.name} is an old Excel 97-2003 (.xls) file: save it as .xlsx or CSV and import that."
        )
    return "csv"


def check_unchanged(layout: FileLayout) -> None:
    """Raise if the file was replaced or edited since it was inspected (a run reads it in parts)."""
    try:
        stat = os.stat(layout.path)
    except FileNotFoundError:
        raise ImportFileError(f"The file {layout.path} is gone: upload it again and start a new import.") from None
    if (stat.st_size, stat.st_mtime_ns) != (layout.size, layout.mtime_ns):
        raise ImportFileError(
            f"The file {layout.path} changed after the import started: start a new import with it."
        )


def unique_headers(names: list[Any]) -> tuple[list[str], list[str]]:
    """Clean header names, name empty ones after their position, number repeats; and notes."""
    headers: list[str] = []
    notes: list[str] = []
    taken: set[str] = set()
    cleaned = [clean_text(_cell_text(name)) for name in names]
    reserved = {name.casefold() for name in cleaned if name}
    for position, name in enumerate(cleaned, start=1):
        if not name:
            name = f"column_{position}"
            notes.append(f"Column {position} has no name: it is called {name!r}.")
        if name.casefold() in taken:
            number = 2
            while f"{name}_{number}".casefold() in taken | reserved:
                number += 1
            renamed = f"{name}_{number}"
            notes.append(f"Column {position} is named {name!r} like an earlier column: it is read as {renamed!r}.")
            name = renamed
        taken.add(name.casefold())
        headers.append(name)
    return headers, notes


# -- CSV ----------------------------------------------------------------------------------------

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32 LE"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32 BE"),
    (codecs.BOM_UTF8, "utf-8", "UTF-8 (with BOM)"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16 LE"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16 BE"),
)
_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
_TEXT_BYTES = bytes(range(32, 256)) + b"\t\n\r\x0c"
_ASCII_BYTES = bytes(range(128))
_SEP_LINE = re.compile(r"^sep=(.)\r?\n?$", re.IGNORECASE)
_DELIMITERS = (",", ";", "\t", "|")
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


def _detect_encoding(sample: bytes, name: str) -> tuple[str, str, str, int]:
    """(codec, errors handler, label, bytes of BOM to skip) for a CSV sample."""
    for bom, codec, label in _BOMS:
        if sample.startswith(bom):
            errors = UTF8_WITH_CP1252 if codec == "utf-8" else "replace"
            return codec, errors, label, len(bom)
    utf16 = _utf16_without_bom(sample)
    if utf16:
        return utf16, "replace", f"{utf16.upper().replace('-LE', ' LE').replace('-BE', ' BE')} (no BOM)", 0
    # NUL runs are a known kind of damage (padding left by a crashed export), so they count
    # apart from the other control bytes that mark binary files.
    nuls = sample.count(0)
    if len(sample.translate(None, _TEXT_BYTES)) - nuls > len(sample) // 20 or nuls > len(sample) * 0.3:
        raise ImportFileError(f"{name} does not look like a text (CSV) file: it is mostly binary data.")
    if _is_utf8(sample):
        return "utf-8", UTF8_WITH_CP1252, "UTF-8", 0
    high = len(sample.translate(None, _ASCII_BYTES))
    if _UTF8_SEQUENCE.search(sample) or (len(sample) >= 4096 and high <= len(sample) // 100):
        # Valid UTF-8 beside invalid bytes is a Western export edited twice; mostly ASCII
        # with a few odd bytes (™, é, ’) is too little for a statistical guess. Both are
        # almost always Windows-1252.
        return "utf-8", UTF8_WITH_CP1252, "Windows-1252", 0
    sample = sample.replace(b"\x00", b"")
    best = charset_normalizer.from_bytes(sample).best()
    western = charset_normalizer.from_bytes(sample, cp_isolation=["cp1252"]).best()
    if western is not None and (best is None or western.chaos <= best.chaos + 0.01):
        return "utf-8", UTF8_WITH_CP1252, "Windows-1252", 0
    if best is None:
        raise ImportFileError(f"The encoding of {name} cannot be recognized: save it as UTF-8 and import that.")
    return best.encoding, "replace", best.encoding, 0


def _utf16_without_bom(sample: bytes) -> str | None:
    """UTF-16 text without a BOM shows as NUL in every other byte (for Latin text)."""
    head = sample[:4096]
    if len(head) < 8:
        return None
    even, odd = head[0::2], head[1::2]
    if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.05 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.4 * len(even) and odd.count(0) < 0.05 * len(odd):
        return "utf-16-be"
    return None


def _is_utf8(sample: bytes) -> bool:
    try:
        sample.decode("utf-8")
        return True
    except UnicodeDecodeError as exc:
        # A sample cut in the middle of a character fails only in its last 3 bytes.
        return exc.start >= len(sample) - 3 and exc.reason == "unexpected end of data"


def _open_text(layout_path: str, encoding: str, errors: str) -> io.TextIOWrapper:
    # newline="": the csv module sees \r\n, \r and \n as they are, so mixed line endings and
    # line breaks inside quoted values are all read right.
    return open(layout_path, encoding=encoding, errors=errors, newline="")  # noqa: SIM115


def _inspect_csv(path: Path, base: dict, sample: bytes) -> FileLayout:
    codec, errors, label, skip = _detect_encoding(sample, path.name)
    notes: list[str] = []
    decoder = codecs.getincrementaldecoder(codec)(errors=errors)
    text = decoder.decode(sample[skip:], final=len(sample) < SAMPLE_BYTES)
    if "\x00" in text:
        notes.append("The file contains NUL bytes (a sign of damage); they are ignored.")
        text = text.replace("\x00", "")
    sample_lines = text.splitlines(keepends=True)[:200]
    if len(sample) >= SAMPLE_BYTES and sample_lines:
        sample_lines = sample_lines[:-1] or sample_lines  # the last one may be cut short
    with _open_text(base["path"], codec, errors) as stream:
        stream.seek(skip)  # past the byte-order mark; a byte offset is a valid text cookie here
        line = 1
        delimiter = None
        if sample_lines and (match := _SEP_LINE.match(sample_lines[0])):
            delimiter = match.group(1)
            notes.append(f"The first line sets the delimiter (sep={delimiter}); it is not a header.")
            stream.readline()
            line = 2
            sample_lines = sample_lines[1:]
        delimiter = delimiter or _sniff_delimiter(sample_lines)
        records = _CsvRecords(stream, delimiter, line)
        header = None
        for record in records:
            if isinstance(record, BadLine):
                raise ImportFileError(
                    f"The header on line {record.line} of {path.name} cannot be read: {record.reason}."
                )
            start_line, fields, _ = record
            if any(f.strip() for f in fields):
                header = (start_line, fields)
                break
        if header is None:
            raise ImportFileError(f"The file {path.name} is empty: there is nothing to import.")
        headers, header_notes = unique_headers(header[1])
        start = records.position()
        has_rows = any(
            isinstance(r, BadLine) or any(v.strip() for v in r[1]) for r in _take(records, 1000)
        )
    if not has_rows:
        raise ImportFileError(
            f"The file {path.name} has a header row ({', '.join(headers[:6])}"
            f"{', …' if len(headers) > 6 else ''}) but no data rows."
        )
    if len(headers) == 1 and delimiter == ",":
        notes.append("Only one column was found: if the file uses another delimiter, check it.")
    return FileLayout(
        **base, headers=headers, start=start, encoding=codec, errors=errors, encoding_label=label,
        delimiter=delimiter, notes=notes + header_notes,
    )


def _take(iterator: Iterator, n: int) -> Iterator:
    for _, item in zip(range(n), iterator, strict=False):
        yield item


def _sniff_delimiter(lines: list[str]) -> str:
    """csv.Sniffer's answer when it is as consistent as the best candidate; else the best."""
    sample = "".join(lines[:50])
    if not sample.strip():
        return ","
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters="".join(_DELIMITERS)).delimiter
    except csv.Error:
        sniffed = None
    candidates = ([sniffed] if sniffed else []) + [d for d in _DELIMITERS if d != sniffed]

    def consistency(delimiter: str) -> tuple[int, int]:
        rows = [r for r in csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter) if r]
        if not rows or len(rows[0]) < 2:
            return (0, 0)
        width = len(rows[0])
        return (sum(1 for r in rows if len(r) == width), width)

    scores = {d: consistency(d) for d in candidates}
    best = max(candidates, key=lambda d: scores[d])  # max keeps the first of equals: Sniffer's
    return best if scores[best] > (0, 0) else ","


class _Runaway(Exception):
    """A record ran over MAX_RECORD_LINES physical lines."""


class _CsvRecords:
    """CSV records with their first line number, recovering from broken quoting.

    Yields (line, fields, physical lines) or a BadLine. When a record cannot be right — a
    quoted value that swallows following lines and leaves the wrong number of values, or a
    value over MAX_FIELD_CHARS — the record's first line is reported and the lines after it
    are read again from scratch, so one stray quote costs one line, not the rest of the file.
    """

    def __init__(self, stream: io.TextIOWrapper, delimiter: str, first_line: int, width: int | None = None):
        self._stream = stream
        self._delimiter = delimiter
        self._pending: deque[str] = deque()
        self._record: list[str] = []
        self.next_line = first_line
        self.width = width
        self._reader = self._new_reader()

    def _new_reader(self):
        # strict: text after a closing quote, or a file ending inside quotes, is an error
        # (and so a BadLine) instead of a silently merged value.
        return csv.reader(self._lines(), delimiter=self._delimiter, strict=True)

    def _lines(self) -> Iterator[str]:
        readline, pending, record = self._stream.readline, self._pending, self._record
        while True:
            line = pending.popleft() if pending else readline()
            if not line:
                return
            if "\x00" in line:
                line = line.replace("\x00", "")
            record.append(line)
            if len(record) > MAX_RECORD_LINES:
                raise _Runaway
            yield line

    def position(self) -> dict | None:
        """Where the next record starts, or None while re-read lines are still pending."""
        if self._pending:
            return None
        return {"offset": self._stream.tell(), "line": self.next_line}

    def _bad_first_line(self, start: int, reason: str) -> BadLine:
        lines = list(self._record)
        self._pending.extendleft(reversed(lines[1:]))
        self.next_line = start + 1
        self._reader = self._new_reader()
        first = lines[0].rstrip("\r\n") if lines else ""
        return BadLine(start, reason, first.split(self._delimiter))

    def __iter__(self):
        return self

    def __next__(self) -> tuple[int, list[str], int] | BadLine:
        self._record.clear()
        start = self.next_line
        try:
            fields = next(self._reader)
        except _Runaway:
            return self._bad_first_line(
                start, f"a quoted value that starts on this line never closes (it runs over {MAX_RECORD_LINES:,} lines)"
            )
        except csv.Error as exc:
            message = str(exc)
            if "field larger than field limit" in message:
                reason = f"a value is longer than {MAX_FIELD_CHARS:,} characters (or a quote never closes)"
            elif "unexpected end of data" in message:
                reason = "unbalanced quote: a quoted value that starts on this line never closes"
            elif "expected after" in message:
                reason = "unbalanced quote: text follows a closing quote (a quote inside a value must be doubled)"
            else:
                reason = f"the line is not valid CSV ({message})"
            return self._bad_first_line(start, reason)
        physical = len(self._record)
        self.next_line = start + physical
        if self.width is not None and fields:
            if physical > 1 and len(fields) != self.width:
                return self._bad_first_line(
                    start,
                    f"unbalanced quote: a quoted value that starts on this line runs on over {physical} lines"
                    f" and leaves {len(fields)} values for {self.width} columns",
                )
        return start, fields, physical


def _csv_chunk(layout: FileLayout, position: dict, max_rows: int) -> Chunk:
    width = len(layout.headers)
    rows: list[SourceRow | BadLine] = []
    with _open_text(layout.path, layout.encoding, layout.errors) as stream:
        stream.seek(position["offset"])
        records = _CsvRecords(stream, layout.delimiter, position["line"], width)
        next_position = None
        for record in records:
            if isinstance(record, BadLine):
                rows.append(record)
            else:
                start, fields, _ = record
                if len(fields) != width:
                    extra = fields[width:]
                    if any(value.strip() for value in extra):
                        rows.append(BadLine(
                            start,
                            f"the line has {len(fields)} values but the header has {width} columns"
                            " (a delimiter or quote out of place?)",
                            fields,
                        ))
                        fields = None
                    else:
                        fields = fields[:width] + [""] * (width - len(fields))
                if fields is not None and "".join(fields).strip():  # not a blank line: one pass in C
                    rows.append(SourceRow(start, fields))
            if len(rows) >= max_rows and (next_position := records.position()) is not None:
                break
        else:
            next_position = None
        offset = (next_position or {}).get("offset", layout.size) & ((1 << 64) - 1)
    return Chunk(rows, next_position, min(1.0, offset / layout.size) if layout.size else 1.0)


# -- XLSX ---------------------------------------------------------------------------------------

def _open_workbook(path: str):
    import openpyxl  # noqa: PLC0415 (only XLSX imports need it)

    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile, XML and openpyxl errors all mean the same to the user
        raise ImportFileError(f"{Path(path).name} cannot be read as an XLSX workbook: {exc}.") from None


def _inspect_xlsx(path: Path, base: dict, sheet: str | None) -> FileLayout:
    workbook = _open_workbook(base["path"])
    try:
        if sheet is not None and sheet not in workbook.sheetnames:
            raise ImportFileError(
                f"{path.name} has no sheet {sheet!r}; its sheets are {', '.join(workbook.sheetnames)}."
            )
        worksheet = workbook[sheet] if sheet else workbook.worksheets[0]
        header, header_row, has_rows = None, 0, False
        for number, values in enumerate(worksheet.iter_rows(values_only=True), start=1):
            if not any(_cell_text(v).strip() for v in values):
                continue
            if header is None:
                header, header_row = list(values), number
                continue
            has_rows = True
            break
        total = worksheet.max_row
        notes = [] if sheet or len(workbook.sheetnames) == 1 else [
            f"The workbook has {len(workbook.sheetnames)} sheets; the first, {worksheet.title!r}, is read."
        ]
        title = worksheet.title
    finally:
        workbook.close()
    if header is None:
        raise ImportFileError(f"The sheet {title!r} of {path.name} is empty: there is nothing to import.")
    while header and not _cell_text(header[-1]).strip():
        header.pop()  # openpyxl reports formatted but empty cells at the end of the row
    headers, header_notes = unique_headers(header)
    if not has_rows:
        raise ImportFileError(f"The sheet {title!r} of {path.name} has a header row but no data rows.")
    return FileLayout(
        **base, headers=headers, start={"row": header_row + 1}, sheet=title,
        total_rows=max(0, (total or 0) - header_row) or None, notes=notes + header_notes,
    )


def _xlsx_chunk(layout: FileLayout, position: dict, max_rows: int) -> Chunk:
    width = len(layout.headers)
    rows: list[SourceRow | BadLine] = []
    workbook = _open_workbook(layout.path)
    next_row = None
    try:
        worksheet = workbook[layout.sheet]
        first = position["row"]
        for number, values in enumerate(worksheet.iter_rows(min_row=first, values_only=True), start=first):
            if len(rows) >= max_rows:
                next_row = number
                break
            texts = [_cell_text(v) for v in values]
            if len(texts) > width and any(t.strip() for t in texts[width:]):
                rows.append(BadLine(number, f"the row has values beyond the {width} named columns", texts))
                continue
            texts = texts[:width] + [""] * (width - len(texts))
            if any(t.strip() for t in texts):
                rows.append(SourceRow(number, texts))
    finally:
        workbook.close()
    if next_row is None:
        progress = 1.0
    elif layout.total_rows:
        progress = min(0.99, (next_row - layout.start["row"]) / layout.total_rows)
    else:
        progress = 0.0
    return Chunk(rows, {"row": next_row} if next_row else None, progress)


# -- Parquet ------------------------------------------------------------------------------------

def _inspect_parquet(path: Path, base: dict) -> FileLayout:
    import pyarrow.parquet as pq  # noqa: PLC0415

    try:
        parquet = pq.ParquetFile(base["path"])
    except Exception as exc:
        raise ImportFileError(f"{path.name} cannot be read as a Parquet file: {exc}.") from None
    headers, notes = unique_headers(parquet.schema_arrow.names)
    total = parquet.metadata.num_rows
    if total == 0:
        raise ImportFileError(f"The Parquet file {path.name} has columns but no rows.")
    return FileLayout(**base, headers=headers, start={"row": 0}, total_rows=total, notes=notes)


def _parquet_chunk(layout: FileLayout, position: dict, max_rows: int) -> Chunk:
    import pyarrow.parquet as pq  # noqa: PLC0415

    parquet = pq.ParquetFile(layout.path)
    first = position["row"]
    stop = min(layout.total_rows, first + max_rows)
    groups, group_start, skip = [], 0, 0
    for index in range(parquet.num_row_groups):
        size = parquet.metadata.row_group(index).num_rows
        if group_start + size > first and group_start < stop:
            if not groups:
                skip = first - group_start
            groups.append(index)
        group_start += size
    rows: list[SourceRow | BadLine] = []
    number = first - skip
    for batch in parquet.iter_batches(batch_size=min(max_rows, 10_000), row_groups=groups, use_threads=False):
        columns = [column.to_pylist() for column in batch.columns]
        for values in zip(*columns, strict=True):
            if first <= number < stop:
                texts = [_cell_text(v) for v in values]
                if any(t.strip() for t in texts):
                    rows.append(SourceRow(number + 2, texts))
            number += 1
        if number >= stop:
            break
    return Chunk(rows, {"row": stop} if stop < layout.total_rows else None, stop / layout.total_rows)


# -- reading ------------------------------------------------------------------------------------

def read_chunk(layout: FileLayout, position: dict | None = None, max_rows: int = 10_000) -> Chunk:
    """At most `max_rows` rows (and bad lines) from `position` (default: the first data row)."""
    position = position or layout.start
    if layout.format == "xlsx":
        return _xlsx_chunk(layout, position, max_rows)
    if layout.format == "parquet":
        return _parquet_chunk(layout, position, max_rows)
    return _csv_chunk(layout, position, max_rows)


def iter_chunks(layout: FileLayout, max_rows: int = 10_000) -> Iterator[Chunk]:
    """Every chunk of the file, in order."""
    position: dict | None = layout.start
    while position is not None:
        chunk = read_chunk(layout, position, max_rows)
        yield chunk
        position = chunk.next


def _cell_text(value: Any) -> str:
    """A typed cell (XLSX, Parquet) as the text a CSV export of it would hold."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return ""
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    if isinstance(value, Decimal):
        return str(value.normalize()) if value == value.to_integral_value() else str(value)
    if isinstance(value, datetime):
        if value.time() == time(0) and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, (list, dict, tuple)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)
