"""The OpenAPI document and its browsable docs (public: they need no token)."""

from __future__ import annotations

from typing import Any

from django.test import Client


def test_openapi_schema_is_served_and_lists_customer_and_contact_paths(db: Any) -> None:
    response = Client().get("/api/v1/openapi.json")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    schema = response.json()
    assert schema["openapi"].startswith("3.1")
    assert schema["info"]["title"] == "Kehu CRM API"
    paths = schema["paths"]
    for plural in ("customers", "contacts"):
        assert set(paths[f"/api/v1/{plural}/"]) == {"get", "post"}
        assert set(paths[f"/api/v1/{plural}/{{pk}}/"]) == {"get", "patch", "delete"}


def test_openapi_schema_describes_the_list_envelope_and_filters(db: Any) -> None:
    schema = Client().get("/api/v1/openapi.json").json()

    listing = schema["paths"]["/api/v1/customers/"]["get"]
    parameters = {parameter["name"] for parameter in listing["parameters"]}
    assert {"limit", "offset", "ordering", "q", "kind", "city", "owner"} <= parameters
    envelope = schema["components"]["schemas"]["CustomerList"]
    assert set(envelope["required"]) == {"items", "count"}
    customer = schema["components"]["schemas"]["CustomerOut"]["properties"]
    assert {"id", "number", "version", "name", "phone", "email"} <= set(customer)
    assert "customer" in schema["components"]["schemas"]["ContactOut"]["properties"]


def test_openapi_schema_declares_bearer_and_session_authentication(db: Any) -> None:
    schema = Client().get("/api/v1/openapi.json").json()

    schemes = schema["components"]["securitySchemes"]
    assert {"type": "http", "scheme": "bearer"}.items() <= schemes["TokenAuth"].items()
    assert schemes["SessionAuth"]["in"] == "cookie"


def test_api_docs_page_is_served(db: Any) -> None:
    response = Client().get("/api/v1/docs")

    assert response.status_code == 200
    assert b"openapi.json" in response.content
