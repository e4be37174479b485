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
from services.core.kafka import (
    EXIT_FLUSH_SECONDS,
    close_producer,
    create_topics_now,
    make_consumer,
    make_producer,
    read_until,
    require_topic,
    seek_since,
)
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
    # Before creating the topics it writes: a wrong prefix would make them, and "replayed 0" look fine.
    require_topic(settings, settings.topics.raw_items)
    create_topics_now(settings, [topics.articles, topics.dead_letter])
    db = Database(settings.dedup_url, session=settings.database_session)
    dedup = settings.dedup_store(db)
    dedup.migrate()
    consumer = make_consumer(settings, None, enable_auto_commit=False)  # type: ignore[arg-type]
    producer = make_producer(settings, role="replay")
    try:
        start, end = seek_since(consumer, settings.topics.raw_items, since)
        batch = NormalizeBatch(producer, topics, dedup, settings.learned_boilerplate(db),
                               max_message_bytes=settings.max_message_bytes)
        return _drain(consumer, batch, start, end, show_progress)
    finally:
        consumer.close(autocommit=False)
        close_producer(producer, EXIT_FLUSH_SECONDS)
        db.close()


def _drain(consumer: KafkaConsumer, batch: NormalizeBatch, start: dict[TopicPartition, int],
           end: dict[TopicPartition, int], show_progress: bool) -> int:
    done = 0
    with Progress(disable=not show_progress, transient=False) as progress:
        task = progress.add_task("replaying raw items", total=sum(end[tp] - start[tp] for tp in start))
        for records in read_until(consumer, end):
            batch(records)
            done += len(records)
            progress.update(task, completed=done)
    log.info("replay_finished", raw_items=done)
    return done
