"""manage.py create_api_token <team> [--role R] [--name N] [--expires-in-days D]"""

from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from lifecycle.catalog.models import Role, Team
from lifecycle.catalog.tokens import api_token_create


class Command(BaseCommand):
    help = "Make an API token for a team and print its key once (only a hash is stored)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("team", help="Name of the team the token belongs to.")
        parser.add_argument(
            "--role",
            choices=[r.value for r in Role],
            default=Role.MLOPS.value,
            help="What the token may do (default: mlops — push data and edit the catalog).",
        )
        parser.add_argument("--name", default="", help="What the token is for.")
        parser.add_argument(
            "--expires-in-days",
            type=int,
            default=None,
            help="Days until the token stops working (default: never).",
        )

    def handle(self, *args: object, **options: object) -> None:
        team = Team.objects.filter(name=options["team"]).first()
        if team is None:
            known = ", ".join(Team.objects.values_list("name", flat=True)) or "none yet"
            raise CommandError(f"No team named {options['team']!r}. Teams: {known}.")
        days = options["expires_in_days"]
        if days is not None and days <= 0:
            raise CommandError("--expires-in-days must be a positive number of days.")
        expires_at = timezone.now() + timedelta(days=days) if days else None
        token, key = api_token_create(
            team=team, role=Role(options["role"]), name=options["name"], expires_at=expires_at
        )
        self.stderr.write(
            f"Token {token.prefix} for team {team.name} (role {token.role}"
            + (f", expires {expires_at:%Y-%m-%d %H:%M} UTC" if expires_at else "")
            + "). Copy the key now; it is not shown again:"
        )
        self.stdout.write(key)
