"""A stream of raw items through normalizer and sink processes, with faults, and the accounting after.

Every scenario offers N distinct raw items (plus some poison messages) to the raw-items topic while a
fault happens, then checks what the promise says: each item stored exactly once, or accounted for in
the dead-letter topic; the services recover on their own; partitions keep advancing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from kafka import KafkaProducer, TopicPartition

from schemas import DeadLetter, RawItem
from services.core.config import CommonSettings
from services.core.db import Database
from services.core.kafka import ensure_topics, make_consumer, make_producer
from services.core.supervise import Pipeline
from tests.factories import raw_item
from tests.helpers import free_port, wait_for
from tests.integration.kafka_helpers import read_all


@dataclass
class Row:
    fault: str
    offered: int
    stored: int
    lost: int
    doubled: int
    dead_lettered: int


@dataclass
class Results:
    rows: list[Row] = field(default_factory=list)

    def table(self) -> str:
        header = f"{'fault':<58} {'offered':>8} {'stored':>7} {'lost':>5} {'doubled':>8} {'dead-lettered':>14}"
        lines = [header, "-" * len(header)]
        lines += [f"{r.fault:<58} {r.offered:>8} {r.stored:>7} {r.lost:>5} {r.doubled:>8} {r.dead_lettered:>14}"
                  for r in self.rows]
        return "\n".join(lines)


RESULTS = Results()


@dataclass
class Stream:
    """Raw items offered to the pipeline, and what storage made of them."""

    bootstrap: str
    prefix: str
    database_url: str
    replication_factor: int = 1
    poison_every: int = 50
    offered: list[RawItem] = field(default_factory=list)
    poison: int = 0

    @property
    def settings(self) -> CommonSettings:
        return CommonSettings(kafka_bootstrap_servers=self.bootstrap, topic_prefix=self.prefix,  # type: ignore[arg-type]
                              topic_partitions=3, topic_replication_factor=self.replication_factor,
                              database_url=self.database_url)

    def env(self, **extra: str) -> dict[str, str]:
        return {
            "WIREFEED_KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "WIREFEED_TOPIC_PREFIX": self.prefix,
            "WIREFEED_TOPIC_PARTITIONS": "3",
            "WIREFEED_TOPIC_REPLICATION_FACTOR": str(self.replication_factor),
            "WIREFEED_DATABASE_URL": self.database_url,
            "WIREFEED_LOG_FORMAT": "json",
            "WIREFEED_LOG_LEVEL": "WARNING",
            "WIREFEED_MAX_BATCH": "25",
            **extra,
        }

    def create_topics(self) -> None:
        ensure_topics(self.settings, self.settings.topics.all())

    def producer(self) -> KafkaProducer:
        return make_producer(self.settings, role="reliability-feeder")

    def offer(self, producer: KafkaProducer, count: int, partition: int | None = None) -> None:
        """Send ``count`` new items (and a poison message every ``poison_every``), retrying until acked."""
        for _ in range(count):
            n = len(self.offered)
            item = raw_item(n, feed_id=f"feed-{n % 4}", body=f"<p>Report {n} from {self.prefix}.</p>",
                            title=f"{self.prefix} story {n}")
            self._send_until_acked(producer, item.item_id.encode(), item.to_bytes(), partition)
            self.offered.append(item)
            if n % self.poison_every == self.poison_every - 1:
                self._send_until_acked(producer, b"poison", b'{"item_id": 42}')
                self.poison += 1

    def _send_until_acked(self, producer: KafkaProducer, key: bytes, value: bytes,
                          partition: int | None = None) -> None:
        # A resend after an unknown outcome may duplicate the raw message; the pipeline must absorb that.
        def sent() -> bool:
            try:
                producer.send(self.settings.topics.raw_items, key=key, value=value,
                              partition=partition).get(timeout=30)
            except Exception:
                return False
            return True

        wait_for(sent, timeout=180, interval=0.5, message="the broker to acknowledge an item")

    def stored(self) -> tuple[int, int]:
        """(rows, distinct item ids) in storage."""
        db = Database(self.database_url)
        try:
            rows = db.query("SELECT COUNT(*), COUNT(DISTINCT payload_item) FROM "
                            "(SELECT article_id, " + _item_expr(db) + " AS payload_item FROM articles) t")
        finally:
            db.close()
        return int(rows[0][0]), int(rows[0][1])

    def dead_letters(self, timeout: float = 5) -> int:
        letters = read_all(self.settings, self.settings.topics.dead_letter, 10**6, timeout=timeout)
        origins = {(d.topic, d.partition, d.offset) for d in (DeadLetter.model_validate_json(v) for _, v in letters)}
        return len(origins)

    def wait_drained(self, timeout: float = 180) -> None:
        wait_for(lambda: self.stored()[1] >= len(self.offered), timeout=timeout, interval=0.5,
                 message=f"{len(self.offered)} items stored")

    def account(self, fault: str) -> Row:
        rows, distinct = self.stored()
        dead = self.dead_letters()
        row = Row(fault=fault, offered=len(self.offered) + self.poison, stored=distinct,
                  lost=len(self.offered) - distinct + max(0, self.poison - dead),
                  doubled=rows - distinct, dead_lettered=dead)
        RESULTS.rows.append(row)
        return row


def _item_expr(db: Database) -> str:
    # The article's item id lives in the JSON payload; both engines can read it without a schema change.
    return "payload->>'item_id'" if db.dialect == "postgresql" else "json_extract(payload, '$.item_id')"


@contextmanager
def pipeline(env: dict[str, str], services: tuple[str, ...] = ("normalizer", "sink")) -> Iterator[Pipeline]:
    ports = {f"WIREFEED_{name.upper()}_METRICS_PORT": str(free_port()) for name in services}
    running = Pipeline({**env, **ports}, services=services).start()
    try:
        running.wait_ready(timeout=120)
        yield running
    finally:
        codes = running.stop()
        assert all(code == 0 for code in codes.values()), f"unclean stop: {codes}"


@contextmanager
def feeding(stream: Stream, producer: KafkaProducer, count: int, chunk: int = 10) -> Iterator[threading.Thread]:
    """Offer ``count`` items from a background thread while the block injects faults."""
    errors: list[BaseException] = []

    def feed() -> None:
        try:
            for _ in range(count // chunk):
                stream.offer(producer, chunk)
        except BaseException as error:  # surfaced in the test thread below
            errors.append(error)

    thread = threading.Thread(target=feed, daemon=True)
    thread.start()
    yield thread
    thread.join(300)
    assert not thread.is_alive(), "feeder stuck"
    assert not errors, errors


def assert_promise_kept(row: Row, expected_dead: int) -> None:
    assert row.lost == 0, row
    assert row.doubled == 0, row
    assert row.dead_lettered == expected_dead, row


def keep_advancing(stream: Stream, producer: KafkaProducer, per_partition: int = 4) -> None:
    """After the faults: new items still flow through every partition without a restart by hand.

    Items go to each raw-items partition explicitly; then the normalizer's committed offsets must reach
    the end of every raw-items partition, and the sink's stored offsets the end of every articles one.
    """
    for partition in range(3):
        stream.offer(producer, per_partition, partition=partition)
    stream.wait_drained(timeout=120)
    topics = stream.settings.topics
    wait_for(lambda: _caught_up(stream, topics.raw_items, _committed(stream, topics.raw_items)), timeout=60,
             message="the normalizer's offsets at the end of every raw-items partition")
    wait_for(lambda: _caught_up(stream, topics.articles, _stored(stream, topics.articles)), timeout=60,
             message="the sink's stored offsets at the end of every articles partition")


def _caught_up(stream: Stream, topic: str, positions: dict[int, int]) -> bool:
    consumer = make_consumer(stream.settings, None)  # type: ignore[arg-type]
    try:
        partitions = [TopicPartition(topic, p) for p in range(3)]
        ends = consumer.end_offsets(partitions)
    finally:
        consumer.close(autocommit=False)
    return all(positions.get(tp.partition, -1) >= end for tp, end in ends.items())


def _committed(stream: Stream, topic: str) -> dict[int, int]:
    consumer = make_consumer(stream.settings, f"{stream.prefix}-normalizer")
    try:
        return {p: consumer.committed(TopicPartition(topic, p)) or 0 for p in range(3)}
    finally:
        consumer.close(autocommit=False)


def _stored(stream: Stream, topic: str) -> dict[int, int]:
    db = Database(stream.database_url)
    try:
        rows = db.query("SELECT partition, next_offset FROM sink_offsets WHERE topic = ?", (topic,))
    finally:
        db.close()
    return {int(partition): int(offset) for partition, offset in rows}


Fault = Callable[[], None]
