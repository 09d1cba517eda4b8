"""`manage.py demo_totp manager`: the code a demo login's authenticator app shows now (demo keys only)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from portal.second_factor import totp

from .seed_demo import DEMO_LOGINS, DEMO_TOTP_ROLES, demo_totp_key


class Command(BaseCommand):
    help = "Print the current second-factor code of a demo login (manager, staff or compliance, or its email)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("login", help="The demo login's short name as seed_demo prints it, or its email address.")

    def handle(self, *args: Any, **options: Any) -> None:
        wanted = str(options["login"]).strip().lower()
        role = next((name for name, login in DEMO_LOGINS.items() if wanted in (name, login["email"])), None)
        if role not in DEMO_TOTP_ROLES:
            choices = ", ".join(f"{name} ({DEMO_LOGINS[name]['email']})" for name in DEMO_TOTP_ROLES)
            raise CommandError(f"{options['login']!r} is not a demo login with a second factor. Use one of: {choices}.")
        left = 30 - int(time.time()) % 30
        self.stdout.write(totp.current_code(demo_totp_key(role)))
        self.stderr.write(f"Valid for {left} more second(s). Each code works once: if it was used, wait for the next.")
