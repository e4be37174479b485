"""Composition root of the sink: settings -> store -> consumer with stored offsets -> consume loop."""

from __future__ import annotations

import structlog

from services.core.consume import ConsumeLoop, Offsets
from services.core.db import Database
from services.core.http import Health, ServiceHTTPServer
from services.core.kafka import broker_reachable, ensure_topics, make_consumer, make_producer
from services.core.logging import configure_logging
from services.core.runner import StopSignal
from services.sink.service import SinkBatch, StoredOffsets
from services.sink.settings import SinkSettings
from services.sink.store import SqlStore

log = structlog.get_logger(__name__)


def main(settings: SinkSettings | None = None) -> int:
    settings = settings or SinkSettings()
    configure_logging(settings.log_level, settings.log_format, service="sink")
    stop = StopSignal().install()
    ensure_topics(settings, settings.topics.all())
    store = SqlStore(Database(settings.database_url.get_secret_value()))
    store.migrate()
    producer = make_producer(settings, role="sink")
    consumer = make_consumer(settings, settings.consumer_group, max_poll_records=settings.max_batch,
                             fetch_max_wait_ms=settings.max_batch_latency_ms)
    offsets = StoredOffsets(consumer, store, settings.topics.articles)
    consumer.subscribe([settings.topics.articles], listener=offsets)

    def commit_for_lag_monitoring(positions: Offsets) -> None:
        try:
            consumer.commit_async(positions)
        except Exception as error:  # the database holds the truth; a failed Kafka commit loses nothing
            log.debug("kafka_commit_failed", error=str(error))

    loop = ConsumeLoop(consumer, SinkBatch(store, producer, settings.topics, offsets), stop,
                       commit=commit_for_lag_monitoring, max_records=settings.max_batch)
    health = Health({"kafka": broker_reachable(settings), "database": store.ping})
    server = ServiceHTTPServer(settings.metrics_host, settings.metrics_port, health).start()
    log.info("sink_started", metrics_port=server.port, topic=settings.topics.articles)
    try:
        loop.run()
    finally:
        consumer.close(autocommit=False)
        producer.close(timeout=30)
        server.stop()
        store.close()
        log.info("sink_stopped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
