"""The site's icon: named by every page and answered at /favicon.ico instead of a 404 in every log."""

from __future__ import annotations

from django.contrib.staticfiles import finders
from django.test import Client


def test_favicon_ico_sends_the_browser_to_the_static_icon(client: Client) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("img/favicon.ico")
    icon = finders.find("img/favicon.ico")
    assert icon is not None
    with open(icon, "rb") as file:
        assert file.read(4) == b"\x00\x00\x01\x00"  # an ICO file's signature


def test_every_page_names_its_icon(client: Client) -> None:
    page = client.get("/").content.decode()
    assert 'rel="icon"' in page
    assert "img/favicon.svg" in page
    assert finders.find("img/favicon.svg") is not None
