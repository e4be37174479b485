"""Consumer lag per partition: the end offset minus the consumer's durable position (the offset stored
with the rows for the sink, the committed offset for the normalizer).

The consumer is not thread-safe, so this runs in the consume loop's thread (after a batch and when a
poll comes back empty) and asks the broker for end offsets at most every ``interval`` seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import structlog
from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from services.core.metrics import CONSUMER_LAG

log = structlog.get_logger(__name__)

#: A broker that does not answer quickly must not stall the consume loop.
END_OFFSETS_TIMEOUT_MS = 2000


class LagMonitor:
    def __init__(self, consumer: KafkaConsumer, stored: Callable[[], dict[int, int]], *,
                 interval: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.consumer = consumer
        self.stored = stored  # partition -> the next offset whose output is durable
        self.interval = interval
        self.clock = clock
        self._due = 0.0
        self._labelled: set[TopicPartition] = set()

    def maybe_update(self) -> None:
        if self.clock() < self._due:
            return
        self._due = self.clock() + self.interval
        try:
            self.update()
        except KafkaError as error:  # a gauge may go stale; the loop must not stop for it
            log.debug("lag_update_failed", error=str(error)[:300])

    def update(self) -> None:
        assigned = list(self.consumer.assignment())
        ends = self.consumer.end_offsets(assigned, timeout_ms=END_OFFSETS_TIMEOUT_MS) if assigned else {}
        stored = self.stored()
        missing = [tp for tp in assigned if tp.partition not in stored]
        # Nothing stored yet for a partition: the sink will start at the log's beginning.
        starts = self.consumer.beginning_offsets(missing, timeout_ms=END_OFFSETS_TIMEOUT_MS) if missing else {}
        for tp, end in ends.items():
            position = stored.get(tp.partition, starts.get(tp, 0))
            CONSUMER_LAG.labels(tp.topic, str(tp.partition)).set(max(0, end - position))
        for tp in self._labelled - set(ends):  # revoked partitions are another replica's to report
            CONSUMER_LAG.remove(tp.topic, str(tp.partition))
        self._labelled = set(ends)
