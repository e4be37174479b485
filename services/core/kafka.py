"""Kafka clients configured once for every service (kafka-python 3.x).

Producers are idempotent with ``acks=all`` so a retried send never doubles a message; consumers never
auto-commit: each service commits (or stores) offsets only after its output is durable.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import structlog
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.consumer.fetcher import ConsumerRecord

from schemas import DeadLetter
from services.core.config import CommonSettings

log = structlog.get_logger(__name__)

MAX_MESSAGE_BYTES = 8 * 1024 * 1024


def make_producer(settings: CommonSettings, **overrides: Any) -> KafkaProducer:
    config: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap_servers.split(","),
        "client_id": f"wirefeed-{overrides.pop('role', 'producer')}",
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": 5,
        "batch_size": 256 * 1024,
        "max_request_size": MAX_MESSAGE_BYTES,
        "retries": 2**31 - 1,
        "delivery_timeout_ms": 120_000,
        "request_timeout_ms": 30_000,
    }
    config.update(overrides)
    return KafkaProducer(**config)


def make_consumer(settings: CommonSettings, group_id: str, **overrides: Any) -> KafkaConsumer:
    config: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap_servers.split(","),
        "group_id": group_id,
        "client_id": f"wirefeed-{group_id}",
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "isolation_level": "read_committed",
        "max_poll_records": 500,
        "max_poll_interval_ms": settings.max_poll_interval_ms,
        "session_timeout_ms": 15_000,
        "heartbeat_interval_ms": 3_000,
        "fetch_max_bytes": 16 * 1024 * 1024,
        "max_partition_fetch_bytes": MAX_MESSAGE_BYTES,
    }
    config.update(overrides)
    return KafkaConsumer(**config)


def ensure_topics(settings: CommonSettings, topics: list[str]) -> None:
    """Create the topics this service uses if they are missing (idempotent)."""
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers.split(","))
    try:
        existing = set(admin.list_topics())
        missing = {
            topic: {
                "num_partitions": settings.topic_partitions,
                "replication_factor": settings.topic_replication_factor,
            }
            for topic in topics
            if topic not in existing
        }
        if missing:
            admin.create_topics(missing, raise_errors=False, wait_for_metadata=True, timeout_ms=30_000)
            log.info("topics_created", topics=sorted(missing))
    finally:
        admin.close()


def dead_letter(
    stage: str, record: ConsumerRecord, error: BaseException, details: dict[str, Any] | None = None
) -> DeadLetter:
    value = record.value if isinstance(record.value, bytes) else b""
    key = record.key.decode("utf-8", "replace") if isinstance(record.key, bytes) else None
    return DeadLetter(
        stage=stage,
        reason=str(error)[:2000] or type(error).__name__,
        error_class=type(error).__name__,
        failed_at=datetime.now(UTC),
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=key,
        payload=value.decode("utf-8", "replace"),
        details=details or {},
    )


def broker_reachable(settings: CommonSettings, timeout: float = 1.0) -> Callable[[], bool]:
    """A readiness probe: can any bootstrap server be reached over TCP right now?"""
    servers = [server.rsplit(":", 1) for server in settings.kafka_bootstrap_servers.split(",")]

    def probe() -> bool:
        for host, port in servers:
            try:
                with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
                    return True
            except OSError:
                continue
        return False

    return probe
