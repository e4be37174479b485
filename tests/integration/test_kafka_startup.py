"""Services started before their broker wait for it, log why, and still stop at once on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from kafka import KafkaAdminClient
from structlog.testing import capture_logs

from services.core.config import CommonSettings
from services.core.errors import TopicsNotCreatedError
from services.core.kafka import create_topics_now, ensure_topics, wait_for_topics
from services.core.runner import StopSignal
from tests.helpers import FeedServer, Resource, free_port, rss, wait_for, wirefeed_process
from tests.integration.kafka_helpers import read_all, settings_for, topic_config

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("service", ["poller", "normalizer", "sink"])
def test_a_service_waits_for_an_absent_broker_and_stops_on_sigterm(service: str, tmp_path: Path) -> None:
    (tmp_path / "feeds.yaml").write_text("feeds: []\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "WIREFEED_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}",
           "WIREFEED_LOG_FORMAT": "json", "WIREFEED_FEEDS_FILE": str(tmp_path / "feeds.yaml"),
           "WIREFEED_DATABASE_URL": f"sqlite:///{tmp_path / 'wirefeed.db'}",
           f"WIREFEED_{service.upper()}_METRICS_PORT": str(free_port())}
    log = (tmp_path / "log").open("w+")
    process = subprocess.Popen([sys.executable, "-m", "services.cli", service], stderr=log, env=env, cwd=tmp_path)
    try:
        wait_for(lambda: (tmp_path / "log").read_text().count("kafka_unavailable") >= 2, timeout=30)
        process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        assert process.wait(timeout=10) == 0
        assert time.monotonic() - started < 3  # not after kafka-python's 30-second bootstrap
    finally:
        process.kill()
        log.close()
    events = [json.loads(line) for line in (tmp_path / "log").read_text().splitlines()]  # every line is JSON
    waiting = [event for event in events if event["event"] == "kafka_unavailable"]
    assert waiting[0]["level"] == "warning" and waiting[0]["service"] == service
    assert waiting[0]["error"].endswith("accepts connections")
    assert [event["retry_in"] for event in waiting[:2]] == [0.5, 1.0]  # backing off
    assert not (tmp_path / "wirefeed.db").exists()  # nothing else was started


def _answer(port: int, path: str) -> tuple[int, bytes] | None:
    """The service's answer to GET ``path``, or None while nothing answers on its port."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except OSError:
        return None


def _waits_for(port: int, checks: dict[str, bool]) -> bool:
    answer = _answer(port, "/readyz")
    return answer is not None and answer[0] == 503 and json.loads(answer[1])["checks"] == checks


@pytest.mark.parametrize("service", ["poller", "normalizer", "sink"])
def test_a_service_waiting_for_its_broker_answers_on_its_port_naming_what_it_waits_for(
        service: str, tmp_path: Path) -> None:
    # Its port refused every connection while it waited: WirefeedTargetDown fired, and its runbook's
    # "GET /healthz and /readyz to see which dependency is failing" got nothing.
    (tmp_path / "feeds.yaml").write_text("feeds: []\n")
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "WIREFEED_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}",
           "WIREFEED_FEEDS_FILE": str(tmp_path / "feeds.yaml"),
           "WIREFEED_DATABASE_URL": f"sqlite:///{tmp_path / 'wirefeed.db'}",
           "WIREFEED_METRICS_HOST": "127.0.0.1", f"WIREFEED_{service.upper()}_METRICS_PORT": str(port)}
    with wirefeed_process([service], env, stderr=subprocess.DEVNULL, cwd=tmp_path) as process:
        wait_for(lambda: _waits_for(port, {"started": False, "kafka": False}) or process.poll() is not None,
                 timeout=30, message="/readyz naming kafka")
        assert process.poll() is None
        assert _answer(port, "/healthz") == (200, b'{"status": "ok"}')  # alive, and trying
        metrics = _answer(port, "/metrics")
        assert metrics is not None and metrics[0] == 200 and b"process_start_time_seconds" in metrics[1]
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    assert not (tmp_path / "wirefeed.db").exists()  # nothing else was started


def test_the_sink_waiting_for_its_database_says_so_on_its_port(kafka_bootstrap: str, topic_prefix: str,
                                                                tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "WIREFEED_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
           "WIREFEED_TOPIC_PREFIX": topic_prefix, "WIREFEED_TOPIC_PARTITIONS": "1",
           "WIREFEED_DATABASE_URL": f"postgresql://wirefeed:wirefeed@127.0.0.1:{free_port()}/wirefeed",
           "WIREFEED_METRICS_HOST": "127.0.0.1", "WIREFEED_SINK_METRICS_PORT": str(port)}
    log = tmp_path / "log"
    with log.open("w") as stderr, wirefeed_process(["sink"], env, stderr=stderr, cwd=tmp_path) as process:
        wait_for(lambda: _waits_for(port, {"started": False, "kafka": True, "database": False})
                 or process.poll() is not None, timeout=60, message="/readyz naming the database")
        assert process.poll() is None
        assert _answer(port, "/healthz") == (200, b'{"status": "ok"}')
        wait_for(lambda: "database_unavailable" in log.read_text(), timeout=30)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0


def test_topics_are_created_once_the_broker_answers(kafka_bootstrap: str, topic_prefix: str) -> None:
    settings = CommonSettings(kafka_bootstrap_servers=kafka_bootstrap, topic_prefix=topic_prefix)  # type: ignore[call-arg]
    assert wait_for_topics(settings, settings.topics.all(), StopSignal())
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap.split(","))
    try:
        assert set(settings.topics.all()) <= set(admin.list_topics())
    finally:
        admin.close()


def test_the_topics_a_service_creates_carry_their_durability_and_the_letters_retention(
        kafka_bootstrap: str, topic_prefix: str) -> None:
    # Set on the topic, not left to the broker's default (min.insync.replicas is 1 in Kafka's own).
    settings = settings_for(kafka_bootstrap, topic_prefix)
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap.split(","))
    try:
        assert {topic_config(admin, topic, "min.insync.replicas") for topic in settings.topics.all()} == {
            ("1", "DYNAMIC_TOPIC_CONFIG")}  # one broker here; three or more replicas give 2 (the fault suite)
        # Dead letters wait for a person: 30 days, where the other topics keep the broker's retention.
        assert topic_config(admin, settings.topics.dead_letter, "retention.ms") == (str(30 * 86_400_000),
                                                                                    "DYNAMIC_TOPIC_CONFIG")
        assert topic_config(admin, settings.topics.raw_items, "retention.ms")[1] != "DYNAMIC_TOPIC_CONFIG"
    finally:
        admin.close()


def test_an_existing_topic_asking_for_fewer_in_sync_replicas_is_named_and_left_alone(
        kafka_bootstrap: str, topic_prefix: str) -> None:
    made = settings_for(kafka_bootstrap, topic_prefix)  # one replica, min.insync.replicas 1
    with capture_logs() as logs:
        ensure_topics(made, made.topics.all())
    assert not [line for line in logs if line["event"] == "topic_min_insync_replicas_below_setting"]

    # The operator's cluster grew to three brokers: wirefeed would now make its topics with 2.
    grown = CommonSettings(kafka_bootstrap_servers=kafka_bootstrap, topic_prefix=topic_prefix,
                           topic_replication_factor=3)  # type: ignore[call-arg]
    with capture_logs() as logs:
        ensure_topics(grown, grown.topics.all())
    named = sorted((line["topic"], line["min_insync_replicas"], line["setting"]) for line in logs
                   if line["event"] == "topic_min_insync_replicas_below_setting")
    assert named == sorted((topic, 1, 2) for topic in grown.topics.all())
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap.split(","))
    try:
        assert topic_config(admin, grown.topics.raw_items, "min.insync.replicas")[0] == "1"  # not overridden
    finally:
        admin.close()


def test_a_topic_kafka_refuses_to_create_is_named_with_the_reason(kafka_bootstrap: str, topic_prefix: str,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """A replication factor above the brokers' count: the reason, not "Topics not ready after 10000ms"."""
    settings = CommonSettings(kafka_bootstrap_servers=kafka_bootstrap, topic_prefix=topic_prefix,
                              topic_replication_factor=7)  # type: ignore[call-arg]
    with pytest.raises(TopicsNotCreatedError, match="WIREFEED_TOPIC_REPLICATION_FACTOR=7") as refused:
        create_topics_now(settings, settings.topics.all())
    assert f"{settings.topics.raw_items}: Unable to replicate the partition 7 time(s)" in str(refused.value)
    # A service keeps waiting, saying why (the whole hint: the log keeps it), and still stops when asked:
    # here at its first back-off.
    stop = StopAtFirstWait()
    assert not wait_for_topics(settings, settings.topics.all(), stop)
    logged = capsys.readouterr().out
    assert "Unable to replicate the partition 7 time(s)" in logged
    assert "WIREFEED_TOPIC_REPLICATION_FACTOR=7" in logged


class StopAtFirstWait(StopSignal):
    """Asked to stop as soon as a retry loop backs off for the first time."""

    def wait(self, timeout: float) -> bool:
        self.set()
        return True


def test_waiting_for_a_broker_ends_when_stopped_and_leaves_no_threads() -> None:
    settings = CommonSettings(kafka_bootstrap_servers=f"127.0.0.1:{free_port()}")  # type: ignore[call-arg]
    stop, threads = StopSignal(), threading.active_count()
    threading.Timer(1.0, stop.set).start()
    started = time.monotonic()
    assert not wait_for_topics(settings, settings.topics.all(), stop)
    assert time.monotonic() - started < 3
    wait_for(lambda: threading.active_count() == threads, timeout=5)  # the timer's thread ends too


@pytest.mark.parametrize("argv", [["replay", "--from", "2024-01-01T00:00:00Z"], ["feeds", "backfill"],
                                  ["dead-letters", "list"], ["dead-letters", "redrive"]])
def test_a_one_shot_command_without_a_broker_says_so_at_once(argv: list[str], tmp_path: Path) -> None:
    (tmp_path / "feeds.yaml").write_text("feeds:\n  - id: a\n    url: http://127.0.0.1:9/feed.xml\n")
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "WIREFEED_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{port}",
           "WIREFEED_FEEDS_FILE": str(tmp_path / "feeds.yaml"),
           "WIREFEED_DATABASE_URL": f"sqlite:///{tmp_path / 'w.db'}"}
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "services.cli", *argv], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        f"wirefeed: Kafka is unavailable: no server in 127.0.0.1:{port} accepts connections")
    assert "Traceback" not in result.stderr
    assert time.monotonic() - started < 20  # not after kafka-python's 30-second bootstrap


def test_the_backfill_command_publishes_to_the_real_broker(kafka_bootstrap: str, topic_prefix: str, tmp_path: Path,
                                                           feed_server: FeedServer) -> None:
    feed_server.resources["/feed.xml"] = Resource(rss("Wire", [
        {"title": f"Story {n}", "link": f"https://news.example/{n}", "body": f"Text {n}."} for n in range(3)]))
    (tmp_path / "feeds.yaml").write_text(f"feeds:\n  - id: wire\n    url: {feed_server.url('/feed.xml')}\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "WIREFEED_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
           "WIREFEED_TOPIC_PREFIX": topic_prefix, "WIREFEED_FEEDS_FILE": str(tmp_path / "feeds.yaml"),
           "WIREFEED_DATABASE_URL": f"sqlite:///{tmp_path / 'w.db'}", "WIREFEED_ALLOW_PRIVATE_NETWORKS": "true"}
    result = subprocess.run([sys.executable, "-m", "services.cli", "feeds", "backfill"], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "wire\tok\t3 published\n"  # the outcome alone: the poll's log line goes to stderr
    assert '"event": "feed_polled"' in result.stderr
    settings = CommonSettings(kafka_bootstrap_servers=kafka_bootstrap, topic_prefix=topic_prefix)  # type: ignore[call-arg]
    titles = {json.loads(value)["title"] for _, value in read_all(settings, settings.topics.raw_items, 3)}
    assert titles == {"Story 0", "Story 1", "Story 2"}
