"""The rule for which network addresses the platform may call, and the name resolution it checks.

Every outbound call (bank webhooks, chatbot capability URLs, the messenger gateway) goes only to
public addresses: a host name is resolved and *every* address it resolves to must be public, both
when a URL is saved and again when a connection is made, so that a name re-pointed at an internal
address after it was saved (DNS rebinding) is still refused.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core import checks

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# Resolves (host, port) to the addresses a connection could reach; raises OSError when it cannot.
Resolver = Callable[[str, int], list[IPAddress]]

# NAT64's well-known prefix embeds an IPv4 address in its last 32 bits (RFC 6052).
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class UnsafeAddress(ValueError):
    """A host the platform must not call: it resolves to a non-public address."""

    def __init__(self, host: str, address: IPAddress, kind: str) -> None:
        self.host, self.address, self.kind = host, address, kind
        shown = host if host == str(address) else f"{host} resolves to {address}, which is"
        super().__init__(f"{shown} a {kind} address; the platform only calls public addresses")


class Unresolvable(ValueError):
    """A host name that resolves to no address at all."""

    def __init__(self, host: str, reason: str = "") -> None:
        self.host = host
        super().__init__(f"{host} could not be resolved" + (f" ({reason})" if reason else ""))


def insecure_outbound_allowed() -> bool:
    """Return True where development and tests may call http:// and loopback receivers (never in production)."""
    return bool(getattr(settings, "PORTAL_ALLOW_INSECURE_OUTBOUND", False))


def _embedded_ipv4(address: IPAddress) -> IPAddress:
    """Return the IPv4 address an IPv4-mapped or NAT64 IPv6 address stands for, else the address itself."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def address_kind(address: IPAddress) -> str | None:
    """Return what makes `address` non-public ("loopback", "private", ...), or None when it is public."""
    address = _embedded_ipv4(address)
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("shared (carrier-grade NAT)", address in ipaddress.IPv4Network("100.64.0.0/10")),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
    )
    for kind, hit in checks:
        if hit:
            return kind
    # Anything else outside the global unicast space (documentation, benchmarking, 6to4 relays, ...).
    return None if address.is_global else "non-public"


def system_resolver(host: str, port: int) -> list[IPAddress]:
    """Return every address the operating system resolves `host` to (IP literals stand for themselves)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos))


# Tests replace this (monkeypatch `portal.outbound_guard.resolver`) so that no test needs the network.
resolver: Resolver = system_resolver


def checked_addresses(
    host: str, port: int, *, allow_loopback: bool, resolve: Resolver | None = None
) -> list[IPAddress]:
    """Return the addresses `host` resolves to when every one may be called; raise UnsafeAddress or Unresolvable.

    Loopback is allowed only with `allow_loopback` (development and tests, whose receivers listen on
    127.0.0.1); private, link-local, shared, multicast and reserved addresses never are.
    """
    host = host.strip("[]").rstrip(".").lower()
    try:
        addresses = (resolve or resolver)(host, port)
    except (OSError, UnicodeError) as exc:
        raise Unresolvable(host, str(exc)) from exc
    if not addresses:
        raise Unresolvable(host)
    for address in addresses:
        kind = address_kind(address)
        if kind == "loopback" and allow_loopback:
            continue
        if kind is not None:
            raise UnsafeAddress(host, address, kind)
    return addresses


@dataclass
class StaticResolver:
    """A resolver from a fixed table, for tests: names map to addresses, unknown names do not resolve.

    IP literals stand for themselves; `fallback` (if set) answers for any name not in the table.
    """

    table: dict[str, list[str]] = field(default_factory=dict)
    fallback: list[str] | None = None

    def __call__(self, host: str, port: int) -> list[IPAddress]:
        try:
            return [ipaddress.ip_address(host)]
        except ValueError:
            pass
        names = self.table.get(host.lower(), self.fallback)
        if names is None:
            raise socket.gaierror(socket.EAI_NONAME, f"{host} is not in the test resolver's table")
        return [ipaddress.ip_address(name) for name in names]


@checks.register(checks.Tags.security)
def gateway_url_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Refuse a messenger gateway URL that is not https, or names a non-public address, outside development.

    Names are not resolved here (a check must not need the network); each connection checks them.
    """
    url = getattr(settings, "PORTAL_GATEWAY_URL", "")
    if not url or insecure_outbound_allowed():
        return []
    parts = urlsplit(url)
    hint = "Set PORTAL_GATEWAY_URL to the gateway's https:// address on the public internet."
    if parts.scheme != "https" or not parts.hostname:
        return [checks.Error("PORTAL_GATEWAY_URL must be an https:// address.", hint=hint, id="portal.E101")]
    try:
        kind = address_kind(ipaddress.ip_address(parts.hostname))
    except ValueError:
        return []
    if kind is not None:
        return [checks.Error(f"PORTAL_GATEWAY_URL points at a {kind} address.", hint=hint, id="portal.E102")]
    return []
