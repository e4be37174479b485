"""The sink's batch step, offsets bookkeeping, lag gauge and retention loop, with plain fakes."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from kafka import TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import KafkaTimeoutError
from prometheus_client import REGISTRY

from schemas import Article, DeadLetter
from services.core.config import Topics
from services.core.consume import ConsumeLoop, TransientError, next_offsets
from services.core.db import Database
from services.core.lag import LagMonitor
from services.core.runner import StopSignal
from services.sink import service
from services.sink.__main__ import _commit_for_lag_monitoring
from services.sink.retention import Retention
from services.sink.service import SinkBatch, StoredOffsets
from services.sink.store import OffsetKey, SqlStore, StoredPositions, WriteResult
from tests.factories import article
from tests.helpers import RecordingProducer

TOPIC = "p.articles.v1"


class FakeStore:
    def __init__(self, stored: dict[int, int] | None = None) -> None:
        self.stored = dict(stored or {})
        self.article_ids: set[str] = set()
        self.down = False
        self.writes: list[tuple[list[str], dict[OffsetKey, int]]] = []
        self.payloads: dict[str, str] = {}  # what each article was stored as

    def offsets(self, topic: str) -> dict[int, int]:
        if self.down:
            raise sqlite3.OperationalError("database is locked")
        return dict(self.stored)

    def write(self, articles: list[Article], offsets: dict[OffsetKey, int], now: datetime,
              payloads: Mapping[str, str] | None = None) -> WriteResult:
        if self.down:
            raise sqlite3.OperationalError("database is locked")
        self.writes.append(([a.id for a in articles], offsets))
        self.payloads.update(payloads or {})
        self.stored.update({partition: offset for (_, partition), offset in offsets.items()})
        new = {a.id: a for a in articles if a.id not in self.article_ids}  # as SqlStore: one row per id
        self.article_ids.update(new)
        return WriteResult(tuple(new.values()), len(articles) - len(new))


class FakeConsumer:
    def __init__(self, partitions: list[int], ends: dict[int, int] | None = None) -> None:
        self.assigned = {TopicPartition(TOPIC, p) for p in partitions}
        self.seeks: dict[int, int] = {}
        self.from_the_beginning: set[int] = set()
        self.ends = ends or {}
        self.fail = False

    def assignment(self) -> set[TopicPartition]:
        return set(self.assigned)

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.seeks[tp.partition] = offset

    def seek_to_beginning(self, *partitions: TopicPartition) -> None:
        assert partitions  # none would mean every assigned partition to kafka-python
        self.from_the_beginning.update(tp.partition for tp in partitions)

    def end_offsets(self, partitions: list[TopicPartition], timeout_ms: int) -> dict[TopicPartition, int]:
        if self.fail:
            raise KafkaTimeoutError("no answer")
        return {tp: self.ends[tp.partition] for tp in partitions}

    def beginning_offsets(self, partitions: list[TopicPartition], timeout_ms: int) -> dict[TopicPartition, int]:
        return {tp: 0 for tp in partitions}



def record(partition: int, offset: int, value: bytes) -> ConsumerRecord:
    return ConsumerRecord(topic=TOPIC, partition=partition, leader_epoch=None, offset=offset, timestamp=0,
                          timestamp_type=0, key=b"k", value=value, headers=[], checksum=None,
                          serialized_key_size=1, serialized_value_size=len(value), serialized_header_size=-1)


def _batch(store: FakeStore, consumer: FakeConsumer, producer: RecordingProducer | None = None) -> SinkBatch:
    offsets = StoredOffsets(consumer, store, TOPIC)
    return SinkBatch(store, producer or RecordingProducer(), Topics("p"), offsets)  # type: ignore[arg-type]


def _assigned_while_down(store: FakeStore, consumer: FakeConsumer) -> SinkBatch:
    """A batch step whose partitions were assigned while the database was down, which is up again now."""
    batch = _batch(store, consumer)
    store.down = True
    batch.offsets.on_partitions_assigned(sorted(consumer.assigned))
    store.down = False
    return batch


def test_assignment_seeks_to_the_stored_offsets_and_a_partition_without_one_to_the_beginning() -> None:
    consumer, store = FakeConsumer([0, 1]), FakeStore({0: 5})
    offsets = StoredOffsets(consumer, store, TOPIC)
    offsets.on_partitions_assigned(sorted(consumer.assigned))
    assert (consumer.seeks, consumer.from_the_beginning) == ({0: 5}, {1})  # not the group's Kafka commit
    assert offsets.positions == {0: 5}
    consumer, store = FakeConsumer([0, 1]), FakeStore({0: 5, 1: 7})
    StoredOffsets(consumer, store, TOPIC).on_partitions_assigned(sorted(consumer.assigned))
    assert (consumer.seeks, consumer.from_the_beginning) == ({0: 5, 1: 7}, set())


def test_an_assignment_while_the_database_is_down_is_resolved_before_anything_is_written() -> None:
    consumer, store = FakeConsumer([0]), FakeStore({0: 5})
    batch = _batch(store, consumer)
    store.down = True
    batch.offsets.on_partitions_assigned(sorted(consumer.assigned))  # must not raise into kafka-python
    assert batch.offsets.unresolved == consumer.assigned
    records = [record(0, n, article(n).to_bytes()) for n in range(3, 7)]  # from Kafka's older commit
    with pytest.raises(TransientError):
        batch(records)
    assert store.writes == []
    store.down = False
    batch(records)
    assert consumer.seeks == {0: 5}
    # Records 3 and 4 were stored before (offset 5): only 5 and 6 are written.
    assert store.writes == [(["article-000005", "article-000006"], {(TOPIC, 0): 7})]


def test_records_fetched_past_the_stored_offset_while_the_database_was_down_are_read_again_from_it() -> None:
    # Kafka's commit (8) is past the database's offset (5), as with a database restored from a backup, and
    # partition 1 has no offset stored (a new database): the records fetched from Kafka's commit are not
    # written, or storing the offset after them would skip 5 to 7, and partition 1's start, for good.
    consumer, store = FakeConsumer([0, 1]), FakeStore({0: 5})
    batch = _assigned_while_down(store, consumer)
    batch([record(0, n, article(n).to_bytes()) for n in range(8, 10)]
          + [record(1, n, article(100 + n).to_bytes()) for n in range(3, 5)])
    assert (consumer.seeks, consumer.from_the_beginning) == ({0: 5}, {1})
    assert store.writes == [] and store.stored == {0: 5}
    batch([record(0, n, article(n).to_bytes()) for n in range(5, 10)])  # read again from the stored offset
    assert store.writes == [([f"article-00000{n}" for n in range(5, 10)], {(TOPIC, 0): 10})]


def test_a_batch_passed_before_the_stored_offset_was_sought_is_not_stored_as_passed() -> None:
    consumer, store = FakeConsumer([0]), FakeStore({0: 5})
    batch = _assigned_while_down(store, consumer)
    batch.record_passed(TopicPartition(TOPIC, 0), 12)  # a batch at Kafka's commit, past offsets 5 to 9
    assert consumer.seeks == {0: 5} and store.writes == [] and store.stored == {0: 5}


def test_a_batch_of_already_stored_records_never_moves_the_offset_back() -> None:
    consumer, store = FakeConsumer([0]), FakeStore({0: 10})
    batch = _batch(store, consumer)
    batch.offsets.on_partitions_assigned(sorted(consumer.assigned))
    batch([record(0, n, article(n).to_bytes()) for n in range(2, 5)])
    assert store.writes == [([], {(TOPIC, 0): 10})]


def test_only_the_articles_a_write_stored_count_toward_end_to_end_latency(tmp_path: Path) -> None:
    # Read again after `wirefeed positions sink --set`, a replay, a redrive or a redelivery, articles fetched
    # long ago are skipped as already stored: counted with their old fetch times, they paged as the latency
    # objective burning (WirefeedLatencyBudgetFastBurn) while nothing new was late.
    store = SqlStore(Database(f"sqlite:///{tmp_path / 'sink.db'}"))
    store.migrate()
    consumer = FakeConsumer([0])
    fetched = datetime.now(UTC)
    now = fetched + timedelta(seconds=1)
    batch = SinkBatch(store, RecordingProducer(), Topics("p"),  # type: ignore[arg-type]
                      StoredOffsets(consumer, store, TOPIC), clock=lambda: now)
    batch.offsets.on_partitions_assigned(sorted(consumer.assigned))
    old = [article(n).model_copy(update={"fetched_at": fetched}) for n in range(3)]
    before = _latencies()
    batch([record(0, n, a.to_bytes()) for n, a in enumerate(old)])
    assert _change(before, _latencies()) == (3, 3.0, 3)  # three stored, a second each

    now += timedelta(hours=1)  # an hour later the sink is moved back to offset 0 and reads it all again
    StoredPositions(store).write(TOPIC, {0: 0})
    batch.offsets.on_partitions_assigned(sorted(consumer.assigned))
    new = article(3).model_copy(update={"fetched_at": now - timedelta(seconds=2)})
    before = _latencies()
    batch([record(0, n, a.to_bytes()) for n, a in enumerate([*old, new])])
    assert store.count() == 4 and store.offsets(TOPIC) == {0: 4}
    assert _change(before, _latencies()) == (1, 2.0, 1)  # the new one alone, within 5 s
    store.close()


def _latencies() -> tuple[float, float, float]:
    """How many end-to-end latencies were observed, their sum, and how many took 5 s or less."""
    def sample(suffix: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(f"wirefeed_end_to_end_latency_seconds_{suffix}", labels) or 0.0

    return sample("count"), sample("sum"), sample("bucket", le="5.0")


def _change(before: tuple[float, ...], after: tuple[float, ...]) -> tuple[float, ...]:
    return tuple(round(b - a, 6) for a, b in zip(before, after, strict=True))


def test_a_passed_batch_is_stored_as_the_partitions_position_and_never_moves_it_back() -> None:
    consumer, store = FakeConsumer([0, 1]), FakeStore({0: 4, 1: 30})
    batch = _batch(store, consumer)
    batch.offsets.on_partitions_assigned(sorted(consumer.assigned))
    batch.record_passed(TopicPartition(TOPIC, 0), 9)
    batch.record_passed(TopicPartition(TOPIC, 1), 12)
    assert store.writes == [([], {(TOPIC, 0): 9}), ([], {(TOPIC, 1): 30})]
    assert batch.offsets.positions == {0: 9, 1: 30}
    batch([record(0, n, article(n).to_bytes()) for n in range(7, 11)])  # below 9: already passed
    assert store.writes[-1] == (["article-000009", "article-000010"], {(TOPIC, 0): 11})


def test_a_passed_batch_not_stored_while_the_database_is_down_changes_nothing() -> None:
    consumer, store = FakeConsumer([0]), FakeStore({0: 4})
    batch = _batch(store, consumer)
    batch.offsets.on_partitions_assigned(sorted(consumer.assigned))
    store.down = True
    with pytest.raises(TransientError):
        batch.record_passed(TopicPartition(TOPIC, 0), 9)
    assert store.writes == [] and batch.offsets.positions == {0: 4}


def test_an_article_with_a_nul_character_is_dead_lettered_not_retried_forever() -> None:
    consumer, store, producer = FakeConsumer([0]), FakeStore(), RecordingProducer()
    poisoned = article(1).model_copy(update={"title": "bad\x00title"})
    batch = _batch(store, consumer, producer)
    batch([record(0, 0, poisoned.to_bytes()), record(0, 1, article(2).to_bytes())])
    assert store.writes == [(["article-000002"], {(TOPIC, 0): 2})]
    assert len(producer.sent) == 1 and b"NUL" in producer.sent[0][1]


def test_an_article_of_another_version_is_dead_lettered_saying_which_not_stored() -> None:
    consumer, store, producer = FakeConsumer([0]), FakeStore(), RecordingProducer()
    newer = json.dumps({**article(1).model_dump(mode="json"), "schema_version": 2}).encode()
    _batch(store, consumer, producer)([record(0, 0, newer), record(0, 1, article(2).to_bytes())])
    assert store.writes == [(["article-000002"], {(TOPIC, 0): 2})]
    [(_, value)] = producer.sent
    letter = DeadLetter.model_validate_json(value)
    assert letter.error_class == "SchemaVersionError"
    assert letter.reason.startswith("Article of schema_version 2 refused: this topic carries version 1 only")


def test_an_unexpected_error_checking_a_record_dead_letters_that_record_only(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Stands in for a bug some input exposes: the record is dead-lettered and the batch is still stored.
    real_storable = service._storable

    def storable_or_fail(raw: bytes, checked: Article) -> str:
        if checked.id == "article-000001":
            raise RecursionError("maximum recursion depth exceeded")
        return real_storable(raw, checked)

    monkeypatch.setattr(service, "_storable", storable_or_fail)
    consumer, store, producer = FakeConsumer([0]), FakeStore(), RecordingProducer()
    _batch(store, consumer, producer)([record(0, 0, article(1).to_bytes()), record(0, 1, article(2).to_bytes())])
    assert store.writes == [(["article-000002"], {(TOPIC, 0): 2})]
    assert len(producer.sent) == 1 and b"RecursionError" in producer.sent[0][1]


def test_an_article_is_stored_as_the_topic_carried_it_with_fields_this_version_does_not_know() -> None:
    consumer, store = FakeConsumer([0]), FakeStore()
    own = article(1).to_bytes()
    newer = {**article(2).model_dump(mode="json"), "added_in_v1_later": {"a": [1, "\u00e9"]}}
    newer["dateline"]["country"] = "NO"
    _batch(store, consumer)([record(0, 0, own), record(0, 1, json.dumps(newer).encode())])
    assert store.payloads["article-000001"] == own.decode()  # the normalizer's own message, byte for byte
    assert json.loads(store.payloads["article-000002"]) == newer


def test_what_no_engine_can_hold_in_an_unknown_field_is_made_storable_or_dead_lettered() -> None:
    consumer, store, producer = FakeConsumer([0]), FakeStore(), RecordingProducer()
    half = json.dumps({**article(1).model_dump(mode="json"), "note": "T"}).replace('"T"', r'"cut \ud83d"')
    nul = json.dumps({**article(2).model_dump(mode="json"), "note": "bad\x00note"})
    _batch(store, consumer, producer)([record(0, 0, half.encode()), record(0, 1, nul.encode())])
    assert json.loads(store.payloads["article-000001"])["note"] == "cut \ufffd"  # as the article's own text
    assert store.writes == [(["article-000001"], {(TOPIC, 0): 2})]
    assert len(producer.sent) == 1 and b"NUL" in producer.sent[0][1]  # PostgreSQL would refuse it forever


def test_an_escaped_backslash_u0000_in_text_is_not_mistaken_for_a_nul() -> None:
    consumer, store = FakeConsumer([0]), FakeStore()
    literal = article(1).model_copy(update={"title": "a literal \\u0000 in a title"})
    _batch(store, consumer)([record(0, 0, literal.to_bytes())])
    assert store.writes == [(["article-000001"], {(TOPIC, 0): 1})]


def _lag(partition: int) -> float | None:
    return REGISTRY.get_sample_value("wirefeed_consumer_lag_messages", {"topic": TOPIC, "partition": str(partition)})


def test_lag_is_end_offset_minus_stored_offset_refreshed_at_most_every_interval() -> None:
    consumer = FakeConsumer([0, 1], ends={0: 100, 1: 7})
    stored = {0: 40}
    now = [1000.0]
    monitor = LagMonitor(consumer, lambda: stored, interval=5, clock=lambda: now[0])
    monitor.maybe_update()
    assert (_lag(0), _lag(1)) == (60, 7)  # nothing stored for partition 1: from its beginning
    stored[0] = 100
    now[0] += 1
    monitor.maybe_update()
    assert _lag(0) == 60  # not due yet
    now[0] += 5
    monitor.maybe_update()
    assert _lag(0) == 0
    consumer.assigned = {TopicPartition(TOPIC, 0)}
    now[0] += 5
    monitor.maybe_update()
    assert _lag(1) is None  # revoked: no stale series left behind


def test_a_broker_that_does_not_answer_leaves_the_gauge_and_the_loop_alone() -> None:
    consumer = FakeConsumer([3], ends={3: 9})
    monitor = LagMonitor(consumer, dict, interval=5, clock=lambda: 0.0)
    consumer.fail = True
    monitor.maybe_update()  # no exception
    assert _lag(3) is None


class FakePurger:
    def __init__(self, rows: int, fail_first: bool = False) -> None:
        self.rows = rows
        self.fail_first = fail_first
        self.calls: list[tuple[datetime, int]] = []

    def purge(self, cutoff: datetime, limit: int) -> int:
        self.calls.append((cutoff, limit))
        if self.fail_first:
            self.fail_first = False
            raise sqlite3.OperationalError("database is locked")
        deleted = min(limit, self.rows)
        self.rows -= deleted
        return deleted


def test_retention_deletes_in_batches_older_than_the_age() -> None:
    now = datetime(2026, 6, 1, tzinfo=UTC)
    purger = FakePurger(rows=25)
    assert Retention(purger, 30, StopSignal(), batch_rows=10, pause=0, clock=lambda: now).run_once() == 25
    assert purger.calls == [(now - timedelta(days=30), 10)] * 3


def test_retention_stops_between_batches_when_asked() -> None:
    stop = StopSignal()
    purger = FakePurger(rows=1000)
    retention = Retention(purger, 30, stop, batch_rows=10, pause=0)
    original = purger.purge

    def purge_then_stop(cutoff: datetime, limit: int) -> int:
        stop.set()
        return original(cutoff, limit)

    purger.purge = purge_then_stop  # type: ignore[method-assign]
    assert retention.run_once() == 10


def test_the_retention_thread_survives_a_failing_database_and_stops_on_the_signal() -> None:
    stop = StopSignal()
    purger = FakePurger(rows=5, fail_first=True)
    retention = Retention(purger, 30, stop, batch_rows=10, pause=0, interval=0.01).start()
    deadline = datetime.now(UTC) + timedelta(seconds=10)
    while purger.rows and datetime.now(UTC) < deadline:
        stop.wait(0.01)
    stop.set()
    retention.join(5)
    assert purger.rows == 0 and len(purger.calls) >= 2


class CommitRecorder(FakeConsumer):
    def __init__(self, partitions: list[int]) -> None:
        super().__init__(partitions)
        self.commits: list[dict[int, int]] = []

    def commit_async(self, offsets: dict[TopicPartition, Any]) -> None:
        self.commits.append({tp.partition: meta.offset for tp, meta in offsets.items()})


def test_the_kafka_commit_for_lag_tools_is_what_the_database_stored_not_the_batchs_end() -> None:
    consumer, store = CommitRecorder([0]), FakeStore({0: 5})
    batch = _assigned_while_down(store, consumer)
    records = [record(0, n, article(n).to_bytes()) for n in range(8, 10)]  # fetched from Kafka's commit, 8
    batch(records)  # read again from 5 instead
    _commit_for_lag_monitoring(consumer, batch.offsets)(next_offsets(records))  # type: ignore[arg-type]
    assert consumer.commits == [{0: 5}]


def test_a_failing_housekeeping_chore_does_not_skip_the_next() -> None:
    ran: list[str] = []

    def lag() -> None:
        raise KafkaTimeoutError("no answer")

    stop = StopSignal()
    loop = ConsumeLoop(OnePoll(stop), lambda records: None, stop, stage="sink",  # type: ignore[arg-type]
                       housekeeping=[lag, lambda: ran.append("stragglers")])
    loop.run()
    assert ran == ["stragglers"]


class OnePoll:
    """A consumer with nothing to read that asks the loop to stop after its first turn."""

    def __init__(self, stop: StopSignal) -> None:
        self.stop = stop

    def poll(self, timeout_ms: int, max_records: int) -> dict[TopicPartition, list[ConsumerRecord]]:
        self.stop.set()  # checked before the next turn: this turn still runs its chores
        return {}

    def commit(self, offsets: dict[TopicPartition, Any]) -> None:
        raise AssertionError("nothing was read, so nothing is committed")
