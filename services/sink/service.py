"""The sink's batch step and its partition bookkeeping.

The database is the source of truth for offsets: on every assignment the consumer seeks to the
offsets stored with the rows (a partition with none, to the earliest offset the broker keeps), and
records below them (a redelivery) are skipped. Kafka commits are made afterwards only so that lag shows
up in the usual tools.

If the database cannot be read when partitions are assigned, the assignment is remembered as
unresolved and the next batch resolves it first (or is retried): a record is never written before
its partition's stored offset is known, and a stored offset never moves backwards.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any, NamedTuple, Protocol, TypeVar

import structlog
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from pydantic import ValidationError

from schemas import Article
from schemas.models import without_lone_surrogates
from services.core.config import DEFAULT_MAX_MESSAGE_BYTES, Topics
from services.core.consume import TransientError, first_offsets, next_offsets
from services.core.db import TRANSIENT_ERRORS, UNSTORABLE_ERRORS
from services.core.kafka import dead_letter
from services.core.metrics import DEAD_LETTERS
from services.sink import metrics
from services.sink.store import Store, WriteResult

log = structlog.get_logger(__name__)

STAGE = "sink"

T = TypeVar("T")


class OffsetSource(Protocol):
    def offsets(self, topic: str) -> dict[int, int]: ...


class StoredOffsets(ConsumerRebalanceListener):  # type: ignore[misc]
    """Seeks newly assigned partitions to the offsets stored in the database."""

    def __init__(self, consumer: KafkaConsumer, store: OffsetSource, topic: str) -> None:
        self.consumer = consumer
        self.store = store
        self.topic = topic
        self.positions: dict[int, int] = {}
        self.unresolved: set[TopicPartition] = set()

    def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        for tp in revoked:
            self.positions.pop(tp.partition, None)
            self.unresolved.discard(tp)

    def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        try:
            self._seek(assigned)
        except TRANSIENT_ERRORS as error:
            # Raising here would leave the partitions at Kafka's committed offsets with nothing to
            # say so; instead the next batch resolves them before writing anything.
            self.unresolved.update(assigned)
            log.warning("stored_offsets_unavailable", error=str(error)[:300],
                        partitions=sorted(tp.partition for tp in assigned))

    def resolve(self) -> dict[int, int | None]:
        """Seek partitions whose stored offsets could not be read at assignment (raises if still down): the
        partitions sought, each with its stored offset (None: sought to the beginning)."""
        if not self.unresolved:
            return {}
        sought = self._seek([tp for tp in self.unresolved if tp in self.consumer.assignment()])
        self.unresolved.clear()
        return sought

    def _seek(self, assigned: list[TopicPartition]) -> dict[int, int | None]:
        stored = self.store.offsets(self.topic)
        unstored = [tp for tp in assigned if tp.partition not in stored]
        for tp in assigned:
            if tp.partition in stored:
                self.consumer.seek(tp, stored[tp.partition])
                self.positions[tp.partition] = stored[tp.partition]
        if unstored:
            # The database has read none of these: all the broker keeps is to be stored. Left to the
            # group's commit (made for lag tools), a new database, or one restored from before a partition
            # was added, missed everything the sink had read into another.
            self.consumer.seek_to_beginning(*unstored)
        log.info("partitions_assigned", partitions=sorted(tp.partition for tp in assigned),
                 stored={p: o for p, o in stored.items() if p in {tp.partition for tp in assigned}},
                 from_the_beginning=sorted(tp.partition for tp in unstored))
        return {tp.partition: stored.get(tp.partition) for tp in assigned}


class SinkBatch:
    def __init__(self, store: Store, producer: KafkaProducer, topics: Topics, offsets: StoredOffsets,
                 clock: Callable[[], datetime] | None = None, *,
                 after_write: Callable[[], None] | None = None,
                 max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> None:
        self.store = store
        self.max_message_bytes = max_message_bytes
        self.producer = producer
        self.topics = topics
        self.offsets = offsets
        self.clock = clock or (lambda: datetime.now(UTC))
        self.after_write = after_write  # runs in the loop's thread after each commit (lag gauge)

    def __call__(self, records: list[ConsumerRecord]) -> None:
        records = self._from_stored_offsets(records)
        if not records:
            return
        fresh = [r for r in records if r.offset >= self.offsets.positions.get(r.partition, 0)]
        checked = self._articles_or_dead_letters(fresh)
        articles = [article for _, article, _ in checked]
        payloads: dict[str, str] = {}
        for _, article, payload in checked:  # the first of an id, as the store keeps its first article
            payloads.setdefault(article.id, payload)
        offsets = self._next_offsets(records)
        now = self.clock()
        with metrics.BATCH_DURATION.time():
            try:
                result = self._transient(lambda: self.store.write(articles, offsets, now, payloads))
            except UNSTORABLE_ERRORS as error:
                log.warning("batch_unstorable", error=str(error)[:300], articles=len(articles))
                articles, result = self._one_by_one(checked, offsets, now)
        self._record(articles, result, offsets, now)
        if self.after_write:
            self.after_write()

    def _from_stored_offsets(self, records: list[ConsumerRecord]) -> list[ConsumerRecord]:
        """``records`` less those of partitions assigned while the database was down, sought only now to
        their stored offsets, that do not reach back to that offset. Those were fetched from Kafka's
        committed offset; where it was past the stored one (a new database, one restored from a backup),
        writing them and storing the offset after them skipped what lay between for good. They are read
        again from the stored offset."""
        sought = self._transient(self.offsets.resolve)
        if not sought:
            return records
        behind = {tp.partition for tp, first in first_offsets(records).items()
                  if tp.partition in sought and not _reaches_back(first, sought[tp.partition])}
        if behind:
            log.info("read_again_from_stored_offsets", partitions=sorted(behind))
        return [record for record in records if record.partition not in behind]

    def _one_by_one(self, checked: list[Checked], offsets: dict[tuple[str, int], int],
                    now: datetime) -> tuple[list[Article], WriteResult]:
        """Write a batch that the database refuses article by article, dead-lettering those it refuses,
        then store the offsets. The batch would fail alike forever and stop its partitions. A crash on
        the way leaves rows without their offsets: they are read again and skipped as already stored."""
        stored: list[Article] = []
        new: list[Article] = []
        skipped = 0
        refused: list[tuple[ConsumerRecord, Exception]] = []
        for record, article, payload in checked:
            try:
                result = self._transient(partial(self.store.write, [article], {}, now, {article.id: payload}))
            except UNSTORABLE_ERRORS as error:
                refused.append((record, error))
                continue
            stored.append(article)
            new.extend(result.new_articles)
            skipped += result.skipped
        self._dead_letter(refused)  # durable before the offsets that pass them
        self._transient(lambda: self.store.write([], offsets, now))
        return stored, WriteResult(new_articles=tuple(new), skipped=skipped)

    def record_passed(self, tp: TopicPartition, next_offset: int) -> None:
        """Store that ``tp`` is read up to ``next_offset``: the consume loop dead-lettered an undecodable
        batch and passed it. A restart then seeks past it instead of dead-lettering it again."""
        if tp.partition in self._transient(self.offsets.resolve):
            return  # sought back to its stored offset only now: the batch is read, and passed, again from there
        offsets = {(tp.topic, tp.partition): max(next_offset, self.offsets.positions.get(tp.partition, 0))}
        self._transient(lambda: self.store.write([], offsets, self.clock()))
        self._positions(offsets)

    def _transient(self, action: Callable[[], T]) -> T:
        try:
            return action()
        except UNSTORABLE_ERRORS:
            raise  # the same rows fail alike however often they are tried: not the database's state
        except TRANSIENT_ERRORS as error:
            metrics.DB_ERRORS.labels(type(error).__name__).inc()
            raise TransientError(f"store unavailable: {error}") from error

    def _next_offsets(self, records: list[ConsumerRecord]) -> dict[tuple[str, int], int]:
        # Never below what is stored: a batch made only of already-stored records keeps the offset.
        return {(tp.topic, tp.partition): max(meta.offset, self.offsets.positions.get(tp.partition, 0))
                for tp, meta in next_offsets(records).items()}

    def _articles_or_dead_letters(self, records: list[ConsumerRecord]) -> list[Checked]:
        checked, refused = [], []
        for record in records:
            try:
                article = Article.from_json(record.value)
                checked.append(Checked(record, article, _storable(record.value, article)))
            except Exception as error:  # pure code on one record: whatever it raises is that record's fault
                if not isinstance(error, (ValidationError, ValueError, TypeError)):
                    log.exception("article_check_failed_unexpectedly", partition=record.partition,
                                  offset=record.offset)
                refused.append((record, error))
        self._dead_letter(refused)
        return checked

    def _dead_letter(self, refused: list[tuple[ConsumerRecord, Exception]]) -> None:
        """Send each record with the reason it cannot be stored, and wait until the letters are durable."""
        letters = []
        for record, error in refused:
            letter = dead_letter(STAGE, record, error, max_bytes=self.max_message_bytes)
            DEAD_LETTERS.labels(STAGE, letter.error_class).inc()
            log.warning("dead_lettered", partition=record.partition, offset=record.offset,
                        error_class=letter.error_class)
            letters.append(self.producer.send(self.topics.dead_letter, key=record.key, value=letter.to_bytes()))
        if letters:  # dead letters must be durable before their offsets are stored
            try:
                self.producer.flush(timeout=60)
                for future in letters:
                    future.get(timeout=60)
            except Exception as error:
                raise TransientError(f"dead-letter produce failed: {error}") from error

    def _record(self, articles: list[Article], result: WriteResult, offsets: dict[tuple[str, int], int],
                now: datetime) -> None:
        self._positions(offsets)
        metrics.ROWS_WRITTEN.labels("inserted").inc(result.inserted)
        metrics.ROWS_WRITTEN.labels("already_stored").inc(result.skipped)
        metrics.BATCH_SIZE.observe(len(articles))
        # Only what this write stored: an article already there (read again after a rewind, a replay, a
        # redrive or a redelivery) keeps its fetch time of long ago, and counted, it paged as the latency
        # objective burning while nothing new was late.
        for article in result.new_articles:
            metrics.END_TO_END_LATENCY.observe(max(0.0, (now - article.fetched_at).total_seconds()))
        if articles:
            log.info("batch_written", inserted=result.inserted, already_stored=result.skipped)

    def _positions(self, offsets: dict[tuple[str, int], int]) -> None:
        for (_, partition), offset in offsets.items():
            self.offsets.positions[partition] = offset
            metrics.STORED_OFFSET.labels(str(partition)).set(offset)


def _reaches_back(first: int, stored: int | None) -> bool:
    """Whether records from offset ``first`` on hold a partition's stored offset (None: its beginning, which
    is not known here)."""
    return stored is not None and first <= stored


class Checked(NamedTuple):
    """A record the sink can store: its article, and the JSON to store for it."""

    record: ConsumerRecord
    article: Article
    payload: str


def _storable(raw: bytes, article: Article) -> str:
    """The JSON to store for the article the record ``raw`` carried: the article as the topic carried it,
    fields this version does not know included (a newer producer's compatible additions, which the read
    API serves), and those it knows as the model reads them: the database's queries read some of them
    (pubstatus, embargoed_until) and the read API describes them. A message from wirefeed's normalizer is
    in that form already, and is stored as it came."""
    known = article.to_bytes()
    if raw == known:
        _refuse_nul(raw, article.model_dump)  # dumped only for a message that may hold a NUL: most do not
        return known.decode()
    received = without_lone_surrogates(json.loads(raw))  # as the article's own fields were read
    _refuse_nul(raw, lambda: received)
    return json.dumps(_merged(received, article.model_dump(mode="json")), ensure_ascii=False, allow_nan=False)


def _refuse_nul(raw: bytes, value: Callable[[], Any]) -> None:
    """Reject what no engine can store alike: PostgreSQL text and JSONB cannot hold NUL characters.

    Without this a NUL would fail the batch's insert forever (not a transient error) and stop the sink.
    JSON must escape NUL, so messages without the escape sequence skip the walk over the fields, and
    ``value`` (the message's fields) is only made for those: dumping every article cost ~4 µs of the ~35 µs
    the sink spends checking one.
    """
    if b"\\u0000" in raw and _has_nul(value()):
        raise ValueError("the article contains a NUL character, which PostgreSQL cannot store")


def _merged(received: Any, known: Any) -> Any:
    """``known`` (a message's fields as its model reads them) with what ``received`` (the message) has beyond
    them: the fields of its objects, at any depth, that the model does not know."""
    if isinstance(received, dict) and isinstance(known, dict):
        return {**received, **{name: _merged(received.get(name), value) for name, value in known.items()}}
    if isinstance(received, list) and isinstance(known, list) and len(received) == len(known):
        return [_merged(item, value) for item, value in zip(received, known, strict=True)]
    return known


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_has_nul(v) for v in value)
    return False
