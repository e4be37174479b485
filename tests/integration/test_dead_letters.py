"""``wirefeed dead-letters list`` and ``redrive`` on the real broker, over letters the normalizer wrote."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from schemas import DeadLetter
from services.cli import main as cli_main
from services.core import dead_letters
from services.core.config import CommonSettings
from services.core.db import Database
from services.core.kafka import admin_client, ensure_topics, make_consumer, make_producer, read_until, seek_since
from services.normalizer.dedup import DedupStore
from services.normalizer.service import NormalizeBatch
from tests.factories import raw_item
from tests.helpers import wait_for
from tests.integration.kafka_helpers import read_all, settings_for

pytestmark = pytest.mark.kafka

ROOT = Path(__file__).resolve().parents[2]
NOT_JSON = b'{"item_id": "feed-a:broken", "title": "cut off'
NOT_A_RAW_ITEM = b'{"item_id": "feed-a:no-feed", "title": "a raw item without its feed"}'
NOT_UTF8 = '{"item_id": "feed-a:latin1", "title": "Gerät für Zürich"}'.encode("latin-1")  # a misconfigured producer


def cli(settings: CommonSettings, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "WIREFEED_KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
           "WIREFEED_TOPIC_PREFIX": settings.topic_prefix}
    return subprocess.run([sys.executable, "-m", "services.cli", "dead-letters", *argv], env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def normalize_raw_topic(settings: CommonSettings, tmp_path: Path) -> None:
    """What the normalizer does with every raw record so far, with a real producer."""
    store = DedupStore(Database(f"sqlite:///{tmp_path / 'dedup.db'}"))
    store.migrate()
    consumer = make_consumer(settings, None, client_id="test")  # type: ignore[arg-type]
    producer = make_producer(settings)
    try:
        batch = NormalizeBatch(producer, settings.topics, store)
        _, end = seek_since(consumer, settings.topics.raw_items, None)
        for records in read_until(consumer, end):
            batch(records)
    finally:
        consumer.close(autocommit=False)
        producer.close(timeout=30)
        store.db.close()


def raw_records(settings: CommonSettings) -> list[tuple[bytes, bytes]]:
    consumer = make_consumer(settings, None, client_id="test")  # type: ignore[arg-type]
    try:
        _, end = seek_since(consumer, settings.topics.raw_items, None)
        return [(r.key, r.value) for records in read_until(consumer, end) for r in records]
    finally:
        consumer.close(autocommit=False)


def test_poison_raw_items_are_listed_and_sent_back_with_their_keys(kafka_bootstrap: str, topic_prefix: str,
                                                                  tmp_path: Path) -> None:
    settings = settings_for(kafka_bootstrap, topic_prefix)
    producer = make_producer(settings)
    producer.send(settings.topics.raw_items, key=b"k-good", value=raw_item(1).to_bytes()).get(30)
    producer.send(settings.topics.raw_items, key=b"k-cut", value=NOT_JSON).get(30)
    producer.send(settings.topics.raw_items, key=b"k-partial", value=NOT_A_RAW_ITEM).get(30)
    producer.close()
    normalize_raw_topic(settings, tmp_path)
    wait_for(lambda: len(read_all(settings, settings.topics.dead_letter, 2, timeout=5)) == 2,
             message="the two dead letters")

    listed = cli(settings, "list")
    assert listed.returncode == 0, listed.stderr[-2000:]
    lines = [line.split("\t") for line in listed.stdout.splitlines()]
    assert sorted(fields[1:3] for fields in lines) == [["normalizer", "ValidationError"]] * 2
    assert all(fields[3].startswith(f"{settings.topics.raw_items}:") for fields in lines)
    assert any("Field required" in fields[4] for fields in lines)  # the reason, on one line
    assert all(fields[0].endswith("Z") for fields in lines)  # UTC as the --json letters and the read API write it
    assert max(len(fields[4]) for fields in lines) == 200  # five validation errors, cut short (--json has them)
    assert listed.stderr.strip().endswith("2 dead letter(s)")
    as_json = cli(settings, "list", "--json")
    assert sorted(DeadLetter.model_validate_json(line).payload.encode()
                  for line in as_json.stdout.splitlines()) == sorted([NOT_JSON, NOT_A_RAW_ITEM])

    dry = cli(settings, "redrive", "--dry-run")
    assert dry.stdout.splitlines()[0] == f"would send back 2 letter(s): 2 to {settings.topics.raw_items}"
    before = raw_records(settings)
    assert len(before) == 3

    sent = cli(settings, "redrive", "--stage", "normalizer")
    assert sent.returncode == 0, sent.stderr[-2000:]
    assert sent.stdout.splitlines() == [f"sent back 2 letter(s): 2 to {settings.topics.raw_items}"]
    again = Counter(raw_records(settings)) - Counter(before)
    assert again == Counter([(b"k-cut", NOT_JSON), (b"k-partial", NOT_A_RAW_ITEM)])  # the bytes and keys sent


def test_a_value_that_is_not_utf8_is_sent_back_as_the_bytes_it_was(kafka_bootstrap: str, topic_prefix: str,
                                                                    tmp_path: Path) -> None:
    # Decoded with replacement, its bytes were lost: a redrive sent U+FFFD where the producer wrote Latin-1
    settings = settings_for(kafka_bootstrap, topic_prefix)
    producer = make_producer(settings)
    producer.send(settings.topics.raw_items, key=b"k-latin1", value=NOT_UTF8).get(30)
    producer.close()
    normalize_raw_topic(settings, tmp_path)
    wait_for(lambda: len(read_all(settings, settings.topics.dead_letter, 1, timeout=5)) == 1,
             message="the dead letter")
    [line] = cli(settings, "list", "--json").stdout.splitlines()
    assert "\ufffd" in DeadLetter.model_validate_json(line).payload  # its text, for reading

    sent = cli(settings, "redrive")
    assert sent.returncode == 0, sent.stderr[-2000:]
    assert sent.stdout.splitlines() == [f"sent back 1 letter(s): 1 to {settings.topics.raw_items}"]
    assert raw_records(settings) == [(b"k-latin1", NOT_UTF8)] * 2


def test_filters_choose_letters_and_what_cannot_be_sent_back_is_skipped_with_why(
        kafka_bootstrap: str, topic_prefix: str) -> None:
    settings = settings_for(kafka_bootstrap, topic_prefix)
    producer = make_producer(settings)

    def letter(offset: int, **changes: object) -> None:
        fields = {"stage": "sink", "reason": "value too long", "error_class": "DataError",
                  "failed_at": datetime.now(UTC), "topic": settings.topics.articles, "partition": 0,
                  "offset": offset, "payload": f'{{"id": "a{offset}"}}', **changes}
        producer.send(settings.topics.dead_letter, key=f"story-{offset}".encode(),
                      value=DeadLetter.model_validate(fields).to_bytes()).get(30)

    letter(1, stage="normalizer", error_class="ValidationError", topic=settings.topics.raw_items)
    letter(2, details={"payload_bytes": 3_000_000})
    letter(3, topic="payments.v1")
    letter(5, error_class="UndecodableBatchError", payload="", details={"next_offset": 9})
    producer.send(settings.topics.dead_letter, key=b"x", value=b"not a letter").get(30)
    boundary = datetime.now(UTC)
    wait_for(lambda: datetime.now(UTC) > boundary, message="the clock to move")
    letter(4)
    producer.close()

    def sources(*argv: str) -> list[str]:
        return sorted(line.split("\t")[3] for line in cli(settings, "list", *argv).stdout.splitlines())

    assert sources("--stage", "sink", "--error-class", "DataError") == sorted([
        f"{settings.topics.articles}:0:2", "payments.v1:0:3", f"{settings.topics.articles}:0:4"])
    assert sources("--since", boundary.isoformat()) == [f"{settings.topics.articles}:0:4"]
    assert "1 record(s) that are not dead letters" in cli(settings, "list").stderr

    result = cli(settings, "redrive", "--stage", "sink")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.splitlines()[:4] == [
        f"sent back 1 letter(s): 1 to {settings.topics.articles}",
        "skipped 1: a record batch that could not be decompressed, without its records",
        "skipped 1: payload shortened to fit the dead-letter topic",
        "skipped 1: read from a topic that is not a wirefeed input topic",
    ]
    assert read_all(settings, settings.topics.articles, 1) == [(b"story-4", b'{"id": "a4"}')]
    consumer = make_consumer(settings, None, client_id="test")  # type: ignore[arg-type]
    try:
        assert "payments.v1" not in consumer.topics()
    finally:
        consumer.close(autocommit=False)


def test_listing_an_empty_topic_ends_at_once(kafka_bootstrap: str, topic_prefix: str) -> None:
    settings = settings_for(kafka_bootstrap, topic_prefix)
    result = cli(settings, "list")
    assert result.returncode == 0, result.stderr[-2000:]
    assert (result.stdout, result.stderr.strip()) == ("", "0 dead letter(s)")


def topics(settings: CommonSettings) -> set[str]:
    consumer = make_consumer(settings, None, client_id="test")  # type: ignore[arg-type]
    try:
        return consumer.topics()
    finally:
        consumer.close(autocommit=False)


@pytest.mark.parametrize("command", ["list", "redrive"])
def test_a_dead_letter_topic_that_does_not_exist_is_said_not_counted_as_empty(
        kafka_bootstrap: str, topic_prefix: str, command: str) -> None:
    settings = CommonSettings(kafka_bootstrap_servers=kafka_bootstrap, topic_prefix=topic_prefix)  # type: ignore[call-arg]
    result = cli(settings, command)  # no topic was ever created with this prefix: a wrong one, say
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip().splitlines()[-1] == (
        f"wirefeed: topic {topic_prefix}.dead-letter.v1 does not exist (or this login may not see it): check "
        f"WIREFEED_TOPIC_PREFIX (now {topic_prefix!r}); the services create their topics when they start, "
        "commands do not")
    assert not {topic for topic in topics(settings) if topic.startswith(topic_prefix)}  # nor was it created


def test_letters_are_not_sent_back_to_a_topic_that_does_not_exist(kafka_bootstrap: str, topic_prefix: str) -> None:
    settings = CommonSettings(kafka_bootstrap_servers=kafka_bootstrap, topic_prefix=topic_prefix)  # type: ignore[call-arg]
    ensure_topics(settings, [settings.topics.dead_letter, settings.topics.articles])  # the raw topic was deleted
    producer = make_producer(settings)
    for offset, (stage, topic) in enumerate([("normalizer", settings.topics.raw_items),
                                             ("sink", settings.topics.articles)]):
        letter = DeadLetter(stage=stage, reason="broken", error_class="ValidationError", failed_at=datetime.now(UTC),
                            topic=topic, partition=0, offset=offset, payload=f'{{"n": {offset}}}')
        producer.send(settings.topics.dead_letter, key=f"k{offset}".encode(), value=letter.to_bytes()).get(30)
    producer.close()
    missing = (f"1 letter(s) {{}} sent back: topic {settings.topics.raw_items} does not exist (or this login may "
               "not see it)")

    dry = cli(settings, "redrive", "--dry-run")
    assert dry.returncode == 1
    assert dry.stdout.splitlines() == [f"would send back 1 letter(s): 1 to {settings.topics.articles}"]
    assert f"wirefeed: {missing.format('would not be')}" in dry.stderr

    sent = cli(settings, "redrive")
    assert sent.returncode == 1
    assert sent.stdout.splitlines() == [f"sent back 1 letter(s): 1 to {settings.topics.articles}"]
    assert f"wirefeed: {missing.format('not')}" in sent.stderr
    assert settings.topics.raw_items not in topics(settings)  # not created by sending to it
    assert read_all(settings, settings.topics.articles, 1) == [(b"k1", b'{"n": 1}')]


def test_a_topic_deleted_after_the_redrive_checked_it_ends_it_within_the_timeout_in_one_line(
        kafka_bootstrap: str, topic_prefix: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    settings = CommonSettings(kafka_bootstrap_servers=kafka_bootstrap, topic_prefix=topic_prefix)  # type: ignore[call-arg]
    ensure_topics(settings, [settings.topics.dead_letter, settings.topics.raw_items])
    letter = DeadLetter(stage="normalizer", reason="broken", error_class="ValidationError", failed_at=datetime.now(UTC),
                        topic=settings.topics.raw_items, partition=0, offset=0, payload='{"n": 0}')
    producer = make_producer(settings)
    producer.send(settings.topics.dead_letter, key=b"k0", value=letter.to_bytes()).get(30)
    producer.close()
    checked = dead_letters._existing_topics

    def checked_then_deleted(settings: CommonSettings) -> set[str]:  # the race, made to happen every time
        existing = checked(settings)
        with admin_client(settings) as admin:
            admin.delete_topics([settings.topics.raw_items])
        wait_for(lambda: settings.topics.raw_items not in topics(settings), timeout=30, message="topic deleted")
        return existing

    monkeypatch.setenv("WIREFEED_KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)
    monkeypatch.setenv("WIREFEED_TOPIC_PREFIX", topic_prefix)
    monkeypatch.setattr(dead_letters, "_existing_topics", checked_then_deleted)
    started = time.monotonic()
    code = cli_main(["dead-letters", "redrive"])
    took = time.monotonic() - started
    assert code == 1
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"wirefeed: topic {settings.topics.raw_items} could not be written within 10 s (deleted since the redrive "
        "checked it?); no letter was taken off the dead-letter topic: run the redrive again once the topic exists")
    assert took < dead_letters.SEND_TIMEOUT_SECONDS + 20  # the deletion, the timeout, the exit: not 60 s
    assert settings.topics.raw_items not in topics(settings)  # not created by the attempt
    assert [found.record.key for found in dead_letters.LetterReader(settings, dead_letters.Selection())] == [b"k0"]
