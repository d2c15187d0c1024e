"""API test fixtures: tokens issued through the accounts service, an HTTP client that speaks
JSON with a bearer token (and enforces CSRF like a real browser would, so nothing passes only
because the test client skips the check), and the two record types under test described once
so each test runs for customers and for contacts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from kehu.accounts.services import token_create
from kehu.customers.models import Contact, Customer
from kehu.platform.context import Context, Source
from tests.api.support import ApiClient


@pytest.fixture
def issue_token(db: Any) -> Any:
    """``issue_token(user, "read")`` → (ApiToken, raw secret), made the way `kehu token create` makes it."""

    def issue(user: Any, scopes: str = "write", **options: Any) -> Any:
        return token_create(ctx=Context(user=user, source=Source.CLI), user=user, scopes=scopes.split(","), **options)

    return issue


@pytest.fixture
def api_as(issue_token: Any) -> Any:
    """``api_as(user, scopes="write")`` → an ApiClient holding a fresh token of ``user``."""

    def make(user: Any, scopes: str = "write") -> ApiClient:
        _token, raw = issue_token(user, scopes)
        return ApiClient(raw)

    return make


@pytest.fixture
def manager(make_user: Any, east: Any, south: Any) -> Any:
    """A manager of the parent team of East and South sales."""
    return make_user("chief", "manager", "Head office")


@pytest.fixture
def teammate(make_user: Any, east: Any) -> Any:
    """Another salesperson in the rep's team."""
    return make_user("mate", "sales", "East sales")


@dataclass
class Resource:
    """One record type as the API exposes it, with ways to make its records for a user."""

    plural: str
    model: Any
    make_customer: Any
    make_contact: Any

    def url(self, pk: Any = None) -> str:
        return f"/{self.plural}/" if pk is None else f"/{self.plural}/{pk}/"

    @property
    def prefix(self) -> str:
        return "C-" if self.model is Customer else "P-"

    def make(self, user: Any, **data: Any) -> Any:
        """A record owned by (or, for a contact, under a customer of) ``user``, made through the services."""
        customer_name = data.pop("customer_name", "Parent Co")
        if self.model is Customer:
            return self.make_customer(user, **data)
        customer = self.make_customer(user, name=customer_name)
        return self.make_contact(user, customer, **data)

    def payload(self, user: Any, **data: Any) -> dict[str, Any]:
        """A valid POST body for ``user`` (a contact gets a fresh customer of ``user``)."""
        body: dict[str, Any] = {"name": "Acme"}
        if self.model is Contact:
            body["customer"] = self.make_customer(user, name="Parent Co").pk
        body.update(data)
        return body

    def row(self, pk: int) -> Any:
        """The stored row, in or out of the trash."""
        return self.model.all_objects.get(pk=pk)


@pytest.fixture(params=["customers", "contacts"])
def resource(request: Any, make_customer: Any, make_contact: Any) -> Resource:
    model = Customer if request.param == "customers" else Contact
    return Resource(request.param, model, make_customer, make_contact)
