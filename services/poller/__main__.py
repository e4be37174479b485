"""Composition root of the poller: settings -> clients -> service -> run loop."""

from __future__ import annotations

import asyncio

import structlog

from services.core.db import Database
from services.core.http import Health, ServiceHTTPServer
from services.core.kafka import broker_reachable, ensure_topics, make_producer
from services.core.logging import configure_logging
from services.core.runner import StopSignal
from services.poller.feeds import FeedConfig, load_feeds
from services.poller.fetch import Fetcher, FetchLimits
from services.poller.service import KafkaPublisher, Poller
from services.poller.settings import PollerSettings
from services.poller.state import PollerStore

log = structlog.get_logger(__name__)


def main(settings: PollerSettings | None = None, *, once: bool = False) -> int:
    settings = settings or PollerSettings()
    configure_logging(settings.log_level, settings.log_format, service="poller")
    stop = StopSignal().install()
    feeds = load_feeds(settings.feeds_file).feeds
    ensure_topics(settings, settings.topics.all())
    db = Database(settings.state_url)
    store = PollerStore(db)
    store.migrate()
    producer = make_producer(settings, role="poller")
    health = Health({"kafka": broker_reachable(settings), "state_db": db.ping})
    server = ServiceHTTPServer(settings.metrics_host, settings.metrics_port, health).start()
    log.info("poller_started", feeds=len(feeds), metrics_port=server.port)
    try:
        publisher = KafkaPublisher(producer, settings.topics.raw_items)
        asyncio.run(_run(settings, feeds=feeds, store=store, publisher=publisher, stop=stop, once=once))
    finally:
        producer.flush(timeout=30)
        producer.close(timeout=30)
        server.stop()
        db.close()
        log.info("poller_stopped")
    return 0


async def _run(settings: PollerSettings, *, feeds: list[FeedConfig], store: PollerStore,
               publisher: KafkaPublisher, stop: StopSignal, once: bool) -> None:
    limits = FetchLimits(
        max_body_bytes=settings.max_body_bytes,
        max_decompressed_bytes=settings.max_decompressed_bytes,
        connect_timeout=settings.connect_timeout_seconds,
        read_timeout=settings.read_timeout_seconds,
        total_timeout=settings.total_timeout_seconds,
        allow_private_networks=settings.allow_private_networks,
    )
    fetcher = Fetcher(limits, proxy=settings.http_proxy)
    poller = Poller(feeds, store, fetcher, publisher, max_concurrency=settings.max_concurrency,
                    per_host_concurrency=settings.per_host_concurrency)
    try:
        await poller.run(stop, once=once)
    finally:
        await fetcher.aclose()


if __name__ == "__main__":
    raise SystemExit(main())
