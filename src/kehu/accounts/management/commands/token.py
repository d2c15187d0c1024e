"""``kehu token``: create, list and revoke personal API tokens."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from kehu.platform.errors import validation_message


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)]
    lines = [
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [headers, *rows]
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def when(value: Any) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else "-"


class Command(BaseCommand):
    help = (
        "Manage personal API tokens (Authorization: Bearer <token>). "
        "`kehu token create USERNAME [--scopes read] [--expires-days N] [--name NAME]` prints the new "
        "token alone on the last line (it is shown only once); `kehu token list [USERNAME]`; "
        "`kehu token revoke ID`."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{create,list,revoke}")
        create = actions.add_parser("create", help="Create a token and print it on the last line.")
        create.add_argument("username", help="The user the token acts as.")
        create.add_argument(
            "--scopes",
            default="read",
            help="Comma-separated: read, write (write implies read), or AREA:read / AREA:write for one "
            "area, e.g. customers:write (default: read).",
        )
        create.add_argument("--expires-days", type=int, default=None, help="Days until it expires (default: never).")
        create.add_argument("--name", default="", help="A label to recognise it by, e.g. the integration's name.")
        listing = actions.add_parser("list", help="List tokens (all, or one user's).")
        listing.add_argument("username", nargs="?", default=None, help="Only this user's tokens.")
        revoke = actions.add_parser("revoke", help="Revoke a token by its id (see `kehu token list`).")
        revoke.add_argument("id", type=int, help="The token's id.")

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, f"handle_{options['action']}")(options)

    def _user(self, username: str) -> Any:
        from kehu.accounts.models import User

        user = User.objects.filter(username__iexact=username).first()
        if user is None:
            raise CommandError(f"No user named {username}.")
        return user

    def handle_create(self, options: dict[str, Any]) -> None:
        from kehu.accounts.services import token_create
        from kehu.platform.context import Context, Source

        user = self._user(options["username"])
        if not user.is_active:
            raise CommandError(f"User {user.username} is not active.")
        try:
            token, raw = token_create(
                ctx=Context(user=user, source=Source.CLI),
                user=user,
                scopes=options["scopes"].split(","),
                name=options["name"],
                expires_days=options["expires_days"],
            )
        except ValidationError as error:
            raise CommandError(validation_message(error)) from error
        expires = when(token.expires_at) if token.expires_at else "never"
        self.stdout.write(
            f"Created token {token.pk} for {user.username} (scopes {','.join(token.scopes)}, expires {expires}). "
            "It is shown only this once:"
        )
        self.stdout.write(raw)

    def handle_list(self, options: dict[str, Any]) -> None:
        from kehu.accounts.models import ApiToken

        tokens = ApiToken.objects.select_related("user").order_by("user__username", "-created_at")
        if options["username"]:
            tokens = tokens.filter(user=self._user(options["username"]))
        rows = [
            [
                str(t.pk),
                t.user.username,
                t.name or "-",
                f"{t.prefix}…",
                ",".join(t.scopes),
                when(t.created_at),
                when(t.expires_at) if t.expires_at else "never",
                when(t.last_used_at) if t.last_used_at else "never",
                when(t.revoked_at) if t.revoked_at else "no",
            ]
            for t in tokens
        ]
        if not rows:
            self.stdout.write("No tokens.")
            return
        headers = ["id", "user", "name", "prefix", "scopes", "created", "expires", "last used", "revoked"]
        self.stdout.write(format_table(headers, rows))

    def handle_revoke(self, options: dict[str, Any]) -> None:
        from kehu.accounts.models import ApiToken
        from kehu.accounts.services import token_revoke
        from kehu.platform.context import Context, Source

        token = ApiToken.objects.select_related("user").filter(pk=options["id"]).first()
        if token is None:
            raise CommandError(f"No token with id {options['id']}.")
        if token.revoked_at is not None:
            self.stdout.write(f"Token {token.pk} was already revoked on {when(token.revoked_at)}.")
            return
        token_revoke(ctx=Context(user=token.user, source=Source.CLI), token=token)
        self.stdout.write(self.style.SUCCESS(f"Revoked token {token.pk} ({token.prefix}…) of {token.user.username}."))
