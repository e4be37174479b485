"""A story's versions through the real normalizer batch step and the real sink batch step, on one database
(SQLite and PostgreSQL, as a default deployment shares it): what the sink shows as a story's latest."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka.consumer.fetcher import ConsumerRecord

from schemas import PubStatus, RawItem
from services.core.config import Topics
from services.core.db import Database
from services.normalizer.dedup import DedupStore
from services.normalizer.service import NormalizeBatch
from services.sink.reads import Reader
from services.sink.service import SinkBatch, StoredOffsets
from services.sink.store import SqlStore
from tests.factories import raw_item
from tests.helpers import RecordingProducer
from tests.unit.dedup import stories

TOPICS = Topics("t")


class Pipeline:
    """Raw items in, through the normalizer's batch step, its articles through the sink's."""

    def __init__(self, database_url: str) -> None:
        self.dedup = DedupStore(Database(database_url))
        self.dedup.migrate()
        self.sink = SqlStore(Database(database_url))
        self.sink.migrate()
        self.offsets = {TOPICS.raw_items: 0, TOPICS.articles: 0}

    def poll(self, raw: RawItem) -> None:
        producer = RecordingProducer()
        NormalizeBatch(producer, TOPICS, self.dedup)([self._record(TOPICS.raw_items, raw.to_bytes())])
        records = [self._record(TOPICS.articles, value) for topic, value in producer.sent if topic == TOPICS.articles]
        SinkBatch(self.sink, RecordingProducer(), TOPICS, StoredOffsets(None, self.sink, TOPICS.articles))(records)

    def _record(self, topic: str, value: bytes) -> ConsumerRecord:
        offset = self.offsets[topic]
        self.offsets[topic] += 1
        return ConsumerRecord(topic=topic, partition=0, leader_epoch=None, offset=offset, timestamp=0,
                              timestamp_type=0, key=b"k", value=value, headers=[], checksum=None,
                              serialized_key_size=1, serialized_value_size=len(value), serialized_header_size=-1)

    def close(self) -> None:
        self.dedup.db.close()
        self.sink.close()


@pytest.fixture
def pipeline(database_url: str) -> Iterator[Pipeline]:
    pipeline = Pipeline(database_url)
    yield pipeline
    pipeline.close()


def test_an_original_arriving_after_its_update_leaves_the_update_the_storys_latest_in_the_sink(
        pipeline: Pipeline, shared_dir: Path) -> None:
    # The late original was counted on as version 3, and the sink showed the older text as the latest.
    paragraphs = stories.seed_paragraphs(shared_dir)
    end = paragraphs.index("You appear to be using an ad blocker")
    body = "".join(f"<p>{p}</p>" for p in paragraphs[2:end])
    update = raw_item(1, feed_id="reuters", title="UPDATE 1-" + paragraphs[0],
                      body=body + "<p>Talks are due to begin on Monday in Baghdad, officials said.</p>")
    original = raw_item(2, feed_id="reuters", title=paragraphs[0], body=body)
    pipeline.poll(update)
    pipeline.poll(original)
    reader = Reader(pipeline.sink.db)
    [line] = list(reader.stories())
    story = reader.story(line.story_id)
    assert story is not None and line.version == story.latest_version == 2
    assert line.title == paragraphs[0]
    by_version = {article["version"]: article["item_id"] for article in story.articles}
    assert by_version == {1: original.item_id, 2: update.item_id}
    assert story.latest_article_id == next(a["id"] for a in story.articles if a["item_id"] == update.item_id)


def _outlet_copy_then_wire(shared_dir: Path, mark: str | None) -> tuple[RawItem, RawItem]:
    """The seed story as an outlet republished it (its own title suffix and footer), then as the agency's wire
    carried it, from a feed marked as the agency's own (``mark``) or not."""
    paragraphs = stories.seed_paragraphs(shared_dir)
    end = paragraphs.index("You appear to be using an ad blocker")
    body = "".join(f"<p>{p}</p>" for p in paragraphs[2:end])
    outlet = raw_item(1, feed_id="outlet", title=paragraphs[0] + " | Outlet",
                      body=body + "<p>Copyright 2024 Outlet. All rights reserved.</p>")
    wire = raw_item(2, feed_id="reuters-wire", title=paragraphs[0], body=body).model_copy(
        update={"feed_agency": mark})
    return outlet, wire


@pytest.mark.parametrize(("mark", "status"), [("Reuters", PubStatus.CANCELED), (None, PubStatus.USABLE)])
def test_the_agency_s_own_kill_of_a_story_an_outlet_began_ends_it_in_the_sink_when_its_wire_is_marked(
        pipeline: Pipeline, shared_dir: Path, mark: str | None, status: PubStatus) -> None:
    # The outlet's republished copy began the story; the agency's wire carried it next and then killed it.
    outlet, wire = _outlet_copy_then_wire(shared_dir, mark)
    kill = wire.model_copy(update={"pubstatus": PubStatus.CANCELED, "content_hash": "killed",
                                   "content_html": "<p>This story has been withdrawn. Please delete it.</p>"})
    for raw in (outlet, wire, kill):
        pipeline.poll(raw)
    [line] = list(Reader(pipeline.sink.db).stories())
    assert (line.outlets, line.pubstatus) == (2, status)  # the story's latest: the kill, or the outlet's text


@pytest.mark.parametrize(("mark", "latest"), [("Reuters", (1, PubStatus.USABLE)), (None, (2, PubStatus.CANCELED))])
def test_an_outlet_taking_down_the_copy_that_began_a_story_the_agency_s_wire_carries_leaves_it_usable_in_the_sink(
        pipeline: Pipeline, shared_dir: Path, mark: str | None, latest: tuple[int, PubStatus]) -> None:
    # The outlet's copy began the story and the agency's marked wire carried it next: the outlet's takedown
    # was the story's latest version, and the sink showed the story the agency still ran as killed. Unmarked,
    # the wire may be any outlet, and the takedown the agency's own kill: it ends the story, as ever.
    outlet, wire = _outlet_copy_then_wire(shared_dir, mark)
    takedown = outlet.model_copy(update={"pubstatus": PubStatus.CANCELED, "content_hash": "removed",
                                         "content_html": "<p>This article has been removed.</p>"})
    for raw in (outlet, wire, takedown):
        pipeline.poll(raw)
    reader = Reader(pipeline.sink.db)
    [line] = list(reader.stories())
    story = reader.story(line.story_id)
    assert story is not None and len(story.articles) == 3  # the takedown is published
    assert (line.outlets, (line.version, line.pubstatus)) == (2, latest)
