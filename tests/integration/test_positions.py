"""`wirefeed positions normalizer|sink`: each partition's position beside what the broker holds, moved only
while the stage's group has no member, and a stage started afterwards reads on from the new position."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from kafka.consumer.fetcher import ConsumerRecord

from services.cli import main
from services.core.config import CommonSettings
from services.core.db import Database
from services.core.kafka import make_consumer, make_producer
from services.sink.store import SqlStore
from tests.helpers import wait_for
from tests.integration.kafka_helpers import consumer_loop, group_is_empty, running, settings_for

pytestmark = pytest.mark.kafka


def stage_settings(bootstrap: str, prefix: str, monkeypatch: pytest.MonkeyPatch,
                   database_url: str = "sqlite:///:memory:") -> CommonSettings:
    """The topics made, and the CLI's environment pointing at them."""
    monkeypatch.setenv("WIREFEED_KAFKA_BOOTSTRAP_SERVERS", bootstrap)
    monkeypatch.setenv("WIREFEED_TOPIC_PREFIX", prefix)
    monkeypatch.setenv("WIREFEED_DATABASE_URL", database_url)
    return settings_for(bootstrap, prefix, database_url)


def publish(settings: CommonSettings, topic: str, count: int) -> None:
    producer = make_producer(settings)
    for n in range(count):
        producer.send(topic, value=b"record %d" % n, partition=0).get(timeout=30)
    producer.close(timeout=30)


def table(output: str) -> dict[str, list[str]]:
    """The printed table's rows by partition: position, earliest, end, unread."""
    lines = output.splitlines()
    start = next(n for n, line in enumerate(lines) if line.split()[:1] == ["partition"])
    return {cells[0]: cells[1:] for cells in (line.split() for line in lines[start + 1:])}


def test_the_normalizers_position_moves_only_with_its_group_stopped_and_its_group_reads_on_from_there(
        kafka_bootstrap: str, topic_prefix: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    settings = stage_settings(kafka_bootstrap, topic_prefix, monkeypatch)
    topic, group = settings.topics.raw_items, f"{topic_prefix}-normalizer"
    publish(settings, topic, 5)
    assert main(["positions", "normalizer"]) == 0
    assert table(capsys.readouterr().out) == {"0": ["none", "0", "5", "5"], "1": ["none", "0", "0", "0"],
                                              "2": ["none", "0", "0", "0"]}

    read: list[bytes] = []

    def process(records: list[ConsumerRecord]) -> None:
        read.extend(record.value for record in records)

    def shown() -> dict[str, list[str]]:
        assert main(["positions", "normalizer"]) == 0
        return table(capsys.readouterr().out)

    consumer = make_consumer(settings, group)
    consumer.subscribe([topic])
    with running(consumer_loop(consumer, process)):
        wait_for(lambda: shown()["0"] == ["5", "0", "5", "0"], message="the group's commit shown")
        assert main(["positions", "normalizer", "--set", "0=3"]) == 1
        assert "has 1 running member(s)" in capsys.readouterr().err
    consumer.close(autocommit=False)
    assert shown()["0"] == ["5", "0", "5", "0"]  # the refusal moved nothing
    wait_for(lambda: group_is_empty(settings, group), message="the member left")

    assert main(["positions", "normalizer", "--set", "0=3"]) == 0
    output = capsys.readouterr().out
    assert f"{topic}[0]: 5 -> 3 (2 record(s) to be read again)" in output
    assert table(output)["0"] == ["3", "0", "5", "2"]

    read.clear()
    consumer = make_consumer(settings, group)
    consumer.subscribe([topic])
    with running(consumer_loop(consumer, process)):
        wait_for(lambda: read == [b"record 3", b"record 4"], message="read on from the position set")
    consumer.close(autocommit=False)


def test_a_move_outside_what_the_broker_holds_is_refused(kafka_bootstrap: str, topic_prefix: str,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    settings = stage_settings(kafka_bootstrap, topic_prefix, monkeypatch)
    publish(settings, settings.topics.raw_items, 2)
    capsys.readouterr()
    assert main(["positions", "normalizer", "--set", "0=3"]) == 1
    assert "holds offsets 0 to 2 (its end); 3 is outside them" in capsys.readouterr().err
    assert main(["positions", "normalizer", "--set", "0=1", "--set", "7=0"]) == 1
    assert "has no partition 7 (it has 3)" in capsys.readouterr().err
    assert main(["positions", "normalizer"]) == 0
    assert table(capsys.readouterr().out)["0"] == ["none", "0", "2", "2"]  # nothing moved, not even 0=1
    with pytest.raises(SystemExit):
        main(["positions", "normalizer", "--set", "0:3"])
    assert "must be PARTITION=OFFSET" in capsys.readouterr().err


def test_a_stage_whose_topic_is_not_there_names_the_prefix_to_check(kafka_bootstrap: str, topic_prefix: str,
                                                                     monkeypatch: pytest.MonkeyPatch,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("WIREFEED_KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)
    monkeypatch.setenv("WIREFEED_TOPIC_PREFIX", topic_prefix)  # no topics made under it
    assert main(["positions", "normalizer"]) == 1
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"wirefeed: topic {topic_prefix}.raw-items.v1 does not exist (or this login may not see it): check "
        f"WIREFEED_TOPIC_PREFIX (now '{topic_prefix}'); the services create their topics when they start, "
        "commands do not")


def test_the_sinks_stored_position_moves_only_with_its_group_stopped(
        kafka_bootstrap: str, topic_prefix: str, database_url: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    settings = stage_settings(kafka_bootstrap, topic_prefix, monkeypatch, database_url)
    topic = settings.topics.articles
    publish(settings, topic, 4)
    store = SqlStore(Database(database_url))
    store.migrate()
    store.write([], {(topic, 0): 2}, datetime.now(UTC))
    assert main(["positions", "sink"]) == 0
    assert table(capsys.readouterr().out)["0"] == ["2", "0", "4", "2"]

    member = make_consumer(settings, f"{topic_prefix}-sink")
    member.subscribe([topic])
    wait_for(lambda: bool(member.poll(timeout_ms=200)) or bool(member.assignment()), message="a sink member joined")
    assert main(["positions", "sink", "--set", "0=4"]) == 1
    assert "running member(s)" in capsys.readouterr().err
    assert store.offsets(topic) == {0: 2}
    member.close(autocommit=False)
    wait_for(lambda: group_is_empty(settings, f"{topic_prefix}-sink"), message="the member left")

    assert main(["positions", "sink", "--set", "0=4", "--set", "1=0"]) == 0
    output = capsys.readouterr().out
    assert f"{topic}[0]: 2 -> 4 (2 record(s) skipped)" in output
    assert f"{topic}[1]: none -> 0 (0 record(s) skipped)" in output
    assert store.offsets(topic) == {0: 4, 1: 0}  # where the sink seeks at its next assignment
    store.close()
