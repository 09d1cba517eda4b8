"""`manage.py audit_grants <role>`: the SQL that lets a role serve the portal but only append to the trail."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection

from compliance.audit.privileges import grant_statements


class Command(BaseCommand):
    help = (
        "Print the statements, to run as the role that owns the tables (the one `migrate` runs as), "
        "that let ROLE serve the web and worker processes while it may only INSERT and SELECT the audit trail."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("role", help="the role the web and worker processes connect as")

    def handle(self, *args: Any, role: str, **options: Any) -> None:
        for statement in grant_statements(role, connection.settings_dict["NAME"]):
            self.stdout.write(statement)
