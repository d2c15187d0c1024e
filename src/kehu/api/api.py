"""The NinjaAPI at /api/v1/: every registered record type gets its router here."""

from __future__ import annotations

from ninja import NinjaAPI

from kehu.platform.api import SessionAuth, TokenAuth, install_problem_handlers, record_router
from kehu.platform.records import registry

api = NinjaAPI(
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

for record_type in registry:
    api.add_router(f"/{record_type.plural}/", record_router(record_type))
