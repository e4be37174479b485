"""Helpers for tests against the real broker."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from kafka import KafkaConsumer
from kafka.admin import ConfigResource, KafkaAdminClient

from services.core.config import CommonSettings
from services.core.consume import ConsumeLoop
from services.core.kafka import admin_client, ensure_topics, make_consumer
from services.core.runner import StopSignal


def topic_config(admin: KafkaAdminClient, topic: str, name: str) -> tuple[str, str]:
    """One of the topic's settings as the broker reports it: its value, and where that comes from."""
    described = admin.describe_configs([ConfigResource("TOPIC", topic, [name])], config_filter="all")
    config = described["topic"][topic][name]
    return str(config["value"]), str(config["config_source"])


def message_limit(admin: KafkaAdminClient, topic: str) -> int:
    """The topic's max.message.bytes, as the broker reports it."""
    return int(topic_config(admin, topic, "max.message.bytes")[0])


def settings_for(bootstrap: str, prefix: str, database_url: str = "sqlite:///:memory:") -> CommonSettings:
    settings = CommonSettings(kafka_bootstrap_servers=bootstrap, topic_prefix=prefix,
                              database_url=database_url, topic_partitions=3)  # type: ignore[arg-type]
    ensure_topics(settings, settings.topics.all())
    return settings


def group_is_empty(settings: CommonSettings, group: str) -> bool:
    """No member in the group: a closed consumer's leaving is one request, not retried if it fails (then
    the member stays until its session times out)."""
    with admin_client(settings) as admin:
        return not admin.describe_groups([group]).get(group, {}).get("members")


def read_all(settings: CommonSettings, topic: str, expected: int, timeout: float = 30.0) -> list[tuple[bytes, bytes]]:
    """Read a topic from the beginning until ``expected`` messages arrived (or the timeout)."""
    consumer = make_consumer(settings, f"reader-{topic}", isolation_level="read_committed",
                             consumer_timeout_ms=int(timeout * 1000))
    consumer.subscribe([topic])
    messages: list[tuple[bytes, bytes]] = []
    try:
        for record in consumer:
            messages.append((record.key, record.value))
            if len(messages) >= expected:
                break
    finally:
        consumer.close(autocommit=False)
    return messages


@contextmanager
def running(loop: ConsumeLoop) -> Iterator[ConsumeLoop]:
    """Run a consume loop in a thread for the duration of the block, then stop it cleanly."""
    thread = threading.Thread(target=loop.run, daemon=True)
    thread.start()
    try:
        yield loop
    finally:
        loop.stop.set()
        thread.join(60)
        assert not thread.is_alive(), "the consume loop did not stop"


def consumer_loop(consumer: KafkaConsumer, process: object, **options: object) -> ConsumeLoop:
    return ConsumeLoop(consumer, process, StopSignal(), **{"stage": "test", **options})  # type: ignore[arg-type]
