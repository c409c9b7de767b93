"""Reading files: encodings, delimiters, broken CSV, XLSX, Parquet, and chunk positions."""

from __future__ import annotations

import codecs
import os

import pytest

from audiences_app.core.imports.reading import (
    MAX_FIELD_CHARS, BadLine, ImportFileError, SourceRow, check_unchanged, inspect_file, iter_chunks, read_chunk,
)


def _rows(path, max_rows=1000):
    layout = inspect_file(path)
    return layout, [row for chunk in iter_chunks(layout, max_rows) for row in chunk.rows]


def _values(rows):
    return [(r.line, r.values) for r in rows if isinstance(r, SourceRow)]


ACME = "name,domain\nAcmé,acme.com\n"


@pytest.mark.parametrize("encoded, label", [
    pytest.param(codecs.BOM_UTF8 + ACME.encode(), "UTF-8 (with BOM)", id="utf8-bom"),
    pytest.param(ACME.encode(), "UTF-8", id="utf8"),
    pytest.param(codecs.BOM_UTF16_LE + ACME.replace("\n", "\r\n").encode("utf-16-le"), "UTF-16 LE", id="utf16le"),
    pytest.param(codecs.BOM_UTF16_BE + ACME.encode("utf-16-be"), "UTF-16 BE", id="utf16be"),
    pytest.param(ACME.encode("utf-16-le"), "UTF-16 LE (no BOM)", id="utf16le-no-bom"),
    pytest.param(("name,domain\n" + "Plain Co,plain.com\n" * 300 + ACME.split("\n")[1]).encode("cp1252"),
                 "Windows-1252", id="cp1252"),
])
def test_each_encoding_reads_the_same_rows(write_file, encoded, label):
    layout, rows = _rows(write_file(encoded))
    assert layout.encoding_label == label
    assert layout.headers == ["name", "domain"]
    assert _values(rows)[-1][1] == ["Acmé", "acme.com"]


def test_windows_1252_with_stray_utf8_reads_both_right(write_file):
    text = "name,domain\n" + "Plain Co,plain.com\n" * 400 + "Anchor™,anchor.com\nCafé Ltée,cafe.com\n"
    data = text.encode("cp1252") + "agámi Systems,agami.com\n".encode("utf-8")
    layout, rows = _rows(write_file(data))
    assert layout.encoding_label == "Windows-1252"
    assert [v[0] for _, v in _values(rows)[-3:]] == ["Anchor™", "Café Ltée", "agámi Systems"]


def test_delimiter_is_sniffed(write_file):
    for delimiter in (";", "\t", "|"):
        layout, rows = _rows(write_file(f"name{delimiter}domain\nA, Inc{delimiter}a.com\n"))
        assert layout.delimiter == delimiter
        assert _values(rows) == [(2, ["A, Inc", "a.com"])]


def test_an_excel_sep_line_sets_the_delimiter_and_is_not_the_header(write_file):
    layout, rows = _rows(write_file("sep=;\nname;domain\nA;a.com\n"))
    assert (layout.delimiter, layout.headers) == (";", ["name", "domain"])
    assert _values(rows) == [(3, ["A", "a.com"])]


def test_mixed_line_endings_and_quoted_line_breaks_keep_line_numbers(write_file):
    _, rows = _rows(write_file(b'name,domain\r\nA,a.com\nB,b.com\rC,c.com\r\n"D\nE",d.com\nF,f.com\n'))
    assert _values(rows) == [(2, ["A", "a.com"]), (3, ["B", "b.com"]), (4, ["C", "c.com"]),
                             (5, ["D\nE", "d.com"]), (7, ["F", "f.com"])]


def test_a_quote_that_never_closes_costs_one_line(write_file):
    _, rows = _rows(write_file(b'name,domain\nA,a.com\n"B,b.com\nC,c.com\nD,d.com\n'))
    bad = [r for r in rows if isinstance(r, BadLine)]
    assert [(b.line, b.reason) for b in bad] == [
        (3, "unbalanced quote: a quoted value that starts on this line never closes")]
    assert _values(rows) == [(2, ["A", "a.com"]), (4, ["C", "c.com"]), (5, ["D", "d.com"])]


def test_text_after_a_closing_quote_is_reported_and_reading_goes_on(write_file):
    _, rows = _rows(write_file(b'name,domain\n"B,b.com\n"C",c.com\nD,d.com\n'))
    assert isinstance(rows[0], BadLine) and rows[0].line == 2 and "unbalanced quote" in rows[0].reason
    assert _values(rows) == [(3, ["C", "c.com"]), (4, ["D", "d.com"])]


def test_a_200000_character_field_is_read_whole(write_file):
    _, rows = _rows(write_file(b"name,domain,description\nA,a.com," + b"x" * 200_000 + b"\nB,b.com,short\n"))
    assert [len(v[2]) for _, v in _values(rows)] == [200_000, 5]


def test_a_value_over_the_field_limit_is_one_bad_line(write_file, monkeypatch):
    import audiences_app.core.imports.reading as reading

    monkeypatch.setattr(reading, "MAX_FIELD_CHARS", MAX_FIELD_CHARS)
    data = b'name,domain\nA,a.com\n"' + b"y" * (MAX_FIELD_CHARS + 10) + b'",b.com\nC,c.com\n'
    _, rows = _rows(write_file(data))
    bad = [r for r in rows if isinstance(r, BadLine)]
    assert len(bad) == 1 and bad[0].line == 3 and "longer than" in bad[0].reason
    assert _values(rows)[-1] == (4, ["C", "c.com"])


def test_duplicate_and_empty_headers_are_renamed_and_said_so(write_file):
    layout = inspect_file(write_file("email,email,Email,,name\na@x.com,b@x.com,c@x.com,z,n\n"))
    assert layout.headers == ["email", "email_2", "Email_3", "column_4", "name"]
    assert layout.notes == [
        "Column 2 is named 'email' like an earlier column: it is read as 'email_2'.",
        "Column 3 is named 'Email' like an earlier column: it is read as 'Email_3'.",
        "Column 4 has no name: it is called 'column_4'.",
    ]


@pytest.mark.parametrize("content, message", [
    (b"", "is empty: there is nothing to import"),
    (b"\r\n \n\n", "is empty: there is nothing to import"),
    (codecs.BOM_UTF8, "is empty: there is nothing to import"),
    (b"name,domain\n", "has a header row (name, domain) but no data rows"),
    (b"name,domain\r\n,\r\n\r\n", "has a header row (name, domain) but no data rows"),
    (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40, "does not look like a text (CSV) file"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old Excel 97-2003 (.xls) file"),
])
def test_a_file_that_cannot_be_imported_gets_one_clear_message(write_file, content, message):
    with pytest.raises(ImportFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        inspect_file(write_file(content))


def test_a_missing_file_is_a_clear_message(tmp_path):
    with pytest.raises(ImportFileError, match="There is no file at"):
        inspect_file(tmp_path / "nope.csv")


def test_nul_bytes_are_dropped_with_a_note(write_file):
    layout, rows = _rows(write_file(b"name,domain\nAc\x00me,acme.com\nBeta,beta.com\x00\x00\x00\x00\x00\x00\n"))
    assert "NUL bytes" in layout.notes[0]
    assert _values(rows) == [(2, ["Acme", "acme.com"]), (3, ["Beta", "beta.com"])]


def test_short_rows_are_padded_and_rows_with_extra_values_are_bad_lines(write_file):
    _, rows = _rows(write_file("name,domain,city\nA,a.com\nB,b.com,Paris,,\nC,c.com,Rome,oops\n"))
    assert _values(rows) == [(2, ["A", "a.com", ""]), (3, ["B", "b.com", "Paris"])]
    assert rows[2].line == 4 and "4 values but the header has 3 columns" in rows[2].reason


def test_chunks_resume_exactly_where_the_previous_one_stopped(write_file):
    lines = ["name,domain"] + [f'"Co {i}\nline two",c{i}.com' if i % 7 == 0 else f"Co {i},c{i}.com"
                               for i in range(200)]
    path = write_file("\r\n".join(lines) + "\r\n")
    layout = inspect_file(path)
    whole = read_chunk(layout, None, 10_000).rows
    pieces = []
    position = layout.start
    while position:
        chunk = read_chunk(layout, position, 13)
        assert len(chunk.rows) <= 13
        pieces.extend(chunk.rows)
        position = chunk.next
    assert pieces == whole and len(whole) == 200


def test_a_changed_file_is_noticed(write_file):
    path = write_file("name,domain\nA,a.com\n")
    layout = inspect_file(path)
    check_unchanged(layout)
    path.write_text("name,domain\nA,a.com\nB,b.com\n")
    os.utime(path, ns=(layout.mtime_ns + 10**9, layout.mtime_ns + 10**9))
    with pytest.raises(ImportFileError, match="changed after the import started"):
        check_unchanged(layout)


def test_xlsx_is_read_with_sheet_row_numbers(tmp_path):
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append([None])
    sheet.append(["Company name", "Website URL", "Number of Employees", "Founded"])
    sheet.append(["Acme", "https://acme.com", 120, None])
    sheet.append(["Beta", "beta.io", 12.0, __import__("datetime").datetime(2001, 5, 1)])
    workbook.create_sheet("Other").append(["x"])
    path = tmp_path / "book.xlsx"
    workbook.save(path)
    layout, rows = _rows(path, max_rows=1)
    assert layout.format == "xlsx" and layout.sheet == "Sheet"
    assert layout.headers == ["Company name", "Website URL", "Number of Employees", "Founded"]
    assert "2 sheets" in layout.notes[0]
    assert _values(rows) == [(3, ["Acme", "https://acme.com", "120", ""]), (4, ["Beta", "beta.io", "12", "2001-05-01"])]
    with pytest.raises(ImportFileError, match="no sheet 'Nope'"):
        inspect_file(path, sheet="Nope")


def test_parquet_is_read_in_row_ranges(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"name": [f"Co {i}" for i in range(25)], "employees": list(range(25)),
                      "public": [i % 2 == 0 for i in range(25)]})
    path = tmp_path / "data.parquet"
    pq.write_table(table, path, row_group_size=10)
    layout, rows = _rows(path, max_rows=7)
    assert (layout.format, layout.total_rows) == ("parquet", 25)
    assert _values(rows)[0] == (2, ["Co 0", "0", "true"])
    assert _values(rows)[-1] == (26, ["Co 24", "24", "true"])
    assert len(rows) == 25
