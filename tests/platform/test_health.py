"""Liveness and readiness (platform/health.py) and the one structured log line per request
(platform/requestlog.py)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection
from django.test import Client


def request_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "kehu.request"]


@contextmanager
def unreachable_database() -> Iterator[None]:
    """Point the default connection at a database that does not exist, then put it back."""
    original = connection.settings_dict["NAME"]
    missing = "/nonexistent-kehu-dir/db.sqlite3" if connection.vendor == "sqlite" else "kehu_no_such_database"
    connection.close()
    connection.settings_dict["NAME"] = missing
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["NAME"] = original


# --- health ------------------------------------------------------------------------------


def test_healthz_answers_ok_without_touching_the_database() -> None:
    # No database fixture: any query here would fail the test.
    response = Client().get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_readyz_answers_ok_when_the_database_answers() -> None:
    response = Client().get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db(transaction=True)
def test_readyz_answers_503_when_the_database_is_unreachable_and_healthz_stays_ok() -> None:
    client = Client()

    with unreachable_database():
        ready = client.get("/readyz")
        alive = client.get("/healthz")

    assert ready.status_code == 503
    assert ready.json()["status"] == "unavailable"
    assert ready.json()["database"]
    assert alive.status_code == 200
    assert client.get("/readyz").status_code == 200


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_health_endpoints_accept_only_get(path: str) -> None:
    assert Client().post(path).status_code == 405


# --- request log -------------------------------------------------------------------------


def test_each_request_writes_one_json_line_with_method_path_status_and_duration(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="kehu.request")

    response = Client().get("/healthz", REMOTE_ADDR="192.0.2.33")

    [line] = request_lines(caplog)
    assert line["event"] == "request"
    assert line["level"] == "info"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/healthz", 200)
    assert isinstance(line["duration_ms"], int | float)
    assert line["duration_ms"] >= 0
    assert line["user"] is None
    assert line["client"] == "192.0.2.33"
    assert line["request_id"] == response["X-Request-ID"]
    assert line["timestamp"].endswith("Z")


def test_request_log_records_error_statuses(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="kehu.request")

    Client().post("/healthz")

    [line] = request_lines(caplog)
    assert (line["method"], line["status"]) == ("POST", 405)


def test_request_id_from_the_caller_is_logged_and_echoed(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="kehu.request")

    response = Client().get("/healthz", HTTP_X_REQUEST_ID="trace-42")

    assert response["X-Request-ID"] == "trace-42"
    assert [line["request_id"] for line in request_lines(caplog)] == ["trace-42"]


def test_requests_get_distinct_ids_when_none_is_given(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="kehu.request")
    client = Client()

    first, second = client.get("/healthz"), client.get("/healthz")

    assert first["X-Request-ID"] != second["X-Request-ID"]
    assert [line["request_id"] for line in request_lines(caplog)] == [first["X-Request-ID"], second["X-Request-ID"]]


@pytest.mark.django_db
def test_request_log_names_the_signed_in_user(rep: Any, caplog: pytest.LogCaptureFixture) -> None:
    client = Client()
    client.force_login(rep)
    caplog.set_level(logging.INFO, logger="kehu.request")

    client.get("/customers/")

    [line] = request_lines(caplog)
    assert (line["path"], line["status"], line["user"]) == ("/customers/", 200, "rep")
