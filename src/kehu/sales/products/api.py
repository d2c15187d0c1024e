"""``/api/v1/currencies/``, ``/api/v1/exchange-rates/`` and ``PUT /api/v1/products/{id}/prices/``;
the rest of /products/ comes from the spine.

No ``from __future__ import annotations`` here: django-ninja reads the endpoint annotations."""

import datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from kehu.platform import money, rates, selectors
from kehu.platform.access import require
from kehu.platform.api import MAX_LIMIT, api_context, json_response, schemas_for
from kehu.platform.models import Currency, ExchangeRate
from kehu.sales.products import services
from kehu.sales.products.records import PRODUCT

router = Router(tags=["currencies"])
price_router = Router(tags=["products"])


class CurrencyOut(Schema):
    code: str
    name: str
    decimal_places: int
    active: bool
    reporting: bool = Field(False, description="The reporting currency (rates are expressed in it).")


class CurrencyList(Schema):
    items: list[CurrencyOut]
    count: int


class RateIn(Schema):
    currency: str = Field(..., description="ISO 4217 code of an existing currency (not the reporting one).")
    rate_date: datetime.date = Field(..., description="The day the rate holds from (YYYY-MM-DD).")
    rate: str = Field(
        ...,
        description="Units of the reporting currency one unit is worth, as a decimal string (up to 10 places).",
    )


class RateOut(Schema):
    id: int
    currency: str = Field(..., validation_alias="currency_id")
    rate_date: datetime.date
    rate: str
    source: str
    updated_at: datetime.datetime


class RateList(Schema):
    items: list[RateOut]
    count: int


class RateUpsertOut(Schema):
    created: int
    updated: int
    unchanged: int
    items: list[RateOut]


class RateFilters(Schema):
    currency: str | None = Field(None, description="ISO 4217 code.")
    date_from: datetime.date | None = Field(None, description="Rates on or after this day.")
    date_to: datetime.date | None = Field(None, description="Rates on or before this day.")
    limit: int = Field(100, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0)


def _rate(obj: ExchangeRate) -> dict[str, Any]:
    return {
        "id": obj.pk,
        "currency": obj.currency_id,
        "rate_date": obj.rate_date.isoformat(),
        "rate": str(obj.rate),
        "source": obj.source,
        "updated_at": obj.updated_at.isoformat(),
    }


def _require_login(request: HttpRequest) -> None:
    ctx = api_context(request)
    if ctx.token is not None and not ctx.token.allows("products", write=False):
        raise PermissionDenied


@router.get("/currencies/", response=CurrencyList, summary="List currencies", operation_id="currency_list")
def list_currencies(request: HttpRequest, active: bool | None = None) -> Any:
    _require_login(request)
    queryset = Currency.objects.all()
    if active is not None:
        queryset = queryset.filter(active=active)
    base = money.reporting_currency()
    items = [
        {
            "code": c.code,
            "name": c.display_name,
            "decimal_places": c.decimal_places,
            "active": c.active,
            "reporting": c.code == base,
        }
        for c in queryset
    ]
    return json_response(200, {"items": items, "count": len(items)})


@router.get("/exchange-rates/", response=RateList, summary="List exchange rates", operation_id="exchange_rate_list")
def list_rates(request: HttpRequest, filters: Query[RateFilters]) -> Any:
    _require_login(request)
    queryset = rates.rates_list(filters.currency or "", filters.date_from, filters.date_to)
    count = queryset.count()
    page = queryset[filters.offset : filters.offset + filters.limit]
    return json_response(200, {"items": [_rate(r) for r in page], "count": count})


@router.post(
    "/exchange-rates/",
    response={200: RateUpsertOut},
    summary="Add or change exchange rates",
    description=(
        "One rate object or a list of them; each is created or replaces the rate of the same currency and day. "
        "All or nothing: an invalid item answers 422 naming it (`items.<n>.<field>`) and writes none."
    ),
    operation_id="exchange_rate_upsert",
)
def upsert_rates(request: HttpRequest, payload: RateIn | list[RateIn]) -> Any:
    ctx = api_context(request)
    items = payload if isinstance(payload, list) else [payload]
    result = rates.rates_upsert(ctx, [item.model_dump() for item in items], source=ExchangeRate.Source.API)
    body = {
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "items": [_rate(r) for r in result.rates],
    }
    return json_response(200, body)


class PricesIn(Schema):
    prices: dict[str, str | None] = Field(
        ...,
        description='Unit prices by currency code as decimal strings: {"CNY": "199.00"}; null removes a price.',
    )
    replace: bool = Field(False, description="Remove the prices of currencies not given.")


@price_router.put(
    "/products/{int:pk}/prices/",
    response=schemas_for(PRODUCT).out,
    summary="Set a product's prices",
    operation_id="product_set_prices",
)
def set_prices(request: HttpRequest, pk: int, payload: PricesIn) -> Any:
    ctx = api_context(request)
    require(ctx, PRODUCT, "change")
    product = selectors.record_get(PRODUCT, user=ctx.user, pk=pk)
    services.product_set_prices(ctx, product, payload.prices, replace=payload.replace)
    product = selectors.record_get(PRODUCT, user=ctx.user, pk=pk)
    return json_response(200, schemas_for(PRODUCT).dump(product))
