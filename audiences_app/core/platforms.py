"""Shared platforms: sites whose pages belong to many companies, so their domain is nobody's identity.

A homepage such as `angel.co/acme`, `www.youtube.com/acme` or `acme.weebly.com` names the
platform, not the company: taking `angel.co` as Acme's domain would merge every company
whose homepage lives on AngelList into one record. Hosts under which the Public Suffix List
already gives every tenant its own registrable name (`acme.github.io`, `acme.blogspot.com`,
`acme.myshopify.com`) need no entry here: `normalize_domain` keeps them apart by itself.

The platform's own homepage is still the platform's identity: `http://www.linkedin.com`
is LinkedIn's domain; `http://www.linkedin.com/company/acme` is not Acme's.
"""

from __future__ import annotations

import re

from audiences_app.core.normalize import clean_text, normalize_domain, normalize_linkedin_company

SHARED_PLATFORM_DOMAINS = frozenset(
    {
        # social networks and profile pages
        "linkedin.com", "facebook.com", "twitter.com", "x.com", "instagram.com", "youtube.com",
        "youtu.be", "vimeo.com", "pinterest.com", "tiktok.com", "about.me", "linktr.ee",
        "medium.com", "github.com", "gitlab.com", "bitbucket.org", "app.net", "meetup.com",
        # startup and company directories
        "angel.co", "wellfound.com", "gust.com", "crunchbase.com", "f6s.com", "producthunt.com",
        "businessweek.com", "bloomberg.com", "kickstarter.com", "indiegogo.com", "apple.com",
        "google.com", "yahoo.com", "aol.com", "amazon.com", "etsy.com",
        # site builders and blog hosts that put tenants under one registrable domain
        "wordpress.com", "weebly.com", "tumblr.com", "webs.com", "wix.com", "launchrock.com",
        "squarespace.com", "strikingly.com", "jimdo.com", "yolasite.com", "webnode.com",
        "typepad.com", "livejournal.com", "over-blog.com", "godaddysites.com", "site123.me",
        "carrd.co", "notion.site", "substack.com", "bigcartel.com", "co.cc",
        # link shorteners
        "bit.ly", "goo.gl", "ow.ly", "tinyurl.com",
    }
)  # fmt: skip

_SCHEME = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//", re.IGNORECASE)


def platform_of(domain: str | None) -> str | None:
    """The shared platform a registrable domain belongs to, or None."""
    return domain if domain in SHARED_PLATFORM_DOMAINS else None


def _is_platform_homepage(value: str, domain: str) -> bool:
    """True for the platform's own front page: its bare host (or www.) with no path."""
    text = _SCHEME.sub("", value.strip().lower(), count=1)
    host, _, rest = text.partition("/")
    host = host.rpartition("@")[2].partition(":")[0].rstrip(".")
    return host in (domain, f"www.{domain}") and rest.strip("/") == ""


def company_domain(value: str | None) -> tuple[str | None, str | None]:
    """(registrable domain, None) for a company homepage or domain, else (None, why not).

    The reason reads after the value in a sentence: "'angel.co/acme' is on a shared platform…".
    """
    text = clean_text(value)
    if text is None:
        return None, None
    domain = normalize_domain(text)
    if domain is None:
        return None, "is not a web address or domain"
    if domain in SHARED_PLATFORM_DOMAINS and not _is_platform_homepage(text, domain):
        return None, f"is on a shared platform ({domain}): no domain identity"
    return domain, None


def linkedin_company_homepage(value: str | None) -> str | None:
    """The canonical LinkedIn company URL when a homepage is a LinkedIn company page."""
    return normalize_linkedin_company(value) if isinstance(value, str) else None
