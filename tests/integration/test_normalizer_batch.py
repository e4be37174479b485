"""The normalizer's batch step on a real SQLite dedup store (the producer is a stand-in that keeps what it
is sent): a polled batch is decided in one transaction, published in record order, poison dead-lettered."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from kafka.consumer.fetcher import ConsumerRecord
from prometheus_client import REGISTRY

from schemas import Article, DeadLetter, PubStatus, RawItem
from services.core.config import Topics
from services.core.db import Database
from services.normalizer import service
from services.normalizer.dedup import DedupStore
from services.normalizer.learned import LearnedBoilerplate
from services.normalizer.service import NormalizeBatch
from tests.factories import raw_item
from tests.helpers import RecordingProducer, count_transactions

TOPICS = Topics("t")
SAME_TEXT = "<p>Identical wire copy carried by two sites, word for word, in both of them.</p>"



@pytest.fixture
def store(sqlite_url: str) -> Iterator[DedupStore]:
    store = DedupStore(Database(sqlite_url))
    store.migrate()
    yield store
    store.db.close()


def records() -> list[ConsumerRecord]:
    raws = [raw_item(1), raw_item(2), raw_item(3, body=SAME_TEXT), raw_item(3, feed_id="feed-b", body=SAME_TEXT)]
    values = [raw.to_bytes() for raw in raws]
    values.insert(2, b"{not json")
    return [_record(value, offset) for offset, value in enumerate(values)]


def _record(value: bytes, offset: int) -> ConsumerRecord:
    return ConsumerRecord(topic=TOPICS.raw_items, partition=0, leader_epoch=None, offset=offset, timestamp=0,
                          timestamp_type=0, key=b"k", value=value, headers=[], checksum=None,
                          serialized_key_size=1, serialized_value_size=len(value), serialized_header_size=-1)


def test_a_batch_costs_one_dedup_transaction_and_one_to_mark_it_published(store: DedupStore) -> None:
    producer = RecordingProducer()
    transactions = count_transactions(store.db)
    NormalizeBatch(producer, TOPICS, store)(records())
    assert transactions == [2]
    articles = [Article.model_validate_json(value) for topic, value in producer.sent if topic == TOPICS.articles]
    assert [a.title for a in articles] == ["Story number 1", "Story number 2", "Story number 3"]  # record order
    assert [topic for topic, _ in producer.sent].count(TOPICS.dead_letter) == 1


def test_a_new_feed_s_first_batch_is_cleaned_of_what_its_items_repeat_and_so_are_later_ones(
        store: DedupStore) -> None:
    label = "<p><i>Medscape Medical News</i></p>"
    raws = [raw_item(n, feed_id="medscape", body=f"<p>Finding {n}: a trial of {n * 7} patients.</p>{label}")
            for n in range(7)]
    producer = RecordingProducer()
    normalize_batch = NormalizeBatch(producer, TOPICS, store, learned=LearnedBoilerplate(store.db))
    normalize_batch([_record(raw.to_bytes(), offset) for offset, raw in enumerate(raws[:6])])
    normalize_batch([_record(raws[6].to_bytes(), 6)])  # the next poll: one new item, too few to count alone
    articles = [Article.model_validate_json(value) for topic, value in producer.sent if topic == TOPICS.articles]
    assert len(articles) == 7 and not any("Medscape" in a.body_text for a in articles)


def test_a_raw_item_of_another_version_is_dead_lettered_saying_which_not_read_as_version_1(
        store: DedupStore) -> None:
    newer = {**raw_item(1).model_dump(mode="json"), "schema_version": 99, "brand_new_field": "x"}
    producer = RecordingProducer()
    NormalizeBatch(producer, TOPICS, store)([_record(json.dumps(newer).encode(), 0)])
    [(topic, value)] = producer.sent
    letter = DeadLetter.model_validate_json(value)
    assert (topic, letter.error_class) == (TOPICS.dead_letter, "SchemaVersionError")
    assert letter.reason.startswith("RawItem of schema_version 99 refused: this topic carries version 1 only")


def test_a_redelivered_batch_publishes_nothing_twice(store: DedupStore) -> None:
    NormalizeBatch(RecordingProducer(), TOPICS, store)(records())
    again = RecordingProducer()
    NormalizeBatch(again, TOPICS, store)(records())
    assert [topic for topic, _ in again.sent] == [TOPICS.dead_letter]  # the poison again, no article



def test_an_unexpected_error_in_normalize_dead_letters_that_record_only(
        store: DedupStore, monkeypatch: pytest.MonkeyPatch) -> None:
    # Stands in for a bug that some input exposes (such as the OverflowError a date once raised).
    real_normalize = service.normalize

    def normalize_or_fail(raw: RawItem, *args: Any, **kwargs: Any) -> Article:
        if raw.item_id == raw_item(2).item_id:
            raise RecursionError("maximum recursion depth exceeded")
        return real_normalize(raw, *args, **kwargs)

    monkeypatch.setattr(service, "normalize", normalize_or_fail)
    producer = RecordingProducer()
    NormalizeBatch(producer, TOPICS, store)(records())
    letters = [DeadLetter.model_validate_json(value) for topic, value in producer.sent if topic == TOPICS.dead_letter]
    assert sorted(letter.error_class for letter in letters) == ["RecursionError", "ValidationError"]
    articles = [Article.model_validate_json(value) for topic, value in producer.sent if topic == TOPICS.articles]
    assert [a.title for a in articles] == ["Story number 1", "Story number 3"]


def test_an_item_with_nothing_to_read_is_skipped_and_counted_not_dead_lettered(store: DedupStore) -> None:
    picture = raw_item(9).model_copy(update={"title": None, "content_html": None, "summary_html": None})
    value = picture.to_bytes()
    record = ConsumerRecord(topic=TOPICS.raw_items, partition=0, leader_epoch=None, offset=0, timestamp=0,
                            timestamp_type=0, key=b"k", value=value, headers=[], checksum=None,
                            serialized_key_size=1, serialized_value_size=len(value), serialized_header_size=-1)
    def skipped() -> float:
        return REGISTRY.get_sample_value("wirefeed_normalizer_items_skipped_total", {"reason": "no_text"}) or 0.0

    before = skipped()
    producer = RecordingProducer()
    NormalizeBatch(producer, TOPICS, store)([record, *records()[:1]])
    assert [topic for topic, _ in producer.sent] == [TOPICS.articles]  # the story; nothing for the picture
    assert skipped() == before + 1


@pytest.mark.parametrize("marked", [True, False])
def test_a_raw_item_s_agency_mark_reaches_dedup(store: DedupStore, marked: bool) -> None:
    # An outlet carried the agency's text first; the agency's own wire then sends its item killed.
    outlet = raw_item(3, feed_id="outlet", body=SAME_TEXT)
    wire = raw_item(3, feed_id="agency-wire", body=SAME_TEXT).model_copy(
        update={"feed_agency": "Reuters" if marked else None})
    kill = wire.model_copy(update={"pubstatus": PubStatus.CANCELED})
    producer = RecordingProducer()
    NormalizeBatch(producer, TOPICS, store)([_record(raw.to_bytes(), offset)
                                             for offset, raw in enumerate([outlet, wire, kill])])
    articles = [Article.model_validate_json(value) for topic, value in producer.sent if topic == TOPICS.articles]
    if marked:  # the kill is the outlet's story's latest version, and cancels it
        assert [(a.feed_id, a.version, a.pubstatus) for a in articles] == [
            ("outlet", 1, PubStatus.USABLE), ("agency-wire", 2, PubStatus.CANCELED)]
        assert articles[0].story_id == articles[1].story_id
    else:  # as before: another outlet's repeat of the text, dropped
        assert [a.feed_id for a in articles] == ["outlet"]
