"""Demo teams and one demo user per role (``kehu demo``), created through the services."""

from __future__ import annotations

from dataclasses import dataclass

from kehu.accounts.models import Role, Team, User
from kehu.accounts.services import team_get_or_create, user_create

DEFAULT_PASSWORD = "kehu-demo-2026"

HEAD_OFFICE = "总部 Head office"
EAST_SALES = "华东销售 East sales"
SOUTH_SALES = "华南销售 South sales"
SERVICE_CENTRE = "客服中心 Service centre"
MARKETING = "市场部 Marketing"

# team → parent team (None: the top of the tree)
DEMO_TEAMS: list[tuple[str, str | None]] = [
    (HEAD_OFFICE, None),
    (EAST_SALES, HEAD_OFFICE),
    (SOUTH_SALES, HEAD_OFFICE),
    (SERVICE_CENTRE, HEAD_OFFICE),
    (MARKETING, HEAD_OFFICE),
]

# username, role, team, last name, first name, email
DEMO_USERS: list[tuple[str, str, str, str, str, str]] = [
    ("admin", Role.ADMIN, HEAD_OFFICE, "王", "建国", "admin@kehu.example"),
    ("manager", Role.MANAGER, HEAD_OFFICE, "Chen", "Grace", "grace.chen@kehu.example"),
    ("sales", Role.SALES, EAST_SALES, "李", "娜", "li.na@kehu.example"),
    ("sales2", Role.SALES, SOUTH_SALES, "Miller", "David", "david.miller@kehu.example"),
    ("service", Role.SERVICE, SERVICE_CENTRE, "张", "伟", "zhang.wei@kehu.example"),
    ("marketing", Role.MARKETING, MARKETING, "Johnson", "Emily", "emily.johnson@kehu.example"),
    ("readonly", Role.READ_ONLY, HEAD_OFFICE, "刘", "洋", "liu.yang@kehu.example"),
]


@dataclass(frozen=True)
class DemoLogin:
    user: User
    created: bool  # False: the username existed already and its password was left alone

    @property
    def role(self) -> str:
        return self.user.role.key if self.user.role else "-"

    @property
    def team(self) -> str:
        return self.user.team.name if self.user.team else "-"


def create_demo_teams() -> dict[str, Team]:
    teams: dict[str, Team] = {}
    for name, parent in DEMO_TEAMS:
        teams[name] = team_get_or_create(name=name, parent=teams[parent] if parent else None)
    return teams


def create_demo_users(password: str = DEFAULT_PASSWORD) -> list[DemoLogin]:
    """One user per role in the demo team tree; existing usernames are kept as they are.
    Raises ValidationError when ``password`` is too weak."""
    create_demo_teams()
    logins: list[DemoLogin] = []
    for username, role, team, last_name, first_name, email in DEMO_USERS:
        existing = User.objects.select_related("role", "team").filter(username__iexact=username).first()
        if existing is not None:
            logins.append(DemoLogin(existing, created=False))
            continue
        user = user_create(
            username=username,
            password=password,
            role=role,
            team=team,
            email=email,
            first_name=first_name,
            last_name=last_name,
        )
        logins.append(DemoLogin(user, created=True))
    return logins
