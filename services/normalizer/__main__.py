"""Composition root of the normalizer: settings -> clients -> batch step -> consume loop."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import structlog

from services.core.consume import ConsumeLoop
from services.core.db import Database
from services.core.http import Health
from services.core.kafka import (
    EXIT_FLUSH_SECONDS,
    broker_reachable,
    close_producer,
    letter_sender,
    make_consumer,
    make_producer,
    producer_usable,
)
from services.core.lag import LagMonitor
from services.core.logging import configure_logging
from services.core.metrics import MAIN_LOOP_AGE
from services.core.runner import Heartbeat, StopSignal, UnhealthyExit, run_program
from services.core.startup import Startup
from services.normalizer import language
from services.normalizer.dedup import DedupStore
from services.normalizer.learned import LearnedBoilerplate
from services.normalizer.metrics import BOILERPLATE_ENTRIES
from services.normalizer.service import NormalizeBatch
from services.normalizer.settings import NormalizerSettings

log = structlog.get_logger(__name__)

PURGE_EVERY_SECONDS = 600.0
SAVE_LEARNED_EVERY_SECONDS = 30.0
MAX_POLL_GAP_SECONDS = 120.0


def main(settings: NormalizerSettings | None = None) -> int:
    settings = settings or NormalizerSettings()
    configure_logging(settings.log_level, settings.log_format, service="normalizer")
    stop = StopSignal().install()
    startup = Startup(settings, stop)  # /healthz, /readyz and /metrics answer while it waits
    if not startup.kafka(settings.topics.all()):
        return startup.stopped()
    db = Database(settings.dedup_url, session=settings.database_session)
    dedup = settings.dedup_store(db)
    if not startup.database("dedup_db", dedup.migrate):
        return startup.stopped()
    producer = make_producer(settings, role="normalizer")
    consumer = make_consumer(settings, settings.consumer_group, max_poll_records=settings.max_batch)
    consumer.subscribe([settings.topics.raw_items])
    learned = settings.learned_boilerplate(db)
    BOILERPLATE_ENTRIES.set_function(lambda: learned.model.entries)
    language.warm_up()  # load the language model now, not on the first item
    # After each batch the position is the committed offset: everything below it has been produced.
    lag = LagMonitor(consumer, lambda: {tp.partition: consumer.position(tp) for tp in consumer.assignment()})
    heartbeat = Heartbeat()
    loop = ConsumeLoop(consumer, NormalizeBatch(producer, settings.topics, dedup, learned,
                                                      max_message_bytes=settings.max_message_bytes), stop,
                       stage="normalizer", max_records=settings.max_batch, heartbeat=heartbeat,
                       housekeeping=[Housekeeping(dedup, learned, lag.maybe_update, progress=heartbeat.beat)],
                       send_dead_letter=letter_sender(producer, settings.topics.dead_letter))
    health = Health({
        "kafka": broker_reachable(settings),
        "consuming": loop.consuming,
        "dedup_db": db.ping,
        "loop": lambda: time.monotonic() - loop.last_progress < MAX_POLL_GAP_SECONDS,
    }, vital={"producer": producer_usable(producer),
              "loop_turning": heartbeat.within(settings.loop_stall_seconds)})
    MAIN_LOOP_AGE.set_function(heartbeat.age)
    server = startup.started(health)
    unhealthy = UnhealthyExit(health.failing_vital, stop, settings.exit_unhealthy_after_seconds).start()
    log.info("normalizer_started", metrics_port=server.port, topic=settings.topics.raw_items)
    try:
        loop.run()
    finally:
        consumer.close(autocommit=False)
        learned.save(datetime.now(UTC))
        close_producer(producer, EXIT_FLUSH_SECONDS)
        server.stop()
        db.close()
        log.info("normalizer_stopped")
    return unhealthy.exit_code


class Housekeeping:
    """Chores between batches: forget dedup state past the window, save what the boilerplate model learned."""

    def __init__(self, dedup: DedupStore, learned: LearnedBoilerplate, update_lag: Callable[[], None], *,
                 progress: Callable[[], None] = lambda: None) -> None:
        self.dedup = dedup
        self.progress = progress  # a purge of a backlog is long: the loop's heartbeat goes on meanwhile
        self.learned = learned
        self.update_lag = update_lag
        self._last_purge = self._last_save = time.monotonic()

    def __call__(self) -> None:
        self.update_lag()
        now = time.monotonic()
        if now - self._last_save >= SAVE_LEARNED_EVERY_SECONDS:
            self._last_save = now
            self.learned.save(datetime.now(UTC))
        if now - self._last_purge >= PURGE_EVERY_SECONDS:
            self._last_purge = now
            log.info("dedup_purged", removed=self.dedup.purge(datetime.now(UTC), progress=self.progress))


if __name__ == "__main__":
    run_program(main)
