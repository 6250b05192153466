"""manage.py rebuild_rollups [--start ISO] [--end ISO]: recompute rollups from raw events."""

from __future__ import annotations

from datetime import datetime

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ingestion.rollups import rollups_rebuild


def _moment(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--{name}: {value!r} is not an ISO 8601 date and time") from None
    if parsed.tzinfo is None:
        raise CommandError(f"--{name}: {value!r} needs a time zone (e.g. Z)")
    return parsed


class Command(BaseCommand):
    help = (
        "Drop and recompute the serving rollups (hour, day, week) from the raw events, "
        "for all time or for the whole days touching [--start, --end)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--start", help="ISO 8601 with a zone")
        parser.add_argument("--end", help="ISO 8601 with a zone")

    def handle(self, *args: object, **options: object) -> None:
        start = _moment(options["start"], "start")
        end = _moment(options["end"], "end")
        hours = rollups_rebuild(start=start, end=end)
        self.stdout.write(f"Rolled up {hours} version-hour(s) of events, and their days and weeks.")
