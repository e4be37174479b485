"""Kafka clients configured once for every service (kafka-python 3.x).

Producers are idempotent with ``acks=all`` so a retried send never doubles a message; consumers never
auto-commit: each service commits (or stores) offsets only after its output is durable.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import structlog
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import KafkaError, TopicAlreadyExistsError, for_code
from pydantic import SecretStr

from schemas import DeadLetter
from schemas.models import Message
from services.core import expired_records, record_batches
from services.core.config import DEFAULT_MAX_MESSAGE_BYTES, CommonSettings
from services.core.errors import KafkaUnavailableError, TopicLimitError, TopicMissingError, TopicsNotCreatedError
from services.core.metrics import MESSAGES_SHORTENED
from services.core.record_batches import UndecodableBatchError
from services.core.runner import StopSignal, retry_until_done

if TYPE_CHECKING:
    from services.core.oauth import KafkaTokens

log = structlog.get_logger(__name__)

#: Consumers accept records up to this size, whatever limit their producers were given.
MAX_FETCH_BYTES = 8 * 1024 * 1024
#: Answers to a topic's creation that leave it usable: created, or made meanwhile by another service.
_CREATED_OR_THERE = (0, TopicAlreadyExistsError.errno)
_MESSAGE_LIMIT = "max.message.bytes"
_MIN_INSYNC = "min.insync.replicas"
#: Room left for what is added to a message after it was fitted (a dead letter's size note).
_SLACK_BYTES = 256

M = TypeVar("M", bound=Message)


def connection(settings: CommonSettings) -> dict[str, Any]:
    """Where the cluster is and how to log in to it: every client (producer, consumer, admin) is made
    with these."""
    config: dict[str, Any] = {"bootstrap_servers": settings.kafka_bootstrap_servers.split(","),
                              "security_protocol": settings.kafka_security_protocol}
    if settings.kafka_security_protocol.startswith("SASL_"):
        config["sasl_mechanism"] = settings.kafka_sasl_mechanism
        if settings.kafka_sasl_mechanism == "OAUTHBEARER":
            config["sasl_oauth_token_provider"] = kafka_tokens(settings)
        else:
            assert settings.kafka_sasl_password is not None  # the settings refuse SASL without a login
            config.update(sasl_plain_username=settings.kafka_sasl_username,
                          sasl_plain_password=settings.kafka_sasl_password.get_secret_value())
    if settings.kafka_security_protocol.endswith("SSL"):
        key_password = settings.kafka_ssl_key_password
        config.update(ssl_cafile=_path(settings.kafka_ssl_cafile), ssl_certfile=_path(settings.kafka_ssl_certfile),
                      ssl_keyfile=_path(settings.kafka_ssl_keyfile),
                      ssl_password=key_password.get_secret_value() if key_password else None)
    return config


_OAUTH_HINT = {"OAUTHBEARER": ", WIREFEED_KAFKA_OAUTH_*"}


def kafka_tokens(settings: CommonSettings) -> KafkaTokens:
    """The process's one OAUTHBEARER token source for these settings: its producer, consumers and admin
    clients share the token."""
    assert settings.kafka_oauth_token_url and settings.kafka_oauth_client_id and settings.kafka_oauth_client_secret
    return _kafka_tokens(str(settings.kafka_oauth_token_url), settings.kafka_oauth_client_id,
                         settings.kafka_oauth_client_secret, settings.kafka_oauth_scope,
                         tuple(sorted(settings.oauth_extensions.items())))


@functools.cache
def _kafka_tokens(token_url: str, client_id: str, client_secret: SecretStr, scope: str | None,
                  extensions: tuple[tuple[str, str], ...]) -> KafkaTokens:
    # Imported here: its HTTP client costs every normalizer and sink start-up, and few clusters want it.
    from services.core.oauth import KafkaTokens  # noqa: PLC0415

    return KafkaTokens(token_url, client_id, client_secret, scope, dict(extensions))


def _path(path: Path | None) -> str | None:
    return str(path) if path is not None else None


def make_producer(settings: CommonSettings, **overrides: Any) -> KafkaProducer:
    config: dict[str, Any] = {
        **connection(settings),
        "client_id": f"wirefeed-{overrides.pop('role', 'producer')}",
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": 5,
        "batch_size": 256 * 1024,
        "compression_type": None if settings.kafka_compression_type == "none" else settings.kafka_compression_type,
        # Refused client-side above this, which the producer survives (see fit_message).
        "max_request_size": settings.max_message_bytes,
        "retries": 2**31 - 1,
        "delivery_timeout_ms": 120_000,
        "request_timeout_ms": 30_000,
    }
    config.update(overrides)
    producer = KafkaProducer(**config)
    if not config.get("allow_auto_create_topics", True):
        # kafka-python 3.0 builds the producer's cluster metadata without this setting, so its metadata
        # requests let a broker with auto.create.topics.enable create a missing topic all the same, with the
        # broker's defaults: a topic deleted under a redrive came back. Applied where the requests read it.
        producer._metadata.config["allow_auto_create_topics"] = False
    return producer


#: How long the normalizer and the sink give their producer to deliver what it holds when they stop (the
#: poller gives it what is left of WIREFEED_SHUTDOWN_GRACE_SECONDS). Each flushes before it commits, so
#: little is left.
EXIT_FLUSH_SECONDS = 10.0
#: What ``close_producer`` may take beyond its timeout: a force-closed sender failing the records it holds.
#: It does that at once, woken from its network poll; this bounds one stuck in a call.
FORCE_CLOSE_SECONDS = 1.0


def close_producer(producer: KafkaProducer, timeout: float) -> int:
    """Deliver what the producer holds within ``timeout`` seconds, then close it, all within ``timeout`` +
    FORCE_CLOSE_SECONDS; how many records were not delivered (logged as ``records_not_delivered``).

    ``flush(timeout)`` is no bound: it waits up to ``timeout`` for each batch in turn, and when Kafka is
    unreachable it raises, after which ``close()`` raises too, from its own flush, and leaves the sender
    running, the threads waiting on its futures with it. Here the flush runs on a thread of its own,
    waited on until the deadline; what is left is then failed at once (the producer is force-closed),
    so whoever waits on those records sees an error rather than holding the process. Callers record a
    delivery only once Kafka acknowledged it (the poller marks items published, the normalizer and the
    sink commit offsets), so what is not delivered here is sent again by the next run.
    """
    deadline = time.monotonic() + timeout
    flushing = threading.Thread(target=_flush_quietly, args=(producer,), name="producer-exit-flush", daemon=True)
    flushing.start()
    flushing.join(timeout)
    undelivered = _records_in_hand(producer)
    if undelivered:
        log.error("records_not_delivered", records=undelivered, flush_seconds=timeout)
        _force_close(producer)
    try:
        # Delivered: the sender ends its requests in hand in what is left of the deadline, then is forced.
        producer.close(timeout=0 if undelivered else max(0.0, deadline - time.monotonic()))
    except KafkaError as error:  # the force-closed sender still failing its last batches: nothing to wait for
        log.warning("producer_close_failed", error_class=type(error).__name__, error=str(error)[:300])
    return undelivered


def _flush_quietly(producer: KafkaProducer) -> None:
    with contextlib.suppress(KafkaError):  # force-closed meanwhile: close_producer counted what was left
        producer.flush()


def _records_in_hand(producer: KafkaProducer) -> int:
    """Records sent to the producer and neither acknowledged nor failed yet. kafka-python 3.x has no public
    accessor: this reads its accumulator's batches not yet complete (``RecordAccumulator._incomplete``)."""
    batches = producer._accumulator._incomplete.all()
    return sum(batch.record_count for batch in batches)


def _force_close(producer: KafkaProducer, wait: float = FORCE_CLOSE_SECONDS) -> None:
    """Fail every record the producer holds now, as ``close()`` does once its own wait is over; kafka-python
    3.x reaches that only after a flush that raises when Kafka is unreachable."""
    sender = producer._sender
    sender.force_close()
    sender.join(wait)  # it fails the batches in hand, then ends


def make_consumer(settings: CommonSettings, group_id: str, **overrides: Any) -> KafkaConsumer:
    config: dict[str, Any] = {
        **connection(settings),
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
        "max_partition_fetch_bytes": max(MAX_FETCH_BYTES, settings.max_message_bytes),
    }
    config.update(overrides)
    record_batches.install(settings.kafka_max_batch_bytes)  # bounded decompression, undecodable batches named
    expired_records.install()  # records deleted before they were read: counted, not silent
    return KafkaConsumer(**config)


def producer_usable(producer: KafkaProducer) -> Callable[[], bool]:
    """A liveness probe: False once kafka-python's producer is in its fatal state, where every send fails
    until a new producer (a restart) replaces it. fit_message keeps the known cause away; this catches
    the rest (a broker configured below WIREFEED_MAX_MESSAGE_BYTES, say). Reads the library's own state:
    kafka-python 3.x exposes no public accessor for it."""

    def probe() -> bool:
        manager = getattr(producer, "_transaction_manager", None)
        return manager is None or not manager.has_fatal_error()

    return probe


def wait_for_topics(settings: CommonSettings, topics: list[str], stop: StopSignal) -> bool:
    """Create the service's topics once Kafka answers: True, or False when stopped while waiting.

    Containers often start before their broker. Until one answers the service logs ``kafka_unavailable``
    with a growing delay and still stops at once on SIGTERM, where kafka-python's bootstrap would block for
    30 s and then raise.
    """
    return retry_until_done(lambda: create_topics_now(settings, topics), stop, "kafka_unavailable",
                            transient=(KafkaUnavailableError, KafkaError))


def create_topics_now(settings: CommonSettings, topics: list[str]) -> None:
    """Create the topics, or raise KafkaUnavailableError at once when no broker accepts connections (what
    one-shot commands want). The TCP check goes first because a failed KafkaAdminClient leaves its network
    thread running."""
    require_broker(settings)
    ensure_topics(settings, topics)


def require_broker(settings: CommonSettings) -> None:
    """Raise KafkaUnavailableError now when no bootstrap server accepts connections, rather than after
    kafka-python's 30-second bootstrap."""
    if not broker_reachable(settings)():
        raise KafkaUnavailableError(f"no server in {settings.kafka_bootstrap_servers} accepts connections")


def require_topic(settings: CommonSettings, topic: str) -> None:
    """Raise TopicMissingError unless ``topic`` exists (KafkaUnavailableError at once without a broker): a
    command reading a topic that is not there would find nothing in it, as if all were well."""
    require_broker(settings)
    with admin_client(settings) as admin:
        if topic not in admin.list_topics():
            raise missing_topic(settings, topic)


def missing_topic(settings: CommonSettings, topic: str) -> TopicMissingError:
    return TopicMissingError(
        f"topic {topic} does not exist (or this login may not see it): check WIREFEED_TOPIC_PREFIX (now "
        f"{settings.topic_prefix!r}); the services create their topics when they start, commands do not")


def ensure_topics(settings: CommonSettings, topics: list[str], *, bootstrap_timeout_ms: int = 30_000) -> None:
    """Create the topics this service uses if they are missing (idempotent)."""
    with admin_client(settings, bootstrap_timeout_ms=bootstrap_timeout_ms) as admin:
        existing = set(admin.list_topics())
        _create_topics(admin, settings, [topic for topic in topics if topic not in existing])
        configs = _topic_configs(admin, [topic for topic in topics if topic in existing])
        _raise_message_limits(admin, settings, configs)
        _note_fewer_insync_replicas(settings, configs)


def no_session(settings: CommonSettings, error: KafkaError) -> KafkaUnavailableError:
    """A command's error for a client that could not bootstrap, saying which settings to check."""
    # kafka-python says only "Unable to bootstrap"; its kafka.net log lines hold the cause (a refused
    # login, an unknown certificate, a broker that speaks TLS to a plaintext client).
    return KafkaUnavailableError(
        f"{error}: no Kafka session could be opened with {settings.kafka_bootstrap_servers}; check "
        f"WIREFEED_KAFKA_SECURITY_PROTOCOL (now {settings.kafka_security_protocol}) and the "
        f"WIREFEED_KAFKA_SASL_*{_OAUTH_HINT.get(settings.kafka_sasl_mechanism, '')} and WIREFEED_KAFKA_SSL_* "
        "settings (the kafka.net and kafka_token_refused log lines give the cause)"
    )


@contextmanager
def admin_client(settings: CommonSettings, *, bootstrap_timeout_ms: int = 30_000) -> Iterator[KafkaAdminClient]:
    """An admin client for the block, or KafkaUnavailableError saying what to check."""
    try:
        admin = KafkaAdminClient(**connection(settings), bootstrap_timeout_ms=bootstrap_timeout_ms)
    except KafkaError as error:
        raise no_session(settings, error) from error
    try:
        yield admin
    finally:
        admin.close()


def _message_limit(settings: CommonSettings) -> int:
    """A topic's max.message.bytes that takes what the producers may send, with room for a batch's overhead."""
    return settings.max_message_bytes + 64 * 1024


def _create_topics(admin: KafkaAdminClient, settings: CommonSettings, topics: list[str]) -> None:
    if not topics:
        return
    def options(topic: str) -> dict[str, Any]:
        configs = {_MESSAGE_LIMIT: str(_message_limit(settings)), _MIN_INSYNC: str(settings.min_insync_replicas)}
        if topic == settings.topics.dead_letter:
            configs["retention.ms"] = str(round(settings.dead_letter_retention_days * 86_400_000))
        return {"num_partitions": settings.topic_partitions,
                "replication_factor": settings.topic_replication_factor, "configs": configs}

    result = admin.create_topics({topic: options(topic) for topic in topics}, raise_errors=False, timeout_ms=30_000)
    refused = [f"{topic['name']}: {topic['error_message'] or for_code(topic['error_code']).__name__}"
               for topic in result["topics"] if topic["error_code"] not in _CREATED_OR_THERE]
    if refused:
        raise TopicsNotCreatedError(
            f"Kafka refused to create {'; '.join(refused)} (wirefeed makes its topics with "
            f"WIREFEED_TOPIC_PARTITIONS={settings.topic_partitions} and WIREFEED_TOPIC_REPLICATION_FACTOR="
            f"{settings.topic_replication_factor}; where its login may not create topics, create them "
            "beforehand)")
    admin.wait_for_topics(topics, timeout_ms=30_000)
    log.info("topics_created", topics=sorted(topics))


def _raise_message_limits(admin: KafkaAdminClient, settings: CommonSettings,
                          configs: dict[str, dict[str, str]]) -> None:
    """Raise the max.message.bytes of existing topics that take less than the producers may send (made by
    hand, or before WIREFEED_MAX_MESSAGE_BYTES was raised); a limit already high enough is left alone."""
    wanted = _message_limit(settings)
    below = {topic: int(config[_MESSAGE_LIMIT]) for topic, config in configs.items()
             if _MESSAGE_LIMIT in config and int(config[_MESSAGE_LIMIT]) < wanted}
    if not below:
        return
    answers = admin.alter_configs([ConfigResource("TOPIC", topic, {_MESSAGE_LIMIT: str(wanted)})
                                   for topic in below])["topic"]
    refused = [f"{topic} takes {below[topic]:,} bytes ({answer})"
               for topic, answer in answers.items() if answer != "OK"]
    if refused:
        raise TopicLimitError(
            f"Kafka refused to raise max.message.bytes to {wanted:,}: {'; '.join(refused)}. Raise it by hand, "
            f"or lower WIREFEED_MAX_MESSAGE_BYTES (now {settings.max_message_bytes:,}) below the topics' limit")
    log.info("topic_message_limit_raised", topics=sorted(below), max_message_bytes=wanted)


def _note_fewer_insync_replicas(settings: CommonSettings, configs: dict[str, dict[str, str]]) -> None:
    """Say so when an existing topic asks for fewer in-sync replicas than wirefeed makes its topics with:
    an operator's choice is not overridden, but with one, losing one broker's disk can lose what was
    acknowledged."""
    wanted = settings.min_insync_replicas
    fewer = {topic: int(config[_MIN_INSYNC]) for topic, config in configs.items()
             if _MIN_INSYNC in config and int(config[_MIN_INSYNC]) < wanted}
    for topic, replicas in sorted(fewer.items()):
        log.warning("topic_min_insync_replicas_below_setting", topic=topic, min_insync_replicas=replicas,
                    setting=wanted)


def _topic_configs(admin: KafkaAdminClient, topics: list[str]) -> dict[str, dict[str, str]]:
    """The settings wirefeed checks on each existing topic, where Kafka tells them (a login may not be
    allowed to read configs: that is no reason to stop, they may well be right)."""
    if not topics:
        return {}
    try:
        described = admin.describe_configs([ConfigResource("TOPIC", topic, [_MESSAGE_LIMIT, _MIN_INSYNC])
                                            for topic in topics], config_filter="all").get("topic", {})
    except KafkaError as error:
        log.warning("topic_configs_unknown", topics=sorted(topics), error=str(error)[:300])
        return {}
    configs = {topic: {name: str(config["value"]) for name, config in found.items()}
               for topic, found in described.items()}
    if unknown := sorted(topic for topic in topics if _MESSAGE_LIMIT not in configs.get(topic, {})):
        log.warning("topic_configs_unknown", topics=unknown)
    return configs


def fit_message(message: M, limit: int, stage: str, *, drop: Sequence[str] = (),
                cut: Sequence[str] = ()) -> tuple[M, bytes]:
    """``message`` made to fit in ``limit`` bytes once serialized, and its serialized value (to send as it
    is: serializing is most of the check's cost, and every message is checked).

    A record the broker refuses as too large puts kafka-python's idempotent producer (3.0.12) into a
    fatal state in which every later send fails as well, so nothing too large may reach the broker.
    The fields in ``drop`` are emptied whole, in order (half an XML fragment or HTML page would mislead),
    then those in ``cut`` are shortened, in order. Each change is logged and counted. A message that
    still does not fit is refused by the producer itself, client-side, which it survives.
    """
    value = message.to_bytes()
    if len(value) <= limit:
        return message, value
    original_size, target = len(value), limit - _SLACK_BYTES
    changed = []
    for name in drop:
        if len(value) > target and getattr(message, name):
            message = message.model_copy(update={name: _empty(message, name)})
            value = message.to_bytes()
            changed.append(name)
    for name in cut:
        while len(value) > target and (text := getattr(message, name)):
            # Characters to keep, from the excess in bytes (a character may take several, and JSON
            # escapes more).
            encoded = len(json.dumps(text, ensure_ascii=False).encode())
            keep = int(len(text) * (1 - (len(value) - target + _SLACK_BYTES) / encoded))
            message = message.model_copy(update={name: text[:max(0, keep)] or _empty(message, name)})
            value = message.to_bytes()
            if not changed or changed[-1] != name:
                changed.append(name)
    for name in changed:
        MESSAGES_SHORTENED.labels(stage, name).inc()
    log.warning("message_shortened", stage=stage, fields=changed, bytes_before=original_size,
                bytes_after=len(value), limit=limit)
    return message, value


def _empty(message: Message, name: str) -> str | None:
    return "" if type(message).model_fields[name].is_required() else None


def dead_letter(
    stage: str, record: ConsumerRecord, error: BaseException, details: dict[str, Any] | None = None,
    max_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
) -> DeadLetter:
    """The dead letter of ``record``, its payload shortened if the letter would not fit in ``max_bytes``.

    A value that is not UTF-8 is kept whole in base64 beside its text (the text is shortened first, as it
    is only for reading), so that a redrive sends back the bytes the stage read."""
    value = record.value if isinstance(record.value, bytes) else b""
    letter = DeadLetter(
        stage=stage,
        reason=str(error)[:2000] or type(error).__name__,
        error_class=type(error).__name__,
        failed_at=datetime.now(UTC),
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=record.key.decode("utf-8", "replace") if isinstance(record.key, bytes) else None,
        payload=value.decode("utf-8", "replace"),
        details=details or {},
        payload_base64=None if _utf8(value) else base64.b64encode(value).decode("ascii"),
    )
    fitted, sent = fit_message(letter, max_bytes, stage, cut=("payload",))
    if letter.payload_base64 and len(sent) > max_bytes - _SLACK_BYTES:  # too large even alone: the text's start
        fitted, _ = fit_message(letter.model_copy(update={"payload_base64": None}), max_bytes, stage, cut=("payload",))
    if fitted is letter:
        return letter
    return fitted.model_copy(update={"details": {**fitted.details, "payload_bytes": len(value)}})


def _utf8(value: bytes) -> bool:
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def undecodable_letter(stage: str, partition: TopicPartition, error: UndecodableBatchError) -> DeadLetter:
    """The dead letter of a record batch that cannot be decompressed: its offsets, without a payload."""
    return DeadLetter(
        stage=stage,
        reason=error.reason[:2000],
        error_class=type(error).__name__,
        failed_at=datetime.now(UTC),
        topic=partition.topic,
        partition=partition.partition,
        offset=error.base_offset,
        payload="",
        details={"next_offset": error.next_offset},
    )


def letter_sender(producer: KafkaProducer, topic: str, timeout: float = 60.0) -> Callable[[DeadLetter], None]:
    """Sends a dead letter and waits until the broker has it."""

    def send(letter: DeadLetter) -> None:
        producer.send(topic, value=letter.to_bytes()).get(timeout=timeout)

    return send


def seek_since(consumer: KafkaConsumer, topic: str, since: datetime | None) -> tuple[
        dict[TopicPartition, int], dict[TopicPartition, int]]:
    """Assign every partition of ``topic``, each at its first record appended at or after ``since`` (its
    first retained record when None); returns those start offsets and the end offsets seen now."""
    partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
    consumer.assign(partitions)
    end = consumer.end_offsets(partitions)
    if since is None:
        start = consumer.beginning_offsets(partitions)
    else:
        found = consumer.offsets_for_times({tp: int(since.timestamp() * 1000) for tp in partitions})
        start = {tp: (found[tp].offset if found.get(tp) is not None else end[tp]) for tp in partitions}
    for tp, offset in start.items():
        consumer.seek(tp, offset)
    return start, end


def read_until(consumer: KafkaConsumer, end: dict[TopicPartition, int]) -> Iterator[list[ConsumerRecord]]:
    """The assigned partitions' records, in batches, up to the ``end`` offsets; then it stops.

    It stops on positions rather than on a count of records, which offsets taken by transaction markers or
    removed by compaction would never reach. A record batch that cannot be decompressed is skipped, and
    logged with its offsets: a reading command has nowhere to dead-letter it, and must not stop at it.
    """
    while any(consumer.position(tp) < offset for tp, offset in end.items()):
        try:
            polled = consumer.poll(timeout_ms=1000, max_records=500)
        except UndecodableBatchError as error:
            if error.partition is None:
                raise
            log.error("batch_skipped", topic=error.partition.topic, partition=error.partition.partition,
                      offset=error.base_offset, next_offset=error.next_offset, reason=error.reason[:300])
            consumer.seek(error.partition, error.next_offset)
            continue
        records = [r for part in polled.values() for r in part
                   if r.offset < end[TopicPartition(r.topic, r.partition)]]
        if records:
            yield records
        finished = [tp for tp, offset in end.items() if consumer.position(tp) >= offset]
        if finished:
            consumer.pause(*finished)


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
