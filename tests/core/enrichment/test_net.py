"""The outbound guard: private, loopback, link-local and metadata addresses are refused after
DNS resolution and at every redirect, unless an admin allows the host."""

from __future__ import annotations

import asyncio
import re

import pytest

from audiences_app.core.enrichment.net import BlockedAddress, OutboundPolicy, refusal
from audiences_app.core.enrichment.runner import CallLimits, FetchError, HttpRunner

LIMITS = CallLimits(timeout_seconds=5, max_attempts=1)


@pytest.mark.parametrize("address, reason", [
    ("8.8.8.8", None), ("2606:4700:4700::1111", None),
    ("127.0.0.1", "loopback"), ("::1", "loopback"), ("10.1.2.3", "private"), ("172.16.0.1", "private"),
    ("192.168.1.1", "private"), ("fd12::1", "private"), ("169.254.1.1", "link-local"), ("fe80::1", "link-local"),
    ("169.254.169.254", "metadata"), ("fd00:ec2::254", "metadata"), ("224.0.0.1", "multicast"),
    ("0.0.0.0", "unspecified"), ("100.64.0.1", "reserved"), ("240.0.0.1", "private|reserved"),
    ("::ffff:127.0.0.1", "loopback"), ("::ffff:169.254.169.254", "metadata"), ("2002:0a00:0001::1", "private"),
    ("64:ff9b::7f00:1", "loopback"),
])
def test_addresses_enrichment_may_not_reach(address, reason):
    found = refusal(address)
    assert (found is None) if reason is None else bool(re.search(reason, found))


@pytest.mark.parametrize("url, message", [
    ("ftp://example.com/x", "only http and https"), ("file:///etc/passwd", "only http and https"),
    ("http://user:pw@example.com/", "user name or password"), ("http://metadata.google.internal/", "metadata host"),
    ("http://169.254.169.254/latest/meta-data/", "metadata address"), ("http://[fd00:ec2::254]/", "metadata address"),
    ("http://10.0.0.1/", "private"), ("http://[::ffff:10.0.0.1]/", "private"), ("http://internal.example/", None),
])
def test_urls_are_checked_before_any_connection(url, message):
    policy = OutboundPolicy(frozenset())
    if message is None:
        policy.check_url(url)  # a name: the resolver checks what it resolves to
        return
    with pytest.raises(BlockedAddress, match=message):
        policy.check_url(url)


def test_the_allow_list_lets_a_host_through_but_never_a_metadata_address():
    allowed = OutboundPolicy.allowing(["127.0.0.1", "169.254.169.254"])
    assert allowed.check_url("http://127.0.0.1:8080/v1") == "127.0.0.1"
    with pytest.raises(BlockedAddress, match="metadata"):
        allowed.check_url("http://169.254.169.254/")


def _fetch(url: str, *, allowed: list[str], follow: bool = True):
    async def go():
        runner = HttpRunner(OutboundPolicy(frozenset(allowed)))
        try:
            return await runner.fetch("t", LIMITS, "GET", url, follow_redirects=follow)
        finally:
            await runner.aclose()

    return asyncio.run(go())


def test_a_loopback_server_is_refused_unless_allowed(server):
    with pytest.raises(FetchError, match="refused: 127.0.0.1 is a loopback address"):
        _fetch(f"{server.url}/home", allowed=[])
    assert _fetch(f"{server.url}/home", allowed=["127.0.0.1"]).status == 200


def test_a_name_that_resolves_to_loopback_is_refused_after_dns(server):
    with pytest.raises(FetchError, match="localhost resolves to .*loopback"):
        _fetch(f"http://localhost:{server.port}/home", allowed=["127.0.0.1"])


@pytest.mark.parametrize("host", ["2130706433", "0x7f000001", "127.1", "0177.0.0.1"])
def test_an_address_in_disguise_is_refused(server, host):
    with pytest.raises(FetchError, match="not a canonical IP address"):
        _fetch(f"http://{host}:{server.port}/home", allowed=["127.0.0.1"])


@pytest.mark.parametrize("hop, message", [
    ("private", "10.0.0.1 is a private address"),
    ("metadata", "169.254.169.254 is a cloud metadata address"),
    ("mapped", "is a loopback address"),
    ("localhost", "localhost resolves to"),
    ("loop", "more than 5 redirects"),
])
def test_every_redirect_hop_is_checked_again(server, hop, message):
    before = dict(server.calls)
    with pytest.raises(FetchError, match=message):
        _fetch(f"{server.url}/redirect/{hop}", allowed=["127.0.0.1"])
    if hop != "loop":
        assert server.calls[f"/redirect/{hop}"] == before.get(f"/redirect/{hop}", 0) + 1


def test_a_redirect_is_followed_to_an_allowed_page(server):
    response = _fetch(f"{server.url}/redirect/home", allowed=["127.0.0.1"])
    assert response.status == 200 and response.url.endswith("/home")
