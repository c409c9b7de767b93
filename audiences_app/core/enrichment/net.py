"""The outbound URL guard: enrichment never reaches a private, loopback, link-local or
cloud-metadata address unless an admin allows the host.

Every outbound request (HTTP API, website, AI endpoint, later webhooks) passes two checks:

1. `OutboundPolicy.check_url` before each hop, redirects included: http/https only, no user
   info, and a host that is either on the allow-list or not an IP literal of a refused range.
2. `GuardedResolver`, the DNS resolver of the HTTP client's connector: every address a name
   resolves to is checked, and the connection is made to exactly those checked addresses.
   Because the check and the connect use the same answer, DNS rebinding (a name that
   resolves to a public address for the check and to 127.0.0.1 for the connect) has no
   window to work in.

Refused: private (10/8, 172.16/12, 192.168/16, fc00::/7), loopback, link-local (169.254/16,
fe80::/10, which holds the cloud metadata address 169.254.169.254), multicast, reserved,
unspecified, shared (100.64/10), benchmarking and documentation ranges, IPv4-mapped and
6to4/NAT64 forms of any of those, and the metadata names (metadata.google.internal,
fd00:ec2::254). The allow-list (AUDIENCES_ALLOWED_HOSTS, comma-separated host names or IPs)
lets tests and local model servers through; metadata addresses are refused even then.

Residual risk, documented: an allowed host is trusted whatever it resolves to; and the
server at a public address may itself proxy requests inward — the guard protects the
network this process sits in, not what a remote service does.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult

from audiences_app.settings import get_settings

ALLOWED_HOSTS_ENV = "AUDIENCES_ALLOWED_HOSTS"
_NUMERIC_HOST = re.compile(r"(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]+|[0-9]+))*")
METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata", "instance-data", "metadata.azure.internal"})
METADATA_ADDRESSES = frozenset({
    ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("169.254.170.2"),
    ipaddress.ip_address("fd00:ec2::254"), ipaddress.ip_address("100.100.100.200"),
})
_EXTRA_REFUSED = [ipaddress.ip_network(n) for n in (
    "100.64.0.0/10", "192.0.0.0/24", "192.0.2.0/24", "198.18.0.0/15", "198.51.100.0/24",
    "203.0.113.0/24", "240.0.0.0/4", "64:ff9b::/96", "64:ff9b:1::/48", "2001:db8::/32", "2002::/16",
)]


class BlockedAddress(Exception):
    """An outbound request to an address enrichment may not reach; the message says which and why."""


@functools.lru_cache(maxsize=4096)
def refusal(address: str) -> str | None:
    """Why enrichment may not connect to this IP address, or None when it may."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        mapped = ip.ipv4_mapped or ip.sixtofour
        if mapped is not None:
            return refusal(str(mapped))
        if ip in ipaddress.ip_network("64:ff9b::/96"):
            inner = refusal(str(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)))
            return inner or "a NAT64 address"
    if ip in METADATA_ADDRESSES:
        return "a cloud metadata address"
    checks = [("a loopback", ip.is_loopback), ("a link-local", ip.is_link_local), ("a multicast", ip.is_multicast),
              ("an unspecified", ip.is_unspecified), ("a private", ip.is_private), ("a reserved", ip.is_reserved)]
    for name, hit in checks:
        if hit:
            return f"{name} address"
    if any(ip in network for network in _EXTRA_REFUSED if network.version == ip.version):
        return "a reserved address"
    if not ip.is_global:
        return "not a public address"
    return None


def _host_key(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


def allowed_hosts_from_env() -> frozenset[str]:
    return frozenset(_host_key(h) for h in get_settings().allowed_hosts.split(",") if h.strip())


@dataclass(frozen=True)
class OutboundPolicy:
    """Which hosts outbound requests may reach: public addresses, plus the admin's allow-list."""

    allowed_hosts: frozenset[str] = field(default_factory=allowed_hosts_from_env)

    @classmethod
    def allowing(cls, hosts: Iterable[str]) -> OutboundPolicy:
        return cls(frozenset(_host_key(h) for h in hosts) | allowed_hosts_from_env())

    def is_allowed_host(self, host: str) -> bool:
        return _host_key(host) in self.allowed_hosts

    def check_url(self, url: str) -> str:
        """The URL's host when it may be requested (before DNS); BlockedAddress otherwise."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise BlockedAddress(f"{_short(url)}: only http and https URLs may be requested")
        if parts.username or parts.password:
            raise BlockedAddress(f"{_short(url)}: URLs with a user name or password are refused")
        host = _host_key(parts.hostname or "")
        if not host:
            raise BlockedAddress(f"{_short(url)}: the URL has no host")
        if host in METADATA_HOSTS:
            raise BlockedAddress(f"{host} is a cloud metadata host")
        literal = _literal(host)
        if literal is None:
            if _NUMERIC_HOST.fullmatch(host):  # 2130706433, 0x7f000001, 127.1: an address in disguise
                raise BlockedAddress(f"{host} is not a canonical IP address; write it as a.b.c.d")
            return host
        if literal in METADATA_ADDRESSES:
            raise BlockedAddress(f"{host} is a cloud metadata address")
        if not self.is_allowed_host(host):
            reason = refusal(host)
            if reason:
                raise BlockedAddress(f"{host} is {reason}; ask an admin to add it to {ALLOWED_HOSTS_ENV}")
        return host

    def check_resolved(self, host: str, addresses: Iterable[str]) -> None:
        """Refuse a name whose DNS answer holds any refused address (unless the host is allowed)."""
        for address in addresses:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
            if ip in METADATA_ADDRESSES:
                raise BlockedAddress(f"{host} resolves to {address}, a cloud metadata address")
            if self.is_allowed_host(host):
                continue
            reason = refusal(address)
            if reason:
                raise BlockedAddress(f"{host} resolves to {address}, {reason}; "
                                     f"ask an admin to add it to {ALLOWED_HOSTS_ENV}")


@functools.lru_cache(maxsize=4096)
def _literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The IP address a host names literally, or None for a DNS name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _short(url: str) -> str:
    return url if len(url) <= 120 else url[:117] + "..."


class GuardedResolver(AbstractResolver):
    """aiohttp's resolver with the policy applied to every answer: the connector connects to
    the addresses checked here and to no others."""

    def __init__(self, policy: OutboundPolicy):
        self.policy = policy

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        if _host_key(host) in METADATA_HOSTS:
            raise BlockedAddress(f"{host} is a cloud metadata host")
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port, type=socket.SOCK_STREAM, family=family, flags=socket.AI_ADDRCONFIG)
        results: list[ResolveResult] = []
        for fam, _, proto, _, address in infos:
            results.append(ResolveResult(hostname=host, host=address[0], port=address[1], family=fam,
                                         proto=proto, flags=socket.AI_NUMERICHOST | socket.AI_NUMERICSERV))
        if not results:
            raise OSError(f"{host} does not resolve")
        self.policy.check_resolved(host, [r["host"] for r in results])
        return results

    async def close(self) -> None:
        return None
