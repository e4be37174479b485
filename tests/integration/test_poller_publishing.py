"""The poller's publisher against the real broker, driven as the poller drives it: many feeds'
publishes at once through one producer, each waiting for its own acknowledgements; and against a broker
gone before the producer learnt the topic (a 127.0.0.1 port nothing listens on), where kafka-python's
``send()`` waits up to its ``max_block_ms`` for the topic's metadata."""

from __future__ import annotations

import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait

import pytest
from kafka import KafkaProducer, TopicPartition

from services.core.config import CommonSettings
from services.core.kafka import make_consumer, make_producer
from services.poller.service import (
    PUBLISH_WAIT_SLICE_SECONDS,
    KafkaPublisher,
    PublishStoppedError,
    PublishTimeoutError,
    publishing_producer,
)
from tests.factories import raw_item
from tests.helpers import free_port, in_thread, wait_for
from tests.integration.kafka_helpers import settings_for

pytestmark = pytest.mark.kafka

THREADS, PUBLISHES, ITEMS = 64, 10, 20
# What a busy CI host may add to a bounded wait: far short of kafka-python's 60 s the deadlines guard against.
BUSY_HOST_SLACK_SECONDS = 5.0


def test_many_feeds_publishing_at_once_are_all_acknowledged_in_time(kafka_bootstrap: str,
                                                                    topic_prefix: str) -> None:
    settings = settings_for(kafka_bootstrap, topic_prefix)
    topic = settings.topics.raw_items
    producer = make_producer(settings)
    publish = KafkaPublisher(producer, topic, timeout=30)

    def feed(n: int) -> None:
        for poll in range(PUBLISHES):
            publish([raw_item(poll * ITEMS + k, feed_id=f"feed-{n}") for k in range(ITEMS)])

    try:
        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            feeds = [pool.submit(feed, n) for n in range(THREADS)]
            done, not_done = wait(feeds, timeout=120)
            assert not not_done, f"{len(not_done)} of {THREADS} publishing threads still waiting after 120 s"
            for future in done:
                future.result()  # a publish that failed or timed out raises here
    finally:
        producer.close(timeout=10)
    assert _messages_in(settings, topic) == THREADS * PUBLISHES * ITEMS


def test_a_publish_to_a_broker_gone_before_the_topic_was_known_ends_by_its_deadline() -> None:
    producer = _producer_of_a_gone_broker()
    publish = KafkaPublisher(producer, "raw", timeout=1.0)
    started = time.monotonic()
    try:
        with pytest.raises(PublishTimeoutError):
            in_thread(lambda: publish([raw_item(1)]), timeout=20)  # not kafka-python's 60 s
        assert time.monotonic() - started < 1.0 + PUBLISH_WAIT_SLICE_SECONDS + BUSY_HOST_SLACK_SECONDS  # the last slice
    finally:
        producer.close(timeout=0)


def test_closing_the_publisher_ends_a_publish_waiting_for_the_topic() -> None:
    producer = _producer_of_a_gone_broker()
    publish = KafkaPublisher(producer, "raw", timeout=60)
    failures: list[BaseException] = []

    def run() -> None:
        try:
            publish([raw_item(1)])
        except BaseException as error:
            failures.append(error)

    publishing = threading.Thread(target=run, daemon=True)
    publishing.start()
    try:
        wait_for(lambda: _inside(publishing, "_wait_on_metadata"), timeout=20,
                 message="the publish waiting in kafka-python for the topic's metadata")
        publish.close()
        closed = time.monotonic()
        publishing.join(20)
        assert not publishing.is_alive(), "the publish still waits for the topic"
        assert time.monotonic() - closed < PUBLISH_WAIT_SLICE_SECONDS + BUSY_HOST_SLACK_SECONDS
        assert [type(error) for error in failures] == [PublishStoppedError]
        with pytest.raises(PublishStoppedError):
            publish([raw_item(2)])  # a closed publisher sends nothing
    finally:
        producer.close(timeout=0)


def _inside(thread: threading.Thread, function: str) -> bool:
    """Whether the thread is running ``function`` now (somewhere in its stack)."""
    frame = sys._current_frames().get(thread.ident or 0)
    while frame is not None:
        if frame.f_code.co_name == function:
            return True
        frame = frame.f_back
    return False


def _producer_of_a_gone_broker() -> KafkaProducer:
    """The poller's producer for a broker that went away before it asked for any topic's metadata. The
    API version is given so that it is made without a broker, as one made while Kafka was up is."""
    settings = CommonSettings(kafka_bootstrap_servers=f"127.0.0.1:{free_port()}")  # type: ignore[arg-type]
    return publishing_producer(settings, api_version=(4, 0))


def _messages_in(settings: CommonSettings, topic: str) -> int:
    consumer = make_consumer(settings, f"{topic}-count")
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        return sum(consumer.end_offsets(partitions).values())
    finally:
        consumer.close(autocommit=False)
