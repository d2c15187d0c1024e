"""Default roles and what each may do. These are defaults written to the database: an admin
may change a role's permissions and visibility afterwards, and those changes stick."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_noop

from kehu.accounts.models import Role, Visibility

ALL = ("view", "add", "change", "delete")
READ = ("view",)

# role key → (name, default visibility, {area: actions}); "*" is every area.
DEFAULT_ROLES: dict[str, tuple[str, str, dict[str, tuple[str, ...]]]] = {
    Role.ADMIN: (gettext_noop("Administrator"), Visibility.ALL, {"*": ALL}),
    Role.MANAGER: (gettext_noop("Manager"), Visibility.TEAM_TREE, {"*": ALL}),
    Role.SALES: (gettext_noop("Sales"), Visibility.TEAM, {"customers": ALL, "products": READ, "sales": ALL}),
    Role.SERVICE: (
        gettext_noop("Service"),
        Visibility.ALL,
        {"customers": ("view", "change"), "products": READ, "sales": READ},
    ),
    Role.MARKETING: (gettext_noop("Marketing"), Visibility.ALL, {"customers": READ, "products": READ, "sales": READ}),
    Role.READ_ONLY: (gettext_noop("Read-only"), Visibility.ALL, {"*": READ}),
}

# Extra permissions per role that are not about one record type.
EXTRA_PERMISSIONS: dict[str, tuple[str, ...]] = {
    Role.MANAGER: (
        "accounts.reassign_records",
        "platform.view_auditentry",
        # the product category tree and the exchange rates (currencies themselves: admins)
        "products.add_productcategory",
        "products.change_productcategory",
        "products.delete_productcategory",
        "platform.add_exchangerate",
        "platform.change_exchangerate",
        # sales quotas (opportunities/quotas/)
        "opportunities.view_quota",
        "opportunities.add_quota",
        "opportunities.change_quota",
        # customers' credit limits and ratings (contracts/services.py credit_set)
        "contracts.set_credit_limit",
        # the data quality policy and scans (dataio/quality/)
        "quality.change_qualitypolicy",
    ),
}

# Tags (platform/tags.py). Whoever may change a record may put existing tags on it; making a
# new tag (also by typing a new name on a record) needs add_tag, which every role that works
# with records has. Renaming, recolouring and deleting touch everybody's records: managers may
# rename and recolour, only admins delete.
TAG_PERMISSIONS: dict[str, tuple[str, ...]] = {
    Role.ADMIN: ("platform.view_tag", "platform.add_tag", "platform.change_tag", "platform.delete_tag"),
    Role.MANAGER: ("platform.view_tag", "platform.add_tag", "platform.change_tag"),
    Role.SALES: ("platform.add_tag",),
    Role.SERVICE: ("platform.add_tag",),
    Role.MARKETING: ("platform.add_tag",),
}


def ensure_default_roles(**_: Any) -> None:
    """Create missing roles and grant each record type's default permissions once per model."""
    from django.contrib.auth.models import Permission

    from kehu.platform.records import registry

    for key, (name, visibility, areas) in DEFAULT_ROLES.items():
        role, _created = Role.objects.get_or_create(key=key, defaults={"name": name, "visibility": visibility})
        applied = set(role.defaults_applied)
        grant: list[Permission] = []
        for rt in registry:
            model_key = f"{rt.app_label}.{rt.model._meta.model_name}"
            if model_key in applied:
                continue
            model_perms = Permission.objects.filter(
                content_type__app_label=rt.app_label, content_type__model=rt.model._meta.model_name
            )
            if not model_perms.exists():
                continue  # its app has not been migrated yet; a later post_migrate grants them
            actions = areas.get(rt.area, areas.get("*", ()))
            codenames = [f"{action}_{rt.model._meta.model_name}" for action in actions]
            grant.extend(model_perms.filter(codename__in=codenames))
            applied.add(model_key)
        for perm in (*EXTRA_PERMISSIONS.get(key, ()), *TAG_PERMISSIONS.get(key, ())):
            if perm in applied:
                continue
            app_label, codename = perm.split(".")
            found = list(Permission.objects.filter(content_type__app_label=app_label, codename=codename))
            if found:
                grant.extend(found)
                applied.add(perm)
        if grant:
            role.permissions.add(*grant)
        if applied != set(role.defaults_applied):
            role.defaults_applied = sorted(applied)
            role.save(update_fields=["defaults_applied"])
