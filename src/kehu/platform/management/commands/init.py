"""``kehu init``: bring the database up to date and create the first admin."""

from __future__ import annotations

import getpass
import os
import sys
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q

from kehu.platform.errors import validation_message


def stdin_is_tty() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (AttributeError, ValueError, OSError):
        return False


def prompt_password(prompt: str = "Password: ") -> str:
    """Ask twice on the terminal until both answers agree."""
    while True:
        first = getpass.getpass(prompt)
        second = getpass.getpass("Password (again): ")
        if first == second and first:
            return first
        sys.stderr.write("The passwords do not match or are empty; try again.\n")


def admin_exists() -> bool:
    from kehu.accounts.models import Role, User

    return User.objects.filter(Q(is_superuser=True) | Q(role__key=Role.ADMIN)).exists()


class Command(BaseCommand):
    help = (
        "Create or upgrade the database (migrate) and, when there is no admin yet, create the first "
        "admin user: from KEHU_ADMIN_USERNAME and KEHU_PASSWORD (optional KEHU_ADMIN_EMAIL) when set, "
        "otherwise by asking on the terminal. Safe to run again at any time."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--noinput",
            "--no-input",
            action="store_false",
            dest="interactive",
            help="Never prompt; without KEHU_ADMIN_USERNAME and KEHU_PASSWORD no admin is created.",
        )
        parser.add_argument("--no-admin", action="store_true", help="Only migrate; do not create the first admin user.")

    def handle(self, *args: Any, **options: Any) -> None:
        verbosity = options["verbosity"]
        if verbosity:
            self.stdout.write("Migrating the database…")
        call_command("migrate", interactive=False, verbosity=max(verbosity - 1, 0))
        if verbosity:
            self.stdout.write(self.style.SUCCESS("Database is up to date."))
        if options["no_admin"] or admin_exists():
            return
        username = os.environ.get("KEHU_ADMIN_USERNAME", "").strip()
        password = os.environ.get("KEHU_PASSWORD", "")
        email = os.environ.get("KEHU_ADMIN_EMAIL", "").strip()
        if not (username and password):
            if not (options["interactive"] and stdin_is_tty()):
                if verbosity:
                    self.stdout.write(
                        "No admin user yet: run `kehu init` in a terminal, set KEHU_ADMIN_USERNAME and "
                        "KEHU_PASSWORD, or use `kehu createuser NAME --role admin`."
                    )
                return
            self.stdout.write("Create the first admin user.")
            username = username or input("Username [admin]: ").strip() or "admin"
            email = email or input("Email (optional): ").strip()
            password = password or prompt_password()
        from kehu.accounts.models import Role
        from kehu.accounts.services import user_create

        try:
            user = user_create(username=username, password=password, role=Role.ADMIN, email=email)
        except ValidationError as error:
            raise CommandError(validation_message(error)) from error
        self.stdout.write(self.style.SUCCESS(f"Created admin user {user.username}."))
