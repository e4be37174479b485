"""KafkaPublisher's waiting, with kafka-python's own record futures and a producer that never acks.

A publish must end by its deadline whatever the broker does: acknowledged, failed with the send's
error, or ``PublishTimeoutError``, which the poller turns into a ``publish_error`` retried later.
"""

from __future__ import annotations

import time

import pytest
from kafka.errors import KafkaTimeoutError
from kafka.producer.future import FutureProduceResult, FutureRecordMetadata
from kafka.structs import TopicPartition

from services.poller.feeds import FeedConfig
from services.poller.fetch import Fetcher, FetchLimits
from services.poller.service import KafkaPublisher, Poller, PublishTimeoutError
from services.poller.state import PollerStore
from tests.factories import raw_item
from tests.helpers import FeedServer, Resource, rss

STORY = {"title": "Storm hits coast", "link": "http://example.com/a", "guid": "a-1", "body": "<p>Rain.</p>"}


class Producer:
    """Records sends; each record's batch is acknowledged at once unless ``acks`` is off."""

    def __init__(self, acks: bool = True) -> None:
        self.acks = acks
        self.sent: list[bytes] = []
        self.batches: list[FutureProduceResult] = []

    def send(self, topic: str, key: bytes, value: bytes) -> FutureRecordMetadata:
        batch = FutureProduceResult(TopicPartition(topic, 0))
        record = FutureRecordMetadata(batch, 0, 0, None, len(key), len(value), -1)
        self.batches.append(batch)
        self.sent.append(key)
        if self.acks:
            batch.success((len(self.sent) - 1, -1, None))
        return record

    def partitions_for(self, topic: str) -> set[int]:
        return {0}

    def flush(self, timeout: float | None = None) -> None:
        raise AssertionError("flush() waits on every thread's batches: a publish must wait on its own only")


def test_a_publish_the_broker_does_not_acknowledge_in_time_raises_instead_of_hanging() -> None:
    publish = KafkaPublisher(Producer(acks=False), "raw", timeout=0.2)
    started = time.monotonic()
    with pytest.raises(PublishTimeoutError):
        publish([raw_item(1), raw_item(2)])
    assert time.monotonic() - started < 5


def test_one_deadline_covers_all_of_a_feeds_items() -> None:
    publish = KafkaPublisher(Producer(acks=False), "raw", timeout=0.3)
    started = time.monotonic()
    with pytest.raises(PublishTimeoutError):
        publish([raw_item(n) for n in range(50)])  # not 50 waits of 0.3 s each
    assert time.monotonic() - started < 5


def test_a_publish_waits_for_its_own_records_not_for_other_feeds_batches() -> None:
    producer = Producer(acks=False)
    producer.send("raw", b"another feed", b"its batch is never acknowledged")
    producer.acks = True
    KafkaPublisher(producer, "raw", timeout=5)([raw_item(1), raw_item(2)])  # returns: its own records are acked
    assert producer.sent[1:] == [b"feed-a:guid-1", b"feed-a:guid-2"]


def test_a_record_the_producer_gave_up_on_raises_the_sends_own_error() -> None:
    producer = Producer(acks=False)
    publish = KafkaPublisher(producer, "raw", timeout=5)
    expired = KafkaTimeoutError("Expiring 1 record(s): 120000 ms has passed since batch creation")
    original_send = producer.send

    def send_and_expire(topic: str, key: bytes, value: bytes) -> FutureRecordMetadata:
        record = original_send(topic, key, value)
        producer.batches[-1].failure(expired)
        return record

    producer.send = send_and_expire  # type: ignore[method-assign]
    with pytest.raises(KafkaTimeoutError) as raised:
        publish([raw_item(1)])
    assert not isinstance(raised.value, PublishTimeoutError) and raised.value is expired


async def poll(server: FeedServer, store: PollerStore, producer: Producer) -> str:
    feed = FeedConfig(id="coast", url=server.url("/feed.xml"), interval=60)
    poller = Poller([feed], store, Fetcher(FetchLimits(allow_private_networks=True)),
                    KafkaPublisher(producer, "raw", timeout=0.2))
    poller.load_states()
    try:
        return (await poller.poll(feed)).outcome
    finally:
        await poller.fetcher.aclose()


async def test_an_unacknowledged_publish_is_a_feed_error_and_the_items_go_out_on_the_next_poll(
        feed_server: FeedServer, store: PollerStore) -> None:
    feed_server.resources["/feed.xml"] = Resource(rss("Coast", [STORY]), headers={"ETag": '"v1"'})
    assert await poll(feed_server, store, Producer(acks=False)) == "publish_error"
    state = store.feed_state("coast", feed_server.url("/feed.xml"))
    assert state.consecutive_failures == 1 and state.etag is None and state.body_hash is None
    assert "not acknowledged" in (state.last_error or "")
    assert store.known_hashes("coast", ["coast:a-1"]) == {}  # not remembered as published
    acking = Producer()
    assert await poll(feed_server, store, acking) == "ok"
    assert acking.sent == [b"coast:a-1"]
