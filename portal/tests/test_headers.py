"""Security headers: a strict Content-Security-Policy everywhere, and no caching of account data."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client, RequestFactory

from partners.tests.factories import PartnerFactory, api_key_for, member_of
from portal.tests.factories import PlatformStaffFactory, UserFactory
from portal.tests.signing_in import sign_in_verified
from portal.views import server_error

pytestmark = pytest.mark.django_db

TEMPLATES = Path(__file__).resolve().parent.parent.parent / "templates"
STRICT = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
]


def directives(header: str) -> list[str]:
    return [part.strip() for part in header.split(";")]


@pytest.mark.parametrize("path", ["/", "/accounts/login/", "/admin/login/", "/api/docs/", "/no-such-page/"])
def test_every_page_carries_the_strict_policy(client: Client, path: str) -> None:
    policy = directives(client.get(path)["Content-Security-Policy"])
    assert all(directive in policy for directive in STRICT), policy
    assert not any("unsafe-inline" in directive or "unsafe-eval" in directive for directive in policy)


def test_the_api_carries_it_too(client: Client) -> None:
    assert "default-src 'self'" in client.get("/api/v1/partner/")["Content-Security-Policy"]


def test_the_500_page_takes_its_style_from_a_file() -> None:
    page = server_error(RequestFactory().get("/")).content.decode()
    assert "<style" not in page
    assert 'href="/static/css/error.css"' in page


def test_no_template_holds_inline_script_or_style() -> None:
    inline = re.compile(r"<style|\sstyle=|<script(?![^>]*\ssrc=)(?![^>]*application/json)|\son[a-z]+=", re.I)
    offenders = [
        f"{path.relative_to(TEMPLATES)}: {match.group(0)}"
        for path in TEMPLATES.rglob("*.html")
        for match in inline.finditer(path.read_text())
    ]
    assert offenders == []


@pytest.mark.parametrize("who", ["end_user", "bank_member", "staff"])
def test_signed_in_pages_are_never_stored(client: Client, who: str) -> None:
    bank = PartnerFactory()
    user = {"end_user": UserFactory, "bank_member": lambda: member_of(bank), "staff": PlatformStaffFactory}[who]()
    sign_in_verified(client, user)
    for path in ("/home/", "/me/", f"/bank/{bank.slug}/", "/admin/"):
        response = client.get(path)
        assert "no-store" in response.get("Cache-Control", ""), (path, response.status_code)


def test_api_answers_are_never_stored_and_public_pages_may_be(client: Client) -> None:
    key = api_key_for(PartnerFactory())
    assert "no-store" in client.get("/api/v1/partner/", headers={"authorization": f"Bearer {key}"})["Cache-Control"]
    assert "no-store" not in client.get("/").get("Cache-Control", "")
