"""The NinjaAPI at /api/v1/: every registered record type gets its router here."""

from __future__ import annotations

from typing import Any

from ninja import NinjaAPI

from kehu.activities.api import router as activities_router
from kehu.activities.api import task_router as task_actions_router
from kehu.automation.api import router as notification_router
from kehu.customers.api import router as customer_lifecycle_router
from kehu.customers.reassign_api import router as customer_reassign_router
from kehu.dataio.dedupe.api import router as dedupe_router
from kehu.dataio.imports.api import router as import_router
from kehu.dataio.quality.api import router as data_quality_router
from kehu.platform.api import SessionAuth, TokenAuth, install_problem_handlers, record_router
from kehu.platform.customfields.openapi import patch_schema as describe_custom_fields
from kehu.platform.records import registry
from kehu.platform.search.api import router as search_router
from kehu.platform.tags.api import router as tag_router
from kehu.sales.contracts.api import order_router as order_actions_router
from kehu.sales.contracts.api import receivables_router
from kehu.sales.contracts.api import router as contract_actions_router
from kehu.sales.opportunities.api import forecast_router, pipeline_router, quota_router
from kehu.sales.opportunities.api import router as opportunity_actions_router
from kehu.sales.products.api import price_router as product_price_router
from kehu.sales.products.api import router as currency_router


class KehuAPI(NinjaAPI):
    """The API whose OpenAPI document also describes the custom fields admins define at run
    time (generated on every request for the document, so a new field shows at once)."""

    def get_openapi_schema(self, *, path_prefix: str | None = None, path_params: Any = None) -> Any:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        return describe_custom_fields(schema, registry)


api = KehuAPI(
    title="Kehu CRM API",
    version="1",
    description=(
        "Authenticate with `Authorization: Bearer <token>` (create one with `kehu token create` or "
        "under Settings → API tokens) or with the browser session. Lists answer "
        '`{"items": [...], "count": N}`; errors are RFC 9457 `application/problem+json`.'
    ),
    auth=[TokenAuth(), SessionAuth()],
    urls_namespace="api",
)
install_problem_handlers(api)

# Before the record routers: /customers/reassign/ is its own route, never /customers/{id}/.
api.add_router("/customers/reassign/", customer_reassign_router)
api.add_router("/imports/", import_router)  # before the record routers: /imports/ is no record type
for record_type in registry:
    api.add_router(f"/{record_type.plural}/", record_router(record_type))
api.add_router("/", activities_router)  # /interactions/log/
api.add_router("/", task_actions_router)  # /tasks/{id}/complete/, /tasks/{id}/reopen/
api.add_router("/customers/", customer_lifecycle_router)  # /customers/{id}/lifecycle/
api.add_router("/", product_price_router)  # /products/{id}/prices/
api.add_router("/", currency_router)  # /currencies/, /exchange-rates/
api.add_router("/", contract_actions_router)  # /contracts/{id}/transition/, /contracts/{id}/plan/
api.add_router("/", order_actions_router)  # /orders/{id}/lines/, /orders/from-opportunity/{id}/
api.add_router("/", receivables_router)  # /receivables/, /customers/{id}/credit/
api.add_router("/opportunities/", opportunity_actions_router)  # /opportunities/{id}/move/, /win/, /lose/, /lines/
api.add_router("/pipelines/", pipeline_router)
api.add_router("/forecast/", forecast_router)
api.add_router("/quotas/", quota_router)
api.add_router("/tags/", tag_router)
api.add_router("/data-quality/", data_quality_router)
api.add_router("/search/", search_router)
api.add_router("/notifications/", notification_router)
api.add_router("/", dedupe_router)  # /duplicates/, /duplicates/{id}/merge/, /merges/{id}/undo/
