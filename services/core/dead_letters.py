"""``wirefeed dead-letters``: read the dead-letter topic, and send letters back to where they came from.

A stage that cannot process a message dead-letters it with why (``schemas.DeadLetter``) and goes on. Once
the cause is fixed (a normalizer that reads the new field, a store that takes the value), ``redrive``
publishes each chosen letter's payload, with its original key, to the topic it was read from, where the
stage reads it like any other message. A letter sent back twice is still one article: the normalizer's
dedup drops a raw item it has already published, and the sink an article id it has already stored.

Letters are read without a consumer group, from a point in time (or the first one retained) up to the end
of the topic when the command starts, so the running services are undisturbed. Neither command creates a
topic: a missing one (the dead-letter topic, or the topic a letter goes back to) is said and refused, as
Kafka would otherwise create it on first use with its own defaults, not the services' settings. One
deleted after the redrive checked it ends the redrive ``SEND_TIMEOUT_SECONDS`` after its last acknowledged
letter (kafka-python would wait 60 s for its metadata, and retry its records for 120 s), with a one-line
error: nothing is taken off the dead-letter topic, so a redrive run again once the topic exists sends
every letter again.
"""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

import structlog
from kafka import KafkaProducer
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import KafkaError, KafkaTimeoutError
from kafka.producer.future import FutureRecordMetadata
from pydantic import ValidationError

from schemas import DeadLetter
from services.core.config import CommonSettings
from services.core.errors import TopicMissingError
from services.core.kafka import (
    admin_client,
    close_producer,
    make_consumer,
    make_producer,
    missing_topic,
    no_session,
    read_until,
    require_broker,
    seek_since,
)

log = structlog.get_logger(__name__)

#: Sends awaited at a time: a redrive of millions of letters keeps this many futures, not millions.
SEND_WINDOW = 10_000
#: How long a redrive waits for a topic's metadata, and for the broker to acknowledge the letters it sent.
SEND_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Selection:
    """Which letters a command acts on: written at or after ``since``, by ``stage``, of ``error_class``."""

    since: datetime | None = None
    stage: str | None = None
    error_class: str | None = None

    def __call__(self, letter: DeadLetter) -> bool:
        return ((self.stage is None or letter.stage == self.stage)
                and (self.error_class is None or letter.error_class == self.error_class))


@dataclass(frozen=True)
class Found:
    """A letter, and the record it came in: that record's key is the original message's key, as bytes."""

    record: ConsumerRecord
    letter: DeadLetter


@dataclass
class LetterReader:
    """The selected letters of the dead-letter topic; records that are not letters are noted, not fatal."""

    settings: CommonSettings
    selection: Selection
    unreadable: list[str] = field(default_factory=list)  # "partition:offset" of each

    def __iter__(self) -> Iterator[Found]:
        require_broker(self.settings)
        try:
            consumer = make_consumer(self.settings, None, client_id="wirefeed-dead-letters",  # type: ignore[arg-type]
                                     allow_auto_create_topics=False)
        except KafkaError as error:  # reachable, but no session: a refused login, TLS against plaintext
            raise no_session(self.settings, error) from error
        try:
            topic = self.settings.topics.dead_letter
            if not consumer.partitions_for_topic(topic):  # else "0 dead letters", as if all were well
                raise missing_topic(self.settings, topic)
            _, end = seek_since(consumer, topic, self.selection.since)
            for records in read_until(consumer, end):
                yield from self._letters(records)
        finally:
            consumer.close(autocommit=False)

    def _letters(self, records: list[ConsumerRecord]) -> Iterator[Found]:
        for record in records:
            try:
                letter = DeadLetter.from_json(record.value)
            except (ValidationError, ValueError):
                self.unreadable.append(f"{record.partition}:{record.offset}")
                continue
            if self.selection(letter):
                yield Found(record, letter)


@dataclass
class RedriveResult:
    sent: Counter[str] = field(default_factory=Counter)  # topic -> letters sent back to it
    skipped: Counter[str] = field(default_factory=Counter)  # reason -> letters
    missing: Counter[str] = field(default_factory=Counter)  # topic that does not exist -> letters not sent to it


def redrive(settings: CommonSettings, letters: Iterable[Found], *, dry_run: bool = False,
            send_timeout: float = SEND_TIMEOUT_SECONDS) -> RedriveResult:
    """Publish each letter's payload to its original topic (acknowledged by all replicas), or, with
    ``dry_run``, only count what would be sent and what would be skipped. Letters whose topic does not
    exist are not sent (``missing``): sending would have the broker create it. A topic that cannot be
    written within ``send_timeout`` (deleted since it was checked) raises ``TopicNotWritableError``."""
    result = RedriveResult()
    require_broker(settings)
    existing = _existing_topics(settings)
    # Not created even if one is deleted meanwhile: the send fails instead, after send_timeout.
    producer = None if dry_run else make_producer(settings, role="redrive", allow_auto_create_topics=False,
                                                   max_block_ms=int(send_timeout * 1000))
    pending: list[tuple[str, FutureRecordMetadata]] = []
    try:
        for found in letters:
            reason = unsendable(found.letter, settings)
            if reason:
                result.skipped[reason] += 1
                continue
            if found.letter.topic not in existing:
                result.missing[found.letter.topic] += 1
                continue
            if producer is not None:
                pending.append((found.letter.topic, _send(producer, found, send_timeout)))
                if len(pending) >= SEND_WINDOW:
                    _await(pending, send_timeout)
            result.sent[found.letter.topic] += 1
        if producer is not None:
            _await(pending, send_timeout)
    finally:
        if producer is not None:  # after a failure: what is left is failed at once, not waited for
            close_producer(producer, send_timeout)
    log.info("dead_letters_redriven", dry_run=dry_run, sent=dict(result.sent), skipped=dict(result.skipped),
             missing=dict(result.missing))
    return result


class TopicNotWritableError(TopicMissingError):
    """A letter's topic existed when the redrive began and cannot be written now: deleted since, most likely."""


def not_writable(topic: str, timeout: float) -> TopicNotWritableError:
    return TopicNotWritableError(
        f"topic {topic} could not be written within {timeout:g} s (deleted since the redrive checked it?); no "
        "letter was taken off the dead-letter topic: run the redrive again once the topic exists")


def _existing_topics(settings: CommonSettings) -> set[str]:
    with admin_client(settings) as admin:
        return set(admin.list_topics())


def original_value(letter: DeadLetter) -> bytes:
    """The value of the record the letter stands for, as the stage read it (unless shortened): its bytes in
    base64 when they were not UTF-8, else its text."""
    if letter.payload_base64 is not None:
        return base64.b64decode(letter.payload_base64)
    return letter.payload.encode()


def unsendable(letter: DeadLetter, settings: CommonSettings) -> str | None:
    """Why the letter cannot be sent back as it came, or None."""
    if "payload_bytes" in letter.details and letter.payload_base64 is None:  # base64 is never shortened
        return "payload shortened to fit the dead-letter topic"
    if letter.error_class == "UndecodableBatchError":  # its records were never read; the letter names them
        return "a record batch that could not be decompressed, without its records"
    # A letter names its topic; only wirefeed's own input topics are written to, whatever a record claims.
    if letter.topic not in (settings.topics.raw_items, settings.topics.articles):
        return "read from a topic that is not a wirefeed input topic"
    return None


def _send(producer: KafkaProducer, found: Found, timeout: float) -> FutureRecordMetadata:
    try:
        return producer.send(found.letter.topic, key=found.record.key, value=original_value(found.letter))
    except KafkaTimeoutError as error:  # its metadata did not come within max_block_ms: the topic is gone
        raise not_writable(found.letter.topic, timeout) from error


def _await(pending: list[tuple[str, FutureRecordMetadata]], timeout: float) -> None:
    """Wait for every pending letter's acknowledgement, each within ``timeout`` of the one before: a record
    to a topic deleted after its first letters went is otherwise retried for the producer's whole delivery
    timeout. Not all within ``timeout``: a window of large letters takes longer to a healthy broker."""
    for topic, future in pending:
        try:
            future.get(timeout=timeout)
        except KafkaTimeoutError as error:
            raise not_writable(topic, timeout) from error
    pending.clear()
