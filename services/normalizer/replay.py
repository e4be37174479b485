"""``wirefeed replay``: run the normalizer again over the raw topic from a point in time.

For a normalizer upgrade: raw items keep everything the feed said, so articles can be rebuilt. Replay
reads every partition from the first offset at or after ``--from`` up to the end offsets seen when it
starts (new items keep flowing through the running normalizer), and publishes into the articles topic
or another topic (``--to-topic``, e.g. a new topic version). It decides against the dedup database it
is given: the production one (what was published stays a duplicate, changed output becomes a new
version) or a fresh one for a new topic version (``WIREFEED_DEDUP_DATABASE_URL``). It uses no consumer
group and commits nothing, so the running normalizer is undisturbed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import structlog
from kafka import KafkaConsumer, TopicPartition
from rich.progress import Progress

from services.core.config import Topics
from services.core.db import Database
from services.core.kafka import create_topics_now, make_consumer, make_producer
from services.normalizer.learned import LearnedBoilerplate
from services.normalizer.service import NormalizeBatch
from services.normalizer.settings import NormalizerSettings

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ReplayTopics(Topics):
    target: str = ""

    @property
    def articles(self) -> str:
        return self.target or super().articles


def replay(settings: NormalizerSettings, since: datetime, to_topic: str | None = None,
           show_progress: bool = True) -> int:
    """Replay raw items from ``since``; returns how many raw items were read."""
    topics = ReplayTopics(settings.topic_prefix, to_topic or "")
    create_topics_now(settings, [topics.articles, topics.dead_letter])
    db = Database(settings.dedup_url)
    dedup = settings.dedup_store(db)
    dedup.migrate()
    consumer = make_consumer(settings, None, enable_auto_commit=False)  # type: ignore[arg-type]
    producer = make_producer(settings, role="replay")
    try:
        start, end = _bounds(consumer, settings.topics.raw_items, since)
        batch = NormalizeBatch(producer, topics, dedup, LearnedBoilerplate(db).load(),
                               max_message_bytes=settings.max_message_bytes)
        return _drain(consumer, batch, start, end, show_progress)
    finally:
        consumer.close(autocommit=False)
        producer.flush(timeout=60)
        producer.close(timeout=30)
        db.close()


def _bounds(consumer: KafkaConsumer, topic: str, since: datetime) -> tuple[dict[TopicPartition, int],
                                                                           dict[TopicPartition, int]]:
    partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
    consumer.assign(partitions)
    end = consumer.end_offsets(partitions)
    found = consumer.offsets_for_times({tp: int(since.timestamp() * 1000) for tp in partitions})
    start = {tp: (found[tp].offset if found.get(tp) is not None else end[tp]) for tp in partitions}
    for tp, offset in start.items():
        consumer.seek(tp, offset)
    return start, end


def _drain(consumer: KafkaConsumer, batch: NormalizeBatch, start: dict[TopicPartition, int],
           end: dict[TopicPartition, int], show_progress: bool) -> int:
    total = sum(end[tp] - start[tp] for tp in start)
    done = 0
    with Progress(disable=not show_progress, transient=False) as progress:
        task = progress.add_task("replaying raw items", total=total)
        while done < total:
            polled = consumer.poll(timeout_ms=1000, max_records=500)
            records = [r for part in polled.values() for r in part
                       if r.offset < end[TopicPartition(r.topic, r.partition)]]
            if records:
                batch(records)
                done += len(records)
                progress.update(task, completed=done)
            _pause_finished(consumer, end)
    log.info("replay_finished", raw_items=done)
    return done


def _pause_finished(consumer: KafkaConsumer, end: dict[TopicPartition, int]) -> None:
    finished = [tp for tp in consumer.assignment() if consumer.position(tp) >= end[tp]]
    if finished:
        consumer.pause(*finished)
