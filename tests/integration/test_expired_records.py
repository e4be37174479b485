"""Records the broker deleted before a consumer read them, on the real broker: the consumer is moved to the
earliest offset left (nothing else could be read), and the records it never saw are counted and logged,
where kafka-python said so only at INFO."""

from __future__ import annotations

import pytest
from kafka import KafkaAdminClient, OffsetAndMetadata, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from prometheus_client import REGISTRY

from services.core.config import CommonSettings
from services.core.kafka import make_consumer, make_producer
from tests.helpers import wait_for
from tests.integration.kafka_helpers import consumer_loop, running, settings_for

pytestmark = pytest.mark.kafka


def expired(topic: str) -> float:
    return REGISTRY.get_sample_value("wirefeed_consumer_records_expired_total", {"topic": topic}) or 0.0


def send_numbered(settings: CommonSettings, tp: TopicPartition, count: int) -> None:
    producer = make_producer(settings)
    for n in range(count):
        producer.send(tp.topic, value=b"%d" % n, partition=tp.partition)
    producer.flush(timeout=30)
    producer.close(timeout=30)


def delete_records(bootstrap: str, tp: TopicPartition, below: int) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.delete_records({tp: below})
    finally:
        admin.close()


def test_records_deleted_before_they_were_read_are_counted_and_a_new_group_counts_none(
        kafka_bootstrap: str, topic_prefix: str) -> None:
    settings = settings_for(kafka_bootstrap, topic_prefix)
    topic, tp = settings.topics.raw_items, TopicPartition(settings.topics.raw_items, 0)
    send_numbered(settings, tp, 10)
    group = f"{topic_prefix}-normalizer"
    committer = make_consumer(settings, group)
    committer.assign([tp])
    committer.commit({tp: OffsetAndMetadata(3, "", -1)})  # the group had read 0, 1 and 2
    committer.close(autocommit=False)
    delete_records(kafka_bootstrap, tp, 8)  # as retention would, while the group was away

    def read_by(group: str) -> list[bytes]:
        read: list[bytes] = []

        def process(records: list[ConsumerRecord]) -> None:
            read.extend(record.value for record in records if record.partition == 0)

        consumer = make_consumer(settings, group)
        consumer.subscribe([topic])
        with running(consumer_loop(consumer, process)):
            wait_for(lambda: read == [b"8", b"9"], timeout=60, message="the records left read")
        consumer.close(autocommit=False)
        return read

    read_by(group)
    assert expired(topic) == 5  # offsets 3 to 7, never read by the group
    read_by(f"{topic_prefix}-new")  # a first position is no loss
    assert expired(topic) == 5


def test_a_position_sought_below_the_log_start_counts_what_it_is_moved_past(
        kafka_bootstrap: str, topic_prefix: str) -> None:
    # The sink's way: it seeks to the offsets stored with its rows, Kafka's commits aside.
    settings = settings_for(kafka_bootstrap, topic_prefix)
    topic, tp = settings.topics.articles, TopicPartition(settings.topics.articles, 1)
    send_numbered(settings, tp, 6)
    delete_records(kafka_bootstrap, tp, 4)
    consumer = make_consumer(settings, None, client_id="test")  # type: ignore[arg-type]
    consumer.assign([tp])
    consumer.seek(tp, 1)
    read: list[int] = []

    def read_on() -> bool:
        read.extend(record.offset for records in consumer.poll(timeout_ms=200).values() for record in records)
        return read[:2] == [4, 5]

    send_numbered(settings, tp, 2)  # offsets 6 and 7
    try:
        wait_for(read_on, timeout=60, message="moved to the log start and read on")
        consumer.seek(tp, 4)
        consumer.seek_to_end(tp)  # asked for: passing 4 to 7 this way is no loss
        wait_for(lambda: consumer.position(tp) == 8, message="at the end")
    finally:
        consumer.close(autocommit=False)
    assert expired(topic) == 3
