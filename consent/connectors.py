"""How the portal talks to a bank's authorisation server when a person links an account."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse

from partners.models import Partner

CLIENT_ID = "bank-partnership-portal"


@dataclass(frozen=True)
class LinkedAccount:
    """What a bank hands back for an authorisation code: its reference and a masked number."""

    account_ref: str
    account_mask: str


class CodeExchangeError(Exception):
    """The bank refused the authorisation code (unknown, used, expired, or the PKCE verifier is wrong)."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


class BankConnector(Protocol):
    """A bank's authorisation-code flow as the portal uses it."""

    def authorize_url(self, *, partner: Partner, state: str, code_challenge: str, redirect_uri: str) -> str:
        """Return the bank page the person is sent to."""
        ...

    def exchange_code(self, *, partner: Partner, code: str, code_verifier: str, redirect_uri: str) -> LinkedAccount:
        """Return the account an authorisation code stands for, or raise CodeExchangeError."""
        ...


def callback_path() -> str:
    """Return the portal's redirect URI (a path: the simulator lives on the same site)."""
    return reverse("consent:link-callback")


class SimulatorConnector:
    """The built-in bank simulator: the same authorisation page and token rules, without the network.

    The exchange calls the simulator's token function in-process rather than over HTTP, so that a
    single web worker never waits on a request to itself; its HTTP token endpoint runs the same code.
    """

    def authorize_url(self, *, partner: Partner, state: str, code_challenge: str, redirect_uri: str) -> str:
        query = urlencode(
            {
                "response_type": "code",
                "client_id": CLIENT_ID,
                "redirect_uri": redirect_uri,
                "state": state,
                "code_challenge": code_challenge,
                "code_challenge_method": "S256",
            }
        )
        return f"{reverse('consent:simulator-authorize', kwargs={'slug': partner.slug})}?{query}"

    def exchange_code(self, *, partner: Partner, code: str, code_verifier: str, redirect_uri: str) -> LinkedAccount:
        from .simulator import simulator_exchange_code

        return simulator_exchange_code(
            partner=partner, code=code, code_verifier=code_verifier, redirect_uri=redirect_uri, client_id=CLIENT_ID
        )


def connector_for(partner: Partner) -> BankConnector | None:
    """Return the connector that links accounts at `partner`, or None when none is configured.

    Only the simulator exists so far; it plays every bank where demo features are on (development,
    tests, the demo). Real banks' authorisation servers are configured per bank in a later issue.
    """
    if settings.PORTAL_DEMO_FEATURES:
        return SimulatorConnector()
    return None
