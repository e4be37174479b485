"""Record batches on the real broker: every codec a producer may use is read, and a batch that cannot be
decompressed within the bound is dead-lettered by its offsets and passed, not retried for ever."""

from __future__ import annotations

import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import KafkaTimeoutError
from prometheus_client import REGISTRY

from schemas import DeadLetter
from services.core import record_batches
from services.core.config import CommonSettings
from services.core.consume import ConsumeLoop
from services.core.db import Database
from services.core.kafka import letter_sender, make_consumer, make_producer, read_until, seek_since
from services.sink.service import SinkBatch, StoredOffsets
from services.sink.store import SqlStore
from tests.factories import article
from tests.helpers import wait_for
from tests.integration.kafka_helpers import consumer_loop, read_all, running, settings_for

BOMB = bytes(4 * 1024 * 1024)  # 4 MiB of zeros: a few KiB gzipped, past the 1 MiB bound the tests set

pytestmark = pytest.mark.kafka


def bounded(settings: CommonSettings, monkeypatch: pytest.MonkeyPatch) -> CommonSettings:
    """The settings with a 1 MiB bound (WIREFEED_KAFKA_MAX_BATCH_BYTES), the consumers they make setting it
    for the process; the bound before is put back after the test."""
    monkeypatch.setattr(record_batches, "MAX_BATCH_BYTES", record_batches.MAX_BATCH_BYTES)
    return settings.model_copy(update={"kafka_max_batch_bytes": 1024 * 1024})


def test_every_codec_is_read_and_a_bomb_is_dead_lettered_and_passed(kafka_bootstrap: str, topic_prefix: str,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    settings = bounded(settings_for(kafka_bootstrap, topic_prefix), monkeypatch)
    topic = settings.topics.raw_items
    sent: dict[bytes, int] = {}
    for codec, value in [("zstd", b"a"), ("snappy", b"b"), ("lz4", b"c"), ("gzip", b"d"),
                         ("gzip", bytes(4 * 1024 * 1024)), ("gzip", b"e")]:
        producer = make_producer(settings, compression_type=codec, max_request_size=16 * 1024 * 1024)
        sent[value] = producer.send(topic, value=value, partition=0).get(timeout=30).offset  # a batch each
        producer.close(timeout=30)
    bomb = sent[bytes(4 * 1024 * 1024)]

    read: list[bytes] = []
    producer = make_producer(settings)
    consumer = make_consumer(settings, f"{topic_prefix}-reader")
    consumer.subscribe([topic])

    def process(records: list[ConsumerRecord]) -> None:
        read.extend(record.value for record in records)

    loop = consumer_loop(consumer, process, send_dead_letter=letter_sender(producer, settings.topics.dead_letter))
    with running(loop):
        wait_for(lambda: len(read) >= 5, timeout=60, message="the records around the bomb read")
        letters = [DeadLetter.model_validate_json(v) for _, v in read_all(settings, settings.topics.dead_letter, 1)]
        wait_for(lambda: consumer.position(TopicPartition(topic, 0)) == sent[b"e"] + 1, message="read past it")
    consumer.close(autocommit=False)
    producer.close(timeout=30)

    assert read == [b"a", b"b", b"c", b"d", b"e"]
    assert [(x.topic, x.partition, x.offset, x.details, x.error_class) for x in letters] == [
        (topic, 0, bomb, {"next_offset": bomb + 1}, "UndecodableBatchError")]
    assert "decompresses past 1048576 bytes" in letters[0].reason and letters[0].stage == "test"
    assert loop.consuming()


def send_alone(settings: CommonSettings, topic: str, value: bytes) -> int:
    """Send ``value`` to partition 0 as a gzip batch of its own; returns its offset."""
    producer = make_producer(settings, compression_type="gzip", max_request_size=16 * 1024 * 1024)
    try:
        return int(producer.send(topic, value=value, partition=0).get(timeout=30).offset)
    finally:
        producer.close(timeout=30)


def test_a_passed_batch_is_committed_so_a_restart_does_not_dead_letter_it_again(
        kafka_bootstrap: str, topic_prefix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = bounded(settings_for(kafka_bootstrap, topic_prefix), monkeypatch)
    topic, tp = settings.topics.raw_items, TopicPartition(settings.topics.raw_items, 0)
    send_alone(settings, topic, b"a")
    bomb = send_alone(settings, topic, BOMB)  # the last batch: nothing after it moves the commit on
    producer = make_producer(settings)
    group = f"{topic_prefix}-normalizer"
    consumer, onlooker = make_consumer(settings, group), make_consumer(settings, group)  # onlooker: never joins
    consumer.subscribe([topic])
    loop = consumer_loop(consumer, lambda records: None,
                         send_dead_letter=letter_sender(producer, settings.topics.dead_letter))
    with running(loop):
        wait_for(lambda: onlooker.committed(tp) == bomb + 1, message="the passed batch committed")
    for each in (consumer, onlooker):
        each.close(autocommit=False)
    producer.close(timeout=30)


def test_a_batch_whose_letter_failed_is_fetched_again_and_passed_at_the_next_poll(
        kafka_bootstrap: str, topic_prefix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # kafka-python kept the records whose reading raised, spent, and its next poll spun on them for ever.
    settings = bounded(settings_for(kafka_bootstrap, topic_prefix), monkeypatch)
    topic = settings.topics.raw_items
    bomb = [send_alone(settings, topic, value) for value in (b"a", BOMB, b"b")][1]
    producer = make_producer(settings)
    send = letter_sender(producer, settings.topics.dead_letter)
    attempts: list[DeadLetter] = []

    def send_after_a_failure(letter: DeadLetter) -> None:
        attempts.append(letter)
        if len(attempts) == 1:
            raise KafkaTimeoutError("the dead-letter topic's leader is away")
        send(letter)

    read: list[bytes] = []
    consumer = make_consumer(settings, f"{topic_prefix}-reader")
    consumer.subscribe([topic])
    loop = consumer_loop(consumer, lambda records: read.extend(r.value for r in records), max_backoff=0.2,
                         send_dead_letter=send_after_a_failure, stage="letter-failed")
    with running(loop):
        wait_for(lambda: read == [b"a", b"b"], timeout=60, message="read past the batch")
    consumer.close(autocommit=False)
    producer.close(timeout=30)
    assert [(x.offset, x.details) for x in attempts] == [(bomb, {"next_offset": bomb + 1})] * 2  # the same batch
    assert REGISTRY.get_sample_value("wirefeed_consumer_poll_failures_total",  # the poll it stalled, counted
                                     {"stage": "letter-failed", "error_class": "UndecodableBatchError"}) == 1


def test_the_sink_stores_a_passed_batch_as_its_position_so_a_restart_reads_on_after_it(
        kafka_bootstrap: str, topic_prefix: str, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = bounded(settings_for(kafka_bootstrap, topic_prefix, database_url), monkeypatch)
    topic = settings.topics.articles
    send_alone(settings, topic, article(1).to_bytes())
    bomb = send_alone(settings, topic, BOMB)
    store = SqlStore(Database(database_url))
    store.migrate()
    producer = make_producer(settings)

    def sink_loop() -> tuple[KafkaConsumer, ConsumeLoop]:  # wired as the sink's main wires it
        consumer = make_consumer(settings, f"{topic_prefix}-sink")
        offsets = StoredOffsets(consumer, store, topic)
        consumer.subscribe([topic], listener=offsets)
        batch = SinkBatch(store, producer, settings.topics, offsets)
        return consumer, consumer_loop(consumer, batch, commit=lambda _: None, record_passed=batch.record_passed,
                                       send_dead_letter=letter_sender(producer, settings.topics.dead_letter))

    consumer, loop = sink_loop()
    with running(loop):
        wait_for(lambda: store.offsets(topic).get(0) == bomb + 1, message="the passed batch stored as position")
    consumer.close(autocommit=False)
    send_alone(settings, topic, article(2).to_bytes())
    consumer, loop = sink_loop()  # a restart: no Kafka commits, the stored offsets alone place it
    with running(loop):
        wait_for(lambda: store.count() == 2, message="the article after the batch stored")
    consumer.close(autocommit=False)
    reader = make_consumer(settings, None, client_id="test")  # type: ignore[arg-type]
    _, end = seek_since(reader, settings.topics.dead_letter, None)
    letters = [DeadLetter.model_validate_json(r.value) for records in read_until(reader, end) for r in records]
    reader.close(autocommit=False)
    assert [(x.offset, x.stage) for x in letters] == [(bomb, "test")]  # once, not again after the restart
    producer.close(timeout=30)
    store.close()


def test_a_reading_command_skips_an_undecodable_batch_and_reads_on(kafka_bootstrap: str, topic_prefix: str,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # `wirefeed dead-letters list` and `replay` read topics to their end; they have nowhere to dead-letter.
    settings = bounded(settings_for(kafka_bootstrap, topic_prefix), monkeypatch)
    topic = settings.topics.dead_letter
    for value in (b"before", bytes(4 * 1024 * 1024), b"after"):
        producer = make_producer(settings, compression_type="gzip", max_request_size=16 * 1024 * 1024)
        producer.send(topic, value=value, partition=0).get(timeout=30)
        producer.close(timeout=30)
    consumer = make_consumer(settings, None, client_id="test")  # type: ignore[arg-type]
    try:
        _, end = seek_since(consumer, topic, None)
        assert [r.value for records in read_until(consumer, end) for r in records] == [b"before", b"after"]
    finally:
        consumer.close(autocommit=False)


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_the_services_compress_what_they_send_when_asked(kafka_bootstrap: str, topic_prefix: str,
                                                          codec: str) -> None:
    settings = settings_for(kafka_bootstrap, topic_prefix).model_copy(update={"kafka_compression_type": codec})
    producer = make_producer(settings)
    value = b"<p>Storm hits coast. Rain and wind across the region.</p>" * 200
    for n in range(20):
        producer.send(settings.topics.raw_items, key=b"k%d" % n, value=value).get(timeout=30)
    rate = producer.metrics()["producer-metrics"]["compression-rate-avg"]  # compressed / uncompressed
    producer.close(timeout=30)
    assert 0 < rate < 0.2
    assert [v for _, v in read_all(settings, settings.topics.raw_items, 20)] == [value] * 20
