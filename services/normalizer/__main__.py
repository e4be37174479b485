"""Composition root of the normalizer: settings -> clients -> batch step -> consume loop."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import structlog

from services.core.consume import ConsumeLoop
from services.core.db import Database
from services.core.http import Health, ServiceHTTPServer
from services.core.kafka import broker_reachable, ensure_topics, make_consumer, make_producer
from services.core.logging import configure_logging
from services.core.runner import StopSignal
from services.normalizer.dedup import DedupStore
from services.normalizer.service import NormalizeBatch
from services.normalizer.settings import NormalizerSettings

log = structlog.get_logger(__name__)

PURGE_EVERY_SECONDS = 600.0
MAX_POLL_GAP_SECONDS = 120.0


def main(settings: NormalizerSettings | None = None) -> int:
    settings = settings or NormalizerSettings()
    configure_logging(settings.log_level, settings.log_format, service="normalizer")
    stop = StopSignal().install()
    ensure_topics(settings, settings.topics.all())
    db = Database(settings.dedup_url)
    dedup = DedupStore(db, settings.dedup_window)
    dedup.migrate()
    producer = make_producer(settings, role="normalizer")
    consumer = make_consumer(settings, settings.consumer_group, max_poll_records=settings.max_batch)
    consumer.subscribe([settings.topics.raw_items])
    loop = ConsumeLoop(consumer, NormalizeBatch(producer, settings.topics, dedup), stop,
                       max_records=settings.max_batch, housekeeping=_purger(dedup))
    health = Health({
        "kafka": broker_reachable(settings),
        "dedup_db": db.ping,
        "loop": lambda: time.monotonic() - loop.last_progress < MAX_POLL_GAP_SECONDS,
    })
    server = ServiceHTTPServer(settings.metrics_host, settings.metrics_port, health).start()
    log.info("normalizer_started", metrics_port=server.port, topic=settings.topics.raw_items)
    try:
        loop.run()
    finally:
        consumer.close(autocommit=False)
        producer.flush(timeout=30)
        producer.close(timeout=30)
        server.stop()
        db.close()
        log.info("normalizer_stopped")
    return 0


def _purger(dedup: DedupStore) -> Callable[[], None]:
    last = [time.monotonic()]

    def purge_when_due() -> None:
        if time.monotonic() - last[0] >= PURGE_EVERY_SECONDS:
            last[0] = time.monotonic()
            removed = dedup.purge(datetime.now(UTC))
            log.info("dedup_purged", removed=removed)

    return purge_when_due


if __name__ == "__main__":
    raise SystemExit(main())
