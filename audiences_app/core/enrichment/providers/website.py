"""Website metadata: fetch a company's homepage and read its title, description and social links.

The fetch follows redirects itself (each hop checked by the outbound guard), reads at most
`max_response_bytes` (a homepage's <head> is near its start, so a larger page is cut, not
refused) within `timeout_seconds`. Parsing uses the standard library's HTMLParser, which
never fails on broken HTML.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

from audiences_app.core.enrichment.providers.base import (
    CallContext, Output, Provider, ProviderError, parse_limits,
)
from audiences_app.core.enrichment.runner import FetchError
from audiences_app.core.normalize import normalize_domain

SOCIAL_HOSTS = {
    "linkedin_url": ("linkedin.com",), "twitter_url": ("twitter.com", "x.com"),
    "facebook_url": ("facebook.com",), "instagram_url": ("instagram.com",),
    "youtube_url": ("youtube.com",), "github_url": ("github.com",),
}
OUTPUTS = {"website_title": "Website title", "website_description": "Website description",
           **{key: key.removesuffix("_url").capitalize() + " URL" for key in SOCIAL_HOSTS}}


class _Homepage(HTMLParser):
    def __init__(self, base: str):
        super().__init__(convert_charrefs=True)
        self.base, self.title, self.in_title = base, "", False
        self.meta: dict[str, str] = {}
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k.lower(): (v or "") for k, v in attrs}
        if tag == "title":
            self.in_title = True
        elif tag == "meta":
            name = (found.get("name") or found.get("property") or "").lower()
            if name in ("description", "og:description", "og:title", "twitter:description") and found.get("content"):
                self.meta.setdefault(name, found["content"])
        elif tag == "a" and found.get("href"):
            self.links.append(urljoin(self.base, found["href"]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.in_title = False

    def handle_data(self, data: str) -> None:
        if self.in_title and len(self.title) < 1000:
            self.title += data


def parse_homepage(html: str, base: str) -> dict[str, Any]:
    page = _Homepage(base)
    page.feed(html)
    page.close()
    found: dict[str, Any] = {
        "website_title": " ".join(page.title.split()) or page.meta.get("og:title"),
        "website_description": page.meta.get("description") or page.meta.get("og:description")
        or page.meta.get("twitter:description"),
    }
    for key, hosts in SOCIAL_HOSTS.items():
        for link in page.links:
            host = (urlsplit(link).hostname or "").lower()
            if link.startswith(("http://", "https://")) and any(host == h or host.endswith("." + h) for h in hosts) \
                    and urlsplit(link).path.strip("/"):
                found[key] = link.split("#")[0]
                break
    return {k: v for k, v in found.items() if v}


class WebsiteProvider(Provider):
    """spec: {"kind": "website", "cost": 0, "timeout_seconds": 15, "max_response_bytes": 500000}"""

    kind = "website"
    network = True

    def __init__(self, spec: dict, *, entity: str):
        super().__init__(spec)
        self.inputs = ("website", "domain") if entity == "companies" else ("company_domain",)
        self.outputs = {name: Output(name, "text", label) for name, label in OUTPUTS.items()}
        self.limits = parse_limits(spec, f"website provider {self.name!r}", concurrency=20, timeout_seconds=15,
                                   max_response_bytes=500_000, max_attempts=2)

    def read_inputs(self, record: dict) -> dict | None:
        """The website as given (scheme added), else https://<domain>/."""
        website = record.get("website")
        if isinstance(website, str) and website.strip():
            return {"url": _page_url(website)}
        domain = normalize_domain(record.get(self.inputs[-1]) or "")
        return {"url": f"https://{domain}/"} if domain else None

    async def fetch(self, inputs: dict, ctx: CallContext) -> dict[str, Any]:
        try:
            response = await ctx.runner.fetch(self.key, self.limits, "GET", inputs["url"],
                                              headers={"accept": "text/html"}, follow_redirects=True, truncate=True)
        except FetchError as exc:
            raise ProviderError(str(exc), retryable=exc.retryable) from None
        if response.status in (404, 410):
            return {}
        if response.status >= 400:
            raise ProviderError(f"{inputs['url']} answered HTTP {response.status}")
        if "html" not in response.headers.get("content-type", "text/html"):
            return {}
        return parse_homepage(response.text(), response.url)


def _page_url(website: str) -> str:
    text = website.strip()
    if not text.lower().startswith(("http://", "https://")):
        text = "https://" + text
    parts = urlsplit(text)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path or '/'}" + (f"?{parts.query}" if parts.query else "")
