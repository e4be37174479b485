"""The poller's publisher against the real broker, driven as the poller drives it: many feeds'
publishes at once through one producer, each waiting for its own acknowledgements."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor, wait

import pytest
from kafka import TopicPartition

from services.core.config import CommonSettings
from services.core.kafka import make_consumer, make_producer
from services.poller.service import KafkaPublisher
from tests.factories import raw_item
from tests.integration.kafka_helpers import settings_for

pytestmark = pytest.mark.kafka

THREADS, PUBLISHES, ITEMS = 64, 10, 20


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


def _messages_in(settings: CommonSettings, topic: str) -> int:
    consumer = make_consumer(settings, f"{topic}-count")
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        return sum(consumer.end_offsets(partitions).values())
    finally:
        consumer.close(autocommit=False)
