"""``wirefeed positions``: where a stage reads each partition of its input topic, and moving that by hand.

A stage stops at a record batch that fails its CRC check (``consume.py``): its offsets are not covered by
anything trustworthy, so it is never skipped on its own. When no good copy is left anywhere, an operator
moves the stage's position past it, accepting the loss of its records; restoring the sink's database from
a backup may call for moving its positions back (records already stored are not stored twice).

The normalizer keeps its positions as its consumer group's committed offsets; the sink keeps them in its
database, beside the rows (the truth it seeks to at every assignment). Either is moved only while no
member of the stage's group runs: a running member reads on from where it is and records its own
position over the new one. Kafka itself refuses to move a group's offsets while the group has members.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

import structlog
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata

from services.core.config import CommonSettings
from services.core.kafka import make_consumer, missing_topic

log = structlog.get_logger(__name__)


class PositionBook(Protocol):
    """Where a stage records its positions: partition -> the next offset it reads."""

    def read(self, topic: str) -> dict[int, int]: ...

    def write(self, topic: str, positions: dict[int, int]) -> None: ...


class PositionError(ValueError):
    """A move that is refused, and why."""


@dataclass(frozen=True)
class PartitionPosition:
    partition: int
    position: int | None  # None: nothing recorded; the stage starts at the earliest retained record
    earliest: int  # the first record the broker still keeps
    end: int  # the offset the next record appended gets

    @property
    def unread(self) -> int:
        return self.end - max(self.earliest, self.start)

    @property
    def start(self) -> int:
        """Where the stage reads on from."""
        return self.position if self.position is not None else self.earliest


@dataclass(frozen=True)
class Moved:
    before: PartitionPosition
    after: int

    @property
    def skipped(self) -> int:
        """Records passed over unread; negative: records to be read again."""
        return self.after - self.before.start


class GroupOffsets:
    """The normalizer's positions: its consumer group's committed offsets."""

    def __init__(self, admin: KafkaAdminClient, group: str) -> None:
        self.admin = admin
        self.group = group

    def read(self, topic: str) -> dict[int, int]:
        committed = self.admin.list_group_offsets({self.group: None}).get(self.group, {})
        return {tp.partition: meta.offset for tp, meta in committed.items() if tp.topic == topic and meta.offset >= 0}

    def write(self, topic: str, positions: dict[int, int]) -> None:
        results = self.admin.alter_group_offsets(
            self.group, {TopicPartition(topic, p): OffsetAndMetadata(o, "", -1) for p, o in positions.items()})
        refused = {tp.partition: error.__name__ for tp, error in results.items() if error.errno}
        if refused:
            raise PositionError(f"Kafka refused to move group {self.group}'s offsets: {refused}")


@dataclass(frozen=True)
class StagePositions:
    """A stage's positions on its input topic: shown beside what the broker holds, and moved."""

    settings: CommonSettings
    admin: KafkaAdminClient
    group: str
    topic: str
    book: PositionBook

    def show(self) -> list[PartitionPosition]:
        with _offsets_reader(self.settings) as consumer:
            numbers = sorted(consumer.partitions_for_topic(self.topic) or ())
            partitions = [TopicPartition(self.topic, p) for p in numbers]
            if not partitions:
                raise PositionError(str(missing_topic(self.settings, self.topic)))  # the prefix to check
            earliest = consumer.beginning_offsets(partitions)
            end = consumer.end_offsets(partitions)
        recorded = self.book.read(self.topic)
        return [PartitionPosition(tp.partition, recorded.get(tp.partition), earliest[tp], end[tp])
                for tp in partitions]

    def move(self, moves: dict[int, int]) -> list[Moved]:
        """Set the positions of the partitions in ``moves``, each within what the broker holds, while the
        stage's group has no member."""
        current = {p.partition: p for p in self.show()}
        for partition, offset in sorted(moves.items()):
            if partition not in current:
                raise PositionError(f"{self.topic} has no partition {partition} (it has {len(current)})")
            held = current[partition]
            if not held.earliest <= offset <= held.end:
                raise PositionError(f"{self.topic}[{partition}] holds offsets {held.earliest} to {held.end} "
                                    f"(its end); {offset} is outside them")
        self._require_no_members()
        self.book.write(self.topic, moves)
        moved = [Moved(current[p], o) for p, o in sorted(moves.items())]
        for m in moved:
            log.warning("position_moved", group=self.group, topic=self.topic, partition=m.before.partition,
                        before=m.before.position, after=m.after, skipped=m.skipped)
        return moved

    def _require_no_members(self) -> None:
        members = self.admin.describe_groups([self.group]).get(self.group, {}).get("members") or []
        if members:
            hosts = sorted({m.get("client_host", "?") for m in members})
            raise PositionError(
                f"group {self.group} has {len(members)} running member(s) ({', '.join(hosts)}): stop them first "
                "(a killed one leaves once its session times out); a running member records its own position "
                "over the new one")


@contextmanager
def _offsets_reader(settings: CommonSettings) -> Iterator[KafkaConsumer]:
    consumer = make_consumer(settings, None, enable_auto_commit=False)  # type: ignore[arg-type]
    try:
        yield consumer
    finally:
        consumer.close(autocommit=False)
