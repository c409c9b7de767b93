"""Identity normalizers: domains, LinkedIn URLs, emails, phones, countries and cell text."""

from __future__ import annotations

import socket

import pytest
import requests
import tldextract
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.provisional import domains, urls

from audiences_app.core import normalize
from audiences_app.core.normalize import (
    clean_text,
    normalize_country,
    normalize_domain,
    normalize_email,
    normalize_linkedin_company,
    normalize_linkedin_profile,
    normalize_phone,
)

NORMALIZERS = [
    clean_text,
    normalize_country,
    normalize_domain,
    normalize_email,
    normalize_linkedin_company,
    normalize_linkedin_profile,
    normalize_phone,
]


# --------------------------------------------------------------------------- domain


@pytest.mark.parametrize(
    "value,expected",
    [
        ("example.com", "example.com"),
        ("Example.COM", "example.com"),
        ("  example.com  ", "example.com"),
        ("example.com.", "example.com"),
        ("www.example.com", "example.com"),
        ("https://WWW.Foo.co.uk/about?x=1", "foo.co.uk"),
        ("http://blog.example.com:8080", "example.com"),
        ("example.com:8080", "example.com"),
        ("localhost.example.com:443/path", "example.com"),
        ("http://www.x.com", "x.com"),
        ("http://x.com/", "x.com"),
        ("https://x.com/#!home/mainPage", "x.com"),
        ("http://x.com?utm_source=crunchbase", "x.com"),
        ("//cdn.example.net/lib.js", "example.net"),
        ("ftp://files.example.org", "example.org"),
        ("http://user:secret@www.example.com/", "example.com"),
        ("http:\\\\www.example.com", None),
        ("http://www.example.com\\path", "example.com"),
        ("http://medaxion.com/Medaxion, LLC, a healthcare company", "medaxion.com"),
        ("forums.news.cnn.com", "cnn.com"),
        ("a.b.c.d.example.com.au", "example.com.au"),
        ("www.worldbank.org.kg", "worldbank.org.kg"),
        ("http://CheckInOn.Me", "checkinon.me"),
        ("1800dentist.com", "1800dentist.com"),
        ("10-20media.com", "10-20media.com"),
    ],
)
def test_domain_is_registrable_domain_in_lower_case(value, expected):
    assert normalize_domain(value) == expected


@pytest.mark.parametrize(
    "value,expected",
    [
        ("jane@acme.com", "acme.com"),
        ("jane@mail.acme.com", "acme.com"),
        ("Jane.Doe@Mail.ACME.co.uk", "acme.co.uk"),
        ("mailto:jane@acme.com", "acme.com"),
    ],
)
def test_domain_of_an_email_address_is_its_registrable_domain(value, expected):
    assert normalize_domain(value) == expected


@pytest.mark.parametrize(
    "value,expected",
    [
        ("münchen.de", "xn--mnchen-3ya.de"),
        ("https://www.MÜNCHEN.de/", "xn--mnchen-3ya.de"),
        ("xn--mnchen-3ya.de", "xn--mnchen-3ya.de"),
        ("bücher.example.com", "example.com"),
        ("пример.рф", "xn--e1afmkfd.xn--p1ai"),
        ("例え.テスト.jp", "xn--zckzah.jp"),
        ("example。com", "example.com"),
    ],
)
def test_domain_with_unicode_host_is_punycode(value, expected):
    assert normalize_domain(value) == expected


@pytest.mark.parametrize(
    "value,expected",
    [
        ("acme.github.io", "acme.github.io"),
        ("https://www.acme.github.io/docs", "acme.github.io"),
        ("waiterrant.blogspot.com", "waiterrant.blogspot.com"),
        ("shop.acme.myshopify.com", "acme.myshopify.com"),
        ("cdsi.us.com", "cdsi.us.com"),
        ("www.primeecg.uk.com", "primeecg.uk.com"),
        ("github.io", "github.io"),
    ],
)
def test_domain_under_a_private_suffix_keeps_its_own_label(value, expected):
    assert normalize_domain(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "   ",
        "#NAME?",
        "#N/A",
        "2.10E+07",
        "1.5",
        "localhost",
        "http://localhost:8080/",
        "127.0.0.1",
        "http://192.168.0.1:3000",
        "[::1]",
        "http://[2001:db8::1]/",
        "intranet",
        "acme.notatld",
        "com",
        "co.uk",
        "foo bar.com",
        "http://foo bar.com/",
        "www.foo.com, www.bar.com",
        "example.com:http",
        "exa_mple.com",
        "-example.com",
        "example-.com",
        "example..com",
        "http://",
        "mailto:",
        "jane@",
        "@",
        "a" * 64 + ".com",
        "xn--.com",
        "http://www.example.com%2F",
    ],
)
def test_domain_is_none_for_garbage(value):
    assert normalize_domain(value) is None


def test_domain_is_cached_by_host():
    normalize._registrable_domain.cache_clear()
    normalize_domain("https://www.acme.com/a")
    normalize_domain("jane@acme.com")
    assert normalize._registrable_domain.cache_info().hits == 0
    normalize_domain("http://www.acme.com/b")
    assert normalize._registrable_domain.cache_info().hits == 1


@pytest.fixture
def no_network(monkeypatch):
    """Make every way out to the network raise, as on an air-gapped machine."""

    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(requests.Session, "send", refuse)
    monkeypatch.setenv(
        "TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "https://publicsuffix.org/list/public_suffix_list.dat"
    )


def test_suffix_list_is_the_bundled_snapshot_without_network(no_network, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    extractor = normalize._offline_suffix_extractor()
    assert extractor.suffix_list_urls == ()
    assert extractor("https://forums.bbc.co.uk/x").top_domain_under_public_suffix == "bbc.co.uk"
    assert extractor("acme.github.io").top_domain_under_public_suffix == "acme.github.io"
    assert list(tmp_path.iterdir()) == []


def test_network_ban_catches_an_extractor_that_fetches(no_network, tmp_path):
    fetching = tldextract.TLDExtract(cache_dir=str(tmp_path))
    with pytest.raises(AssertionError, match="network access attempted"):
        fetching("example.com")


def test_domain_normalizer_runs_without_network(no_network):
    normalize._registrable_domain.cache_clear()
    assert normalize_domain("https://www.example.co.jp/") == "example.co.jp"


# --------------------------------------------------------------------------- LinkedIn

ACME_PAGE = "https://www.linkedin.com/company/acme"
JANE_PROFILE = "https://www.linkedin.com/in/janedoe"


@pytest.mark.parametrize(
    "value,expected",
    [
        ("https://www.linkedin.com/company/acme", ACME_PAGE),
        ("http://www.linkedin.com/company/acme", ACME_PAGE),
        ("www.linkedin.com/company/acme", ACME_PAGE),
        ("linkedin.com/company/acme", ACME_PAGE),
        ("//linkedin.com/company/acme", ACME_PAGE),
        ("  https://linkedin.com/company/acme/  ", ACME_PAGE),
        ("https://uk.linkedin.com/company/acme", ACME_PAGE),
        ("https://de.linkedin.com/company/acme", ACME_PAGE),
        ("https://m.linkedin.com/company/acme", ACME_PAGE),
        ("HTTPS://WWW.LINKEDIN.COM/COMPANY/ACME", ACME_PAGE),
        ("https://www.linkedin.com/company/acme/about/", ACME_PAGE),
        ("https://www.linkedin.com/company/acme/posts?feedView=all", ACME_PAGE),
        ("https://www.linkedin.com/company/acme?trk=public_profile", ACME_PAGE),
        ("https://www.linkedin.com/company/acme#jobs", ACME_PAGE),
        ("https://www.linkedin.com//company//acme", ACME_PAGE),
        ("https://www.linkedin.com:443/company/acme", ACME_PAGE),
        ("https://www.linkedin.com/company/1035", "https://www.linkedin.com/company/1035"),
        ("https://www.linkedin.com/company/acme-corp_inc", "https://www.linkedin.com/company/acme-corp_inc"),
        ("https://www.linkedin.com/company/soci%C3%A9t%C3%A9-g%C3%A9n%C3%A9rale", "https://www.linkedin.com/company/société-générale"),
        ("https://www.linkedin.com/company/SOCI%C3%89T%C3%89", "https://www.linkedin.com/company/société"),
        ("https://www.linkedin.com/company/société", "https://www.linkedin.com/company/société"),
        ("https://www.linkedin.com/school/stanford-university/", "https://www.linkedin.com/school/stanford-university"),
        ("https://www.linkedin.com/showcase/acme-cloud/about", "https://www.linkedin.com/showcase/acme-cloud"),
        ("https://www.linkedin.com/company/cyber-reliant-corp", "https://www.linkedin.com/company/cyber-reliant-corp"),
    ],
)
def test_linkedin_company_url_is_canonical(value, expected):
    assert normalize_linkedin_company(value) == expected


@pytest.mark.parametrize(
    "value,expected",
    [
        ("https://www.linkedin.com/in/janedoe", JANE_PROFILE),
        ("http://linkedin.com/in/JaneDoe/", JANE_PROFILE),
        ("linkedin.com/in/jane-doe-1a2b3c", "https://www.linkedin.com/in/jane-doe-1a2b3c"),
        ("https://uk.linkedin.com/in/janedoe", JANE_PROFILE),
        ("https://m.linkedin.com/in/janedoe?trk=x#top", JANE_PROFILE),
        ("https://www.linkedin.com/in/janedoe/details/experience/", JANE_PROFILE),
        ("https://www.linkedin.com/in/janedoe/en", JANE_PROFILE),
        ("https://www.linkedin.com/in/jos%C3%A9-garc%C3%ADa", "https://www.linkedin.com/in/josé-garcía"),
        ("https://www.linkedin.com/in/josé-garcía", "https://www.linkedin.com/in/josé-garcía"),
        ("http://www.linkedin.com/in/peterthomashall", "https://www.linkedin.com/in/peterthomashall"),
    ],
)
def test_linkedin_profile_url_is_canonical(value, expected):
    assert normalize_linkedin_profile(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "acme",
        "https://www.linkedin.com/",
        "https://www.linkedin.com/company/",
        "https://www.linkedin.com/company/?x=1",
        "https://www.linkedin.com/in/janedoe",
        "https://www.linkedin.com/pub/jane-doe/1/2/3",
        "https://www.linkedin.com/feed/",
        "https://www.linkedin.com/jobs/view/123",
        "https://www.linkedin.com/companies/acme",
        "https://www.linkedin.com/company/acme%20corp",
        "https://www.linkedin.com/company/acme%2Fother",
        "https://www.linkedin.com/company/acme%25",
        "https://www.linkedin.com/company/%FF",
        "https://www.linkedin.com/company/..",
        "https://www.notlinkedin.com/company/acme",
        "https://linkedin.com.evil.io/company/acme",
        "https://www.facebook.com/company/acme",
        "https://lnkd.in/abc123",
        "ftp://www.linkedin.com/company/acme",
        "www.linkedin.com:http/company/acme",
    ],
)
def test_linkedin_company_is_none_for_other_urls(value):
    assert normalize_linkedin_company(value) is None


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "https://www.linkedin.com/in/",
        "https://www.linkedin.com/company/acme",
        "https://www.linkedin.com/school/stanford-university",
        "https://www.linkedin.com/pub/jane-doe/1/2/3",
        "https://www.linkedin.com/profile/view?id=12345",
        "https://twitter.com/in/janedoe",
        "https://www.linkedin.com/in/jane doe",
    ],
)
def test_linkedin_profile_is_none_for_other_urls(value):
    assert normalize_linkedin_profile(value) is None


# --------------------------------------------------------------------------- email


@pytest.mark.parametrize(
    "value,expected",
    [
        ("jane@acme.com", "jane@acme.com"),
        ("  Jane.Doe@ACME.com ", "jane.doe@acme.com"),
        ("mailto:jane@acme.com", "jane@acme.com"),
        ("MAILTO:Jane@Acme.com?subject=Hello", "jane@acme.com"),
        ("Jane Doe <Jane@Acme.com>", "jane@acme.com"),
        ('"Doe, Jane" <jane@acme.com>', "jane@acme.com"),
        ("<jane@acme.com>", "jane@acme.com"),
        ("jane@mail.acme.co.uk", "jane@mail.acme.co.uk"),
        ("jane@bücher.de", "jane@xn--bcher-kva.de"),
        ("JANE@XN--BCHER-KVA.DE", "jane@xn--bcher-kva.de"),
        ("jäne@acme.com", "jäne@acme.com"),
        ("o'brien@acme.com", "o'brien@acme.com"),
        ("x@example.com", "x@example.com"),
    ],
)
def test_email_is_trimmed_lower_cased_and_valid(value, expected):
    assert normalize_email(value) == expected


@pytest.mark.parametrize(
    "value,expected",
    [
        ("jane+newsletter@acme.com", "jane+newsletter@acme.com"),
        ("jane.doe@gmail.com", "jane.doe@gmail.com"),
        ("janedoe@gmail.com", "janedoe@gmail.com"),
        ("Jane.Doe+crm@GoogleMail.com", "jane.doe+crm@googlemail.com"),
    ],
)
def test_email_keeps_plus_tags_and_dots(value, expected):
    assert normalize_email(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "   ",
        "jane",
        "jane@",
        "@acme.com",
        "jane@acme",
        "jane@localhost",
        "jane@@acme.com",
        "jane doe@acme.com",
        "jane@acme..com",
        "jane@-acme.com",
        ".jane@acme.com",
        "jane.@acme.com",
        "jane@[127.0.0.1]",
        '"jane doe"@acme.com',
        "jane@acme.test",
        "jane@acme.invalid",
        "mailto:",
        "#NAME?",
        "Jane <jane@acme.com",
        "jane@acme.com, joe@acme.com",
    ],
)
def test_email_is_none_when_invalid(value):
    assert normalize_email(value) is None


# --------------------------------------------------------------------------- phone


@pytest.mark.parametrize(
    "value,expected",
    [
        ("+44 20 7946 0958", "+442079460958"),
        ("(415) 555-2671", "+14155552671"),
        ("415.555.2671", "+14155552671"),
        ("1-415-555-2671", "+14155552671"),
        ("+1 (415) 555-2671", "+14155552671"),
        ("00 33 1 42 68 53 00", "+33142685300"),
        ("0033142685300", "+33142685300"),
        ("011 44 20 7946 0958", "+442079460958"),
        ("tel:+1-201-555-0123", "+12015550123"),
        ("  +49 30 901820  ", "+4930901820"),
        ("+81 3-1234-5678", "+81312345678"),
    ],
)
def test_phone_is_e164(value, expected):
    assert normalize_phone(value) == expected


@pytest.mark.parametrize(
    "value,expected",
    [
        ("(415) 555-2671 ext. 123", "+14155552671"),
        ("+1 415 555 2671 x42", "+14155552671"),
        ("+44 20 7946 0958 extension 9", "+442079460958"),
    ],
)
def test_phone_drops_extensions(value, expected):
    assert normalize_phone(value) == expected


@pytest.mark.parametrize(
    "value,region,expected",
    [
        ("020 7946 0958", "GB", "+442079460958"),
        ("020 7946 0958", "gb", "+442079460958"),
        ("01 42 68 53 00", "FR", "+33142685300"),
        ("+1 415 555 2671", "FR", "+14155552671"),
        ("+44 20 7946 0958", None, "+442079460958"),
        ("(415) 555-2671", None, None),
        ("020 7946 0958", "US", None),
        ("(415) 555-2671", "XX", None),
    ],
)
def test_phone_uses_default_region_for_national_numbers(value, region, expected):
    assert normalize_phone(value, default_region=region) == expected


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "   ",
        "n/a",
        "12345",
        "555-1234",
        "+1 000 000 0000",
        "+44 12",
        "2.10E+07",
        "#NAME?",
        "+999 123 456 789",
        "1" * 300,
    ],
)
def test_phone_is_none_when_not_a_valid_number(value):
    assert normalize_phone(value) is None


# --------------------------------------------------------------------------- country


@pytest.mark.parametrize(
    "value,expected",
    [
        ("US", "US"),
        ("us", "US"),
        (" gb ", "GB"),
        ("USA", "US"),
        ("usa", "US"),
        ("DEU", "DE"),
        ("GBR", "GB"),
        ("840", "US"),
        ("036", "AU"),
        ("276", "DE"),
        ("NA", "NA"),
    ],
)
def test_country_from_iso_codes(value, expected):
    assert normalize_country(value) == expected


@pytest.mark.parametrize(
    "value,expected",
    [
        ("United States", "US"),
        ("United States of America", "US"),
        ("united states", "US"),
        ("UNITED  STATES", "US"),
        ("Germany", "DE"),
        ("France", "FR"),
        ("Japan", "JP"),
        ("United Kingdom", "GB"),
        ("Czechia", "CZ"),
        ("Czech Republic", "CZ"),
        ("Viet Nam", "VN"),
        ("Vietnam", "VN"),
        ("Russian Federation", "RU"),
        ("South Korea", "KR"),
        ("Korea, Republic of", "KR"),
        ("Republic of Korea", "KR"),
        ("North Korea", "KP"),
        ("Korea, Democratic People's Republic of", "KP"),
        ("Iran", "IR"),
        ("Iran, Islamic Republic of", "IR"),
        ("Taiwan", "TW"),
        ("Bolivia", "BO"),
        ("Netherlands", "NL"),
        ("The Netherlands", "NL"),
        ("Kingdom of the Netherlands", "NL"),
        ("Bahamas", "BS"),
        ("The Bahamas", "BS"),
        ("Congo", "CG"),
        ("Congo, The Democratic Republic of the", "CD"),
        ("Democratic Republic of the Congo", "CD"),
        ("British Virgin Islands", "VG"),
        ("Virgin Islands, U.S.", "VI"),
        ("U.S. Virgin Islands", "VI"),
        ("Falkland Islands", "FK"),
        ("Falkland Islands (Malvinas)", "FK"),
        ("Hong Kong", "HK"),
        ("Slovak Republic", "SK"),
    ],
)
def test_country_from_iso_names(value, expected):
    assert normalize_country(value) == expected


@pytest.mark.parametrize(
    "value,expected",
    [
        ("U.S.", "US"),
        ("U.S.A.", "US"),
        ("u.s.a", "US"),
        ("UK", "GB"),
        ("U.K.", "GB"),
        ("Great Britain", "GB"),
        ("England", "GB"),
        ("Scotland", "GB"),
        ("Russia", "RU"),
        ("Ivory Coast", "CI"),
        ("Holland", "NL"),
        ("Deutschland", "DE"),
        ("Turkey", "TR"),
        ("Burma", "MM"),
        ("UAE", "AE"),
        ("Macau", "MO"),
        ("Palestine", "PS"),
        ("DR Congo", "CD"),
        ("Cape Verde", "CV"),
        ("Swaziland", "SZ"),
        ("Macedonia", "MK"),
        ("Bosnia-Herzegovina", "BA"),
    ],
)
def test_country_from_common_aliases(value, expected):
    assert normalize_country(value) == expected


@pytest.mark.parametrize(
    "value,expected",
    [
        ("Côte d'Ivoire", "CI"),
        ("Cote d'Ivoire", "CI"),
        ("Côte d’Ivoire", "CI"),
        ("cote divoire", "CI"),
        ("Türkiye", "TR"),
        ("Turkiye", "TR"),
        ("Réunion", "RE"),
        ("Åland Islands", "AX"),
        ("Curaçao", "CW"),
        ("St. Lucia", "LC"),
        ("St Kitts and Nevis", "KN"),
        ("Saint Vincent & the Grenadines", "VC"),
        ("Trinidad & Tobago", "TT"),
        ("Guinea-Bissau", "GW"),
        ("Timor Leste", "TL"),
        ("  the   netherlands. ", "NL"),
    ],
)
def test_country_ignores_case_accents_and_punctuation(value, expected):
    assert normalize_country(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "   ",
        "XX",
        "ZZZ",
        "N/A",
        "n/a",
        "n.a.",
        "#N/A",
        "#NAME?",
        "NULL",
        "nan",
        "Korea",
        "America",
        "Europe",
        "Unknown",
        "Georgia, USA",
        "United",
        "Republic",
        "Islands",
        "The",
        "36",
        "999",
        "0",
        "4.0",
        "840.0",
        "Россия",
        "Danmark ø",
        "U",
        "USAA",
    ],
)
def test_country_is_none_for_unknown_or_garbage(value):
    assert normalize_country(value) is None


# --------------------------------------------------------------------------- text


@pytest.mark.parametrize(
    "value,expected",
    [
        ("Acme", "Acme"),
        ("  Acme  ", "Acme"),
        ("Acme\t \n Inc", "Acme Inc"),
        ("Acme\u00a0Inc", "Acme Inc"),
        ("\ufeffAcme", "Acme"),
        ("Ac\u200bme", "Acme"),
        ("San Francisco", "San Francisco"),
        ("2.10E+07", "2.10E+07"),
        ("0", "0"),
        ("None", "None"),
    ],
)
def test_clean_text_trims_and_collapses_whitespace(value, expected):
    assert clean_text(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "   ",
        "\t\n",
        "\ufeff",
        "#NAME?",
        "#N/A",
        "#n/a",
        "#VALUE!",
        "#REF!",
        "#DIV/0!",
        "#NUM!",
        "#NULL!",
        "NULL",
        "null",
        "nan",
        "NaN",
        " NaN ",
    ],
)
def test_clean_text_is_none_for_empty_and_spreadsheet_errors(value):
    assert clean_text(value) is None


# --------------------------------------------------------------------------- all of them


@pytest.mark.parametrize("normalizer", NORMALIZERS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("value", [None, 42, 4.2, b"jane@acme.com", ["US"], object()])
def test_normalizer_returns_none_for_non_text(normalizer, value):
    assert normalizer(value) is None


@pytest.mark.parametrize("normalizer", NORMALIZERS, ids=lambda f: f.__name__)
def test_normalizer_has_a_one_line_docstring(normalizer):
    assert normalizer.__doc__ and "\n" not in normalizer.__doc__.strip()


SAMPLES = [
    "https://www.linkedin.com/company/acme/",
    "uk.linkedin.com/in/Jane%20Doe",
    "Jane <jane@acme.com>",
    "mailto:JANE@bücher.de",
    "+44 20 7946 0958",
    "00 33 1 42 68 53 00",
    "http://blog.example.co.uk:8080/x",
    "münchen.de",
    "Korea, Republic of",
    "The Netherlands",
    "#NAME?",
]
_texts = st.one_of(
    st.text(),
    st.sampled_from(SAMPLES),
    st.builds(str.__add__, st.sampled_from(SAMPLES), st.text(max_size=8)),
    st.builds(str.__add__, st.text(max_size=8), st.sampled_from(SAMPLES)),
    domains(),
    urls(),
    st.emails(),
    st.from_regex(r"\+?[0-9 ()./-]{6,20}", fullmatch=True),
)


@pytest.mark.parametrize("normalizer", NORMALIZERS, ids=lambda f: f.__name__)
@settings(max_examples=400, deadline=None)
@given(value=_texts)
def test_normalizer_never_raises_and_is_idempotent(normalizer, value):
    once = normalizer(value)
    assert once is None or isinstance(once, str)
    if once is not None:
        assert normalizer(once) == once
