"""An unavailable database: the sink stops fetching while it retries, loses nothing, doubles nothing.

SQLite is made unavailable by another connection holding ``BEGIN EXCLUSIVE`` (the sink's writes then
fail with "database is locked"); PostgreSQL by stopping the separate ``faults`` cluster. The consume
loop runs in-process here so the test can count its polls: while the database is down every poll is
followed by a failed batch and a backoff, so polls stay in step with failures instead of spinning.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol

import pytest
from kafka import KafkaConsumer, TopicPartition
from prometheus_client import REGISTRY

from services.core.db import TRANSIENT_ERRORS, Database
from services.core.kafka import make_consumer, make_producer
from services.sink.service import SinkBatch, StoredOffsets
from services.sink.store import SqlStore
from tests.factories import article
from tests.helpers import wait_for
from tests.integration.kafka_helpers import consumer_loop, running, settings_for

if TYPE_CHECKING:
    from tests.integration.conftest import FaultsCluster

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


class Outage(Protocol):
    def begin(self) -> None: ...
    def end(self) -> None: ...


class SqliteLocked:
    def __init__(self, url: str) -> None:
        self.conn = sqlite3.connect(url.split("sqlite:///", 1)[1], isolation_level=None)

    def begin(self) -> None:
        self.conn.execute("BEGIN EXCLUSIVE")

    def end(self) -> None:
        self.conn.execute("ROLLBACK")
        self.conn.close()


class PostgresStopped:
    def __init__(self, cluster: FaultsCluster) -> None:
        self.cluster = cluster

    def begin(self) -> None:
        self.cluster.stop()

    def end(self) -> None:
        self.cluster.start()


class CountingConsumer:
    """Counts polls, otherwise the real consumer."""

    def __init__(self, consumer: KafkaConsumer) -> None:
        self._consumer = consumer
        self.polls = 0
        self._lock = threading.Lock()

    def poll(self, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            self.polls += 1
        return self._consumer.poll(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._consumer, name)


@pytest.fixture(params=["sqlite-locked", "postgresql-stopped"])
def outage(request: pytest.FixtureRequest) -> Iterator[tuple[str, Outage]]:
    if request.param == "sqlite-locked":
        url = str(request.getfixturevalue("sqlite_url"))
        yield url, SqliteLocked(url)
    else:
        url = str(request.getfixturevalue("faults_database"))
        yield url, PostgresStopped(request.getfixturevalue("faults_cluster"))


@pytest.mark.timeout(180)
def test_while_the_database_is_unavailable_the_sink_backs_off_and_afterwards_stores_everything_once(
        kafka_bootstrap: str, topic_prefix: str, outage: tuple[str, Outage]) -> None:
    url, fault = outage
    settings = settings_for(kafka_bootstrap, topic_prefix, url)
    topic = settings.topics.articles
    store = SqlStore(Database(url))
    store.migrate()
    if store.db.dialect == "sqlite":
        # A locked SQLite waits busy_timeout (30 s) before failing; a short one makes the outage visible.
        store.db._sqlite.execute("PRAGMA busy_timeout=200")
    producer = make_producer(settings)

    def produce(numbers: range) -> None:
        for n in numbers:
            a = article(n, story=f"story-{n % 70}", version=n // 70 + 1)
            producer.send(topic, key=a.story_id.encode(), value=a.to_bytes())
        producer.flush()

    consumer = CountingConsumer(make_consumer(settings, f"{topic_prefix}-sink", max_poll_records=17))
    offsets = StoredOffsets(consumer, store, topic)
    consumer.subscribe([topic], listener=offsets)
    loop = consumer_loop(consumer, SinkBatch(store, producer, settings.topics, offsets),
                         commit=lambda _: None, max_records=17, max_backoff=4.0)
    with running(loop):
        produce(range(100))
        wait_for(lambda: store.count() == 100, message="the first 100 stored")
        fault.begin()
        try:
            polls, failures, retried = consumer.polls, loop.failures, _batches_retried()
            produce(range(100, 210))
            wait_for(lambda: loop.failures - failures >= 3, timeout=60, message="three failed attempts")
            assert not store.ping()
            polls_down, failures_down = consumer.polls - polls, loop.failures - failures
            assert _batches_retried() - retried == failures_down  # each one counted, for the dashboard
        finally:
            fault.end()
        # The test's own pool reconnects with back-off after the restart; until it does, ask again.
        wait_for(lambda: _count_when_reachable(store) == 210, timeout=90, message="everything stored after the outage")
        wait_for(lambda: sum(store.offsets(topic).values()) == 210, message="offsets at the end")
    ends = _end_offsets(consumer, topic)
    consumer.close(autocommit=False)
    # No spinning: each poll during the outage was followed by a failed write and a backoff.
    print(f"during the outage: {polls_down} polls, {failures_down} failed attempts")
    assert polls_down <= failures_down + 1, (polls_down, failures_down)
    ids = [a.id for a in store.export()]
    assert sorted(ids) == [f"article-{n:06d}" for n in range(210)]
    assert store.db.query("SELECT COUNT(*), COUNT(DISTINCT article_id) FROM articles") == [(210, 210)]
    assert store.offsets(topic) == ends
    store.close()
    producer.close()


def _batches_retried() -> float:
    """The consume loop's count of batches retried, whatever the error (the pool's timeout, a refused
    connection, a locked SQLite)."""
    return sum(sample.value for family in REGISTRY.collect() if family.name == "wirefeed_batches_retried"
               for sample in family.samples
               if sample.name.endswith("_total") and sample.labels["stage"] == "test")


def _end_offsets(consumer: CountingConsumer, topic: str) -> dict[int, int]:
    partitions = [TopicPartition(topic, p) for p in range(3)]
    return {tp.partition: int(o) for tp, o in consumer.end_offsets(partitions).items()}


def _count_when_reachable(store: SqlStore) -> int | None:
    try:
        return store.count()
    except TRANSIENT_ERRORS:
        return None
