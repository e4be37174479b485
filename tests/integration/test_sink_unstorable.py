"""An article PostgreSQL refuses however often it is asked (its search index would pass the tsvector's
1 MiB) is dead-lettered with the reason, and the articles around it stored: the batch used to fail as
if the database were down, for ever, and stop its partition."""

from __future__ import annotations

import itertools
import string

import pytest
from kafka import KafkaConsumer

from schemas import DeadLetter
from services.core.config import CommonSettings
from services.core.consume import ConsumeLoop
from services.core.db import Database
from services.core.kafka import letter_sender, make_consumer, make_producer, read_until, seek_since
from services.sink.service import SinkBatch, StoredOffsets
from services.sink.store import SqlStore
from tests.factories import article
from tests.helpers import wait_for
from tests.integration.kafka_helpers import consumer_loop, running, settings_for
from tests.integration.test_record_batches import send_alone

pytestmark = pytest.mark.kafka


def words_past_the_tsvector() -> str:
    """135,000 different four-letter words: 675 KB of text, a search index of 1.08 MB."""
    letters = string.ascii_lowercase + string.digits
    words = ("".join(w) for w in itertools.product(letters, repeat=4) if not w[0].isdigit())
    return " ".join(itertools.islice(words, 135_000))


def test_an_article_the_database_cannot_index_is_dead_lettered_and_the_rest_stored(
        kafka_bootstrap: str, topic_prefix: str, database_url: str) -> None:
    settings = settings_for(kafka_bootstrap, topic_prefix, database_url)
    topic = settings.topics.articles
    huge = article(2, body=words_past_the_tsvector()).model_copy(update={"body_html": "<p>see the text</p>"})
    sent = [send_alone(settings, topic, a.to_bytes()) for a in (article(1), huge, article(3))]
    store = SqlStore(Database(database_url))
    store.migrate()
    producer = make_producer(settings)
    consumer = make_consumer(settings, f"{topic_prefix}-sink")
    offsets = StoredOffsets(consumer, store, topic)
    consumer.subscribe([topic], listener=offsets)
    batch = SinkBatch(store, producer, settings.topics, offsets)
    loop: ConsumeLoop = consumer_loop(consumer, batch, commit=lambda _: None, record_passed=batch.record_passed,
                                      send_dead_letter=letter_sender(producer, settings.topics.dead_letter))
    with running(loop):
        wait_for(lambda: store.offsets(topic).get(0) == sent[-1] + 1, message="the batch's offsets stored")
    consumer.close(autocommit=False)
    stored = sorted(a.id for a in store.export())
    letters = _letters(settings)
    if database_url.startswith("postgresql"):
        assert stored == ["article-000001", "article-000003"]
        assert [(x.offset, x.error_class) for x in letters] == [(sent[1], "ProgramLimitExceeded")]
        assert "too long for tsvector" in letters[0].reason
    else:  # SQLite's full-text index has no such bound
        assert stored == ["article-000001", "article-000002", "article-000003"] and letters == []
    producer.close(timeout=30)
    store.close()


def _letters(settings: CommonSettings) -> list[DeadLetter]:
    reader: KafkaConsumer = make_consumer(settings, None, client_id="test")  # type: ignore[arg-type]
    _, end = seek_since(reader, settings.topics.dead_letter, None)
    letters = [DeadLetter.model_validate_json(r.value) for records in read_until(reader, end) for r in records]
    reader.close(autocommit=False)
    return letters
