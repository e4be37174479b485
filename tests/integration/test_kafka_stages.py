"""Each stage against the real Apache Kafka broker (unique topics per test)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from kafka import TopicPartition

from schemas import Article, DeadLetter, RawItem
from services.core.db import Database
from services.core.kafka import make_consumer, make_producer
from services.normalizer.dedup import DedupStore
from services.normalizer.service import NormalizeBatch
from services.poller.feeds import FeedConfig
from services.poller.fetch import Fetcher, FetchLimits
from services.poller.service import KafkaPublisher, Poller
from services.poller.state import PollerStore
from services.sink.service import SinkBatch, StoredOffsets
from services.sink.store import SqlStore
from tests.factories import article, raw_item
from tests.helpers import FeedServer, Resource, rss, wait_for
from tests.integration.kafka_helpers import consumer_loop, read_all, running, settings_for

pytestmark = pytest.mark.kafka


async def test_the_poller_publishes_one_message_per_item_keyed_by_item_id(
        kafka_bootstrap: str, topic_prefix: str, feed_server: FeedServer, sqlite_url: str) -> None:
    settings = settings_for(kafka_bootstrap, topic_prefix)
    items = [{"title": f"T{n}", "link": f"http://x.example/{n}", "guid": f"g{n}", "body": "<p>b</p>"}
             for n in range(5)]
    feed_server.resources["/f.xml"] = Resource(rss("F", items))
    store = PollerStore(Database(sqlite_url))
    store.migrate()
    producer = make_producer(settings)
    feed = FeedConfig(id="f", url=feed_server.url("/f.xml"))
    poller = Poller([feed], store, Fetcher(FetchLimits(allow_private_networks=True)),
                    KafkaPublisher(producer, settings.topics.raw_items))
    poller.load_states()
    assert (await poller.poll(feed)).published == 5
    messages = read_all(settings, settings.topics.raw_items, 5)
    assert sorted(key.decode() for key, _ in messages) == [f"f:g{n}" for n in range(5)]
    assert {RawItem.model_validate_json(value).feed_id for _, value in messages} == {"f"}
    producer.close()


def test_the_normalizer_publishes_articles_drops_exact_duplicates_and_dead_letters_poison(
        kafka_bootstrap: str, topic_prefix: str, sqlite_url: str) -> None:
    settings = settings_for(kafka_bootstrap, topic_prefix)
    producer = make_producer(settings)
    same_text = "<p>Identical wire copy carried by two sites.</p>"
    raws = [raw_item(1), raw_item(2), raw_item(3, body=same_text), raw_item(3, feed_id="feed-b", body=same_text)]
    for raw in raws:
        producer.send(settings.topics.raw_items, key=raw.item_id.encode(), value=raw.to_bytes())
    producer.send(settings.topics.raw_items, key=b"bad", value=b"{not json")
    # From a newer poller: a field added later is ignored, not dead-lettered.
    newer = {**json.loads(raw_item(4).to_bytes()), "added_later": "x"}
    producer.send(settings.topics.raw_items, key=b"feed-a:guid-4", value=json.dumps(newer).encode())
    producer.flush()
    dedup = DedupStore(Database(sqlite_url))
    dedup.migrate()
    consumer = make_consumer(settings, f"{topic_prefix}-normalizer")
    consumer.subscribe([settings.topics.raw_items])
    loop = consumer_loop(consumer, NormalizeBatch(producer, settings.topics, dedup))
    with running(loop):
        articles = [Article.model_validate_json(v) for _, v in read_all(settings, settings.topics.articles, 4)]
        letters = [DeadLetter.model_validate_json(v) for _, v in read_all(settings, settings.topics.dead_letter, 1)]
        wait_for(lambda: _committed(consumer, settings.topics.raw_items) == 6, message="offsets committed")
    consumer.close(autocommit=False)
    assert sorted(a.title for a in articles) == [f"Story number {n}" for n in (1, 2, 3, 4)]
    assert letters[0].stage == "normalizer" and letters[0].payload == "{not json"
    assert letters[0].error_class == "ValidationError" and "JSON" in letters[0].reason
    extra = read_all(settings, settings.topics.articles, 5, timeout=3)
    assert len(extra) == 4  # the duplicate from feed-b was not published
    producer.close()


def _committed(consumer: object, topic: str) -> int:
    total = 0
    for partition in consumer.partitions_for_topic(topic) or ():  # type: ignore[attr-defined]
        total += consumer.committed(TopicPartition(topic, partition)) or 0  # type: ignore[attr-defined]
    return total


def test_a_database_without_offsets_stores_everything_the_broker_keeps_whatever_the_group_committed(
        kafka_bootstrap: str, topic_prefix: str, tmp_path: Path) -> None:
    # The sink commits to Kafka for lag tools. Pointed at a new database (or one restored from before a
    # partition was added), it read on from those commits, and the new database never had what came before.
    settings = settings_for(kafka_bootstrap, topic_prefix)
    producer = make_producer(settings)
    for n in range(12):
        producer.send(settings.topics.articles, key=f"story-{n}".encode(), value=article(n).to_bytes())
    producer.flush()

    def stored_by_a_sink(store: SqlStore) -> list[str]:
        consumer = make_consumer(settings, f"{topic_prefix}-sink")
        offsets = StoredOffsets(consumer, store, settings.topics.articles)
        consumer.subscribe([settings.topics.articles], listener=offsets)
        with running(consumer_loop(consumer, SinkBatch(store, producer, settings.topics, offsets))):
            wait_for(lambda: store.count() == 12, message="every article stored")
            wait_for(lambda: sum(consumer.committed(TopicPartition(settings.topics.articles, p)) or 0
                                 for p in range(3)) == 12, message="the group committed")
        consumer.close(autocommit=False)
        return sorted(a.id for a in store.export())

    first, second = (SqlStore(Database(f"sqlite:///{tmp_path / name}")) for name in ("first.db", "second.db"))
    for store in (first, second):
        store.migrate()
    assert stored_by_a_sink(first) == stored_by_a_sink(second) == [f"article-{n:06d}" for n in range(12)]
    for store in (first, second):
        store.close()
    producer.close()


def test_the_sink_resumes_from_offsets_stored_with_the_rows(
        kafka_bootstrap: str, topic_prefix: str, database_url: str) -> None:
    settings = settings_for(kafka_bootstrap, topic_prefix, database_url)
    producer = make_producer(settings)
    for n in range(60):
        a = article(n)
        producer.send(settings.topics.articles, key=a.story_id.encode(), value=a.to_bytes())
    producer.send(settings.topics.articles, key=b"poison", value=json.dumps({"id": 1}).encode())
    producer.flush()
    store = SqlStore(Database(database_url))
    store.migrate()
    group = f"{topic_prefix}-sink"

    def sink_loop(max_records: int) -> tuple[object, object]:
        consumer = make_consumer(settings, group, max_poll_records=max_records)
        offsets = StoredOffsets(consumer, store, settings.topics.articles)
        consumer.subscribe([settings.topics.articles], listener=offsets)
        # No Kafka commits at all: the stored offsets alone must carry the position across restarts.
        loop = consumer_loop(consumer, SinkBatch(store, producer, settings.topics, offsets),
                             commit=lambda _: None, max_records=max_records)
        return consumer, loop

    consumer, loop = sink_loop(7)
    with running(loop):  # type: ignore[arg-type]
        wait_for(lambda: store.count() >= 20, message="a first part stored")
    consumer.close(autocommit=False)  # type: ignore[attr-defined]
    partial = store.count()
    assert 20 <= partial <= 60
    consumer, loop = sink_loop(500)
    with running(loop):  # type: ignore[arg-type]
        wait_for(lambda: store.count() == 60 and sum(store.offsets(settings.topics.articles).values()) == 61,
                 message="everything stored")
    consumer.close(autocommit=False)  # type: ignore[attr-defined]
    assert sorted(a.id for a in store.export()) == [f"article-{n:06d}" for n in range(60)]
    letters = read_all(settings, settings.topics.dead_letter, 1)
    assert DeadLetter.model_validate_json(letters[0][1]).stage == "sink"
    store.close()
    producer.close()
