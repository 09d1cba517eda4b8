"""`manage.py seed_demo`: one login per role and a live and a sandbox API key for the demo bank; idempotent."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from compliance.audit import Actor
from partners.models import Partner, PartnerApiKey, PartnerMembership, UsageTerms
from partners.services import (
    capability_create,
    partner_api_key_create,
    partner_create,
    partner_member_add,
    partner_transition,
    scope_create,
    scope_publish,
    terms_accept,
    terms_publish,
)
from portal.models import User
from portal.second_factor import totp
from portal.second_factor.services import second_factor_enrol_demo
from portal.services import user_grant_staff_role

DEMO_PASSWORD_SUFFIX = "-demo-2026"
DEMO_LOGINS: dict[str, dict[str, str]] = {
    "user": {"email": "user@demo.example", "full_name": "Alex Demo"},
    "manager": {"email": "manager@demo.example", "full_name": "Morgan Manager"},
    "staff": {"email": "staff@demo.example", "full_name": "Sam Staff"},
    "compliance": {"email": "compliance@demo.example", "full_name": "Casey Compliance"},
}
# The logins whose role needs a second factor get an authenticator app with a published key.
DEMO_TOTP_ROLES = ("manager", "staff", "compliance")
DEMO_BANK_SLUG = "demo-bank"
DEMO_BANK_NAME = "Demo Bank plc"
# Fixed so that the demo keys survive re-seeding. The live key reaches the demo bank's customers (the
# demo user); the sandbox key reaches only the bank's test users, its members (`consent.rules`).
DEMO_API_KEY = "pbk_live_demobank0002_Demo-Live-Key-Not-A-Secret-00000000000001"
DEMO_SANDBOX_API_KEY = "pbk_sandbox_demobank0001_Demo-Sandbox-Key-Not-A-Secret-0000000001"
DEMO_KEYS = {"live": DEMO_API_KEY, "sandbox": DEMO_SANDBOX_API_KEY}
WAITING_BANK_SLUG = "harbour-credit-union"
DEMO_TERMS = """# Platform usage terms

1. Bank data reaches people only with their consent, scope by scope, and only for the purposes
   they granted: account updates, fraud alerts, receipts and shipping, customer-service chat.
2. Bank data is never used for advertising or marketing, never sold, never kept longer than the
   scope's retention.
3. When a person revokes a grant, the bank stops at once and attests deletion within 30 days.
"""
DEMO_SCOPES: dict[str, dict[str, Any]] = {
    "balances.read": {
        "name": "Your account balances",
        "description": "Your current and available balance, so your bank can tell you when it changes.",
        "category": "balances",
        "fields": [
            {"name": "balance", "description": "The balance now"},
            {"name": "available", "description": "What you can spend"},
        ],
        "purposes": ["account_updates", "customer_service"],
        "sensitivity": "medium",
        "retention_days": 30,
        "max_duration_days": 180,
    },
    "card_transactions.read": {
        "name": "Your card payments",
        "description": "Where and how much you paid by card, for receipts and to answer questions about spending.",
        "category": "card_transactions",
        "fields": [
            {"name": "merchant", "description": "Who you paid"},
            {"name": "amount", "description": "How much"},
            {"name": "purchased_at", "description": "When"},
        ],
        "purposes": ["receipts_shipping", "customer_service"],
        "sensitivity": "medium",
        "retention_days": 90,
        "max_duration_days": 365,
    },
    "fraud_alerts.push": {
        "name": "Fraud alerts",
        "description": "An alert in your chat when your bank sees a payment that may not be yours.",
        "category": "fraud_signals",
        "fields": [
            {"name": "amount", "description": "The suspicious amount"},
            {"name": "merchant", "description": "Where it was paid"},
        ],
        "purposes": ["fraud_alerts"],
        "sensitivity": "medium",
        "retention_days": 30,
        "max_duration_days": 365,
    },
}
DEMO_CAPABILITIES: dict[str, dict[str, Any]] = {
    "check_balance": {
        "name": "Check my balance",
        "description": "Ask the bot for your balance at any time.",
        "sample_utterances": ["What's my balance?", "How much can I spend?"],
        "scopes": ["balances.read"],
        "message_types": ["balance_update", "chat_reply"],
        "status": "published",
    },
    "report_fraud": {
        "name": "Report fraud",
        "description": "Tell the bot a payment was not you; it freezes the card and opens a case.",
        "sample_utterances": ["That payment wasn't me", "Freeze my card"],
        "scopes": ["fraud_alerts.push", "card_transactions.read"],
        "message_types": ["fraud_alert", "chat_reply"],
        "status": "published",
    },
}


def demo_password(role: str) -> str:
    """Return the demo password of a role's login."""
    return f"{role}{DEMO_PASSWORD_SUFFIX}"


def demo_totp_key(role: str) -> str:
    """Return the TOTP key (hex) of a demo login: derived from its role, so the same on every machine.

    Demo only: anyone can compute it (the README prints it), exactly like the demo passwords.
    """
    return hashlib.sha256(f"bank-partnership-portal-demo-totp:{role}".encode()).hexdigest()[: totp.KEY_BYTES * 2]


def demo_totp_secret(role: str) -> str:
    """Return a demo login's TOTP key in base32, as authenticator apps take it."""
    return totp.key_text(demo_totp_key(role)).replace(" ", "")


class Command(BaseCommand):
    help = "Create the demo world (one login per role, a sandbox bank and its API key); safe to rerun."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--json", action="store_true", help="Print logins and keys as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        system = Actor.system("seed_demo")
        with transaction.atomic():
            users = {role: self._user(role, **details) for role, details in DEMO_LOGINS.items()}
            user_grant_staff_role(user=users["staff"], role=User.Role.PLATFORM_STAFF, actor=system)
            user_grant_staff_role(user=users["compliance"], role=User.Role.COMPLIANCE_STAFF, actor=system)
            bank = Partner.objects.filter(slug=DEMO_BANK_SLUG).first() or partner_create(
                legal_name=DEMO_BANK_NAME, slug=DEMO_BANK_SLUG, status=Partner.Status.SANDBOX, actor=system
            )
            partner_member_add(partner=bank, user=users["manager"], role=PartnerMembership.Role.MANAGER, actor=system)
            self._catalog(bank, users, system)
            bank.refresh_from_db()
            for environment, raw_key in DEMO_KEYS.items():
                if not PartnerApiKey.objects.filter(digest=PartnerApiKey.digest_of(raw_key)).exists():
                    partner_api_key_create(
                        partner=bank,
                        name=f"Demo {environment} key",
                        environment=environment,
                        actor=system,
                        raw_key=raw_key,
                    )
            self._consent(users["user"], bank)
            for role in DEMO_TOTP_ROLES:
                second_factor_enrol_demo(user=users[role], key=demo_totp_key(role), actor=system)
        result: dict[str, Any] = {
            "logins": {
                role: {
                    "email": details["email"],
                    "password": demo_password(role),
                    **({"totp_secret": demo_totp_secret(role)} if role in DEMO_TOTP_ROLES else {}),
                }
                for role, details in DEMO_LOGINS.items()
            },
            "api_keys": {DEMO_BANK_SLUG: DEMO_API_KEY, f"{DEMO_BANK_SLUG}-sandbox": DEMO_SANDBOX_API_KEY},
        }
        if options["json"]:
            self.stdout.write(json.dumps(result, indent=2))
            return
        self.stdout.write("Demo logins (email / password):")
        for role, login in result["logins"].items():
            self.stdout.write(f"  {role:<11} {login['email']:<26} {login['password']}")
        self.stdout.write("Their second factor (demo only): add the key to an authenticator app, or run")
        self.stdout.write("`manage.py demo_totp <login>` for the code it shows now:")
        for role in DEMO_TOTP_ROLES:
            self.stdout.write(f"  {role:<11} {totp.key_text(demo_totp_key(role))}")
        self.stdout.write(f"Demo bank API key ({DEMO_BANK_SLUG}, live): {DEMO_API_KEY}")
        self.stdout.write(f"Demo bank sandbox key (reaches its test users only): {DEMO_SANDBOX_API_KEY}")

    def _catalog(self, bank: Partner, users: dict[str, User], system: Actor) -> None:
        """Give the demo bank published scopes, capabilities and accepted terms, and make it live."""
        terms = UsageTerms.objects.current() or terms_publish(
            title="Platform usage terms", body=DEMO_TERMS, actor=users["staff"], requires_reacceptance=True
        )
        for code, content in DEMO_SCOPES.items():
            if not bank.scopes.filter(code=code).exists():
                scope_publish(scope=scope_create(partner=bank, code=code, actor=system, **content), actor=system)
        for code, values in DEMO_CAPABILITIES.items():
            if not bank.capabilities.filter(code=code).exists():
                capability_create(partner=bank, code=code, actor=system, **values)
        if not bank.terms_acceptances.filter(terms=terms).exists():
            terms_accept(partner=bank, terms=terms, user=users["manager"], user_agent="seed_demo")
        if bank.status == Partner.Status.SANDBOX:
            partner_transition(
                partner=bank,
                to_status=Partner.Status.LIVE,
                note="Demo bank goes live; its key and webhook endpoint are set up next.",
                actor=users["staff"],
                missing_confirmed=True,
            )
        # A bank waiting in the review queue, so staff have something to review.
        if not Partner.objects.filter(slug=WAITING_BANK_SLUG).exists():
            partner_create(
                legal_name="Harbour Credit Union",
                slug=WAITING_BANK_SLUG,
                status=Partner.Status.APPLIED,
                actor=system,
                country="IE",
                identifier_type=Partner.IdentifierType.REGULATOR,
                identifier="C12345",
                website="https://harbour.example",
                security_contact="security@harbour.example",
            )

    def _consent(self, user: User, bank: Partner) -> None:
        """Give the demo user a linked account at the demo bank with active grants (once)."""
        from consent.connectors import LinkedAccount
        from consent.models import AccountLink, ConsentGrant
        from consent.services import GrantChoice, consent_grant, link_create
        from consent.simulator import simulated_accounts

        bank.refresh_from_db()  # `_catalog` may just have made it live
        account = simulated_accounts(user=user, partner=bank)[0]
        link = AccountLink.objects.active().filter(user=user, partner=bank, account_ref=account.account_ref).first()
        if link is None:
            link = link_create(
                user=user,
                partner=bank,
                account=LinkedAccount(account.account_ref, account.account_mask),
                actor=user,
            )
        wanted = [
            ("balances.read", "account_updates", ("balance_update",)),
            # So that a newcomer can chat with the demo bank's bot (`manage.py demo_bot`) at once.
            ("balances.read", "customer_service", ("chat_reply",)),
            ("fraud_alerts.push", "fraud_alerts", ("fraud_alert",)),
            ("card_transactions.read", "receipts_shipping", ("receipt", "shipping_update")),
        ]
        active = set(ConsentGrant.objects.active().filter(link=link).values_list("scope__code", "purpose"))
        choices = []
        for code, purpose, message_types in wanted:
            version = bank.scopes.get(code=code).published_version
            if version is not None and (code, purpose) not in active:
                choices.append(GrantChoice(version.pk, purpose, message_types))
        if choices:
            consent_grant(user=user, link=link, choices=choices)

    def _user(self, role: str, *, email: str, full_name: str) -> User:
        user = User.objects.filter(email=email).first()
        if user is None:
            from portal.services import user_sign_up

            user = user_sign_up(email=email, password=demo_password(role), full_name=full_name)
        return user
