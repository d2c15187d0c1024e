"""Row-level visibility and action permissions: the one place both are decided."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from kehu.platform.records import RecordType, registry

if TYPE_CHECKING:
    from kehu.platform.context import Context

WRITE_ACTIONS = frozenset({"add", "change", "delete"})


def team_tree_ids(team_id: int | None) -> list[int]:
    """The team and every team below it."""
    from kehu.accounts.models import Team

    if team_id is None:
        return []
    children: dict[int | None, list[int]] = {}
    for tid, parent_id in Team.objects.values_list("id", "parent_id"):
        children.setdefault(parent_id, []).append(tid)
    found, stack = [], [team_id]
    while stack:
        current = stack.pop()
        if current in found:
            continue
        found.append(current)
        stack.extend(children.get(current, []))
    return found


def visibility_scope(user: Any) -> str:
    """``all``, ``team_tree``, ``team``, ``own`` or ``none``."""
    if user is None or not user.is_authenticated or not user.is_active:
        return "none"
    if user.is_kehu_admin:
        return "all"
    role = user.role
    if role is None:
        return "own"
    return role.visibility


def visibility_q(user: Any, prefix: str = "") -> Q | None:
    """The filter that limits rows to what ``user`` may see; ``None`` means every row."""
    scope = visibility_scope(user)
    if scope == "all":
        return None
    if scope == "none":
        return Q(pk__in=[])
    own = Q(**{f"{prefix}owner_id": user.pk})
    if scope == "own" or user.team_id is None:
        return own
    if scope == "team":
        return own | Q(**{f"{prefix}team_id": user.team_id})
    cache = getattr(user, "_kehu_team_tree", None)
    if cache is None:
        cache = team_tree_ids(user.team_id)
        user._kehu_team_tree = cache
    return own | Q(**{f"{prefix}team_id__in": cache})


def visible_to(user: Any, queryset: QuerySet, record_type: RecordType | None = None) -> QuerySet:
    """``queryset`` limited to the rows ``user`` may see. Every read starts here."""
    rt = record_type or registry.for_model(queryset.model)
    if rt.shared:  # a catalogue: rows are not owned for visibility
        return queryset if visibility_scope(user) != "none" else queryset.none()
    prefix = f"{rt.visibility_via}__" if rt.visibility_via else ""
    condition = visibility_q(user, prefix)
    return queryset if condition is None else queryset.filter(condition)


def can(ctx_or_user: Any, rt: RecordType, action: str) -> bool:
    """May this user (and token, when acting through one) do ``action`` on ``rt``?"""
    user = getattr(ctx_or_user, "user", ctx_or_user)
    token = getattr(ctx_or_user, "token", None)
    if not user.is_authenticated or not user.is_active:
        return False
    if token is not None and not token.allows(rt.area, write=action in WRITE_ACTIONS):
        return False
    return bool(user.has_perm(rt.perm(action)))


def require(ctx: Context, rt: RecordType, action: str) -> None:
    """Raise PermissionDenied unless ``can(ctx, rt, action)``."""
    if not can(ctx, rt, action):
        raise PermissionDenied(
            _("You do not have permission to %(action)s %(type)s.")
            % {"action": action_label(action), "type": rt.label_plural}
        )


def action_label(action: str) -> str:
    return {
        "view": _("view"),
        "add": _("create"),
        "change": _("change"),
        "delete": _("delete"),
    }.get(action, action)


def can_reassign(ctx: Context) -> bool:
    user = ctx.user
    if ctx.token is not None and not any(s == "write" or s.endswith(":write") for s in ctx.token.scopes):
        return False
    return bool(user.has_perm("accounts.reassign_records"))
