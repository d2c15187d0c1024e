"""Domain events, published after the transaction commits.

Subscribers (automation, webhooks, notifications, the search index, the timeline) register
with ``subscribe``; a failing subscriber is logged and never undoes the write that caused it.
Subscribers that would rather handle a transaction's events together (bulk paths publish one
event per record) register with ``subscribe_batch``.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

log = logging.getLogger(__name__)

Handler = Callable[["Event"], None]
BatchHandler = Callable[[list["Event"]], None]
_subscribers: dict[str, list[Handler]] = defaultdict(list)
_batch_subscribers: list[tuple[frozenset[str], BatchHandler]] = []

# In a ``record.created`` event's data: what its creator already wrote itself ("search",
# "timeline"), so that the subscribers that would write it skip the event (bulk creates).
WRITTEN = "_written"


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


def subscribe_batch(*event_types: str) -> Callable[[BatchHandler], BatchHandler]:
    """Call the decorated function once per committed transaction with that transaction's
    events of ``event_types``, in the order they were published (at once, with one event, for
    an event published outside a transaction).

    A batch may also hold events of a savepoint that was rolled back inside the committed
    transaction: batch subscribers take the events as hints and read the records' current
    state (the search index does), rather than trusting that every event happened."""

    def decorator(handler: BatchHandler) -> BatchHandler:
        _batch_subscribers.append((frozenset(event_types), handler))
        return handler

    return decorator


def unsubscribe_batch(handler: BatchHandler) -> None:
    _batch_subscribers[:] = [(types, h) for types, h in _batch_subscribers if h is not handler]


@dataclass
class _Batch:
    """The events a transaction published so far, and the on-commit hook that delivers them."""

    events: list[Event]
    deliver: Callable[[], None]
    hooks: list[Any]  # the connection's on-commit list when the hook was last seen in it


def _dispatch_batch(events: list[Event]) -> None:
    for types, handler in list(_batch_subscribers):
        wanted = [event for event in events if event.type in types]
        if not wanted:
            continue
        try:
            handler(wanted)
        except Exception:  # a subscriber must never break the write that caused the events
            log.exception("event batch subscriber failed: %s for %d events", handler, len(wanted))


def _collect(events: Sequence[Event]) -> None:
    """Add ``events`` to their transaction's batch, registering the batch's delivery on commit
    with the first event. A rollback drops the hook from the connection's list (Django then
    replaces the list), so a batch whose hook is gone is abandoned and a new one started."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        _dispatch_batch(list(events))
        return
    batch: _Batch | None = getattr(connection, "_kehu_event_batch", None)
    if batch is not None and batch.hooks is not connection.run_on_commit:
        if any(hook is batch.deliver for _sids, hook, _robust in connection.run_on_commit):
            batch.hooks = connection.run_on_commit
        else:
            batch = None
    if batch is None:
        batch = _new_batch(connection)
    batch.events.extend(events)


def _new_batch(connection: Any) -> _Batch:
    events: list[Event] = []

    def deliver() -> None:
        if getattr(connection, "_kehu_event_batch", None) is batch:
            connection._kehu_event_batch = None
        _dispatch_batch(events)

    batch = _Batch(events, deliver, connection.run_on_commit)
    connection._kehu_event_batch = batch
    transaction.on_commit(deliver)
    return batch


def _dispatch(event: Event) -> None:
    for handler in [*_subscribers.get(event.type, ()), *_subscribers.get("*", ())]:
        try:
            handler(event)
        except Exception:  # a subscriber must never break the write that caused the event
            log.exception("event subscriber failed: %s for %s", handler, event.type)


def publish(event: Event) -> None:
    """Deliver ``event`` once the current transaction commits (at once outside one)."""
    publish_many([event])


def publish_many(events: Sequence[Event]) -> None:
    """Deliver ``events``, in order, once the current transaction commits (at once outside
    one): ``publish`` for the bulk paths, with one on-commit hook for all of them."""
    events = list(events)
    if not events:
        return

    def dispatch() -> None:
        for event in events:
            _dispatch(event)

    transaction.on_commit(dispatch)
    batched = {event_type for types, _handler in _batch_subscribers for event_type in types}
    wanted = [event for event in events if event.type in batched]
    if wanted:
        _collect(wanted)
