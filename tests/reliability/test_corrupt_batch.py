"""A record batch corrupted in the broker's log: its CRC check fails, the consumer stops at it (its
offsets are not covered by anything trustworthy, so passing it could skip good records) and says so in
metrics and readiness; once a good copy is served again (a replica, a repaired log, or corruption that was
on the wire) it reads on, nothing skipped. With no good copy left, the operator moves the stage past it
(`wirefeed positions`), and it reads on from there."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from kafka.consumer.fetcher import ConsumerRecord
from prometheus_client import REGISTRY
from structlog.testing import capture_logs

from services.cli import main
from services.core.config import CommonSettings
from services.core.kafka import make_consumer, make_producer
from tests.helpers import wait_for
from tests.integration.kafka_helpers import consumer_loop, group_is_empty, running, settings_for
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


def corrupted_topic(cluster: Cluster, prefix: str) -> tuple[CommonSettings, Path, int]:
    """Three records on partition 0 of the raw topic, a batch each, the middle one's corrupted on disk:
    the settings, the segment, and where its byte was flipped."""
    settings = settings_for(cluster.bootstrap, prefix)
    topic = settings.topics.raw_items
    producer = make_producer(settings)
    for value in (b"first", MIDDLE, b"third"):
        producer.send(topic, value=value, partition=0).get(timeout=30)  # a batch each
    producer.close(timeout=30)
    segment = next(cluster.directory.glob(f"node*/data/{topic}-0/*.log"))
    at = segment.read_bytes().index(MIDDLE) + len(MIDDLE) // 2
    flip_byte(segment, at)
    return settings, segment, at


def failures(stage: str) -> float:
    value = REGISTRY.get_sample_value("wirefeed_consumer_poll_failures_total",
                                      {"stage": stage, "error_class": "CorruptRecordError"})
    return value or 0.0


def test_a_batch_failing_its_crc_stops_the_partition_visibly_and_reads_on_once_served_whole(
        single_broker: Cluster) -> None:
    prefix = f"crc-{uuid.uuid4().hex[:8]}"
    settings, segment, at = corrupted_topic(single_broker, prefix)
    read: list[bytes] = []

    def process(records: list[ConsumerRecord]) -> None:
        read.extend(record.value for record in records)

    consumer = make_consumer(settings, f"{prefix}-reader")
    consumer.subscribe([settings.topics.raw_items])
    loop = consumer_loop(consumer, process, stage="crc-test", max_backoff=0.5)
    with running(loop):
        wait_for(lambda: failures("crc-test") >= 3, timeout=60, message="the corrupt batch counted at each poll")
        assert read == [b"first"]  # stopped at the batch, the one after it not skipped to
        assert not loop.consuming()
        flip_byte(segment, at)  # repaired: the broker serves the batch as it was written
        wait_for(lambda: read == [b"first", MIDDLE, b"third"], timeout=60, message="read on, nothing skipped")
        wait_for(loop.consuming, message="ready again")
    consumer.close(autocommit=False)


def test_with_no_good_copy_the_operator_moves_the_stage_past_the_batch_and_it_reads_on(
        single_broker: Cluster, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    prefix = f"crc-{uuid.uuid4().hex[:8]}"
    settings, _, _ = corrupted_topic(single_broker, prefix)
    monkeypatch.setenv("WIREFEED_KAFKA_BOOTSTRAP_SERVERS", single_broker.bootstrap)
    monkeypatch.setenv("WIREFEED_TOPIC_PREFIX", prefix)
    topic, group = settings.topics.raw_items, f"{prefix}-normalizer"  # the normalizer's group
    read: list[bytes] = []

    def process(records: list[ConsumerRecord]) -> None:
        read.extend(record.value for record in records)

    consumer = make_consumer(settings, group)
    consumer.subscribe([topic])
    with capture_logs() as logs, running(consumer_loop(consumer, process, stage="crc-stuck", max_backoff=0.5)):
        wait_for(lambda: failures("crc-stuck") >= 2, timeout=60, message="stopped at the corrupt batch")
        assert read == [b"first"]
    consumer.close(autocommit=False)  # the stage stopped
    wait_for(lambda: group_is_empty(settings, group), message="its group has no member")

    # The runbook: the poll_failed line names the partition and where the batch's header puts the next one.
    said = next(line["error"] for line in logs if line["event"] == "poll_failed")
    found = re.search(r"(\S+)\[(\d+)\] at offset 1: .* next batch starts at offset (\d+)", said)
    assert found is not None, said
    assert (found[1], found[2], found[3]) == (topic, "0", "2")
    assert main(["positions", "normalizer", "--set", f"{found[2]}={found[3]}"]) == 0
    assert f"{topic}[0]: 1 -> 2 (1 record(s) skipped)" in capsys.readouterr().out

    consumer = make_consumer(settings, group)
    consumer.subscribe([topic])
    with running(consumer_loop(consumer, process, stage="crc-moved", max_backoff=0.5)) as loop:
        wait_for(lambda: read == [b"first", b"third"], timeout=60, message="read on past the batch")
        assert loop.consuming()
    consumer.close(autocommit=False)
