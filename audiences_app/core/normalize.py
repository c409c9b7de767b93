"""Identity normalizers: turn messy domains, URLs, emails, phones and countries into keys.

Every function here is pure (no network, no database), takes a string or None, returns the
canonical string or None, and never raises on bad input: a value that cannot be normalized
safely is None, because an identity key that is guessed would merge two records that are
not the same company or person (see DESIGN.md, Storage → Identity).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from urllib.parse import unquote

import idna
import phonenumbers
import pycountry
import tldextract
from email_validator import EmailNotValidError, validate_email

# --------------------------------------------------------------------------- text

# Values that spreadsheets and dataframes write into cells that had no real value.
_EMPTY_CELL_MARKERS = frozenset(
    {
        "#name?", "#n/a", "#value!", "#ref!", "#div/0!", "#num!", "#null!",
        "#spill!", "#calc!", "null", "nan",
    }
)  # fmt: skip
# Invisible characters that export tools leave behind (byte-order mark, zero-width space,
# word joiner). Zero-width (non-)joiners are kept: they carry meaning in emoji and scripts.
_INVISIBLE = dict.fromkeys(map(ord, "\ufeff\u200b\u2060"))


# casefold never shortens text, so longer text cannot be a marker (and needs no casefold).
_LONGEST_MARKER = max(map(len, _EMPTY_CELL_MARKERS))


def clean_text(value: str | None) -> str | None:
    """Trim and collapse whitespace; None for empty cells and spreadsheet error values."""
    if not isinstance(value, str):
        return None
    # Called for every cell of an import: ASCII text (most cells) has no invisible characters.
    text = " ".join((value if value.isascii() else value.translate(_INVISIBLE)).split())
    if not text or (len(text) <= _LONGEST_MARKER and text.casefold() in _EMPTY_CELL_MARKERS):
        return None
    return text


# --------------------------------------------------------------------------- domain


def _offline_suffix_extractor() -> tldextract.TLDExtract:
    """The Public Suffix List extractor, built from the snapshot bundled with tldextract."""
    # suffix_list_urls=() leaves no URL to fetch (it also overrides the
    # TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS variable), and cache_dir=None turns the disk cache
    # off, so tldextract falls back to its bundled snapshot: no network, no files written,
    # and the same answer on every machine for a given tldextract version.
    #
    # Private domains count. The PSL's private section lists suffixes under which unrelated
    # parties get their own names: acme.github.io, acme.myshopify.com, acme.us.com. Without
    # it every such company would collapse into one key ("github.io", "us.com"), merging
    # records that are not the same company, which identity must never do. A host that is
    # itself a private suffix ("github.io") falls back to its ICANN registrable domain.
    return tldextract.TLDExtract(
        suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True
    )


_SUFFIX_EXTRACTOR = _offline_suffix_extractor()

# An optional scheme ("https://", or "//"). "mailto:" needs no rule: the host is whatever
# follows the last "@" of the authority, which also handles "user:pass@host".
_SCHEME = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//")
_AUTHORITY_END = re.compile(r"[/?#\\]")
_HOST = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)*")
_DNS_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_REGISTRABLE_DOMAIN = re.compile(rf"(?:{_DNS_LABEL}\.)+{_DNS_LABEL}")


def _host_of(value: str) -> str | None:
    """The lower-case ASCII host of a URL, bare host, host:port or email address."""
    text = _SCHEME.sub("", value.strip().lower(), count=1)
    authority = _AUTHORITY_END.split(text, maxsplit=1)[0]
    host, _, port = authority.rpartition("@")[2].partition(":")
    if port and not port.isdigit():
        return None
    host = host.rstrip(".")
    if not host.isascii():
        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except (idna.IDNAError, UnicodeError, ValueError):
            return None
    return host if _HOST.fullmatch(host) else None


@lru_cache(maxsize=1 << 16)
def _registrable_domain(host: str) -> str | None:
    """The registrable domain of an ASCII host, or None for IPs and hosts with no suffix."""
    parts = _SUFFIX_EXTRACTOR(host)
    domain = parts.top_domain_under_public_suffix
    if not domain and parts.is_private:
        domain = _SUFFIX_EXTRACTOR(
            host, include_psl_private_domains=False
        ).top_domain_under_public_suffix
    if len(domain) > 253 or not _REGISTRABLE_DOMAIN.fullmatch(domain):
        return None
    return domain


def normalize_domain(value: str | None) -> str | None:
    """The registrable domain (Public Suffix List, punycode, lower case) of a URL/host/email."""
    if not isinstance(value, str):
        return None
    host = _host_of(value)
    return _registrable_domain(host) if host else None


# --------------------------------------------------------------------------- LinkedIn

_LINKEDIN_SCHEME = re.compile(r"^(?:https?:)?//")
_LINKEDIN_HOST = re.compile(r"(?:[a-z0-9-]+\.)*linkedin\.com(?::\d+)?")
# A decoded slug is one path segment: no whitespace, separators, quotes or control chars,
# and no "%" (so decoding an already canonical URL again changes nothing).
_LINKEDIN_SLUG = re.compile(r"[^\s/?#%\\<>\"'`\x00-\x1f\x7f]+")
_COMPANY_KINDS = frozenset({"company", "school", "showcase"})
_PROFILE_KINDS = frozenset({"in"})


def _linkedin_page(value: str | None, kinds: frozenset[str]) -> str | None:
    """The canonical LinkedIn URL of a page whose first path segment is one of kinds."""
    if not isinstance(value, str):
        return None
    text = _LINKEDIN_SCHEME.sub("", value.strip().lower(), count=1)
    host, _, rest = text.partition("/")
    if not _LINKEDIN_HOST.fullmatch(host):
        return None
    path = rest.partition("?")[0].partition("#")[0]
    segments = [segment for segment in path.split("/") if segment]
    if len(segments) < 2 or segments[0] not in kinds:
        return None
    try:
        slug = unquote(segments[1], errors="strict").lower()
    except UnicodeDecodeError:
        return None
    if not _LINKEDIN_SLUG.fullmatch(slug) or slug in {".", ".."}:
        return None
    return f"https://www.linkedin.com/{segments[0]}/{slug}"


def normalize_linkedin_company(value: str | None) -> str | None:
    """Canonical https://www.linkedin.com/{company|school|showcase}/<slug>, or None."""
    return _linkedin_page(value, _COMPANY_KINDS)


def normalize_linkedin_profile(value: str | None) -> str | None:
    """Canonical https://www.linkedin.com/in/<slug> for a member profile URL, or None."""
    return _linkedin_page(value, _PROFILE_KINDS)


# --------------------------------------------------------------------------- email


def normalize_email(value: str | None) -> str | None:
    """The lower-case address (ASCII domain) if its syntax is valid, else None; no DNS."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text[:7].lower() == "mailto:":
        text = text[7:].partition("?")[0]
    try:
        address = validate_email(text, check_deliverability=False, allow_display_name=True)
    except EmailNotValidError:
        return None
    # Plus-tags ("jane+news@") and Gmail dots are kept: on most domains they are distinct
    # mailboxes, possibly of different people, and identity must never merge two people.
    return f"{address.local_part.lower()}@{address.ascii_domain}"


# --------------------------------------------------------------------------- phone


def normalize_phone(value: str | None, default_region: str | None = "US") -> str | None:
    """E.164 ("+14155552671") for a valid number, extensions dropped; else None."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    # "00" is the international call prefix almost everywhere, but not in the default
    # region US (011), and no national number starts with it.
    if text.startswith("00"):
        text = "+" + text[2:]
    region = default_region.upper() if isinstance(default_region, str) else None
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# --------------------------------------------------------------------------- country

# Names people write that ISO does not list. No fuzzy search beyond these and the key
# folding below: pycountry's search_fuzzy matches subdivisions and substrings, so garbage
# ("N/A", "Georgia, USA") would come back as some real country.
_COUNTRY_ALIASES = {
    "GB": ["UK", "U.K.", "Great Britain", "Britain", "England", "Scotland", "Wales",
           "Northern Ireland"],
    "US": ["U.S.", "U.S.A.", "United States of America", "US of A"],
    "AE": ["UAE", "U.A.E.", "Emirates"],
    "KR": ["Republic of Korea", "Korea South"],
    "KP": ["Korea North"],
    "RU": ["Russia"],
    "CI": ["Ivory Coast"],
    "NL": ["Holland"],
    "DE": ["Deutschland"],
    "TR": ["Turkey"],
    "MK": ["Macedonia", "Republic of Macedonia"],
    "BA": ["Bosnia-Herzegovina"],
    "SZ": ["Swaziland"],
    "CV": ["Cape Verde"],
    "TL": ["East Timor"],
    "MM": ["Burma"],
    "VA": ["Vatican", "Vatican City"],
    "BN": ["Brunei"],
    "MO": ["Macau", "Macau SAR", "Macao SAR"],
    "HK": ["Hong Kong SAR"],
    "PS": ["Palestine"],
    "FM": ["Micronesia"],
    "CD": ["DR Congo", "DRC", "Democratic Republic of Congo", "Congo-Kinshasa"],
    "CG": ["Republic of Congo", "Congo-Brazzaville"],
    "IE": ["Republic of Ireland", "Eire"],
    "VG": ["BVI"],
    "VI": ["USVI"],
}  # fmt: skip
_KEY_SEPARATORS = re.compile(r"[^a-z0-9]+")
# After folding accents, a name key may hold only ASCII letters, digits and punctuation;
# any other letter (Cyrillic, "ø") means the text is not a name we know.
_FOLDED_NAME = re.compile(r"[a-z0-9\W_]*")
_LETTER_CODE = re.compile(r"[A-Za-z]{2,3}")
_NUMERIC_CODE = re.compile(r"[0-9]{3}")


def _country_key(text: str) -> str | None:
    """Fold a country name for lookup: case, accents, punctuation, "the", "St." ignored."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    if not _FOLDED_NAME.fullmatch(folded):
        return None
    words = [word for word in _KEY_SEPARATORS.split(folded.replace("&", " and ")) if word]
    if words and words[0] == "the":
        words = words[1:]
    return "".join("saint" if word == "st" else word for word in words) or None


def _country_name_variants(name: str) -> list[str]:
    """ISO's "Korea, Republic of" also as "Republic of Korea"; "(Malvinas)" dropped."""
    variants = [name]
    head, comma, tail = name.partition(", ")
    if comma:
        variants.append(f"{tail} {head}")
    without_parenthesis = re.sub(r"\s*\([^)]*\)", "", name)
    if without_parenthesis != name:
        variants.append(without_parenthesis)
    return variants


def _build_country_index() -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """Lookup tables: letter codes, numeric codes, and folded names → alpha-2."""
    letter_codes: dict[str, str] = {}
    numeric_codes: dict[str, str] = {}
    names: dict[str, str] = {}
    ambiguous: set[str] = set()
    for country in pycountry.countries:
        letter_codes[country.alpha_2] = country.alpha_2
        letter_codes[country.alpha_3] = country.alpha_2
        numeric_codes[country.numeric] = country.alpha_2
        for attribute in ("name", "official_name", "common_name"):
            name = getattr(country, attribute, None)
            for variant in _country_name_variants(name) if name else []:
                key = _country_key(variant)
                if key and names.setdefault(key, country.alpha_2) != country.alpha_2:
                    ambiguous.add(key)
    for key in ambiguous:
        del names[key]
    for alpha_2, aliases in _COUNTRY_ALIASES.items():
        names.update((_country_key(alias), alpha_2) for alias in aliases)
    return letter_codes, numeric_codes, names


_COUNTRY_LETTER_CODES, _COUNTRY_NUMERIC_CODES, _COUNTRY_NAMES = _build_country_index()


@lru_cache(maxsize=4096)
def _country_code(text: str) -> str | None:
    """The alpha-2 code for already-cleaned text (cached: country columns repeat a lot)."""
    # A bare code is only taken as a code when it is nothing but letters (or 3 digits):
    # "N/A" or "n.a." are not Namibia, even though "NA" is.
    if _LETTER_CODE.fullmatch(text):
        code = _COUNTRY_LETTER_CODES.get(text.upper())
        if code:
            return code
    if _NUMERIC_CODE.fullmatch(text):
        return _COUNTRY_NUMERIC_CODES.get(text)
    key = _country_key(text)
    return _COUNTRY_NAMES.get(key) if key else None


def normalize_country(value: str | None) -> str | None:
    """ISO 3166-1 alpha-2 (upper case) from a code, name or common alias; None if unknown."""
    text = clean_text(value)
    return _country_code(text) if text else None
