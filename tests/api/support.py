"""Helpers for the API tests: a JSON client holding a bearer token and checks for RFC 9457
problem documents."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client

from kehu.platform.models import AuditAction, AuditEntry

API = "/api/v1"
PROBLEM = "application/problem+json"
RECORD_ACTIONS = [AuditAction.CREATE, AuditAction.UPDATE, AuditAction.DELETE, AuditAction.RESTORE]


class ApiClient:
    """JSON requests to /api/v1 as one bearer token (or none)."""

    def __init__(self, token: str | None = None, *, client: Client | None = None) -> None:
        self.client = client or Client(enforce_csrf_checks=True)
        self.token = token

    def _headers(self, headers: dict[str, str]) -> dict[str, str]:
        extra = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()}
        if self.token is not None:
            extra.setdefault("HTTP_AUTHORIZATION", f"Bearer {self.token}")
        return extra

    def get(self, path: str, params: dict[str, Any] | None = None, **headers: str) -> Any:
        return self.client.get(API + path, params or {}, **self._headers(headers))

    def post(self, path: str, data: Any, **headers: str) -> Any:
        body = data if isinstance(data, str) else json.dumps(data)
        return self.client.post(API + path, body, content_type="application/json", **self._headers(headers))

    def patch(self, path: str, data: Any, **headers: str) -> Any:
        return self.client.patch(
            API + path, json.dumps(data), content_type="application/json", **self._headers(headers)
        )

    def delete(self, path: str, **headers: str) -> Any:
        return self.client.delete(API + path, **self._headers(headers))


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    """``response`` is an RFC 9457 problem document with ``status``; returns its body."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status
    assert body["type"] == "about:blank"
    assert body["title"]
    assert body["detail"]
    return body


def error_fields(body: dict[str, Any]) -> set[str]:
    return {error["field"] for error in body.get("errors", [])}


def audit_count() -> int:
    """Audit entries about records (issuing a token writes one too, which is not counted)."""
    return AuditEntry.objects.filter(action__in=RECORD_ACTIONS).count()
