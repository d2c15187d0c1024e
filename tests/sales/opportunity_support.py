"""Fixtures for the opportunity, board and forecast tests (imported by those modules)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from kehu.platform.context import Context, Source
from kehu.sales.opportunities import services
from kehu.sales.opportunities.models import Pipeline, PipelineStage
from tests.api.conftest import api_as, issue_token  # noqa: F401  (the API tests' token fixtures)

D = Decimal


def ctx_for(user: Any) -> Context:
    return Context(user=user, source=Source.WEB)


@pytest.fixture
def new_business(db: Any) -> Pipeline:
    return Pipeline.objects.get(key="new_business")


@pytest.fixture
def stage(new_business: Pipeline) -> Any:
    """``stage("proposal")`` → the New business stage with that key."""

    def find(key: str, pipeline: Pipeline | None = None) -> PipelineStage:
        return PipelineStage.objects.get(pipeline=pipeline or new_business, key=key)

    return find


@pytest.fixture
def make_opportunity(make_customer: Any) -> Any:
    def make(user: Any, customer: Any = None, **data: Any) -> Any:
        customer = customer or make_customer(user, name="Acme Trading")
        data.setdefault("name", "Big deal")
        return services.opportunity_create(ctx_for(user), {"customer": customer, **data})

    return make
