"""`manage.py seed_scale --people N`: fill an empty PostgreSQL database with a scale world for benchmarks."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from portal.scale import WorldRefused, seed_world
from portal.scale.integrity import dangling_references
from portal.scale.plan import Sizes
from portal.scale.progress import Progress


class Command(BaseCommand):
    help = (
        "Seed a scale world by COPY: per million people 3 million grants, 10 million audit entries and 20 million "
        "deliveries, over eighteen months. PostgreSQL only; refuses a database that holds data unless --append."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--people", type=int, required=True, help="How many people (end users) the world has.")
        parser.add_argument("--seed", type=int, default=1, help="The dice: one seed gives one world (default 1).")
        parser.add_argument(
            "--until", type=dt.date.fromisoformat, default=None,
            help="The day the world's history ends, YYYY-MM-DD (default today, UTC); fix it for an identical world.",
        )  # fmt: skip
        parser.add_argument(
            "--processes", type=int, default=2,
            help="Worker processes that format rows while this one streams them (default 2; 0 for none).",
        )  # fmt: skip
        parser.add_argument("--append", action="store_true", help="Add the world beside data already there.")
        parser.add_argument("--check", action="store_true", help="Afterwards, prove every foreign key points at a row.")

    def handle(self, *args: Any, **options: Any) -> None:
        sizes = Sizes(options["people"])
        progress = Progress(sizes.expected_rows(), quiet=options["verbosity"] == 0)
        try:
            report = seed_world(
                people=options["people"], seed=options["seed"], until=options["until"], append=options["append"],
                processes=options["processes"], progress=progress,
            )  # fmt: skip
        except WorldRefused as refused:
            raise CommandError(str(refused)) from refused
        for table, count in sorted(report.counts.items()):
            self.stdout.write(f"{table:<32} {count:>13,}")
        self.stdout.write(
            f"{report.rows:,} rows in {report.seconds:.1f} s ({report.rows / max(report.seconds, 1e-9):,.0f} rows/s); "
            f"audit chain now {report.chain_size:,} entries"
            + ("" if report.fast_keys else " (foreign-key triggers stayed on: connect as a superuser to load faster)")
        )
        database = "" if report.database_cpu is None else f", the database {report.database_cpu:.1f} s"
        self.stdout.write(f"CPU time: formatting rows {report.python_cpu:.1f} s{database}")
        if options["check"]:
            with connection.cursor() as cursor:
                dangling = dangling_references(cursor)
            if dangling:
                raise CommandError(f"Rows point at rows that do not exist: {dangling}")
            self.stdout.write("Every foreign key points at a row.")
