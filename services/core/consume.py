"""The consume loop every consuming service shares: poll a batch, process it, then commit.

Delivery contract, coded once: offsets are committed only after ``process`` returned, i.e. after the
batch's output is durable (produced and flushed, or written to the database). A transient failure
rewinds to the batch's first offsets and retries with backoff; nothing is skipped. A record batch that
cannot be decompressed (``record_batches.py``) is dead-lettered by its offsets and passed, as a poison
message is: retried, it would stop its partition for good. Passing it is recorded where the service
keeps its position (a Kafka commit by default), so a restart does not read it and dead-letter it again.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Protocol

import structlog
from kafka import KafkaConsumer, OffsetAndMetadata, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import KafkaError

from schemas import DeadLetter
from services.core.kafka import undecodable_letter
from services.core.metrics import BATCHES_RETRIED, DEAD_LETTERS, POLL_FAILURES
from services.core.record_batches import UndecodableBatchError
from services.core.runner import Heartbeat, StopSignal

log = structlog.get_logger(__name__)

Offsets = dict[TopicPartition, OffsetAndMetadata]


class TransientError(Exception):
    """Processing could not finish now (database or broker unavailable); the batch will be retried."""


class BatchProcessor(Protocol):
    def __call__(self, records: list[ConsumerRecord]) -> None: ...


def next_offsets(records: list[ConsumerRecord]) -> Offsets:
    latest: dict[TopicPartition, int] = {}
    for record in records:
        tp = TopicPartition(record.topic, record.partition)
        latest[tp] = max(latest.get(tp, -1), record.offset)
    return {tp: OffsetAndMetadata(offset + 1, "", -1) for tp, offset in latest.items()}


def first_offsets(records: list[ConsumerRecord]) -> dict[TopicPartition, int]:
    first: defaultdict[TopicPartition, int] = defaultdict(lambda: 2**63)
    for record in records:
        tp = TopicPartition(record.topic, record.partition)
        first[tp] = min(first[tp], record.offset)
    return dict(first)


class ConsumeLoop:
    def __init__(self, consumer: KafkaConsumer, process: BatchProcessor, stop: StopSignal, *, stage: str,
                 commit: Callable[[Offsets], None] | None = None, max_records: int = 500,
                 poll_timeout_ms: int = 500, max_backoff: float = 30.0,
                 housekeeping: Sequence[Callable[[], None]] = (), heartbeat: Heartbeat | None = None,
                 send_dead_letter: Callable[[DeadLetter], None] | None = None,
                 record_passed: Callable[[TopicPartition, int], None] | None = None) -> None:
        self.consumer = consumer
        self.stage = stage
        self.process = process
        self.stop = stop
        self.commit = commit or consumer.commit
        self.max_records = max_records
        self.poll_timeout_ms = poll_timeout_ms
        self.max_backoff = max_backoff
        self.housekeeping = tuple(housekeeping)  # periodic chores (purges, lag gauges), each on its own
        self.send_dead_letter = send_dead_letter  # durably, or raising
        # Where a partition's position is kept once a batch is passed: offsets below this one are done.
        self.record_passed = record_passed or self._commit_passed
        self.failures = 0
        self.last_progress = time.monotonic()
        self.heartbeat = heartbeat or Heartbeat()  # beaten at every turn; a long chore may beat it too
        self.poll_failing = False  # the last poll raised: a login refused by an ACL, a group that failed

    def consuming(self) -> bool:
        """A readiness check: the last poll did not fail. (A broker that is away does not fail polls:
        kafka-python waits for it; broker_reachable covers that.)"""
        return not self.poll_failing

    def run(self, max_batches: int | None = None) -> None:
        batches = 0
        while not self.stop.is_set() and (max_batches is None or batches < max_batches):
            self.heartbeat.beat()
            try:
                polled = self.consumer.poll(timeout_ms=self.poll_timeout_ms, max_records=self.max_records)
            except UndecodableBatchError as error:
                self._pass_undecodable(error)
                continue
            except KafkaError as error:
                # kafka-python can surface a lost broker from poll(); wait and poll again, the client
                # reconnects by itself once a broker answers.
                self._poll_failed(error)
                continue
            self.poll_failing = False
            records = [record for partition in polled.values() for record in partition]
            self.last_progress = time.monotonic()
            if records:
                batches += 1
                self._handle(records)
            self._chores()

    def _poll_failed(self, error: Exception, *, event: str = "poll_failed", cause: Exception | None = None) -> None:
        """Nothing was read from the poll: counted by what it raised, retried after the backoff."""
        POLL_FAILURES.labels(self.stage, type(error).__name__).inc()
        self.poll_failing = True
        self._backoff(event, cause or error)

    def _pass_undecodable(self, error: UndecodableBatchError) -> None:
        """Dead-letter the batch by its offsets, then read on after it; until that letter is durable (or
        without a partition to name), poll again later, as for any failed poll."""
        tp = error.partition
        if tp is None or self.send_dead_letter is None or tp not in self.consumer.assignment():
            self._poll_failed(error)
            return
        letter = undecodable_letter(self.stage, tp, error)
        try:
            self.send_dead_letter(letter)
        except KafkaError as failure:  # the batch is fetched again at the next poll and its letter sent then
            self._poll_failed(error, event="dead_letter_failed", cause=failure)
            return
        DEAD_LETTERS.labels(self.stage, letter.error_class).inc()
        log.error("batch_dead_lettered", topic=tp.topic, partition=tp.partition, offset=error.base_offset,
                  next_offset=error.next_offset, reason=error.reason[:300])
        self.consumer.seek(tp, error.next_offset)
        self.poll_failing = False
        try:
            self.record_passed(tp, error.next_offset)
        except (KafkaError, TransientError) as failure:
            # Not worth stopping for: the next batch processed records a later position. Only a restart
            # before that reads the batch again, and dead-letters it a second time.
            log.warning("passed_offset_not_recorded", topic=tp.topic, partition=tp.partition,
                        next_offset=error.next_offset, error=str(failure)[:300])

    def _commit_passed(self, tp: TopicPartition, next_offset: int) -> None:
        # Every record below the batch was processed and committed before the poll that met it.
        self.commit({tp: OffsetAndMetadata(next_offset, "", -1)})

    def _chores(self) -> None:
        """Run every chore, each deciding itself when it is due; one failing does not skip the others."""
        for chore in self.housekeeping:
            try:
                chore()
            except Exception as error:  # a failed chore is retried next turn; it must never stop consumption
                log.warning("housekeeping_failed", chore=getattr(chore, "__qualname__", repr(chore)),
                            error_class=type(error).__name__, error=str(error)[:300])

    def _handle(self, records: list[ConsumerRecord]) -> None:
        try:
            self.process(records)
        except TransientError as error:
            self._rewind(records, error)
            return
        self.failures = 0
        try:
            self.commit(next_offsets(records))
        except KafkaError as error:
            # The group moved on (e.g. this consumer stalled past max.poll.interval.ms): the output is
            # durable and idempotent, so the partition's new owner re-processing it is harmless.
            log.warning("commit_failed", error=str(error)[:300])

    def _rewind(self, records: list[ConsumerRecord], error: Exception) -> None:
        BATCHES_RETRIED.labels(self.stage, type(error.__cause__ or error).__name__).inc()
        assigned = self.consumer.assignment()
        for tp, offset in first_offsets(records).items():
            if tp in assigned:
                self.consumer.seek(tp, offset)
        self._backoff("batch_retry", error)

    def _backoff(self, event: str, error: Exception) -> None:
        self.failures += 1
        delay = min(self.max_backoff, 0.5 * 2 ** (self.failures - 1))
        log.warning(event, error=str(error)[:300], failures=self.failures, retry_in=delay)
        self.stop.wait(delay)
