"""One row → a normalized record or a rejection with line, column and reason."""

from __future__ import annotations

import pytest

from audiences_app.core.imports.mapping import change_mapping, suggest_mapping
from audiences_app.core.imports.reading import BadLine, SourceRow
from audiences_app.core.imports.rows import (
    TEXT_CAP, ParsedRow, Rejection, RowParser, infer_type, parse_date, parse_number, parse_year,
)
from audiences_app.core.platforms import company_domain


def _parse(entity, headers, values, overrides=None, **options):
    mapping = change_mapping(suggest_mapping(entity, headers, **options), overrides or {})
    return RowParser(mapping, headers).parse(SourceRow(7, values))


@pytest.mark.parametrize("text, number", [
    ("1,234", 1234), ("1 234", 1234), ("1234.0", 1234), ("2.10E+07", 21_000_000), ("$1.2M", 1_200_000),
    ("12k", 12_000), ("3,5", 3.5), ("-7", -7), ("USD 950", 950), ("1,234,567.5", 1234567.5),
])
def test_numbers_as_spreadsheets_write_them(text, number):
    assert parse_number(text) == number


@pytest.mark.parametrize("text", ["abc", "1,2,3", "51-200", "", "12%"])
def test_what_is_not_a_number(text):
    assert parse_number(text) is None


@pytest.mark.parametrize("text, iso", [
    ("2012-06-01", "2012-06-01"), ("6/1/2012", "2012-06-01"), ("25/12/2012", "2012-12-25"), ("2012-06", "2012-06-01"),
    ("1/1/12", "2012-01-01"), ("2012-06-01T10:00:00", "2012-06-01"), ("2/30/2012", None), ("soon", None),
])
def test_dates(text, iso):
    assert parse_date(text) == iso


@pytest.mark.parametrize("text, year", [("2013 (1888)", 2013), ("6/1/2012", 2012), ("1902.0", 1902), ("n/a", None)])
def test_years(text, year):
    assert parse_year(text) == year


@pytest.mark.parametrize("values, kind", [
    (["yes", "No", ""], "boolean"), (["1", "2.5", "1,000"], "number"), (["2012-06-01", "6/1/2012"], "date"),
    (["a", "1"], "text"), ([], "text"),
])
def test_custom_field_types_are_inferred_from_values(values, kind):
    assert infer_type(values) == kind


@pytest.mark.parametrize("homepage, domain", [
    ("http://www.Acme.com/about", "acme.com"), ("acme.co.uk", "acme.co.uk"), ("acme.github.io", "acme.github.io"),
    ("http://www.linkedin.com", "linkedin.com"), ("https://angel.co", "angel.co"),
])
def test_company_domains(homepage, domain):
    assert company_domain(homepage) == (domain, None)


@pytest.mark.parametrize("homepage, platform", [
    ("https://angel.co/acme", "angel.co"), ("http://acme.wordpress.com", "wordpress.com"),
    ("http://www.youtube.com/acme", "youtube.com"), ("http://acme.weebly.com", "weebly.com"),
    ("https://gust.com/c/acme", "gust.com"), ("http://about.me/acme", "about.me"),
    ("http://www.facebook.com/acme", "facebook.com"), ("http://acme.launchrock.com/?r=x", "launchrock.com"),
])
def test_a_homepage_on_a_shared_platform_is_no_identity(homepage, platform):
    assert company_domain(homepage) == (None, f"is on a shared platform ({platform}): no domain identity")


def test_a_company_row_lands_typed_and_normalized():
    row = _parse("companies",
                 ["Company name", "Website URL", "Industry", "Number of Employees", "Country/Region", "Year Founded"],
                 ["  Acme   Inc ", "https://WWW.Acme.com/", "Software", "1,200", "United Kingdom", "2013 (1888)"])
    assert isinstance(row, ParsedRow)
    assert row.values == {"name": "Acme Inc", "industry": "software", "employee_count": 1200, "country": "GB",
                          "founded_year": 2013, "website": "https://WWW.Acme.com/", "domain": "acme.com"}
    assert row.keys == {"domain": "acme.com"} and row.issues == ()


def test_a_linkedin_company_page_as_homepage_becomes_the_linkedin_key():
    row = _parse("companies", ["name", "homepage_url"], ["Cyber", "http://www.linkedin.com/company/cyber-reliant-corp"])
    assert row.keys == {"linkedin_url": "https://www.linkedin.com/company/cyber-reliant-corp"}
    assert row.values["domain"] is None


def test_a_row_without_identity_is_rejected_naming_the_column():
    row = _parse("companies", ["name", "homepage_url"], ["Acacia", "http://angel.co/acacia"])
    assert row == Rejection(7, "homepage_url", "no identity key: 'http://angel.co/acacia' is on a shared platform "
                                               "(angel.co): no domain identity", ["Acacia", "http://angel.co/acacia"])
    empty = _parse("companies", ["name", "homepage_url", "Record ID"], ["X", "", ""])
    assert (empty.column, empty.reason) == ("homepage_url", "no identity key: homepage_url, Record ID are empty")
    unmapped = _parse("people", ["Name"], ["Jane"])
    assert unmapped.reason == "no identity key: no column is mapped to a email, LinkedIn URL, phone or CRM id"


def test_an_unusable_key_is_skipped_and_reported_when_another_key_exists():
    row = _parse("people", ["Email", "Phone", "Country"], ["bob@", "020 7946 0958", "UK"])
    assert row.keys == {"phone": "+442079460958"}
    assert [(i.column, i.outcome, i.reason) for i in row.issues] == [
        ("Email", "value_skipped", "'bob@' is not a valid email: skipped")]


def test_a_bad_value_is_skipped_and_the_rest_of_the_row_kept():
    row = _parse("companies", ["Website", "Employees", "Country"], ["acme.com", "51-200", "Georgia, USA"])
    assert row.values["employee_count"] is None and row.values["country"] is None
    assert [(i.column, i.reason) for i in row.issues] == [
        ("Employees", "'51-200' is a range, not a number"),
        ("Country", "'Georgia, USA' is not a country we recognize (use a name or ISO code)"),
    ]


def test_long_text_is_cut_and_reported_but_long_keys_are_not():
    row = _parse("companies", ["Website", "name", "Description", "Record ID"],
                 ["acme.com", "N" * 400, "d" * 200_000, "x" * 65])
    assert len(row.values["name"]) == 300 and len(row.values["description"]) == TEXT_CAP
    assert [(i.column, i.outcome) for i in row.issues] == [
        ("name", "truncated"), ("Description", "truncated"), ("Record ID", "value_skipped")]
    assert "crm_id" not in row.keys


def test_location_fills_city_region_and_country():
    headers = ["Website", "Headquarters Location"]
    row = _parse("companies", headers, ["a.com", "Saint Paul, Minnesota"])
    assert (row.values["city"], row.values["region"], row.values["country"]) == ("Saint Paul", "Minnesota", None)
    row = _parse("companies", headers, ["a.com", "Dublin, Ireland"])
    assert (row.values["city"], row.values["country"], row.values["region"]) == ("Dublin", "IE", None)


def test_people_get_a_full_name_e164_phone_and_company_domain():
    row = _parse("people", ["First Name", "Last Name", "Mobile Phone", "Country", "Company Website"],
                 ["Jane", "Doe", "06 12 34 56 78", "France", "https://www.acme.fr/jobs"])
    assert row.values["full_name"] == "Jane Doe"
    assert row.keys == {"phone": "+33612345678"}
    assert row.values["company_domain"] == "acme.fr"


def test_custom_fields_are_typed():
    untyped = _parse("companies", ["Website", "Score", "Public", "Since"], ["a.com", "1,5", "yes", "6/1/2012"],
                     {"Score": "score", "Public": "public", "Since": "since"})
    assert untyped.attributes == {"score": "1,5", "public": "yes", "since": "6/1/2012"}  # untyped reads as text
    headers = ["Website", "Score", "Public", "Since"]
    typed = change_mapping(suggest_mapping("companies", headers), {"Score": "score", "Public": "public", "Since": "since"},
                           types={"Score": "number", "Public": "boolean", "Since": "date"})
    parsed = RowParser(typed, headers).parse(SourceRow(2, ["a.com", "1,5", "yes", "6/1/2012"]))
    assert parsed.attributes == {"score": 1.5, "public": True, "since": "2012-06-01"}


def test_a_bad_line_from_the_reader_is_a_rejection():
    parser = RowParser(suggest_mapping("companies", ["Website"]), ["Website"])
    assert parser.parse(BadLine(9, "unbalanced quote", ['"x'])) == Rejection(9, None, "unbalanced quote", ['"x'])
