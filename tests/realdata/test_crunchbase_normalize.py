"""The identity normalizers over the 19,374 companies of the 2013 Crunchbase export."""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from urllib.parse import urlsplit

import pytest

from audiences_app.core.normalize import normalize_country, normalize_domain

ROWS = 19_374


@pytest.fixture(scope="module")
def companies(shared_data) -> list[dict[str, str]]:
    # The export is Windows-1252, not UTF-8 (see ../shared/data/README.md).
    with open(shared_data / "crunchbase-2013-companies.csv", encoding="cp1252", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def domains(companies) -> list[str | None]:
    return [normalize_domain(row["homepage_url"]) for row in companies]


@pytest.fixture(scope="module")
def rows_by_shared_domain(companies, domains) -> dict[str, list[dict[str, str]]]:
    rows_by_domain = defaultdict(list)
    for row, domain in zip(companies, domains):
        if domain:
            rows_by_domain[domain].append(row)
    return {domain: rows for domain, rows in rows_by_domain.items() if len(rows) > 1}


def test_every_homepage_is_normalized_or_rejected(companies, domains):
    assert len(companies) == ROWS
    assert all(domain is None or isinstance(domain, str) for domain in domains)


def test_about_five_percent_have_no_usable_homepage(companies, domains):
    unusable = [row["homepage_url"] for row, domain in zip(companies, domains) if domain is None]
    assert len(unusable) == 887
    assert 0.045 < len(unusable) / ROWS < 0.047
    assert set(unusable) == {""}


def test_every_country_code_is_usa(companies):
    assert Counter(normalize_country(row["country_code"]) for row in companies) == {"US": ROWS}


def test_rows_sharing_a_registrable_domain(rows_by_shared_domain):
    rows_involved = sum(len(rows) for rows in rows_by_shared_domain.values())
    assert len(rows_by_shared_domain) == 125
    assert rows_involved == 260
    assert rows_involved - len(rows_by_shared_domain) == 135


def test_readme_figure_of_114_counts_extra_rows_by_host_without_www(companies, domains):
    # The data README's "about 114 rows share a domain" is exact when a key is the host with
    # "www." dropped and only rows after the first of each key are counted. The registrable
    # domain also folds subdomains (netscape.aol.com, x.wordpress.com), hence 135 above.
    hosts = Counter(
        urlsplit(row["homepage_url"].strip()).hostname.removeprefix("www.")
        for row, domain in zip(companies, domains)
        if domain
    )
    assert sum(count - 1 for count in hosts.values()) == 114


@pytest.mark.parametrize(
    "domain,homepages",
    [
        ("zettics.com", {"http://zettics.com", "http://www.zettics.com"}),
        ("airspan.com", {"http://www.airspan.com", "http://airspan.com"}),
        ("cisco.com", {"http://www.cisco.com", "http://cisco.com"}),
        ("billmyparents.com", {"http://www.billmyparents.com", "https://www.billmyparents.com"}),
        ("lover.ly", {"http://lover.ly", "http://Lover.ly"}),
        ("legendary.com", {"http://www.legendary.com", "http://www.legendary.com/home"}),
        ("aol.com", {"http://www.aol.com", "http://netscape.aol.com"}),
        ("mit.edu", {"http://cbi.mit.edu/research-overview/bioman", "http://mitei.mit.edu"}),
    ],
)
def test_known_duplicate_homepages_share_a_domain(rows_by_shared_domain, domain, homepages):
    assert {row["homepage_url"] for row in rows_by_shared_domain[domain]} == homepages


def test_homepages_on_a_hosting_platform_share_its_domain(rows_by_shared_domain):
    # wordpress.com is not a suffix in the Public Suffix List, so five unrelated companies
    # whose homepage is a blog there share one registrable domain, hence one identity key.
    assert [row["permalink"] for row in rows_by_shared_domain["wordpress.com"]] == [
        "/company/agricultural-food-systems-llc",
        "/company/air-robotics",
        "/company/mediamachines",
        "/company/smartcup",
        "/company/the-nocklist",
    ]


def test_homepages_under_a_private_suffix_stay_apart(companies, domains):
    by_homepage = dict(zip((row["homepage_url"] for row in companies), domains))
    assert by_homepage["http://cdsi.us.com"] == "cdsi.us.com"
    assert by_homepage["http://ditto.us.com"] == "ditto.us.com"
    assert by_homepage["http://tvizl.blogspot.com"] == "tvizl.blogspot.com"
