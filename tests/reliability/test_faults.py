"""Faults in the middle of a stream: nothing lost, nothing doubled, poison accounted for, and the
services recover by themselves. Each scenario adds a row to the fault table printed at the end."""

from __future__ import annotations

import random
import signal
import uuid
from urllib.parse import urlsplit

import pytest
from kafka import KafkaAdminClient

from services.core.runner import EXIT_UNHEALTHY
from services.core.supervise import _ready
from tests.frozen_link import FrozenLink
from tests.helpers import wait_for
from tests.integration.kafka_helpers import topic_config
from tests.reliability.conftest import Cluster, PostgresCluster
from tests.reliability.harness import Stream, assert_promise_kept, feeding, keep_advancing, pipeline

pytestmark = [pytest.mark.reliability, pytest.mark.kafka]


def new_stream(bootstrap: str, database_url: str, replication_factor: int = 1) -> Stream:
    stream = Stream(bootstrap, f"rel-{uuid.uuid4().hex[:8]}", database_url, replication_factor)
    stream.create_topics()
    return stream


def stored_at_least(stream: Stream, count: int) -> None:
    wait_for(lambda: stream.stored()[1] >= count, timeout=120, interval=0.3, message=f"{count} stored")


def test_a_single_broker_killed_mid_stream_and_restarted(single_broker: Cluster, fault_database: str) -> None:
    stream = new_stream(single_broker.bootstrap, fault_database)
    producer = stream.producer()
    with pipeline(stream.env()) as running:
        with feeding(stream, producer, 200):
            stored_at_least(stream, 30)
            single_broker.kill(1)
            wait_for(lambda: not _ready(running.port("sink")), timeout=30, message="sink reports not ready")
            single_broker.start(1)
            wait_for(lambda: _ready(running.port("sink")), timeout=120, message="sink ready again")
        stream.wait_drained()
        keep_advancing(stream, producer)
    producer.close()
    assert_promise_kept(stream.account("single broker SIGKILL mid-stream, restarted"), stream.poison)


def _leader(admin: KafkaAdminClient, topic: str) -> int:
    return int(admin.describe_topics([topic])[0]["partitions"][0]["leader_id"])


def _fully_replicated(admin: KafkaAdminClient, topics: list[str]) -> bool:
    return all(len(p["isr_nodes"]) == 3 for t in admin.describe_topics(topics) for p in t["partitions"])


def test_the_partition_leader_killed_repeatedly_in_a_three_node_cluster(three_brokers: Cluster,
                                                                        fault_database: str) -> None:
    stream = new_stream(three_brokers.bootstrap, fault_database, replication_factor=3)
    topics = stream.settings.topics.all()
    admin = KafkaAdminClient(bootstrap_servers=three_brokers.bootstrap.split(","))
    # Acknowledged writes are on two replicas, so a killed leader loses none (the topics say so themselves).
    assert {topic_config(admin, topic, "min.insync.replicas") for topic in topics} == {("2", "DYNAMIC_TOPIC_CONFIG")}
    producer = stream.producer()
    with pipeline(stream.env()):
        with feeding(stream, producer, 300):
            for round_ in range(3):
                stored_at_least(stream, 40 * (round_ + 1))
                leader = _leader(admin, stream.settings.topics.raw_items)
                three_brokers.kill(leader)
                wait_for(lambda: _leader(admin, stream.settings.topics.raw_items) not in (leader, -1),  # noqa: B023
                         timeout=60, message="a new leader")
                three_brokers.start(leader)
                wait_for(lambda: _fully_replicated(admin, topics), timeout=120, message="replicas back in sync")
        stream.wait_drained()
        keep_advancing(stream, producer)
    producer.close()
    admin.close()
    assert_promise_kept(stream.account("3-node KRaft, partition leader SIGKILLed 3 times (rf=3, isr=2)"),
                        stream.poison)


def test_normalizer_and_sink_replicas_killed_at_random_points(single_broker: Cluster, fault_database: str,
                                                              rng: random.Random) -> None:
    stream = new_stream(single_broker.bootstrap, fault_database)
    producer = stream.producer()
    with pipeline(stream.env()) as first, pipeline(stream.env()) as second:
        with feeding(stream, producer, 300):
            for kill in range(8):
                stored_at_least(stream, 25 * (kill + 1))
                victim = rng.choice([first, second])
                service = rng.choice(["normalizer", "sink"])
                victim.kill(service)
                victim.restart(service)
        stream.wait_drained()
        keep_advancing(stream, producer)
    producer.close()
    assert_promise_kept(stream.account("normalizer+sink x2 replicas, 8 SIGKILLs at random, rebalances"),
                        stream.poison)


def test_a_consumer_paused_longer_than_its_poll_interval(single_broker: Cluster, fault_database: str) -> None:
    stream = new_stream(single_broker.bootstrap, fault_database)
    producer = stream.producer()
    env = stream.env(WIREFEED_MAX_POLL_INTERVAL_MS="6000")
    with pipeline(env) as first, pipeline(env, services=("normalizer",)) as second:
        with feeding(stream, producer, 200):
            stored_at_least(stream, 20)
            paused = first.processes["normalizer"]
            paused.send_signal(signal.SIGSTOP)
            try:  # paused mid-batch, it holds claims' row locks until PostgreSQL ends its idle session
                before = stream.stored()[1]
                stored_at_least(stream, before + 40)  # the other replica took the paused one's partitions
            finally:
                paused.send_signal(signal.SIGCONT)
            wait_for(lambda: _ready(first.port("normalizer")), timeout=60, message="paused replica back")
            assert second.alive()["normalizer"]
        stream.wait_drained()
        keep_advancing(stream, producer)
    producer.close()
    assert_promise_kept(stream.account("normalizer replica SIGSTOPped past max.poll.interval.ms"), stream.poison)


def test_postgresql_stopped_mid_stream_and_started_again(single_broker: Cluster, fault_database: str,
                                                         fault_postgres: PostgresCluster) -> None:
    stream = new_stream(single_broker.bootstrap, fault_database)
    producer = stream.producer()
    with pipeline(stream.env()) as running:
        with feeding(stream, producer, 200):
            stored_at_least(stream, 30)
            fault_postgres.stop()
            wait_for(lambda: not _ready(running.port("sink")), timeout=30, message="sink reports not ready")
            fault_postgres.start()
            wait_for(lambda: _ready(running.port("sink")), timeout=120, message="sink ready again")
        stream.wait_drained()
        keep_advancing(stream, producer)
    producer.close()
    assert_promise_kept(stream.account("PostgreSQL stopped mid-stream, started again"), stream.poison)


def test_postgresql_stops_answering_mid_stream_and_the_stuck_services_restart(single_broker: Cluster,
                                                                             fault_database: str) -> None:
    # Not down, silent: a link that stops carrying bytes, as a hung host or a network dropping packets.
    # The services' calls hang; their heartbeat stops, they exit 70 and are restarted, as `wirefeed run`,
    # Compose or Kubernetes would. Then the link carries again, delivering what it held (the dead
    # processes' statements among it) before their connections close.
    stream = new_stream(single_broker.bootstrap, fault_database)
    producer = stream.producer()
    address = urlsplit(fault_database)
    with FrozenLink((address.hostname or "127.0.0.1", address.port or 5432)) as link:
        netloc = f"{address.username}:{address.password}@127.0.0.1:{link.port}"
        env = stream.env(WIREFEED_DATABASE_URL=address._replace(netloc=netloc).geturl(),
                         WIREFEED_LOOP_STALL_SECONDS="5", WIREFEED_EXIT_UNHEALTHY_AFTER_SECONDS="2")
        with pipeline(env) as running:
            with feeding(stream, producer, 200):
                stored_at_least(stream, 30)
                link.freeze()
                wait_for(lambda: running.processes["normalizer"].poll() == EXIT_UNHEALTHY, timeout=90,
                         message="the normalizer, stuck on its dedup database, exiting 70")
                running.restart_unhealthy()
                link.thaw()
            wait_for(lambda: running.restart_unhealthy() and stream.stored()[1] >= len(stream.offered),
                     timeout=180, interval=0.5, message="everything stored after the restarts")
            keep_advancing(stream, producer)
    producer.close()
    assert_promise_kept(stream.account("PostgreSQL silent mid-stream, stuck services restarted"),
                        stream.poison)
