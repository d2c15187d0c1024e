"""The generic REST API of the spine: one router per record type (list, get, create, patch,
delete), token authentication with scopes, and RFC 9457 problem+json errors.

No ``from __future__ import annotations`` here: django-ninja reads the endpoint annotations,
which name schemas built at run time, when each endpoint is defined."""

import datetime
import decimal
import hashlib
import json
from http import HTTPStatus
from typing import TYPE_CHECKING, Annotated, Any, Literal, cast

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer
from ninja.security import SessionAuth as NinjaSessionAuth
from pydantic import BeforeValidator, create_model

from kehu.platform import crypto, customfields, selectors, services
from kehu.platform import tags as record_tags
from kehu.platform.access import require
from kehu.platform.context import Context, Source
from kehu.platform.errors import NotVisible, StaleVersion
from kehu.platform.models import IdempotencyKey
from kehu.platform.records import RecordType

if TYPE_CHECKING:
    from kehu.accounts.models import User

PROBLEM_TYPE = "application/problem+json"
MAX_LIMIT = 500

# ---------------------------------------------------------------- errors


def problem(
    status: int,
    title: str,
    detail: str = "",
    *,
    errors: list[dict[str, str]] | None = None,
    **extra: Any,
) -> HttpResponse:
    """An RFC 9457 problem document."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if errors is not None:
        body["errors"] = errors
    body.update(extra)
    return HttpResponse(json.dumps(body, ensure_ascii=False), status=status, content_type=PROBLEM_TYPE)


def field_errors(error: ValidationError) -> list[dict[str, str]]:
    if hasattr(error, "error_dict"):
        return [
            {"field": name, "message": str(message)}
            for name, messages in error.message_dict.items()
            for message in messages
        ]
    return [{"field": "", "message": str(message)} for message in error.messages]


def _pydantic_errors(exc: NinjaValidationError) -> list[dict[str, str]]:
    errors = []
    for item in exc.errors:
        loc = [str(part) for part in item.get("loc", ()) if part not in ("body", "payload", "query", "filters")]
        errors.append({"field": ".".join(loc), "message": str(item.get("msg", ""))})
    return errors


def install_problem_handlers(api: Any) -> None:
    """Turn domain errors into HTTP answers at this one place (STYLE.md)."""

    @api.exception_handler(NotVisible)
    def _not_visible(request: HttpRequest, exc: NotVisible) -> HttpResponse:
        return problem(404, _("Not found"), str(NotVisible.message))

    @api.exception_handler(Http404)
    def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return problem(404, _("Not found"), str(NotVisible.message))

    @api.exception_handler(PermissionDenied)
    def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
        return problem(403, _("Forbidden"), str(exc) or _("You do not have permission to do this."))

    @api.exception_handler(StaleVersion)
    def _stale(request: HttpRequest, exc: StaleVersion) -> HttpResponse:
        return problem(409, _("Version conflict"), str(StaleVersion.message), current_version=exc.current_version)

    @api.exception_handler(ValidationError)
    def _invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        return problem(422, _("Invalid input"), _("Some values are not valid."), errors=field_errors(exc))

    @api.exception_handler(NinjaValidationError)
    def _invalid_shape(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
        return problem(422, _("Invalid input"), _("Some values are not valid."), errors=_pydantic_errors(exc))

    @api.exception_handler(AuthenticationError)
    def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        response = problem(401, _("Authentication required"), _("Send a valid token: Authorization: Bearer <token>."))
        response["WWW-Authenticate"] = "Bearer"
        return response

    @api.exception_handler(HttpError)
    def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        return problem(exc.status_code, HTTPStatus(exc.status_code).phrase, str(exc))


# ---------------------------------------------------------------- authentication


class TokenAuth(HttpBearer):
    """``Authorization: Bearer kehu_…``: a personal token; its scopes travel in the context."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        from kehu.accounts.services import token_authenticate

        api_token = token_authenticate(token)
        if api_token is None:
            return None
        request.user = api_token.user
        request.api_token = api_token  # type: ignore[attr-defined]
        return api_token.user


class SessionAuth(NinjaSessionAuth):
    """The browser session, with django-ninja's CSRF check on writes. A request without a
    logged-in session has nothing to protect: it skips the check, so a missing, expired or
    revoked token answers 401 rather than a CSRF 403."""

    def _get_key(self, request: HttpRequest) -> str | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        return super()._get_key(request)


def api_context(request: HttpRequest) -> Context:
    return Context.from_request(request, Source.API)


# ---------------------------------------------------------------- schemas

_PY_TYPES: dict[str, Any] = {
    "BooleanField": bool,
    "IntegerField": int,
    "BigIntegerField": int,
    "PositiveIntegerField": int,
    "PositiveSmallIntegerField": int,
    "SmallIntegerField": int,
    "DecimalField": decimal.Decimal,
    "FloatField": float,
    "DateField": datetime.date,
    "DateTimeField": datetime.datetime,
    "TimeField": datetime.time,
    "JSONField": dict[str, Any],
}


def _pks_of(value: Any) -> Any:
    """A many-to-many field's related records (its manager, or the list django-ninja makes of
    it; prefetched in lists) as their ids, in id order."""
    if hasattr(value, "all"):
        value = value.all()
    if isinstance(value, list | tuple | models.QuerySet):
        return sorted(getattr(item, "pk", item) for item in value)
    return value


RelatedIds = Annotated[list[int], BeforeValidator(_pks_of)]


def python_type(field: models.Field) -> Any:
    if isinstance(field, models.ManyToManyField):
        return list[int]
    if isinstance(field, models.ForeignKey):  # the related id, or its ``to_field`` (a stage's key)
        return int if field.target_field.primary_key else python_type(field.target_field)
    if field.choices:
        values = tuple(str(value) for value, _label in field.flatchoices)
        if field.blank and "" not in values:
            values = ("", *values)
        return Literal[values]  # type: ignore[valid-type]
    return _PY_TYPES.get(field.get_internal_type(), str)


def _describe(field: models.Field) -> dict[str, Any]:
    info: dict[str, Any] = {"title": str(field.verbose_name)}
    if field.help_text:
        info["description"] = str(field.help_text)
    return info


class RecordSchemas:
    """The typed shapes of one record type in the API (and so in its OpenAPI document)."""

    def __init__(self, rt: RecordType) -> None:
        name = rt.model.__name__
        common: dict[str, Any] = {
            "id": (int, ...),
            "number": (str, ...),
            "version": (int, ...),
            "created_at": (datetime.datetime, ...),
            "updated_at": (datetime.datetime, ...),
            "created_by": (int | None, Field(None, validation_alias="created_by_id")),
            "updated_by": (int | None, Field(None, validation_alias="updated_by_id")),
            "owner": (int, Field(..., validation_alias="owner_id")),
            "team": (int | None, Field(None, validation_alias="team_id")),
            "custom": (dict[str, Any], Field(default_factory=dict)),
        }
        out: dict[str, Any] = dict(common)
        create: dict[str, Any] = {}
        patch: dict[str, Any] = {
            "version": (int | None, Field(None, description="The version you read; a stale one answers 409."))
        }
        for field_name in [*rt.fields, *rt.create_only]:
            field = rt.model_field(field_name)
            kind = python_type(field)
            nullable = field.null or (isinstance(field, models.ForeignKey) and field.null)
            if field.many_to_many:  # ids out (sorted); ids in, replacing the related records
                out[field_name] = (RelatedIds, Field(default_factory=list, **_describe(field)))
            elif field_name not in common:
                alias = field.attname if isinstance(field, models.ForeignKey) else field_name
                out_type = kind | None if nullable else kind
                out[field_name] = (
                    out_type,
                    Field(None if nullable else ..., validation_alias=alias, **_describe(field)),
                )
            required = not (field.blank or field.null or field.has_default()) and field_name not in ("owner", "team")
            create[field_name] = (
                (kind, Field(..., **_describe(field))) if required else (kind | None, Field(None, **_describe(field)))
            )
            if field_name in rt.fields:
                patch[field_name] = (kind | None, Field(None, **_describe(field)))
            else:  # create_only: refused with a clear error rather than silently ignored
                patch[field_name] = (
                    kind | None,
                    Field(None, title=str(field.verbose_name), description="Set when the record is created only."),
                )
        for field_name in rt.system_fields:  # set by the record type's rules, read-only here
            field = rt.model_field(field_name)
            out[field_name] = (python_type(field) | None, Field(None, **_describe(field)))
        out.update(rt.api_out)  # further read-only output fields of the record type
        record_tags.add_api_fields(out, create, patch)  # "tags": names out and in
        # custom field values by key; each field is described when the OpenAPI document is asked for
        create["custom"] = patch["custom"] = (dict[str, Any] | None, Field(None, description="Custom field values."))
        self.out = create_model(f"{name}Out", __base__=Schema, **out)
        self.create = create_model(f"{name}Create", __base__=Schema, **create)
        self.patch = create_model(f"{name}Patch", __base__=Schema, **patch)
        self.list = create_model(f"{name}List", __base__=Schema, items=(list[self.out], ...), count=(int, ...))  # type: ignore[name-defined]
        filters: dict[str, Any] = {
            "limit": (int, Field(50, ge=1, le=MAX_LIMIT, description="Page size.")),
            "offset": (int, Field(0, ge=0, description="Rows to skip.")),
            "ordering": (str | None, Field(None, description=f"One of {', '.join(rt.sortable)}; '-' for descending.")),
            "q": (str | None, Field(None, description="Search text.")),
        }
        for field_name in rt.filter_fields:
            filters[field_name] = (str | None, Field(None, **_describe(rt.model_field(field_name))))
        for field_name, extra in rt.extra_filters.items():
            filters[field_name] = (str | None, Field(None, title=str(extra.label or field_name)))
        filters.update(record_tags.api_filter_fields())  # tags=a,b&tags_match=any|all
        self.filters = create_model(f"{name}Filters", __base__=Schema, **filters)

    def dump(self, obj: Any) -> dict[str, Any]:
        return self.out.model_validate(obj, from_attributes=True).model_dump(mode="json")


_schemas: dict[str, RecordSchemas] = {}


def schemas_for(rt: RecordType) -> RecordSchemas:
    """The record type's schemas, made once (so endpoints of other modules that take or
    answer records share the names in the OpenAPI document)."""
    if rt.key not in _schemas:
        _schemas[rt.key] = RecordSchemas(rt)
    return _schemas[rt.key]


# ---------------------------------------------------------------- router


def _request_digest(request: HttpRequest) -> str:
    return hashlib.sha256(request.path.encode() + b"\0" + request.body).hexdigest()


def _fingerprint(request: HttpRequest) -> str:
    """A keyed fingerprint of the request (its body holds personal data: an unkeyed hash of a
    phone number can be guessed back)."""
    return crypto.blind_index("idempotency", _request_digest(request))


def _same_request(request: HttpRequest, stored: str) -> bool:
    """Does ``stored`` fingerprint this request, under any key of the keyring?"""
    digest = _request_digest(request)
    return stored in crypto.blind_index_candidates("idempotency", digest)


def json_response(status: int, body: Any, **headers: str) -> HttpResponse:
    response = HttpResponse(json.dumps(body, ensure_ascii=False), status=status, content_type="application/json")
    for name, value in headers.items():
        response[name] = value
    return response


IDEMPOTENCY_PURPOSE = crypto.IDEMPOTENCY_PURPOSE


def seal_body(body: Any) -> str:
    """A stored answer as one token: it holds the record, personal fields included."""
    return crypto.encrypt_json(body, purpose=IDEMPOTENCY_PURPOSE)


def open_body(stored: Any) -> Any:
    """A stored answer back (an answer stored before encryption is returned as it is)."""
    return crypto.decrypt_json(stored, purpose=IDEMPOTENCY_PURPOSE) if crypto.is_token(stored) else stored


def create_idempotent(request: HttpRequest, key: str, create: Any) -> HttpResponse:
    """Run ``create`` once per (user, key): a retry gets the first answer back; the same key
    with another request body is refused."""
    fingerprint = _fingerprint(request)
    user = cast("User", request.user)  # TokenAuth and SessionAuth only let users in
    previous = IdempotencyKey.objects.filter(user=user, key=key).first()
    if previous is None:
        try:
            with transaction.atomic():
                body = create()
                IdempotencyKey.objects.create(
                    user=user, key=key, path=request.path, fingerprint=fingerprint, status=201, body=seal_body(body)
                )
            return json_response(201, body)
        except IntegrityError:  # the same key raced in from a parallel retry
            previous = IdempotencyKey.objects.filter(user=user, key=key).first()
            if previous is None:
                raise
    if not _same_request(request, previous.fingerprint):
        return problem(
            422,
            _("Idempotency key reused"),
            _("This Idempotency-Key was already used for a different request."),
            errors=[{"field": "Idempotency-Key", "message": _("Use a new key for a new request.")}],
        )
    return json_response(previous.status, open_body(previous.body), **{"Idempotent-Replayed": "true"})


def record_router(rt: RecordType) -> Router:
    """List, get, create, patch and delete for ``rt`` with access, audit and events."""
    schemas = schemas_for(rt)
    router = Router(tags=[rt.plural])
    Filters, Create, Patch = schemas.filters, schemas.create, schemas.patch  # noqa: N806

    @router.get("/", response=schemas.list, summary=f"List {rt.plural}", operation_id=f"{rt.key}_list")
    def list_records(request: HttpRequest, filters: Query[Filters]) -> Any:  # type: ignore[valid-type]
        ctx = api_context(request)
        require(ctx, rt, "view")
        params = filters.model_dump(exclude_none=True)  # type: ignore[attr-defined]
        params.update(customfields.filter_params(rt, request.GET))  # cf_<name>, cf_<name>_min/_max
        limit, offset = params.pop("limit"), params.pop("offset")
        queryset = selectors.record_list(
            rt, user=ctx.user, params=params, q=params.pop("q", ""), ordering=params.pop("ordering", None)
        )
        count = queryset.count()
        many = [name for name in rt.fields if rt.model_field(name).many_to_many]
        page = queryset.prefetch_related("tags", *many)[offset : offset + limit]  # one query each
        return json_response(200, {"items": [schemas.dump(obj) for obj in page], "count": count})

    @router.get("/{int:pk}/", response=schemas.out, summary=f"Get a {rt.key}", operation_id=f"{rt.key}_get")
    def get_record(request: HttpRequest, pk: int) -> Any:
        ctx = api_context(request)
        require(ctx, rt, "view")
        return json_response(200, schemas.dump(selectors.record_get(rt, user=ctx.user, pk=pk)))

    @router.post("/", response={201: schemas.out}, summary=f"Create a {rt.key}", operation_id=f"{rt.key}_create")
    def create_record(request: HttpRequest, payload: Create) -> Any:  # type: ignore[valid-type]
        ctx = api_context(request)
        data = payload.model_dump(exclude_unset=True)  # type: ignore[attr-defined]

        def create() -> dict[str, Any]:
            return schemas.dump(services.record_create(rt, ctx=ctx, data=data))

        key = request.headers.get("Idempotency-Key", "").strip()
        if key:
            return create_idempotent(request, key[:255], create)
        return json_response(201, create())

    @router.patch("/{int:pk}/", response=schemas.out, summary=f"Change a {rt.key}", operation_id=f"{rt.key}_patch")
    def patch_record(request: HttpRequest, pk: int, payload: Patch) -> Any:  # type: ignore[valid-type]
        ctx = api_context(request)
        require(ctx, rt, "change")
        data = payload.model_dump(exclude_unset=True)  # type: ignore[attr-defined]
        version = data.pop("version", None)
        obj = selectors.record_get(rt, user=ctx.user, pk=pk)
        return json_response(
            200, schemas.dump(services.record_update(rt, ctx=ctx, obj=obj, data=data, version=version))
        )

    @router.delete("/{int:pk}/", response={204: None}, summary=f"Delete a {rt.key}", operation_id=f"{rt.key}_delete")
    def delete_record(request: HttpRequest, pk: int, version: int | None = None) -> Any:
        ctx = api_context(request)
        require(ctx, rt, "delete")
        obj = selectors.record_get(rt, user=ctx.user, pk=pk)
        services.record_delete(rt, ctx=ctx, obj=obj, version=version)
        return Status(204, None)

    return router
