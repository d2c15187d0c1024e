"""Active contracts past their end date become *expired*: a housekeeping sweep (queued by
``kehu worker`` when it starts, run by ``kehu housekeeping``) that moves each through
``contract_transition`` as the system acting for the contract's owner, so the audit entry,
the events and the timeline are those of any other transition."""

from __future__ import annotations

import datetime
import logging

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django_tasks import task

from kehu.platform import housekeeping
from kehu.platform.context import Context, Source
from kehu.platform.errors import StaleVersion
from kehu.sales.contracts.models import Contract, ContractStatus
from kehu.sales.contracts.services import contract_transition

log = logging.getLogger(__name__)
BATCH_SIZE = 200


def expire_ended_contracts(today: datetime.date | None = None) -> int:
    """Move every active contract whose end date is before ``today`` to expired; answers how
    many moved. A contract that cannot move (changed meanwhile, its owner may no longer
    change contracts) is logged and left for the next run."""
    today = today or timezone.localdate()
    moved, last_pk = 0, 0
    while True:
        batch = list(
            Contract.objects.select_related("owner")
            .filter(status=ContractStatus.ACTIVE, end_date__lt=today, pk__gt=last_pk)
            .order_by("pk")[:BATCH_SIZE]
        )
        if not batch:
            return moved
        for contract in batch:
            last_pk = contract.pk
            ctx = Context(user=contract.owner, source=Source.SYSTEM)
            try:
                contract_transition(ctx, contract, ContractStatus.EXPIRED, version=contract.version)
            except (PermissionDenied, ValidationError, StaleVersion) as error:
                log.warning("contract %s not expired: %s", contract.number, error)
                continue
            moved += 1


@task()
def expire_contracts() -> int:
    return expire_ended_contracts()


housekeeping.register("contract_expiry", expire_contracts)
