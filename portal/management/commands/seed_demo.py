"""`manage.py seed_demo`: one login per role and a sandbox API key for the demo bank; idempotent."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from compliance.audit import Actor
from partners.models import Partner, PartnerApiKey, PartnerMembership
from partners.services import partner_api_key_create, partner_create, partner_member_add
from portal.models import User
from portal.services import user_grant_staff_role

DEMO_PASSWORD_SUFFIX = "-demo-2026"
DEMO_LOGINS: dict[str, dict[str, str]] = {
    "user": {"email": "user@demo.example", "full_name": "Alex Demo"},
    "manager": {"email": "manager@demo.example", "full_name": "Morgan Manager"},
    "staff": {"email": "staff@demo.example", "full_name": "Sam Staff"},
    "compliance": {"email": "compliance@demo.example", "full_name": "Casey Compliance"},
}
DEMO_BANK_SLUG = "demo-bank"
DEMO_BANK_NAME = "Demo Bank plc"
# Fixed so that the demo key survives re-seeding; only ever used with the sandbox demo bank.
DEMO_API_KEY = "pbk_sandbox_demobank0001_Demo-Sandbox-Key-Not-A-Secret-0000000001"


def demo_password(role: str) -> str:
    """Return the demo password of a role's login."""
    return f"{role}{DEMO_PASSWORD_SUFFIX}"


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
            if not PartnerApiKey.objects.filter(digest=PartnerApiKey.digest_of(DEMO_API_KEY)).exists():
                partner_api_key_create(
                    partner=bank, name="Demo sandbox key", environment="sandbox", actor=system, raw_key=DEMO_API_KEY
                )
        result: dict[str, Any] = {
            "logins": {
                role: {"email": details["email"], "password": demo_password(role)}
                for role, details in DEMO_LOGINS.items()
            },
            "api_keys": {DEMO_BANK_SLUG: DEMO_API_KEY},
        }
        if options["json"]:
            self.stdout.write(json.dumps(result, indent=2))
            return
        self.stdout.write("Demo logins (email / password):")
        for role, login in result["logins"].items():
            self.stdout.write(f"  {role:<11} {login['email']:<26} {login['password']}")
        self.stdout.write(f"Demo bank API key ({DEMO_BANK_SLUG}, sandbox): {DEMO_API_KEY}")

    def _user(self, role: str, *, email: str, full_name: str) -> User:
        user = User.objects.filter(email=email).first()
        if user is None:
            from portal.services import user_sign_up

            user = user_sign_up(email=email, password=demo_password(role), full_name=full_name)
        return user
