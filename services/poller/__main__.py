"""Composition root of the poller: settings -> clients -> service -> run loop."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Coroutine
from datetime import timedelta
from typing import Any

import structlog
from kafka import KafkaProducer

from services.core.db import Database
from services.core.http import Health
from services.core.kafka import broker_reachable, close_producer, producer_usable
from services.core.logging import configure_logging
from services.core.metrics import MAIN_LOOP_AGE
from services.core.runner import EXIT_INCOMPLETE, Heartbeat, StopSignal, UnhealthyExit, run_program
from services.core.startup import Startup
from services.poller.feeds import FeedConfig
from services.poller.fetch import Fetcher, make_fetcher
from services.poller.leases import LeaseStore, default_owner
from services.poller.loop import PollLoop
from services.poller.reload import FeedsFileWatcher
from services.poller.seen_retention import forget_forever
from services.poller.service import FeedSetChange, KafkaPublisher, Poller, Publish, publishing_producer
from services.poller.settings import PollerSettings
from services.poller.state import PollerStore
from services.poller.websub import WebSubStore, WebSubSubscriber
from services.poller.websub_server import WebSubServer

log = structlog.get_logger(__name__)

HEARTBEAT_SECONDS = 1.0


def main(settings: PollerSettings | None = None, *, once: bool = False) -> int:
    settings = settings or PollerSettings()
    configure_logging(settings.log_level, settings.log_format, service="poller")
    stop = StopSignal().install()
    watcher = FeedsFileWatcher(settings.feeds_file)
    feeds = watcher.load()  # every feed's credentials too: a missing one stops the start here
    startup = Startup(settings, stop)  # /healthz, /readyz and /metrics answer while it waits
    if not startup.kafka(settings.topics.all()):
        return startup.stopped()
    db = Database(settings.state_url, session=settings.database_session)
    store = PollerStore(db)
    if not startup.database("state_db", store.migrate):
        return startup.stopped()
    producer = publishing_producer(settings)
    publisher = KafkaPublisher(producer, settings.topics.raw_items, max_message_bytes=settings.max_message_bytes)
    heartbeat = Heartbeat()
    health = Health({"kafka": broker_reachable(settings), "publishing": publisher.publishing, "state_db": db.ping},
                    vital={"producer": producer_usable(producer),
                           "loop_turning": heartbeat.within(settings.loop_stall_seconds)})
    MAIN_LOOP_AGE.set_function(heartbeat.age)
    server = startup.started(health)
    unhealthy = UnhealthyExit(health.failing_vital, stop, settings.exit_unhealthy_after_seconds).start()
    owner = settings.poller_id or default_owner()
    log.info("poller_started", feeds=len(feeds), metrics_port=server.port, owner=owner)
    unfinished: list[str] = []
    try:
        unfinished = asyncio.run(_run(settings, feeds=feeds, db=db, publisher=publisher, stop=stop, once=once,
                                      owner=owner, watcher=watcher, heartbeat=heartbeat))
    finally:
        signal.signal(signal.SIGHUP, signal.SIG_IGN)  # stopping: its default action would cut the flush short
        _close_publishing(publisher, producer, stop, settings.shutdown_grace_seconds)
        server.stop()
        db.close()
        log.info("poller_stopped")
    return unhealthy.exit_code or _once_exit_code(unfinished, once=once)


def _close_publishing(publisher: KafkaPublisher, producer: KafkaProducer, stop: StopSignal, grace: float) -> None:
    """Once the polls have ended or been cancelled: their publishing threads stop waiting (they would hold
    the interpreter's exit), and the producer gets what is left of the grace to deliver what it holds, so
    that the whole stop takes the grace, plus FORCE_CLOSE_SECONDS for what it cannot deliver. That is
    only what cancelled polls handed it: a finished poll's items were acknowledged before they were
    marked published, so the next poll publishes whatever is not delivered here."""
    publisher.close()
    close_producer(producer, stop.seconds_left(grace))


def _once_exit_code(unfinished: list[str], *, once: bool) -> int:
    """``--once`` is a job: one a stop cut short says so (EX_TEMPFAIL), so that a scheduler runs it again.
    The long-running poller exits 0 when stopped: polls it cancelled are any next poller's to do."""
    if not (once and unfinished):
        return 0
    log.error("poll_once_incomplete", feeds_not_polled=len(unfinished), feeds=unfinished[:50],
              exit_code=EXIT_INCOMPLETE)
    return EXIT_INCOMPLETE


async def _run(settings: PollerSettings, *, feeds: list[FeedConfig], db: Database, publisher: Publish,
               stop: StopSignal, once: bool, owner: str, watcher: FeedsFileWatcher, heartbeat: Heartbeat,
               ) -> list[str]:
    """Poll until stopped (or every feed once); the feeds whose poll the stop cut short."""
    fetcher = make_fetcher(settings)
    poller = Poller(feeds, PollerStore(db), fetcher, publisher, max_concurrency=settings.max_concurrency,
                    per_host_concurrency=settings.per_host_concurrency, max_pages=settings.max_pages,
                    spool_settle_seconds=settings.spool_settle_seconds, sftp_known_hosts=settings.sftp_known_hosts,
                    max_body_bytes_in_flight=settings.max_body_bytes_in_flight)
    loop = PollLoop(poller, LeaseStore(db, owner, settings.poller_lease_seconds),
                    shutdown_grace=settings.shutdown_grace_seconds)
    try:
        async with _in_background(_beat_forever(heartbeat)), \
                _websub(settings, db, fetcher, loop, enabled=not once) as subscriber:
            if once:
                await loop.run(stop, once=True)
            else:
                async with _watching(watcher, loop, subscriber, settings.feeds_reload_seconds), \
                        _forgetting(settings, db):
                    await loop.run(stop)
        return loop.unfinished
    finally:
        await fetcher.aclose()


@contextlib.asynccontextmanager
async def _in_background(work: Coroutine[Any, Any, object]) -> AsyncIterator[None]:
    """``work`` runs as a task while the block does, and is cancelled after it."""
    task = asyncio.create_task(work)
    try:
        yield
    finally:
        task.cancel()


async def _beat_forever(heartbeat: Heartbeat) -> None:
    """The heartbeat comes from the event loop itself: a call that blocks it (the state database not
    answering a lease claim) stops the beats, and liveness fails."""
    while True:
        heartbeat.beat()
        await asyncio.sleep(HEARTBEAT_SECONDS)


@contextlib.asynccontextmanager
async def _watching(watcher: FeedsFileWatcher, loop: PollLoop, subscriber: WebSubSubscriber | None,
                    every: float) -> AsyncIterator[None]:
    """Changes to the feeds file applied while running: checked every ``every`` seconds, at once on SIGHUP."""
    def apply(feeds: list[FeedConfig]) -> FeedSetChange:
        change = loop.apply_feeds(feeds)
        if subscriber is not None:  # removed feeds are unsubscribed at their hubs by the renewer
            subscriber.feed_ids = set(loop.poller.feeds)
        return change

    hangup = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, hangup.set)
    try:
        async with _in_background(watcher.watch(apply, hangup, every)):
            yield
    finally:
        asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)


@contextlib.asynccontextmanager
async def _forgetting(settings: PollerSettings, db: Database) -> AsyncIterator[None]:
    """Items feeds stopped listing forgotten hourly, unless the retention is 0."""
    if settings.seen_items_retention_days == 0:
        yield
        return
    async with _in_background(forget_forever(PollerStore(db), timedelta(days=settings.seen_items_retention_days))):
        yield


@contextlib.asynccontextmanager
async def _websub(settings: PollerSettings, db: Database, fetcher: Fetcher, loop: PollLoop, *,
                  enabled: bool) -> AsyncIterator[WebSubSubscriber | None]:
    """The WebSub subscriber and its callback server, when a callback URL is configured."""
    if not (enabled and settings.websub_callback_url):
        yield None
        return
    subscriber = WebSubSubscriber(WebSubStore(db), fetcher, settings.websub_callback_url, loop.push,
                                  feed_ids=set(loop.poller.feeds), lease_seconds=settings.websub_lease_seconds,
                                  allow_insecure_hub=settings.websub_allow_insecure_hub)
    loop.poller.on_parsed = subscriber.on_parsed
    server = WebSubServer(settings.websub_host, settings.websub_port, subscriber, settings.max_body_bytes).start()
    renewer = asyncio.create_task(subscriber.renew_forever())
    log.info("websub_listening", port=server.port)
    try:
        yield subscriber
    finally:
        renewer.cancel()
        server.stop()


if __name__ == "__main__":
    run_program(main)
