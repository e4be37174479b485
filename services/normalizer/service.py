"""The normalizer's batch step: raw items in -> normalize -> dedup -> articles out (or dead letters).

Per batch: every record is normalized (or dead-lettered), the articles are decided by the dedup store
in one transaction, the ones to publish are produced keyed by story id and flushed; only then are they
marked published and the offsets committed. The learned boilerplate model learns from a batch's
published articles after the batch is decided, so it cleans the next batch.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import structlog
from kafka import KafkaProducer
from kafka.consumer.fetcher import ConsumerRecord
from pydantic import ValidationError

from schemas import Article, RawItem
from services.core.config import DEFAULT_MAX_MESSAGE_BYTES, Topics
from services.core.consume import TransientError
from services.core.db import TRANSIENT_ERRORS
from services.core.kafka import dead_letter, fit_message
from services.core.metrics import DEAD_LETTERS
from services.normalizer import metrics
from services.normalizer.dedup import Decision, DedupConflictError, DedupStore
from services.normalizer.learned import LearnedBoilerplate
from services.normalizer.neardup import Fingerprint
from services.normalizer.normalize import NormalizeError, NoTextError, normalize

log = structlog.get_logger(__name__)

STAGE = "normalizer"
RETRYABLE: tuple[type[Exception], ...] = (*TRANSIENT_ERRORS, DedupConflictError)


class NormalizeBatch:
    def __init__(self, producer: KafkaProducer, topics: Topics, dedup: DedupStore,
                 learned: LearnedBoilerplate | None = None, clock: Callable[[], datetime] | None = None, *,
                 max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> None:
        self.producer = producer
        self.max_message_bytes = max_message_bytes
        self.topics = topics
        self.dedup = dedup
        self.learned = learned
        self.clock = clock or (lambda: datetime.now(UTC))

    def __call__(self, records: list[ConsumerRecord]) -> None:
        with metrics.BATCH_DURATION.time():
            now = self.clock()
            futures: list[object] = []
            raws = [(record, raw) for record in records
                    if (raw := self._raw_or_dead_letter(record, futures)) is not None]
            if self.learned:
                self.learned.learn_batch([raw for _, raw in raws])
            # Each fingerprint right after its normalize(), while the body's words are still remembered.
            normalized = [(article, self.dedup.near.fingerprint(article), raw.feed_agency) for record, raw in raws
                          if (article := self._article_or_dead_letter(record, raw, now, futures)) is not None]
            published: list[str] = []
            for decision in self._decide(normalized, now):
                if self._counted(decision):
                    # The clean text is what readers and search need most: the HTML goes first.
                    _, value = fit_message(decision.article, self.max_message_bytes, STAGE, drop=("body_html",),
                                           cut=("body_text", "summary"))
                    futures.append(self.producer.send(self.topics.articles, key=decision.article.story_id.encode(),
                                                      value=value))
                    published.append(decision.article.id)
            self._flush(futures)
            self._mark(published)

    def _raw_or_dead_letter(self, record: ConsumerRecord, futures: list[object]) -> RawItem | None:
        metrics.ITEMS_CONSUMED.inc()
        try:
            return RawItem.from_json(record.value)
        except (ValidationError, ValueError) as error:
            futures.append(self._dead_letter(record, error))
            return None

    def _article_or_dead_letter(self, record: ConsumerRecord, raw: RawItem, now: datetime,
                                futures: list[object]) -> Article | None:
        try:
            return normalize(raw, now, boilerplate=self.learned.model if self.learned else None)
        except NoTextError:
            metrics.ITEMS_SKIPPED.labels("no_text").inc()
            log.debug("item_skipped", item=raw.item_id, reason="no_text")
            return None
        except (ValidationError, NormalizeError, ValueError) as error:
            futures.append(self._dead_letter(record, error))
            return None
        except Exception as error:
            # normalize() is pure, so whatever else it raises is about this record (or a bug it exposes):
            # the record goes to the dead-letter topic like any poison message, and the partition goes on.
            log.exception("normalize_failed_unexpectedly", partition=record.partition, offset=record.offset)
            futures.append(self._dead_letter(record, error))
            return None

    def _decide(self, normalized: list[tuple[Article, Fingerprint, str | None]], now: datetime) -> list[Decision]:
        """``normalized``: each article with its fingerprint and its feed's agency mark (``RawItem.feed_agency``)."""
        try:
            return self.dedup.decide_batch([article for article, _, _ in normalized], now,
                                           [fingerprint for _, fingerprint, _ in normalized],
                                           [agency for _, _, agency in normalized])
        except RETRYABLE as error:
            raise TransientError(f"dedup store unavailable: {error}") from error

    def _counted(self, decision: Decision) -> bool:
        """Count the decision; True when its article is to be published."""
        if not decision.publish:
            metrics.DUPLICATES.labels(decision.reason or "duplicate").inc()
            log.debug("duplicate_dropped", article=decision.article.id, reason=decision.reason,
                      duplicate_of=decision.duplicate_of)
            return False
        metrics.ARTICLES_PUBLISHED.labels(decision.verdict.value).inc()
        if self.learned:
            self.learned.observe(decision.article)
        return True

    def _dead_letter(self, record: ConsumerRecord, error: Exception) -> object:
        letter = dead_letter(STAGE, record, error, max_bytes=self.max_message_bytes)
        DEAD_LETTERS.labels(STAGE, letter.error_class).inc()
        log.warning("dead_lettered", topic=record.topic, partition=record.partition, offset=record.offset,
                    error_class=letter.error_class, reason=letter.reason[:200])
        return self.producer.send(self.topics.dead_letter, key=record.key, value=letter.to_bytes())

    def _flush(self, futures: list[object]) -> None:
        try:
            self.producer.flush(timeout=60)
            for future in futures:
                future.get(timeout=60)  # type: ignore[attr-defined]
        except Exception as error:
            raise TransientError(f"produce failed: {error}") from error

    def _mark(self, article_ids: list[str]) -> None:
        try:
            self.dedup.mark_published(article_ids)
        except TRANSIENT_ERRORS as error:
            raise TransientError(f"dedup store unavailable: {error}") from error
