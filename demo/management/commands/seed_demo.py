"""manage.py seed_demo [--now ISO8601] [--seed N] [--reset] [--days D] [--volume V]"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from demo.seed import DEFAULT_SEED, demo_portfolio_seed
from demo.specs import MODELS
from demo.users import DemoSeedError


def _instant(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an ISO 8601 time, e.g. 2025-06-30T12:00:00Z"
        ) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class Command(BaseCommand):
    help = (
        f"Fill an empty kpiboard with a deterministic demo portfolio: {len(MODELS)} models, "
        "their version and deployment history with its registry ledger, training runs, "
        "profiled dataset versions, 30 days of serving events with labels for some, one "
        "incident per failure class, and one demo user per role (password kpiboard-demo)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--now",
            type=_instant,
            default=None,
            help="End of the demo's event window, ISO 8601; UTC when no zone is given "
            "(default: the current time truncated to the hour).",
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=DEFAULT_SEED,
            help=f"Random seed; the same --now and --seed make the same rows "
            f"(default: {DEFAULT_SEED}).",
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Delete the demo portfolio (models, versions, endpoints, deployments, "
            "registries and their ledger, datasets and profiles, training runs, teams, "
            "industries, their events, labels and incidents) and the demo users first. "
            "Rows the demo did not make are kept.",
        )
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Seed a production database (DATABASE_URL set) anyway. The demo users "
            "have a public password, so this is for throw-away staging databases only.",
        )
        parser.add_argument(
            "--days", type=int, default=30, help="Days of serving events (default: 30)."
        )
        parser.add_argument(
            "--volume",
            type=float,
            default=1.0,
            help="Traffic multiplier (default: 1, about 230,000 events in 30 days).",
        )

    def handle(self, *args: object, **options: object) -> None:
        if not settings.EMBEDDED and not options["allow_production"]:
            raise CommandError(
                "seed_demo makes users with the public password 'kpiboard-demo' and is "
                "meant for the embedded SQLite database. DATABASE_URL is set; pass "
                "--allow-production to seed this database anyway."
            )
        now = options["now"] or datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        started = time.monotonic()
        try:
            summary = demo_portfolio_seed(
                now=now,
                seed=options["seed"],
                days=options["days"],
                volume=options["volume"],
                reset=options["reset"],
                progress=lambda line: self.stderr.write(
                    f"{time.monotonic() - started:5.1f} s  {line}"
                ),
            )
        except (DemoSeedError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        for line in summary.lines():
            self.stdout.write(line)
        self.stdout.write(f"Seeded in {time.monotonic() - started:.1f} s.")
