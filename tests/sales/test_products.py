"""Products: the record type (CRUD, permissions, visibility), prices per currency, the category
tree, archive-not-delete with a registered usage; their web pages and API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from kehu.accounts.services import token_create
from kehu.platform import services as record_services
from kehu.platform.access import visible_to
from kehu.platform.context import Context, Source
from kehu.platform.models import AuditEntry, Currency, ExchangeRate
from kehu.sales.products import services
from kehu.sales.products.models import Product, ProductCategory, ProductPrice
from kehu.sales.products.records import PRODUCT

D = Decimal
API = "/api/v1"


def ctx(user: Any, source: str = Source.WEB) -> Context:
    return Context(user=user, source=source)


@pytest.fixture
def manager(make_user: Any, east: Any) -> Any:
    return make_user("chief", "manager", "East sales")


@pytest.fixture
def make_product(manager: Any) -> Any:
    def make(user: Any = None, **data: Any) -> Any:
        data.setdefault("code", f"SKU-{Product.all_objects.count() + 1}")
        data.setdefault("name", "CRM licence")
        return record_services.record_create(PRODUCT, ctx=ctx(user or manager), data=data)

    return make


@pytest.fixture
def software(manager: Any) -> Any:
    return services.category_save(ctx(manager), None, {"name": "软件"})


@pytest.fixture
def used_ids() -> Iterator[set[int]]:
    """A registered line table (as the opportunities and orders apps register theirs)."""
    used: set[int] = set()
    services.register_usage("order lines", lambda ids: {pk for pk in ids if pk in used})
    yield used
    services.unregister_usage("order lines")


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def bearer(user: Any, scopes: str = "write") -> dict[str, str]:
    _token, raw = token_create(ctx=Context(user=user, source=Source.CLI), user=user, scopes=scopes.split(","))
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


# ---------------------------------------------------------------- services and rules


@pytest.mark.django_db
def test_manager_creates_a_product_with_prices(manager: Any, software: Any, make_product: Any) -> None:
    product = make_product(code="KH-PRO", name="客户管理 专业版", kind="product", category=software, unit="套")
    assert product.number.startswith("PR-")
    stored = services.product_set_prices(ctx(manager), product, {"cny": D("1999.00"), "USD": "279.5"})
    assert stored == {"CNY": D("1999.0000"), "USD": D("279.5000")}
    assert services.list_price(product, "CNY") == D("1999.0000")
    assert services.list_price(product.pk, "eur") is None
    entry = AuditEntry.objects.filter(object_id=product.pk, content_type__model="product").latest("id")
    assert entry.changes == {"prices": [{}, {"CNY": "1999.0000", "USD": "279.5000"}]}
    assert Product.objects.get(pk=product.pk).version == product.version == 2


@pytest.mark.django_db
def test_setting_prices_changes_removes_and_replaces(manager: Any, make_product: Any) -> None:
    product = make_product()
    services.product_set_prices(ctx(manager), product, {"CNY": "100", "USD": "15", "EUR": "13"})
    services.product_set_prices(ctx(manager), product, {"CNY": "120", "USD": None})
    assert services.prices_of([product])[product.pk] == {"CNY": D("120"), "EUR": D("13")}
    services.product_set_prices(ctx(manager), product, {"JPY": "2000"}, replace=True)
    assert services.prices_of([product])[product.pk] == {"JPY": D("2000")}
    version = Product.objects.get(pk=product.pk).version
    services.product_set_prices(ctx(manager), product, {"JPY": "2000.0000"})  # no change: no write
    assert Product.objects.get(pk=product.pk).version == version


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("prices", "key"),
    [
        ({"XYZ": "1"}, "prices.XYZ"),
        ({"CNY": "-1"}, "prices.CNY"),
        ({"CNY": "abc"}, "prices.CNY"),
        ({"CNY": "1.00001"}, "prices.CNY"),
        ({"CNY": 1.5}, "prices.CNY"),
        ({"CNY": "1e20"}, "prices.CNY"),
    ],
)
def test_bad_prices_are_refused_naming_the_currency(
    manager: Any, make_product: Any, prices: dict[str, Any], key: str
) -> None:
    product = make_product()
    with pytest.raises(ValidationError) as caught:
        services.product_set_prices(ctx(manager), product, prices)
    assert key in caught.value.message_dict
    assert not ProductPrice.objects.exists()


@pytest.mark.django_db
def test_a_price_in_an_inactive_currency_is_refused(admin_user: Any, manager: Any, make_product: Any) -> None:
    Currency.objects.filter(code="GBP").update(active=False)
    with pytest.raises(ValidationError, match="not active"):
        services.product_set_prices(ctx(manager), make_product(), {"GBP": "10"})


@pytest.mark.django_db
def test_product_codes_are_unique(make_product: Any) -> None:
    make_product(code="DUP")
    with pytest.raises(ValidationError) as caught:
        make_product(code="DUP")
    assert "code" in caught.value.message_dict


@pytest.mark.django_db
def test_tax_rate_is_a_percentage(make_product: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        make_product(tax_rate=D("101"))
    assert "tax_rate" in caught.value.message_dict


@pytest.mark.django_db
def test_sales_can_view_products_but_not_change_them(rep: Any, manager: Any, make_product: Any) -> None:
    product = make_product()
    assert list(visible_to(rep, Product.objects.all(), PRODUCT)) == [product]
    with pytest.raises(PermissionDenied):
        record_services.record_create(PRODUCT, ctx=ctx(rep), data={"code": "X", "name": "X"})
    with pytest.raises(PermissionDenied):
        record_services.record_update(PRODUCT, ctx=ctx(rep), obj=product, data={"name": "Y"})
    with pytest.raises(PermissionDenied):
        services.product_set_prices(ctx(rep), product, {"CNY": "1"})
    with pytest.raises(PermissionDenied):
        record_services.record_delete(PRODUCT, ctx=ctx(rep), obj=product)


@pytest.mark.django_db
def test_every_team_sees_the_whole_catalogue(other_rep: Any, rep: Any, manager: Any, make_product: Any) -> None:
    """Products are shared: a rep of another team sees the East manager's products."""
    product = make_product()
    assert product.team.name == "East sales"
    for user in (rep, other_rep):
        assert list(visible_to(user, Product.objects.all(), PRODUCT)) == [product]


@pytest.mark.django_db
def test_an_unused_product_is_deleted_like_every_record(manager: Any, make_product: Any, used_ids: Any) -> None:
    product = make_product()
    services.product_delete(ctx(manager), product)
    assert Product.all_objects.get(pk=product.pk).is_deleted


@pytest.mark.django_db
def test_a_used_product_is_archived_not_deleted(manager: Any, make_product: Any, used_ids: set[int]) -> None:
    used, unused = make_product(code="USED"), make_product(code="FREE")
    used_ids.add(used.pk)
    with pytest.raises(ValidationError, match="Archive it instead") as caught:
        record_services.record_delete(PRODUCT, ctx=ctx(manager), obj=used)
    assert "order lines" in caught.value.messages[0]
    with pytest.raises(ValidationError):  # bulk: all or none
        record_services.record_bulk_delete(PRODUCT, ctx=ctx(manager), objs=[used, unused])
    assert not Product.all_objects.filter(deleted_at__isnull=False).exists()
    archived = record_services.record_update(PRODUCT, ctx=ctx(manager), obj=used, data={"active": False})
    assert archived.active is False


# ---------------------------------------------------------------- categories


@pytest.mark.django_db
def test_category_tree_orders_parents_before_children(manager: Any, software: Any) -> None:
    services.category_save(ctx(manager), None, {"name": "服务"})
    licences = services.category_save(ctx(manager), None, {"name": "许可证", "parent": software})
    services.category_save(ctx(manager), None, {"name": "订阅", "parent": software.pk, "order": 1})
    tree = [(c.name, depth) for c, depth in services.category_tree()]
    assert tree == [("软件", 0), ("订阅", 1), ("许可证", 1), ("服务", 0)]
    assert licences.order == 10


@pytest.mark.django_db
def test_a_category_cannot_be_put_under_itself_or_its_descendants(manager: Any, software: Any) -> None:
    child = services.category_save(ctx(manager), None, {"name": "许可证", "parent": software})
    grandchild = services.category_save(ctx(manager), None, {"name": "年度", "parent": child})
    for parent in (software, child, grandchild):
        with pytest.raises(ValidationError) as caught:
            services.category_save(ctx(manager), ProductCategory.objects.get(pk=software.pk), {"parent": parent})
        assert "parent" in caught.value.message_dict
    assert ProductCategory.objects.get(pk=software.pk).parent is None


@pytest.mark.django_db
def test_only_empty_categories_are_deleted(manager: Any, software: Any, make_product: Any) -> None:
    child = services.category_save(ctx(manager), None, {"name": "许可证", "parent": software})
    with pytest.raises(ValidationError, match="subcategories"):
        services.category_delete(ctx(manager), software)
    make_product(category=child)
    with pytest.raises(ValidationError, match="Products"):
        services.category_delete(ctx(manager), child)
    empty = services.category_save(ctx(manager), None, {"name": "空"})
    services.category_delete(ctx(manager), empty)
    assert not ProductCategory.objects.filter(pk=empty.pk).exists()


@pytest.mark.django_db
def test_sales_cannot_change_categories(rep: Any, software: Any) -> None:
    with pytest.raises(PermissionDenied):
        services.category_save(ctx(rep), None, {"name": "硬件"})
    with pytest.raises(PermissionDenied):
        services.category_delete(ctx(rep), software)


# ---------------------------------------------------------------- web


@pytest.mark.django_db
def test_product_form_saves_prices_per_active_currency(manager: Any, software: Any) -> None:
    client = logged_in(manager)
    page = client.get("/products/new/")
    assert page.status_code == 200
    assert b'name="price-CNY"' in page.content
    assert b'name="price-JPY"' in page.content
    data = {"code": "KH-1", "name": "专业版", "kind": "product", "category": software.pk, "tax_rate": "13.00"}
    data |= {"active": "on", "owner": manager.pk, "price-CNY": "1999", "price-USD": "279.50", "price-EUR": ""}
    response = client.post("/products/new/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    product = Product.objects.get(code="KH-1")
    assert services.prices_of([product])[product.pk] == {"CNY": D("1999"), "USD": D("279.5")}
    edit = {**data, "version": product.version, "price-CNY": "1899", "price-USD": ""}
    response = client.post(f"/products/{product.pk}/edit/", edit)
    assert response.status_code == 302
    assert services.prices_of([product])[product.pk] == {"CNY": D("1899")}
    panel = client.get(f"/products/{product.pk}/prices/")
    assert b"1899.0000" in panel.content


@pytest.mark.django_db
def test_product_form_shows_a_bad_price_on_its_box(manager: Any) -> None:
    client = logged_in(manager)
    data = {"code": "KH-2", "name": "X", "kind": "service", "tax_rate": "6", "owner": manager.pk}
    response = client.post("/products/new/", {**data, "price-CNY": "-5"})
    assert response.status_code == 422
    assert not Product.objects.exists()


@pytest.mark.django_db
def test_web_delete_of_a_used_product_says_archive(manager: Any, make_product: Any, used_ids: set[int]) -> None:
    product = make_product()
    used_ids.add(product.pk)
    client = logged_in(manager)
    response = client.post(f"/products/{product.pk}/delete/", {"version": product.version}, follow=True)
    assert "Archive it instead" in response.content.decode()
    assert not Product.objects.get(pk=product.pk).is_deleted


@pytest.mark.django_db
def test_sales_see_the_product_list_but_no_form(rep: Any, make_product: Any) -> None:
    make_product(name="可见产品")
    client = logged_in(rep)
    listing = client.get("/products/")
    assert listing.status_code == 200
    assert "可见产品" in listing.content.decode()
    assert client.get("/products/new/").status_code == 403
    assert client.get("/settings/product-categories/").status_code == 403


@pytest.mark.django_db
def test_category_page_refuses_a_cycle(manager: Any, software: Any) -> None:
    child = services.category_save(ctx(manager), None, {"name": "许可证", "parent": software})
    client = logged_in(manager)
    assert client.get("/settings/product-categories/").status_code == 200
    response = client.post(f"/settings/product-categories/{software.pk}/", {"name": "软件", "parent": child.pk})
    assert response.status_code == 422
    assert ProductCategory.objects.get(pk=software.pk).parent is None
    response = client.post("/settings/product-categories/", {"name": "硬件", "parent": "", "order": ""})
    assert response.status_code == 302
    assert ProductCategory.objects.filter(name="硬件").exists()


@pytest.mark.django_db
def test_currency_settings_page_for_admins_only(admin_user: Any, rep: Any) -> None:
    assert logged_in(rep).get("/settings/currencies/").status_code == 403
    client = logged_in(admin_user)
    assert client.get("/settings/currencies/").status_code == 200
    response = client.post(
        "/settings/currencies/",
        {"form": "rate", "rate-currency": "USD", "rate-rate_date": "2026-05-01", "rate-rate": "7.21"},
    )
    assert response.status_code == 302
    assert ExchangeRate.objects.get().rate == D("7.21")
    client.post("/settings/currencies/", {"form": "currency", "code": "GBP", "active": "0"})
    assert Currency.objects.get(code="GBP").active is False
    listing = client.get("/settings/currencies/", {"currency": "USD", "date_from": "2026-01-01"})
    assert "7.21" in listing.content.decode()


@pytest.mark.django_db
def test_rate_import_page_checks_then_imports(admin_user: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = logged_in(admin_user)
    content = b"currency,date,rate\nUSD,2026-01-31,7.1\nEUR,2026-01-31,7.8\n"
    check = client.post("/settings/currencies/import/", {"file": SimpleUploadedFile("r.csv", content), "mode": "check"})
    assert check.status_code == 200
    assert not ExchangeRate.objects.exists()
    assert "2 lines are valid" in check.content.decode()
    bad = client.post(
        "/settings/currencies/import/", {"file": SimpleUploadedFile("r.csv", b"USD,x,7\n"), "mode": "import"}
    )
    assert bad.status_code == 422
    assert "Line 1:" in bad.content.decode()
    done = client.post("/settings/currencies/import/", {"file": SimpleUploadedFile("r.csv", content), "mode": "import"})
    assert done.status_code == 302
    assert ExchangeRate.objects.count() == 2


# ---------------------------------------------------------------- API


@pytest.mark.django_db
def test_api_lists_products_with_prices_as_strings_in_few_queries(rep: Any, manager: Any, make_product: Any) -> None:
    for n in range(5):
        product = make_product(code=f"P{n}")
        services.product_set_prices(ctx(manager), product, {"CNY": "199", "USD": "29.9"})
    client = Client()
    headers = bearer(rep, "read")
    client.get(f"{API}/products/", {"limit": 1}, **headers)  # first use of the token is recorded
    with CaptureQueriesContext(connection) as few:
        response = client.get(f"{API}/products/", {"limit": 2}, **headers)
    assert response.status_code == 200
    with CaptureQueriesContext(connection) as more:
        response = client.get(f"{API}/products/", **headers)
    body = response.json()
    assert body["count"] == 5
    assert body["items"][0]["prices"] == {"CNY": "199.0000", "USD": "29.9000"}
    assert len(more) == len(few)  # no query per row


@pytest.mark.django_db
def test_api_put_prices(manager: Any, rep: Any, make_product: Any) -> None:
    product = make_product()
    client = Client()
    url = f"{API}/products/{product.pk}/prices/"
    body = json.dumps({"prices": {"CNY": "88.80", "USD": "12"}})
    response = client.put(url, body, content_type="application/json", **bearer(manager))
    assert response.status_code == 200, response.content
    assert response.json()["prices"] == {"CNY": "88.8000", "USD": "12.0000"}
    bad = client.put(url, json.dumps({"prices": {"CNY": "-1"}}), content_type="application/json", **bearer(manager))
    assert bad.status_code == 422
    assert bad["Content-Type"].startswith("application/problem+json")
    assert {e["field"] for e in bad.json()["errors"]} == {"prices.CNY"}
    refused = client.put(url, body, content_type="application/json", **bearer(rep))
    assert refused.status_code == 403
    number = client.put(url, json.dumps({"prices": {"CNY": 1.5}}), content_type="application/json", **bearer(manager))
    assert number.status_code == 422  # amounts travel as strings
    read_only = client.put(url, body, content_type="application/json", **bearer(manager, "read"))
    assert read_only.status_code == 403


@pytest.mark.django_db
def test_api_delete_of_a_used_product_is_refused(manager: Any, make_product: Any, used_ids: set[int]) -> None:
    product = make_product()
    used_ids.add(product.pk)
    response = Client().delete(f"{API}/products/{product.pk}/", **bearer(manager))
    assert response.status_code == 422
    assert "Archive it instead" in response.json()["errors"][0]["message"]


@pytest.mark.django_db
def test_api_filters_products_by_kind_and_category(rep: Any, make_product: Any, software: Any) -> None:
    make_product(code="A", kind="service", category=software)
    make_product(code="B", kind="product")
    response = Client().get(f"{API}/products/", {"kind": "service"}, **bearer(rep, "read"))
    assert [item["code"] for item in response.json()["items"]] == ["A"]
    response = Client().get(f"{API}/products/", {"category": software.pk}, **bearer(rep, "read"))
    assert [item["code"] for item in response.json()["items"]] == ["A"]


@pytest.mark.django_db
def test_api_currencies(rep: Any) -> None:
    response = Client().get(f"{API}/currencies/", **bearer(rep, "read"))
    assert response.status_code == 200
    items = {item["code"]: item for item in response.json()["items"]}
    assert items["JPY"]["decimal_places"] == 0
    assert items["CNY"]["reporting"] is True


@pytest.mark.django_db
def test_api_upserts_rates_one_or_many(admin_user: Any, rep: Any) -> None:
    client = Client()
    url = f"{API}/exchange-rates/"
    one = client.post(
        url,
        json.dumps({"currency": "USD", "rate_date": "2026-01-31", "rate": "7.1"}),
        content_type="application/json",
        **bearer(admin_user),
    )
    assert one.status_code == 200, one.content
    assert one.json()["created"] == 1
    many = [
        {"currency": "USD", "rate_date": "2026-01-31", "rate": "7.2"},
        {"currency": "EUR", "rate_date": "2026-01-31", "rate": "7.8"},
    ]
    response = client.post(url, json.dumps(many), content_type="application/json", **bearer(admin_user))
    assert response.status_code == 200, response.content
    assert (response.json()["created"], response.json()["updated"]) == (1, 1)
    assert ExchangeRate.objects.get(currency_id="USD").rate == D("7.2")
    listing = client.get(
        url, {"currency": "USD", "date_from": "2026-01-01", "date_to": "2026-12-31"}, **bearer(rep, "read")
    )
    assert [item["rate"] for item in listing.json()["items"]] == ["7.2000000000"]
    assert listing.json()["count"] == 1


@pytest.mark.django_db
def test_api_rate_upsert_is_all_or_nothing(admin_user: Any, rep: Any) -> None:
    client = Client()
    url = f"{API}/exchange-rates/"
    many = [
        {"currency": "USD", "rate_date": "2026-01-31", "rate": "7.2"},
        {"currency": "EUR", "rate_date": "2026-01-31", "rate": "0"},
    ]
    response = client.post(url, json.dumps(many), content_type="application/json", **bearer(admin_user))
    assert response.status_code == 422
    assert response["Content-Type"].startswith("application/problem+json")
    assert {e["field"] for e in response.json()["errors"]} == {"items.1.rate"}
    assert not ExchangeRate.objects.exists()
    refused = client.post(url, json.dumps(many[0]), content_type="application/json", **bearer(rep))
    assert refused.status_code == 403


# ---------------------------------------------------------------- demo


@pytest.mark.django_db
def test_demo_catalogue_has_products_prices_and_three_years_of_rates(admin_user: Any, manager: Any) -> None:
    from kehu.sales.products.demo import create_demo_catalogue

    made = create_demo_catalogue(manager=manager, admin=admin_user, seed=7)
    assert 25 <= made.products == Product.objects.count() <= 40
    assert made.rates == ExchangeRate.objects.count() == 4 * 36
    names = list(Product.objects.values_list("name", flat=True))
    assert any(any("\u4e00" <= ch <= "\u9fff" for ch in name) for name in names)
    assert any(name.isascii() for name in names)
    assert {"软件", "硬件", "服务"} <= set(ProductCategory.objects.filter(parent=None).values_list("name", flat=True))
    prices = services.prices_of(Product.objects.all())
    assert all(set(p) == {"CNY", "USD"} for p in prices.values())
    usd = ExchangeRate.objects.filter(currency_id="USD").values_list("rate", flat=True)
    assert all(D("6.5") < rate < D("7.5") for rate in usd)
    again = create_demo_catalogue(manager=manager, admin=admin_user, seed=7)
    assert (again.products, again.rates) == (0, 0)
