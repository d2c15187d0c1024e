"""``kehu dedupe``: find likely duplicates, list them, merge two records, undo a merge."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from kehu.dataio.dedupe import finder, selectors, services
from kehu.dataio.dedupe.models import Merge
from kehu.platform.context import Context, Source
from kehu.platform.errors import NotVisible, StaleVersion, validation_message
from kehu.platform.records import RecordType, registry


class Command(BaseCommand):
    help = (
        "Duplicates: `kehu dedupe scan [--type customer]` finds likely duplicates (same phone or email, "
        "names that read the same in pinyin, similar names in the same city / at the same customer); "
        "`kehu dedupe list [--type T] [--min-score N]` lists the open pairs; "
        "`kehu dedupe merge SURVIVOR_NUMBER LOSER_NUMBER [--user NAME]` merges the second record into the "
        "first (related records move, the second goes to the trash); `kehu dedupe undo MERGE_ID [--force]`."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{scan,list,merge,undo}")
        types = ", ".join(rt.key for rt in finder.dedupable_types())
        scan = actions.add_parser("scan", help="Find likely duplicates and store them for review.")
        scan.add_argument(
            "--type", action="append", help=f"Record type (repeatable; default: customer, contact): {types}."
        )
        listing = actions.add_parser("list", help="List the open pairs, highest score first.")
        listing.add_argument("--type", help=f"Only this record type: {types}.")
        listing.add_argument("--min-score", type=int, default=None, help="Only pairs scoring at least this (0-100).")
        listing.add_argument("--user", help="List as this user (their visibility applies; default: an admin).")
        merge = actions.add_parser("merge", help="Merge LOSER into SURVIVOR (both record numbers, e.g. C-000012).")
        merge.add_argument("survivor", help="Number of the record that stays.")
        merge.add_argument("loser", help="Number of the record merged into it (goes to the trash).")
        merge.add_argument("--user", help="Merge as this user (default: an admin).")
        undo = actions.add_parser("undo", help="Undo a merge by its id (printed by merge).")
        undo.add_argument("merge_id", type=int)
        undo.add_argument("--user", help="Undo as this user (default: an admin).")
        undo.add_argument("--force", action="store_true", help="Undo even if the survivor changed since.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, f"handle_{options['action']}")(options)
        except ValidationError as error:
            raise CommandError(validation_message(error, " ")) from None
        except PermissionDenied as error:
            raise CommandError(str(error) or "Permission denied.") from None
        except NotVisible:
            raise CommandError("Not found (or not visible to this user).") from None
        except StaleVersion as error:
            raise CommandError(str(StaleVersion.message)) from error

    def _user(self, username: str | None) -> Any:
        users = get_user_model().objects.filter(is_active=True)
        if username:
            user = users.filter(username=username).first()
            if user is None:
                raise CommandError(f"No active user named {username}.")
            return user
        admin = next((user for user in users.order_by("pk") if user.is_kehu_admin), None)
        if admin is None:
            raise CommandError("No active admin user: give --user.")
        return admin

    def _type(self, key: str) -> RecordType:
        rt = registry.get(key)
        if rt is None or rt not in finder.dedupable_types():
            choices = ", ".join(rt.key for rt in finder.dedupable_types())
            raise CommandError(f"Unknown record type: {key}. Choose from: {choices}.")
        return rt

    def _by_number(self, number: str) -> tuple[RecordType, Any]:
        prefix = number.partition("-")[0].upper()
        rt = next((rt for rt in registry if rt.number_prefix == prefix), None)
        obj = rt.model.objects.filter(number=number.upper()).first() if rt is not None else None
        if rt is None or obj is None:
            raise CommandError(f"No record numbered {number}.")
        return rt, obj

    def handle_scan(self, options: dict[str, Any]) -> None:
        for key in options["type"] or ["customer", "contact"]:
            counts = finder.scan(self._type(key).key)
            self.stdout.write(
                f"{key}: {counts['records']} records, {counts['pairs']} pairs "
                f"({counts['new']} new, {counts['updated']} updated, {counts['removed']} gone, "
                f"{counts['kept_dismissed']} dismissed kept) in {counts['seconds']:.1f} s"
            )
            if counts["skipped_groups"] or counts["skipped_blocks"]:
                self.stdout.write(
                    f"  skipped {counts['skipped_groups']} groups over {finder.MAX_GROUP} records and "
                    f"{counts['skipped_blocks']} name blocks over {finder.MAX_BLOCK} records"
                )

    def handle_list(self, options: dict[str, Any]) -> None:
        if options["type"]:
            self._type(options["type"])
        user = self._user(options["user"])
        candidates = list(
            selectors.candidates_for(user, record_type=options["type"], min_score=options["min_score"])[:1000]
        )
        records = selectors.records_of(candidates)
        for c in candidates:
            left, right = records[(c.record_type, c.left_id)], records[(c.record_type, c.right_id)]
            reasons = "; ".join(reason["text"] for reason in c.reasons)
            self.stdout.write(f"{c.pk}\t{c.score}\t{left.number} {left}\t{right.number} {right}\t{reasons}")
        self.stdout.write(f"{len(candidates)} open pairs")

    def handle_merge(self, options: dict[str, Any]) -> None:
        rt, survivor = self._by_number(options["survivor"])
        loser_rt, loser = self._by_number(options["loser"])
        if loser_rt.key != rt.key:
            raise CommandError("Both records must be of the same type.")
        ctx = Context(user=self._user(options["user"]), source=Source.CLI)
        merge = services.merge_records(rt, ctx=ctx, survivor=survivor, loser=loser)
        moved = ", ".join(
            f"{label.split('.')[-2]}.{label.split('.')[-1]}: {len(ids)}" for label, ids in merge.moved.items()
        )
        self.stdout.write(
            f"Merged {loser.number} into {survivor.number} (merge {merge.pk}; moved {moved or 'nothing'})."
        )
        self.stdout.write(f"Undo with: kehu dedupe undo {merge.pk}")

    def handle_undo(self, options: dict[str, Any]) -> None:
        user = self._user(options["user"])
        merge = Merge.objects.filter(pk=options["merge_id"]).first()
        if merge is None:
            raise CommandError(f"No merge {options['merge_id']}.")
        services.merge_undo(ctx=Context(user=user, source=Source.CLI), merge=merge, force=options["force"])
        self.stdout.write(f"Undid merge {merge.pk}: {merge.loser_number} is back, its records moved back.")
