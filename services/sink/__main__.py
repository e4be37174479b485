"""Composition root of the sink: settings -> store -> consumer with stored offsets -> consume loop,
plus the retention thread, the lag gauge and the read API on the metrics port."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import structlog
from kafka import KafkaConsumer, OffsetAndMetadata

from services.core.consume import ConsumeLoop, Offsets
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
from services.core.runner import StopSignal, UnhealthyExit, freeze_startup_heap, run_program
from services.core.startup import Startup
from services.sink import retention
from services.sink.api import ReadApi
from services.sink.reads import Reader
from services.sink.service import SinkBatch, StoredOffsets
from services.sink.settings import SinkSettings
from services.sink.store import SqlStore
from services.sink.stragglers import Stragglers

log = structlog.get_logger(__name__)

#: The read API gets its own small pool so that a burst of reads cannot starve ingestion of connections.
READ_POOL_SIZE = 2


def main(settings: SinkSettings | None = None) -> int:
    settings = settings or SinkSettings()
    configure_logging(settings.log_level, settings.log_format, service="sink")
    stop = StopSignal().install()
    startup = Startup(settings, stop)  # /healthz, /readyz and /metrics answer while it waits
    if not startup.kafka(settings.topics.all()):
        return startup.stopped()
    url = settings.database_url.get_secret_value()
    store = SqlStore(Database(url, session=settings.database_session))
    if not startup.database("database", store.migrate):
        return startup.stopped()
    # The read API can change nothing.
    reads = Database(url, pool_size=READ_POOL_SIZE, read_only=True,
                     session=replace(settings.database_session,
                                     statement_timeout=settings.read_api_statement_timeout_seconds))
    producer = make_producer(settings, role="sink")
    consumer = make_consumer(settings, settings.consumer_group, max_poll_records=settings.max_batch,
                             fetch_max_wait_ms=settings.max_batch_latency_ms)
    offsets = StoredOffsets(consumer, store, settings.topics.articles)
    consumer.subscribe([settings.topics.articles], listener=offsets)
    lag = LagMonitor(consumer, lambda: dict(offsets.positions), interval=settings.lag_interval_seconds)
    batch = SinkBatch(store, producer, settings.topics, offsets, after_write=lag.maybe_update,
                      max_message_bytes=settings.max_message_bytes)
    # Rows older replicas write during a rolling update are keyed right away and every few minutes after.
    stragglers = Stragglers(store)
    loop = ConsumeLoop(consumer, batch, stop, stage="sink", commit=_commit_for_lag_monitoring(consumer, offsets),
                       max_records=settings.max_batch, housekeeping=[lag.maybe_update, stragglers.maybe_run],
                       send_dead_letter=letter_sender(producer, settings.topics.dead_letter),
                       record_passed=batch.record_passed)
    purger = _retention(settings, store, stop)
    health = Health({"kafka": broker_reachable(settings), "consuming": loop.consuming, "database": store.ping},
                    vital={"producer": producer_usable(producer),
                           "loop_turning": loop.heartbeat.within(settings.loop_stall_seconds)})
    MAIN_LOOP_AGE.set_function(loop.heartbeat.age)
    token = settings.read_api_token.get_secret_value() if settings.read_api_token else None
    read_api = ReadApi(Reader(reads), token, settings.read_api_max_answer_bytes_in_flight)
    server = startup.started(health, routes=read_api.routes())
    unhealthy = UnhealthyExit(health.failing_vital, stop, settings.exit_unhealthy_after_seconds).start()
    log.info("sink_started", metrics_port=server.port, topic=settings.topics.articles,
             retention_days=settings.retention_days, read_api_token=token is not None)
    freeze_startup_heap()
    try:
        loop.run()
    finally:
        stop.set()  # also ends the retention thread when the loop stopped for another reason
        consumer.close(autocommit=False)
        close_producer(producer, EXIT_FLUSH_SECONDS)
        server.stop()
        if purger:
            purger.join(timeout=30)
        store.close()
        reads.close()
        log.info("sink_stopped")
    return unhealthy.exit_code


def _commit_for_lag_monitoring(consumer: KafkaConsumer, stored: StoredOffsets) -> Callable[[Offsets], None]:
    def commit(positions: Offsets) -> None:
        # What the database stored for the batch's partitions, not the end of the batch: records fetched
        # past a stored offset are read again from it, and lag tools would have counted them as stored.
        durable = {tp: OffsetAndMetadata(stored.positions[tp.partition], "", -1)
                   for tp in positions if tp.partition in stored.positions}
        if not durable:
            return
        try:
            consumer.commit_async(durable)
        except Exception as error:  # the database holds the truth; a failed Kafka commit loses nothing
            log.debug("kafka_commit_failed", error=str(error))

    return commit


def _retention(settings: SinkSettings, store: SqlStore, stop: StopSignal) -> retention.Retention | None:
    if settings.retention_days == 0:
        return None
    dialect = store.db.dialect
    return retention.Retention(store, settings.retention_days, stop, batch_rows=retention.BATCH_ROWS[dialect],
                               pause=retention.PAUSE_SECONDS[dialect],
                               interval=settings.retention_interval_seconds).start()


if __name__ == "__main__":
    run_program(main)
