"""Message size against the real broker: one very long post must not stop a stage from publishing.

kafka-python's idempotent producer (3.0.12) treats the broker's MESSAGE_TOO_LARGE as fatal: every later
send of that producer fails with it too. Before messages were fitted to the limit, one 1.9 MB blog post
(yakubin.atom, in the shared corpus) stopped the poller publishing anything from any feed.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import MessageSizeTooLargeError

from schemas import Article, DeadLetter, RawItem
from services.core.config import CommonSettings
from services.core.db import Database
from services.core.kafka import ensure_topics, make_producer, producer_usable
from services.normalizer.dedup import DedupStore
from services.normalizer.service import NormalizeBatch
from services.poller.service import KafkaPublisher
from tests.factories import raw_item
from tests.helpers import corpus_items
from tests.integration.kafka_helpers import message_limit, read_all, settings_for

pytestmark = pytest.mark.kafka

LONG_POST = "netnewswire/Modules/RSParser/Tests/RSParserTests/Resources/yakubin.atom"


def _long_post() -> RawItem:
    items = corpus_items(LONG_POST, datetime.now(UTC))
    longest = max(items, key=lambda item: len(item.to_bytes()))
    assert len(longest.to_bytes()) > 1_500_000  # more than Kafka's default 1 MiB
    return longest


def test_the_broker_refusing_a_record_breaks_an_idempotent_producer(kafka_bootstrap: str) -> None:
    """Why fitting is needed at all: the client library's behaviour, shown on a topic of its own."""
    topic = f"size-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    admin.create_topics({topic: {"num_partitions": 1, "replication_factor": 1}})
    admin.close()
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", enable_idempotence=True,
                             max_request_size=8 * 1024 * 1024)
    usable = producer_usable(producer)
    try:
        producer.send(topic, b"small").get(30)
        assert usable()
        with pytest.raises(MessageSizeTooLargeError):
            producer.send(topic, b"x" * 1_500_000).get(30)
        with pytest.raises(MessageSizeTooLargeError):
            producer.send(topic, b"small").get(30)  # and now everything fails
        assert not usable()  # which liveness reports, so the service is restarted
    finally:
        producer.close(timeout=5)


def test_a_very_long_post_is_shortened_and_the_poller_goes_on_publishing(kafka_bootstrap: str,
                                                                         topic_prefix: str) -> None:
    settings = settings_for(kafka_bootstrap, topic_prefix)
    producer = make_producer(settings)
    publish = KafkaPublisher(producer, settings.topics.raw_items, timeout=30,
                             max_message_bytes=settings.max_message_bytes)
    long_post = _long_post()
    try:
        publish([long_post])
        publish([raw_item(1), raw_item(2)])  # the same producer, still healthy
    finally:
        producer.close(timeout=10)
    received = {item.item_id: item for item in (RawItem.model_validate_json(value) for _, value in
                                                read_all(settings, settings.topics.raw_items, 3))}
    assert set(received) == {long_post.item_id, raw_item(1).item_id, raw_item(2).item_id}
    shortened = received[long_post.item_id]
    assert shortened.original is None and len(shortened.to_bytes()) <= settings.max_message_bytes
    assert shortened.content_html and long_post.content_html
    assert long_post.content_html.startswith(shortened.content_html) and len(shortened.content_html) > 400_000


def test_topics_take_what_a_larger_configured_limit_lets_producers_send(kafka_bootstrap: str,
                                                                        topic_prefix: str) -> None:
    settings = CommonSettings(kafka_bootstrap_servers=kafka_bootstrap, topic_prefix=topic_prefix,  # type: ignore[call-arg]
                              max_message_bytes=4 * 1024 * 1024, topic_partitions=1)
    ensure_topics(settings, settings.topics.all())
    producer = make_producer(settings)
    long_post = _long_post()
    try:
        KafkaPublisher(producer, settings.topics.raw_items, timeout=30,
                       max_message_bytes=settings.max_message_bytes)([long_post])
    finally:
        producer.close(timeout=10)
    ((_, value),) = read_all(settings, settings.topics.raw_items, 1)
    assert RawItem.model_validate_json(value) == long_post  # whole: the topic was created to take it


def test_existing_topics_are_raised_to_a_larger_configured_limit_never_lowered(kafka_bootstrap: str,
                                                                              topic_prefix: str) -> None:
    # Topics made under the default limit, then the limit raised: the producers' larger messages would be
    # refused by the topic, which stops an idempotent producer for good.
    settings = settings_for(kafka_bootstrap, topic_prefix)
    raw_items = settings.topics.raw_items
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    producer = make_producer(raised := settings.model_copy(update={"max_message_bytes": 4 * 1024 * 1024}))
    try:
        assert message_limit(admin, raw_items) < 2_000_000
        ensure_topics(raised, raised.topics.all())
        assert message_limit(admin, raw_items) == 4 * 1024 * 1024 + 64 * 1024
        long_post = _long_post()
        KafkaPublisher(producer, raw_items, timeout=30, max_message_bytes=raised.max_message_bytes)([long_post])
        ((_, value),) = read_all(settings, raw_items, 1)
        assert RawItem.model_validate_json(value) == long_post
        ensure_topics(settings, settings.topics.all())  # a service still on the smaller limit lowers nothing
        assert message_limit(admin, raw_items) == 4 * 1024 * 1024 + 64 * 1024
    finally:
        producer.close(timeout=10)
        admin.close()


def test_an_article_too_large_is_published_without_its_html(kafka_bootstrap: str, topic_prefix: str,
                                                           sqlite_url: str) -> None:
    settings = settings_for(kafka_bootstrap, topic_prefix)
    paragraphs = "".join(f"<p>Paragraph {n} of a very long report, with enough words to count.</p>"
                         for n in range(9_000))  # ~600 KB of HTML: text and HTML together pass 1 MB
    big = raw_item(1, body=paragraphs)
    assert len(big.to_bytes()) < settings.max_message_bytes
    store = DedupStore(Database(sqlite_url))
    store.migrate()
    producer = make_producer(settings)
    try:
        batch = NormalizeBatch(producer, settings.topics, store, max_message_bytes=settings.max_message_bytes)
        batch(_records(settings.topics.raw_items, [big.to_bytes(), raw_item(2).to_bytes()]))
    finally:
        producer.close(timeout=10)
        store.db.close()
    articles = {a.item_id: a for a in (Article.model_validate_json(v) for _, v in
                                       read_all(settings, settings.topics.articles, 2))}
    assert set(articles) == {big.item_id, raw_item(2).item_id}
    shortened = articles[big.item_id]
    assert shortened.body_html == "" and "Paragraph 8999 of a very long report" in shortened.body_text
    assert articles[raw_item(2).item_id].body_html


def test_a_dead_letter_of_a_record_near_the_limit_still_reaches_the_topic(kafka_bootstrap: str,
                                                                          topic_prefix: str,
                                                                          sqlite_url: str) -> None:
    settings = settings_for(kafka_bootstrap, topic_prefix)
    poison = b'{"not": "a raw item", "padding": "' + b'\\"' * 450_000 + b'"}'  # escaping doubles it
    store = DedupStore(Database(sqlite_url))
    store.migrate()
    producer = make_producer(settings)
    try:
        NormalizeBatch(producer, settings.topics, store, max_message_bytes=settings.max_message_bytes)(
            _records(settings.topics.raw_items, [poison]))
    finally:
        producer.close(timeout=10)
        store.db.close()
    ((_, value),) = read_all(settings, settings.topics.dead_letter, 1)
    letter = DeadLetter.model_validate_json(value)
    assert letter.details["payload_bytes"] == len(poison) and poison.decode().startswith(letter.payload)


def _records(topic: str, values: list[bytes]) -> list[ConsumerRecord]:
    return [ConsumerRecord(topic=topic, partition=0, leader_epoch=None, offset=offset, timestamp=0,
                           timestamp_type=0, key=b"k", value=value, headers=[], checksum=None,
                           serialized_key_size=1, serialized_value_size=len(value), serialized_header_size=-1)
            for offset, value in enumerate(values)]
