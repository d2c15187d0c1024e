"""The team tree: teams made or moved by ``team_get_or_create`` and the set of teams at and below
one (``team_tree_ids``), which manager visibility uses."""

from __future__ import annotations

import pytest
from django.db.models import ProtectedError

from kehu.accounts.models import Team
from kehu.accounts.services import team_get_or_create, user_create
from kehu.platform.access import team_tree_ids

pytestmark = pytest.mark.django_db


@pytest.fixture
def tree() -> dict[str, Team]:
    """Head office → East sales → Shanghai, Hangzhou; Head office → South sales; Archive (alone)."""
    head = team_get_or_create(name="Head office")
    east = team_get_or_create(name="East sales", parent=head)
    return {
        "head": head,
        "east": east,
        "shanghai": team_get_or_create(name="Shanghai", parent=east),
        "hangzhou": team_get_or_create(name="Hangzhou", parent=east),
        "south": team_get_or_create(name="South sales", parent=head),
        "archive": team_get_or_create(name="Archive"),
    }


def names(ids: list[int]) -> set[str]:
    return set(Team.objects.filter(pk__in=ids).values_list("name", flat=True))


def test_team_tree_of_the_top_team_holds_every_level_below_it(tree: dict[str, Team]) -> None:
    ids = team_tree_ids(tree["head"].pk)

    assert ids[0] == tree["head"].pk
    assert len(ids) == len(set(ids))
    assert names(ids) == {"Head office", "East sales", "Shanghai", "Hangzhou", "South sales"}


def test_team_tree_of_a_middle_team_holds_its_descendants_only(tree: dict[str, Team]) -> None:
    assert names(team_tree_ids(tree["east"].pk)) == {"East sales", "Shanghai", "Hangzhou"}


def test_team_tree_of_a_leaf_or_lone_team_is_that_team(tree: dict[str, Team]) -> None:
    assert team_tree_ids(tree["shanghai"].pk) == [tree["shanghai"].pk]
    assert team_tree_ids(tree["archive"].pk) == [tree["archive"].pk]


def test_no_team_has_an_empty_tree(tree: dict[str, Team]) -> None:
    assert team_tree_ids(None) == []


def test_team_tree_ends_even_when_an_admin_made_a_cycle(tree: dict[str, Team]) -> None:
    Team.objects.filter(pk=tree["head"].pk).update(parent=tree["shanghai"])

    assert names(team_tree_ids(tree["east"].pk)) == {
        "Head office",
        "East sales",
        "Shanghai",
        "Hangzhou",
        "South sales",
    }


def test_team_get_or_create_returns_the_existing_team(tree: dict[str, Team]) -> None:
    again = team_get_or_create(name="East sales")

    assert again == tree["east"]
    assert again.parent == tree["head"]
    assert Team.objects.filter(name="East sales").count() == 1


def test_team_get_or_create_moves_an_existing_team_under_a_new_parent(tree: dict[str, Team]) -> None:
    team_get_or_create(name="Shanghai", parent=tree["south"])

    assert Team.objects.get(name="Shanghai").parent == tree["south"]
    assert names(team_tree_ids(tree["east"].pk)) == {"East sales", "Hangzhou"}


def test_team_with_members_or_children_cannot_be_deleted(tree: dict[str, Team]) -> None:
    user_create(username="li", password="Team-test-pass-2026", role="sales", team="Shanghai")

    with pytest.raises(ProtectedError):
        tree["shanghai"].delete()
    with pytest.raises(ProtectedError):
        tree["east"].delete()

    assert Team.objects.filter(pk__in=[tree["east"].pk, tree["shanghai"].pk]).count() == 2
