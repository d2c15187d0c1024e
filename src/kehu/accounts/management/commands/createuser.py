"""``kehu createuser``: create a user with a role (and optionally a team)."""

from __future__ import annotations

import os
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from kehu.accounts.roles import DEFAULT_ROLES
from kehu.platform.errors import validation_message
from kehu.platform.management.commands.init import prompt_password, stdin_is_tty


class Command(BaseCommand):
    help = (
        "Create an active user with a role. The password comes from the KEHU_PASSWORD environment "
        "variable when it is set, otherwise it is asked for twice on the terminal. "
        "Example: KEHU_PASSWORD=… kehu createuser wang --role sales --team 'East sales' --email wang@example.com"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", help="Login name (unique, case-insensitive).")
        parser.add_argument(
            "--role",
            required=True,
            help=f"Role key: one of {', '.join(DEFAULT_ROLES)} (or a role an admin added).",
        )
        parser.add_argument(
            "--team", default=None, help="Team name; created (at the top level) when it does not exist."
        )
        parser.add_argument("--email", default="", help="Email address.")
        parser.add_argument("--first-name", default="", help="Given name.")
        parser.add_argument("--last-name", default="", help="Family name.")

    def handle(self, *args: Any, **options: Any) -> None:
        from kehu.accounts.services import user_create

        password = os.environ.get("KEHU_PASSWORD", "")
        if not password:
            if not stdin_is_tty():
                raise CommandError("No password: set KEHU_PASSWORD or run this command in a terminal.")
            password = prompt_password(f"Password for {options['username']}: ")
        try:
            user = user_create(
                username=options["username"],
                password=password,
                role=options["role"],
                team=options["team"],
                email=options["email"],
                first_name=options["first_name"],
                last_name=options["last_name"],
            )
        except ValidationError as error:
            raise CommandError(validation_message(error)) from error
        team = f", team {user.team}" if user.team else ""
        self.stdout.write(self.style.SUCCESS(f"Created user {user.username} (role {options['role']}{team})."))
