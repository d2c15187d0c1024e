"""Row-level visibility through the API: what a caller may not see answers 404 exactly like
a record that does not exist, is missing from lists and search, and cannot be changed."""

from __future__ import annotations

from typing import Any

import pytest

from kehu.customers.models import Contact
from kehu.customers.records import CONTACT, CUSTOMER
from kehu.platform.context import Context, Source
from kehu.platform.services import record_delete
from tests.api.support import assert_problem, audit_count, error_fields

# ---------------------------------------------------------------- hidden records answer 404


@pytest.fixture
def hidden(rep: Any, other_rep: Any, resource: Any) -> dict[str, int]:
    """Ids the rep must not reach: another team's record, one that never existed, one in the trash."""
    invisible = resource.make(other_rep, name="Hidden Secret", customer_name="Hidden Parent")
    trashed = resource.make(rep, name="Trashed Secret", customer_name="Trashed Parent")
    rt = CUSTOMER if resource.plural == "customers" else CONTACT
    record_delete(rt, ctx=Context(user=rep, source=Source.CLI), obj=trashed)
    missing = max(invisible.pk, trashed.pk) + 1000
    return {"other team": invisible.pk, "missing": missing, "trashed": trashed.pk}


def test_hidden_missing_and_trashed_records_answer_the_same_404_to_get_patch_and_delete(
    rep: Any, api_as: Any, resource: Any, hidden: dict[str, int]
) -> None:
    api = api_as(rep)
    answers: dict[tuple[str, str], Any] = {}

    for case, pk in hidden.items():
        answers[(case, "get")] = api.get(resource.url(pk))
        answers[(case, "patch")] = api.patch(resource.url(pk), {"name": "Probe", "version": 1})
        answers[(case, "delete")] = api.delete(resource.url(pk))

    bodies = {key: assert_problem(response, 404) for key, response in answers.items()}
    assert len({repr(sorted(body.items())) for body in bodies.values()}) == 1, bodies
    assert len({response["Content-Type"] for response in answers.values()}) == 1
    assert next(iter(bodies.values()))["title"] == "Not found"


def test_refused_patch_and_delete_of_hidden_records_change_nothing(
    rep: Any, api_as: Any, resource: Any, hidden: dict[str, int]
) -> None:
    api = api_as(rep)
    before = {pk: resource.row(pk) for pk in (hidden["other team"], hidden["trashed"])}
    entries = audit_count()

    for pk in before:
        api.patch(resource.url(pk), {"name": "Probe"})
        api.delete(resource.url(pk))

    for pk, row in before.items():
        after = resource.row(pk)
        assert (after.name, after.version, after.deleted_at, after.updated_at) == (
            row.name,
            row.version,
            row.deleted_at,
            row.updated_at,
        )
    assert audit_count() == entries


def test_hidden_and_trashed_records_are_absent_from_lists_and_search(
    rep: Any, api_as: Any, resource: Any, hidden: dict[str, int]
) -> None:
    api = api_as(rep)
    mine = resource.make(rep, name="Visible Secret")
    numbers = [resource.row(hidden[case]).number for case in ("other team", "trashed")]

    listed = api.get(resource.url(), {"limit": 500}).json()
    searched = api.get(resource.url(), {"q": "secret"}).json()
    by_number = [api.get(resource.url(), {"q": number}).json() for number in numbers]

    assert [item["id"] for item in listed["items"]] == [mine.pk]
    assert listed["count"] == 1
    assert [item["id"] for item in searched["items"]] == [mine.pk]
    assert by_number == [{"items": [], "count": 0}, {"items": [], "count": 0}]


def test_contact_of_an_invisible_customer_is_hidden(
    rep: Any, other_rep: Any, api_as: Any, make_customer: Any, make_contact: Any
) -> None:
    """A contact follows its customer, even if its own owner field would say otherwise."""
    api = api_as(rep)
    theirs = make_customer(other_rep, name="Their Co")
    contact = make_contact(other_rep, theirs, name="Their Contact")
    Contact.all_objects.filter(pk=contact.pk).update(owner=rep, team=rep.team)  # stray ownership

    assert_problem(api.get(f"/contacts/{contact.pk}/"), 404)
    assert_problem(api.patch(f"/contacts/{contact.pk}/", {"name": "Mine now"}), 404)
    assert_problem(api.delete(f"/contacts/{contact.pk}/"), 404)
    assert api.get("/contacts/", {"q": "Their"}).json() == {"items": [], "count": 0}
    stored = Contact.all_objects.get(pk=contact.pk)
    assert (stored.name, stored.deleted_at) == ("Their Contact", None)


def test_contact_cannot_be_created_under_an_invisible_customer(
    rep: Any, other_rep: Any, api_as: Any, make_customer: Any
) -> None:
    """The refusal is the same as for a customer id that does not exist."""
    api = api_as(rep)
    theirs = make_customer(other_rep, name="Their Co")

    hidden = assert_problem(api.post("/contacts/", {"customer": theirs.pk, "name": "Sneaky"}), 422)
    missing = assert_problem(api.post("/contacts/", {"customer": theirs.pk + 1000, "name": "Sneaky"}), 422)

    assert hidden == missing
    assert [error["field"] for error in hidden["errors"]] == ["customer"]
    assert not Contact.all_objects.exists()


def test_contact_cannot_be_moved_to_an_invisible_customer(
    rep: Any, other_rep: Any, api_as: Any, make_customer: Any, make_contact: Any
) -> None:
    mine = make_customer(rep, name="My Co")
    contact = make_contact(rep, mine, name="Mover")
    theirs = make_customer(other_rep, name="Their Co")

    body = assert_problem(api_as(rep).patch(f"/contacts/{contact.pk}/", {"customer": theirs.pk}), 422)

    assert [error["field"] for error in body["errors"]] == ["customer"]
    assert Contact.objects.get(pk=contact.pk).customer_id == mine.pk


# ---------------------------------------------------------------- who sees what


@pytest.fixture
def spread(rep: Any, teammate: Any, other_rep: Any, manager: Any, resource: Any) -> dict[str, int]:
    """One record per owner: the rep, a teammate in East, a rep in South and the head office manager."""
    return {
        "rep": resource.make(rep, name="Rep's", customer_name="Rep Co").pk,
        "teammate": resource.make(teammate, name="Teammate's", customer_name="Mate Co").pk,
        "south": resource.make(other_rep, name="South's", customer_name="South Co").pk,
        "manager": resource.make(manager, name="Manager's", customer_name="Chief Co").pk,
    }


def _listed(api: Any, resource: Any) -> set[int]:
    body = api.get(resource.url(), {"limit": 500}).json()
    assert body["count"] == len(body["items"])
    return {item["id"] for item in body["items"]}


def _gettable(api: Any, resource: Any, ids: dict[str, int]) -> set[str]:
    return {who for who, pk in ids.items() if api.get(resource.url(pk)).status_code == 200}


def test_sales_rep_sees_own_and_own_team_records(rep: Any, api_as: Any, resource: Any, spread: dict[str, int]) -> None:
    api = api_as(rep, "read")

    assert _listed(api, resource) == {spread["rep"], spread["teammate"]}
    assert _gettable(api, resource, spread) == {"rep", "teammate"}


def test_sales_rep_in_another_team_sees_only_that_team(
    other_rep: Any, api_as: Any, resource: Any, spread: dict[str, int]
) -> None:
    api = api_as(other_rep, "read")

    assert _listed(api, resource) == {spread["south"]}
    assert _gettable(api, resource, spread) == {"south"}


def test_manager_of_the_parent_team_sees_the_whole_team_tree(
    manager: Any, api_as: Any, resource: Any, spread: dict[str, int]
) -> None:
    api = api_as(manager, "read")

    assert _listed(api, resource) == set(spread.values())
    assert _gettable(api, resource, spread) == set(spread)


def test_manager_of_a_leaf_team_sees_only_that_team(
    make_user: Any, api_as: Any, resource: Any, spread: dict[str, int]
) -> None:
    east_lead = make_user("eastlead", "manager", "East sales")
    api = api_as(east_lead, "read")

    assert _listed(api, resource) == {spread["rep"], spread["teammate"]}
    assert _gettable(api, resource, spread) == {"rep", "teammate"}


def test_admin_sees_every_record(admin_user: Any, api_as: Any, resource: Any, spread: dict[str, int]) -> None:
    api = api_as(admin_user, "read")

    assert _listed(api, resource) == set(spread.values())
    assert _gettable(api, resource, spread) == set(spread)


def test_sales_rep_can_change_a_teammates_record(rep: Any, api_as: Any, resource: Any, spread: dict[str, int]) -> None:
    response = api_as(rep).patch(resource.url(spread["teammate"]), {"name": "Shared work"})

    assert response.status_code == 200, response.content
    assert resource.row(spread["teammate"]).name == "Shared work"


def test_contacts_follow_their_customer_when_it_changes_team(
    manager: Any, rep: Any, other_rep: Any, api_as: Any, make_customer: Any, make_contact: Any
) -> None:
    customer = make_customer(rep, name="Moving Co")
    contact = make_contact(rep, customer, name="Moving Contact")
    assert api_as(other_rep).get(f"/contacts/{contact.pk}/").status_code == 404

    moved = api_as(manager).patch(f"/customers/{customer.pk}/", {"owner": other_rep.pk})

    assert moved.status_code == 200, moved.content
    assert moved.json()["team"] == other_rep.team_id
    assert api_as(other_rep).get(f"/contacts/{contact.pk}/").json()["name"] == "Moving Contact"
    assert_problem(api_as(rep).get(f"/contacts/{contact.pk}/"), 404)


def test_filtering_contacts_by_a_hidden_customer_answers_like_a_missing_one(
    rep: Any, other_rep: Any, api_as: Any, make_customer: Any, make_contact: Any
) -> None:
    theirs = make_customer(other_rep, name="Southern Ltd")
    make_contact(other_rep, theirs, name="Wang Fang")
    api = api_as(rep)

    hidden = assert_problem(api.get("/contacts/", {"customer": theirs.pk}), 422)
    missing = assert_problem(api.get("/contacts/", {"customer": theirs.pk + 1000}), 422)

    assert error_fields(hidden) == error_fields(missing) == {"customer"}
    assert hidden["errors"][0]["message"] == missing["errors"][0]["message"]


def test_text_with_nul_characters_is_refused_in_search_and_filters(rep: Any, api_as: Any) -> None:
    api = api_as(rep)

    assert error_fields(assert_problem(api.get("/customers/", {"q": "a\x00b"}), 422)) == {"q"}
    assert error_fields(assert_problem(api.get("/customers/", {"city": "a\x00b"}), 422)) == {"city"}
