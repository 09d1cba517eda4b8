"""The outbound address rule: every non-public range is refused, loopback only by the explicit exception."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

import pytest
from django.core import checks

from portal import outbound_guard
from portal.outbound_guard import StaticResolver, Unresolvable, UnsafeAddress, address_kind, checked_addresses

# One address from every range the platform never calls, and what it is called.
NON_PUBLIC = [
    ("127.0.0.1", "loopback"),
    ("127.8.9.10", "loopback"),
    ("10.1.2.3", "private"),
    ("172.16.0.9", "private"),
    ("192.168.1.1", "private"),
    ("169.254.169.254", "link-local"),
    ("100.64.0.1", "shared (carrier-grade NAT)"),
    ("100.127.255.254", "shared (carrier-grade NAT)"),
    ("224.0.0.251", "multicast"),
    ("239.255.255.250", "multicast"),
    ("240.0.0.1", "private"),  # reserved for future use; Python files it with the private networks
    ("0.0.0.0", "unspecified"),  # noqa: S104 - an address under test, not a bind
    ("192.0.2.10", "private"),  # documentation
    ("198.18.0.1", "private"),  # benchmarking
    ("::1", "loopback"),
    ("::", "unspecified"),
    ("fc00::1", "private"),
    ("fd12:3456::1", "private"),
    ("fe80::1", "link-local"),
    ("ff02::1", "multicast"),
    ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:10.0.0.1", "private"),
    ("::ffff:169.254.169.254", "link-local"),
    ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 of 169.254.169.254
    ("2001:db8::1", "private"),  # documentation
]


@pytest.mark.parametrize(("address", "kind"), NON_PUBLIC)
def test_every_non_public_range_is_named(address: str, kind: str) -> None:
    assert address_kind(ipaddress.ip_address(address)) == kind


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"])
def test_public_addresses_pass(address: str) -> None:
    assert address_kind(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(("address", "kind"), NON_PUBLIC)
def test_a_name_resolving_to_any_non_public_address_is_refused(address: str, kind: str) -> None:
    # One public address beside it does not help: every address must be public.
    resolve = StaticResolver({"hooks.bank.test": ["93.184.215.14", address]})
    shown = re.escape(f"hooks.bank.test resolves to {ipaddress.ip_address(address)}, which is a {kind} address")
    with pytest.raises(UnsafeAddress, match=shown):
        checked_addresses("hooks.bank.test", 443, allow_loopback=False, resolve=resolve)
    # The development exception lets loopback through, and nothing else.
    if kind == "loopback":
        assert len(checked_addresses("hooks.bank.test", 443, allow_loopback=True, resolve=resolve)) == 2
    else:
        with pytest.raises(UnsafeAddress):
            checked_addresses("hooks.bank.test", 443, allow_loopback=True, resolve=resolve)


def test_an_unknown_name_is_unresolvable_and_the_installed_resolver_is_used(monkeypatch: Any) -> None:
    monkeypatch.setattr(outbound_guard, "resolver", StaticResolver({"ok.bank.test": ["8.8.4.4"]}))
    assert checked_addresses("OK.Bank.Test.", 443, allow_loopback=False) == [ipaddress.ip_address("8.8.4.4")]
    with pytest.raises(Unresolvable):
        checked_addresses("nowhere.bank.test", 443, allow_loopback=False)


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("http://gateway.example.com/messages", "portal.E101"),
        ("https://10.0.0.7/messages", "portal.E102"),
        ("https://[::1]/messages", "portal.E102"),
        ("https://gateway.example.com/messages", None),
        ("", None),
    ],
)
def test_the_gateway_url_is_checked_outside_development(settings: Any, url: str, error: str | None) -> None:
    settings.PORTAL_ALLOW_INSECURE_OUTBOUND, settings.PORTAL_GATEWAY_URL = False, url
    assert [m.id for m in outbound_guard.gateway_url_check()] == ([error] if error else [])
    assert error is None or error in {m.id for m in checks.run_checks()}
    settings.PORTAL_ALLOW_INSECURE_OUTBOUND = True
    assert outbound_guard.gateway_url_check() == []
