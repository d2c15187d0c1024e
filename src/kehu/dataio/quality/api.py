"""``/api/v1/data-quality/``: the report (findings with counts and list links) and
``/api/v1/data-quality/scan/`` to queue a scan of the stored phones and emails.

No ``from __future__ import annotations``: django-ninja reads the endpoint annotations."""

import datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from kehu.dataio.quality import checks, services
from kehu.platform.api import api_context, json_response


class FindingOut(Schema):
    code: str = Field(..., description="The list filter value: GET /api/v1/<type>/?quality=<code>.")
    label: str
    field: str = Field("", description="The field concerned (a model field or custom.<name>), if one.")
    count: int = Field(..., description="Records (outside the trash) you may see with this finding.")
    url: str = Field(..., description="The web list filtered to exactly these records.")
    api_url: str = Field(..., description="The API list filtered to exactly these records.")


class TypeReportOut(Schema):
    record_type: str
    total: int = Field(..., description="Records of the type you may see.")
    scanned_at: datetime.datetime | None = Field(None, description="When phones and emails were last checked.")
    findings: list[FindingOut]


class ReportOut(Schema):
    items: list[TypeReportOut]
    count: int


class ReportFilters(Schema):
    type: str | None = Field(None, description="One record type (customer, contact, …); default: all you may view.")


class PolicyOut(Schema):
    record_type: str
    required_fields: list[str] = Field(..., description="Model field names and custom.<name> keys.")
    inactive_months: int = Field(
        ..., description="Customers: months without an interaction before they count as inactive."
    )
    choices: list[str] = Field(..., description="The fields that may be required.")


class PolicyPatch(Schema):
    required_fields: list[str] | None = Field(None, description="Replaces the list; see choices.")
    inactive_months: int | None = Field(None, description="1–120.")


class ScanIn(Schema):
    types: list[str] | None = Field(
        None, description="Record types to scan; default: every type with phones or emails."
    )


class ScanOut(Schema):
    queued: list[str]


def _dump_policy(rt: Any) -> dict[str, Any]:
    policy = services.policy_get(rt)
    return {
        "record_type": rt.key,
        "required_fields": list(policy.required_fields),
        "inactive_months": policy.inactive_months,
        "choices": [f.name for f in checks.policy_fields(rt)],
    }


def _dump(report: services.TypeReport) -> dict[str, Any]:
    return {
        "record_type": report.key,
        "total": report.total,
        "scanned_at": report.scanned_at.isoformat() if report.scanned_at else None,
        "findings": [
            {
                "code": row.code,
                "label": row.label,
                "field": row.field,
                "count": row.count,
                "url": row.url,
                "api_url": row.api_url,
            }
            for row in report.rows
        ],
    }


router = Router(tags=["data quality"])


@router.get("/", response=ReportOut, summary="The data quality report", operation_id="data_quality_report")
def quality_report(request: HttpRequest, filters: Query[ReportFilters]) -> Any:
    reports = services.report(api_context(request), [filters.type] if filters.type else None)
    return json_response(200, {"items": [_dump(r) for r in reports], "count": len(reports)})


@router.post(
    "/scan/", response={202: ScanOut}, summary="Queue a scan of phones and emails", operation_id="data_quality_scan"
)
def quality_scan(request: HttpRequest, payload: ScanIn | None = None) -> Any:
    queued = services.scan_request(api_context(request), payload.types if payload else None)
    return json_response(202, {"queued": queued})


@router.get(
    "/policies/{key}/",
    response=PolicyOut,
    summary="A record type's data quality policy",
    operation_id="data_quality_policy_get",
)
def policy_get(request: HttpRequest, key: str) -> Any:
    ctx = api_context(request)
    rt = services.record_type_or_error(key)
    if not services.can_configure(ctx, rt):
        raise PermissionDenied(_("Only administrators and managers may change data quality settings."))
    return json_response(200, _dump_policy(rt))


@router.patch(
    "/policies/{key}/",
    response=PolicyOut,
    summary="Change a data quality policy",
    operation_id="data_quality_policy_patch",
)
def policy_patch(request: HttpRequest, key: str, payload: PolicyPatch) -> Any:
    rt = services.record_type_or_error(key)
    services.policy_update(api_context(request), rt, payload.model_dump(exclude_none=True))
    return json_response(200, _dump_policy(rt))
