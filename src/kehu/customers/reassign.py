"""Reassigning customers in one action: a new owner (and team) for one customer or ten
thousand, audited per record, with their contacts and every record whose visibility follows
the customer, and optionally their open work (tasks, later opportunities) moved along.

Bulk throughout (DESIGN.md, "Bulk paths"): per batch of ``BATCH_SIZE`` customers one locking
read, one UPDATE of the customers, one UPDATE per record type that follows them, the audit
entries and timeline facts in bulk inserts; the ``record.updated`` events are batched per
transaction by the event system. The whole request is one transaction: it is reassigned
entirely or not at all.

Other modules move their own open records with ``register_follower`` (the activities app moves
open tasks); a follower runs inside the same transaction, per batch, *before* the customers
change, so it can still compare its records with the customer's current owner.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.platform import audit as audit_log
from kehu.platform import timeline
from kehu.platform.access import can, can_reassign, visible_to
from kehu.platform.context import Context
from kehu.platform.events import Event, publish_many
from kehu.platform.models import AuditAction, AuditEntry
from kehu.platform.records import BulkAction, RecordType, registry, related_model

if TYPE_CHECKING:
    from kehu.accounts.models import Team, User

BATCH_SIZE = 500
# The most customers one request may name (the API refuses more with 422; the web form too).
MAX_IDS = 10_000
TIMELINE_KIND = "owner"
MAX_PK = 2**63 - 1  # the largest primary key a database stores

timeline.register_kind(TIMELINE_KIND, gettext_lazy("Owner changes"), icon="ti-user-share")

FollowerFn = Callable[[Context, list[int], "User", "Team | None"], int]


@dataclass(frozen=True)
class Follower:
    """Moves a module's own open records of the reassigned customers to the new owner."""

    key: str  # the key of its count in ``ReassignResult.related`` (and the API's answer)
    fn: FollowerFn
    # The count for people: ``describe(120)`` → "120 open tasks moved".
    describe: Callable[[int], str] | None = None


_followers: dict[str, Follower] = {}


def register_follower(
    fn: FollowerFn | None = None, *, key: str = "", describe: Callable[[int], str] | None = None
) -> Any:
    """Register ``fn(ctx, customer_ids, owner, team) -> int`` (how many records it moved).

    It is called (when the caller asks to include related records) inside the reassignment's
    transaction, once per batch of at most ``BATCH_SIZE`` customers the actor can see, before
    those customers get their new owner and team. It must work in bulk (a few queries per
    batch, never one per record) and audit what it moves (``move_records`` does both). Usable as
    a decorator, with or without arguments; ``key`` defaults to the function's name."""

    def decorate(function: FollowerFn) -> FollowerFn:
        name = key or function.__name__
        _followers[name] = Follower(name, function, describe)
        return function

    return decorate(fn) if fn is not None else decorate


def followers() -> list[Follower]:
    return list(_followers.values())


@dataclass
class ReassignResult:
    owner: User
    team: Team | None
    reassigned: int = 0  # customers given to the new owner / team
    unchanged: int = 0  # visible customers that already had this owner and team
    skipped: int = 0  # not found, in the trash, or not visible to the actor
    related: dict[str, int] = field(default_factory=dict)  # follower key → records moved

    def related_texts(self) -> list[str]:
        """What the followers moved, for people ("120 open tasks moved"); nothing for a
        follower that moved nothing."""
        texts = []
        for key, count in self.related.items():
            if not count:
                continue
            follower = _followers.get(key)
            if follower is not None and follower.describe is not None:
                texts.append(follower.describe(count))
            else:
                texts.append(f"{key}: {count}")
        return texts


def _customer_type() -> RecordType:
    return registry["customer"]


def may_reassign(ctx: Context) -> bool:
    """May the actor (and token) reassign customers?"""
    return can_reassign(ctx) and can(ctx, _customer_type(), "change")


def _new_owner(owner: Any) -> User:
    from kehu.accounts.models import User

    pk = owner.pk if isinstance(owner, models.Model) else owner
    try:
        return User.objects.select_related("team").get(pk=pk, is_active=True)
    except (User.DoesNotExist, ValueError, TypeError):
        raise ValidationError({"owner": _("Choose an active user as the new owner.")}) from None


def _new_team(team: Any, owner: User) -> Team | None:
    from kehu.accounts.models import Team

    if team in (None, ""):
        return owner.team
    pk = team.pk if isinstance(team, models.Model) else team
    try:
        return Team.objects.get(pk=pk)
    except (Team.DoesNotExist, ValueError, TypeError):
        raise ValidationError({"team": _("Choose an existing team.")}) from None


def _clean_ids(customer_ids: Iterable[Any]) -> list[int]:
    ids: dict[int, None] = {}
    for value in customer_ids:
        try:
            ids[int(value)] = None
        except (TypeError, ValueError):
            raise ValidationError({"ids": _("“%(value)s” is not a customer id.") % {"value": value}}) from None
    if not ids:
        raise ValidationError({"ids": _("Select at least one customer.")})
    return list(ids)


def customers_reassign(
    ctx: Context,
    customer_ids: Iterable[Any],
    owner: Any,
    team: Any = None,
    include_related: bool = True,
) -> ReassignResult:
    """Give the customers ``customer_ids`` (that the actor can see; the others are counted as
    skipped) to ``owner`` (an active user, instance or id) and ``team`` (default: the owner's
    team), with their contacts and every record that follows a customer's visibility; with
    ``include_related`` the registered followers move their open records too.

    One transaction; one audit entry, one ``record.updated`` event and one timeline entry per
    customer whose owner or team changes (its version goes up, so a form or API client holding
    the old version gets a conflict instead of overwriting the new owner). Raises
    PermissionDenied (needs the reassign permission and change on customers) and
    ValidationError (``owner``, ``team``, ``ids``)."""
    if not may_reassign(ctx):
        raise PermissionDenied(_("You do not have permission to reassign customers."))
    new_owner = _new_owner(owner)
    new_team = _new_team(team, new_owner)
    ids = _clean_ids(customer_ids)
    rt = _customer_type()
    result = ReassignResult(owner=new_owner, team=new_team)
    if include_related:
        result.related = {follower.key: 0 for follower in _followers.values()}
    names = _Names()
    with transaction.atomic():
        for start in range(0, len(ids), BATCH_SIZE):
            chunk = ids[start : start + BATCH_SIZE]
            possible = [pk for pk in chunk if 0 < pk <= MAX_PK]  # others cannot exist: skipped
            queryset = visible_to(ctx.user, rt.model.objects.filter(pk__in=possible), rt)
            customers = list(
                queryset.select_for_update(of=("self",))
                .only("id", "number", "name", "owner_id", "team_id", "version")
                .order_by("pk")
            )
            result.skipped += len(chunk) - len(customers)
            if include_related:
                visible_ids = [customer.pk for customer in customers]
                for follower in _followers.values():
                    result.related[follower.key] += follower.fn(ctx, visible_ids, new_owner, new_team)
            moved = move_records(ctx, rt, customers, new_owner, new_team, names=names)
            result.reassigned += len(moved)
            result.unchanged += len(customers) - len(moved)
            if moved:
                _move_followers_of(rt, [customer.pk for customer in moved], new_owner, new_team)
                _timeline_facts(ctx, moved, names)
    return result


class _Names:
    """Names of the users and teams in audit entries and timeline facts, read once per
    request in one query per batch of unknown ids."""

    def __init__(self) -> None:
        self.users: dict[int, str] = {}
        self.teams: dict[int, str] = {}

    def load(self, user_ids: Iterable[int | None], team_ids: Iterable[int | None]) -> None:
        from kehu.accounts.models import Team, User

        missing_users = {pk for pk in user_ids if pk is not None and pk not in self.users}
        if missing_users:
            self.users.update((user.pk, str(user)) for user in User.objects.filter(pk__in=missing_users))
        missing_teams = {pk for pk in team_ids if pk is not None and pk not in self.teams}
        if missing_teams:
            self.teams.update((team.pk, str(team)) for team in Team.objects.filter(pk__in=missing_teams))

    def user(self, pk: int | None) -> dict[str, Any] | None:
        return None if pk is None else {"id": pk, "repr": self.users.get(pk, str(pk))}

    def team(self, pk: int | None) -> dict[str, Any] | None:
        return None if pk is None else {"id": pk, "repr": self.teams.get(pk, str(pk))}


def move_records(
    ctx: Context,
    rt: RecordType,
    objs: Sequence[Any],
    owner: User,
    team: Team | None,
    *,
    names: _Names | None = None,
) -> list[Any]:
    """Give ``objs`` (records of ``rt`` the caller has read, and locked when it matters, with
    at least ``number``, ``owner_id``, ``team_id`` and ``version`` loaded) to ``owner`` and
    ``team``: one UPDATE (owner, team, version + 1, updated at/by), one audit entry each with
    the old and new owner and team, one ``record.updated`` event each. Records that already
    have this owner and team are left alone. Returns the records that changed, updated in
    place; each carries its ``changes`` as ``_kehu_reassign_changes``. For followers too."""
    team_id = team.pk if team is not None else None
    changed = [obj for obj in objs if (obj.owner_id, obj.team_id) != (owner.pk, team_id)]
    if not changed:
        return []
    names = names or _Names()
    names.users.setdefault(owner.pk, str(owner))
    if team is not None:
        names.teams.setdefault(team.pk, str(team))
    names.load((obj.owner_id for obj in changed), (obj.team_id for obj in changed))
    now = timezone.now()
    rt.model.all_objects.filter(pk__in=[obj.pk for obj in changed]).update(
        owner_id=owner.pk, team_id=team_id, version=F("version") + 1, updated_at=now, updated_by_id=ctx.user.pk
    )
    entries: list[AuditEntry] = []
    for obj in changed:
        changes: dict[str, Any] = {}
        if obj.owner_id != owner.pk:
            changes["owner"] = [names.user(obj.owner_id), names.user(owner.pk)]
        if obj.team_id != team_id:
            changes["team"] = [names.team(obj.team_id), names.team(team_id)]
        obj._kehu_reassign_changes = changes
        obj.owner_id, obj.team_id, obj.version = owner.pk, team_id, obj.version + 1
        obj.updated_at, obj.updated_by_id = now, ctx.user.pk
        entries.append(audit_log.entry_for(ctx, AuditAction.UPDATE, obj, changes=changes, extra={"reassign": True}))
    AuditEntry.objects.bulk_create(entries, batch_size=BATCH_SIZE)
    publish_many(
        [
            Event(
                type="record.updated",
                record_type=rt.key,
                record_id=obj.pk,
                data={"number": obj.number, "changed": sorted(obj._kehu_reassign_changes)},
                actor_id=ctx.user.pk,
                source=ctx.source,
            )
            for obj in changed
        ]
    )
    return changed


def _following_types(parent: RecordType) -> list[tuple[RecordType, str]]:
    """The record types whose visibility follows ``parent`` (directly, or through a record
    that does), each with the lookup from it to the parent's primary key."""
    found: list[tuple[RecordType, str]] = []
    queue: list[tuple[type[models.Model], str]] = [(parent.model, "")]
    seen: set[str] = {parent.key}
    while queue:
        model, path = queue.pop(0)
        for rt in registry:
            if not rt.visibility_via or rt.key in seen:
                continue
            fk = rt.model_field(rt.visibility_via)
            if not isinstance(fk, models.ForeignKey) or related_model(fk) is not model:
                continue
            lookup = f"{rt.visibility_via}__{path}" if path else rt.visibility_via
            found.append((rt, lookup))
            seen.add(rt.key)
            queue.append((rt.model, lookup))
    return found


def _move_followers_of(parent: RecordType, ids: list[int], owner: User, team: Team | None) -> None:
    """Records that follow the customers' visibility (contacts, interactions, …) take their
    owner and team in one UPDATE per type, as the single-record path does (no audit entry:
    their owner is not theirs to choose, it is their customer's)."""
    team_id = team.pk if team is not None else None
    for rt, lookup in _following_types(parent):
        rt.model.all_objects.filter(**{f"{lookup}__in": ids}).exclude(owner_id=owner.pk, team_id=team_id).update(
            owner_id=owner.pk, team_id=team_id
        )


def _timeline_facts(ctx: Context, customers: Sequence[Any], names: _Names) -> None:
    """One "owner" fact per reassigned customer: "Li Lei → Wang Wei" (names, not translated
    text), the team change as its summary."""
    facts = []
    for customer in customers:
        changes = customer._kehu_reassign_changes
        owner_change, team_change = changes.get("owner"), changes.get("team")
        if owner_change:
            title = f"{owner_change[0]['repr']} → {owner_change[1]['repr']}"
        else:  # only the team changed
            title = names.users.get(customer.owner_id, "")
        summary = ""
        if team_change:
            summary = " → ".join((pair or {}).get("repr", "—") for pair in team_change)
        facts.append(
            timeline.fact(
                subject=("customer", customer.pk),
                kind=TIMELINE_KIND,
                title=title,
                summary=summary,
                occurred_at=customer.updated_at,
                actor=ctx.user,
                record=("customer", customer.pk),
                data={
                    "owner": [(pair or {}).get("id") for pair in changes.get("owner", [])],
                    "team": [(pair or {}).get("id") for pair in changes.get("team", [])],
                },
            )
        )
    timeline.add_many(facts)


# ---- the customer list's bulk action ------------------------------------------------------

REASSIGN_ACTION = BulkAction(
    key="reassign",
    label=gettext_lazy("Reassign"),
    url_name="customers_reassign",
    permissions=("customers.change_customer", "accounts.reassign_records"),
    icon="ti-user-share",
)


def install() -> None:
    """Put "Reassign" on the customer list's bulk bar (called from CustomersConfig.ready)."""
    registry.add_bulk_action("customer", REASSIGN_ACTION)
