"""Domain events, published after the transaction commits.

Subscribers (automation, webhooks, notifications, the search index, the timeline) register
with ``subscribe``; a failing subscriber is logged and never undoes the write that caused it.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

log = logging.getLogger(__name__)

Handler = Callable[["Event"], None]
_subscribers: dict[str, list[Handler]] = defaultdict(list)


@dataclass(frozen=True)
class Event:
    type: str
    record_type: str = ""
    record_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)
    actor_id: int | None = None
    source: str = ""
    occurred_at: Any = field(default_factory=timezone.now)


def subscribe(event_type: str) -> Callable[[Handler], Handler]:
    """Call the decorated function for every event of ``event_type`` (``*`` for all)."""

    def decorator(handler: Handler) -> Handler:
        _subscribers[event_type].append(handler)
        return handler

    return decorator


def unsubscribe(event_type: str, handler: Handler) -> None:
    _subscribers[event_type].remove(handler)


def _dispatch(event: Event) -> None:
    for handler in [*_subscribers.get(event.type, ()), *_subscribers.get("*", ())]:
        try:
            handler(event)
        except Exception:  # a subscriber must never break the write that caused the event
            log.exception("event subscriber failed: %s for %s", handler, event.type)


def publish(event: Event) -> None:
    """Deliver ``event`` once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: _dispatch(event))
