"""Records a consumer never read because the broker deleted them first: counted and logged, not silent.

A consumer's position can fall below the start of a partition's log: retention deleted records while the
service was down (or too far behind), or someone deleted them. The broker then answers "offset out of
range", and kafka-python (``auto_offset_reset=earliest``) moves the consumer to the earliest offset left,
saying so in one INFO line of its own. Those records are gone, nothing can read them again, and
downstream they are simply missing. Here each such move past records is counted by topic
(``wirefeed_consumer_records_expired_total``) and logged as an error naming the offsets.

kafka-python offers no hook for it, so ``install()`` wraps two of its methods: the request for a reset,
which still knows the position the consumer had, and the reset itself, which knows where it moved to. A
first position (a new consumer group) is no loss and is not counted, nor is a move the caller asked for
(``seek_to_end``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import structlog
from kafka.consumer.fetcher import Fetcher
from kafka.consumer.subscription_state import SubscriptionState

from services.core.metrics import RECORDS_EXPIRED

log = structlog.get_logger(__name__)

_installing = threading.Lock()


def install() -> None:
    """Count and log records a consumer is moved past unread (once per process)."""
    with _installing:
        if getattr(Fetcher, "_wirefeed_counts_expired", False):
            return
        SubscriptionState.request_offset_reset = _remembering_the_position(SubscriptionState.request_offset_reset)
        Fetcher._reset_offset_if_needed = _counting_what_was_passed(Fetcher._reset_offset_if_needed)
        Fetcher._wirefeed_counts_expired = True


def _remembering_the_position(request: Callable[..., None]) -> Callable[..., None]:
    def requested(subscriptions: Any, partition: Any, offset_reset_strategy: Any = None) -> None:
        state = subscriptions.assignment.get(partition)
        position = state.position if state is not None else None  # the reset forgets it
        request(subscriptions, partition, offset_reset_strategy)
        if state is not None:
            # The broker's "out of range" asks for the default policy; seek_to_end() and _beginning() name
            # theirs, and a move the caller asked for loses nothing it did not mean to.
            asked = offset_reset_strategy is not None
            state.wirefeed_reset_from = None if position is None or asked else position.offset
    return requested


def _counting_what_was_passed(reset: Callable[..., None]) -> Callable[..., None]:
    def reset_if_needed(fetcher: Any, partition: Any, timestamp: Any, offset: int) -> None:
        state = fetcher._subscriptions.assignment.get(partition)
        reset(fetcher, partition, timestamp, offset)
        was = getattr(state, "wirefeed_reset_from", None)
        if was is None or state.awaiting_reset or state.position is None or state.position.offset != offset:
            return  # not a move from a position, or not done (yet)
        state.wirefeed_reset_from = None
        if offset > was:
            RECORDS_EXPIRED.labels(partition.topic).inc(offset - was)
            log.error("records_expired_unread", topic=partition.topic, partition=partition.partition,
                      position=was, earliest=offset, records=offset - was)
    return reset_if_needed
