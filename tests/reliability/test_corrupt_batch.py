"""A record batch corrupted in the broker's log: its CRC check fails, the consumer stops at it (its
offsets are not covered by anything trustworthy, so passing it could skip good records) and says so in
metrics and readiness; once a good copy is served again (a replica, a repaired log, or corruption that was
on the wire) it reads on, nothing skipped."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from kafka.consumer.fetcher import ConsumerRecord
from prometheus_client import REGISTRY

from services.core.kafka import make_consumer, make_producer
from tests.helpers import wait_for
from tests.integration.kafka_helpers import consumer_loop, running, settings_for
from tests.reliability.conftest import Cluster

pytestmark = [pytest.mark.reliability, pytest.mark.kafka]

MIDDLE = b"second record, corrupted on the broker's disk"


def flip_byte(segment: Path, at: int) -> None:
    """Change one bit of the segment's byte ``at``, as a disk or a copy might; flipped again, it is whole."""
    with segment.open("r+b") as log:  # the broker's own reads go through the same page cache
        log.seek(at)
        byte = log.read(1)[0]
        log.seek(at)
        log.write(bytes([byte ^ 0x01]))


def test_a_batch_failing_its_crc_stops_the_partition_visibly_and_reads_on_once_served_whole(
        single_broker: Cluster) -> None:
    prefix = f"crc-{uuid.uuid4().hex[:8]}"
    settings = settings_for(single_broker.bootstrap, prefix)
    topic = settings.topics.raw_items
    producer = make_producer(settings)
    for value in (b"first", MIDDLE, b"third"):
        producer.send(topic, value=value, partition=0).get(timeout=30)  # a batch each
    producer.close(timeout=30)
    segment = next(single_broker.directory.glob(f"node*/data/{topic}-0/*.log"))
    at = segment.read_bytes().index(MIDDLE) + len(MIDDLE) // 2
    flip_byte(segment, at)

    read: list[bytes] = []

    def process(records: list[ConsumerRecord]) -> None:
        read.extend(record.value for record in records)

    def failures() -> float:
        value = REGISTRY.get_sample_value("wirefeed_consumer_poll_failures_total",
                                          {"stage": "crc-test", "error_class": "CorruptRecordError"})
        return value or 0.0

    consumer = make_consumer(settings, f"{prefix}-reader")
    consumer.subscribe([topic])
    loop = consumer_loop(consumer, process, stage="crc-test", max_backoff=0.5)
    with running(loop):
        wait_for(lambda: failures() >= 3, timeout=60, message="the corrupt batch counted at each poll")
        assert read == [b"first"]  # stopped at the batch, the one after it not skipped to
        assert not loop.consuming()
        flip_byte(segment, at)  # repaired: the broker serves the batch as it was written
        wait_for(lambda: read == [b"first", MIDDLE, b"third"], timeout=60, message="read on, nothing skipped")
        wait_for(loop.consuming, message="ready again")
    consumer.close(autocommit=False)
