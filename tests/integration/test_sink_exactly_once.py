"""The sink's promise, proved on the real thing: exactly once into SQLite and PostgreSQL.

A stream of articles (several versions of some stories, some carried by two outlets, some messages
redelivered as the normalizer's at-least-once hand-off does) flows into a unique topic while
``wirefeed sink`` runs as a real process. The process is killed with SIGKILL at random points (seeded)
and restarted, or its PostgreSQL is stopped under it; afterwards storage must hold exactly the articles
produced, each once, every story with its versions, and offsets equal to the topic's end offsets.

Every restart joins a fresh consumer group: a SIGKILLed member would otherwise hold its partitions until
its session times out (15 s per restart). It also proves the point of the design: the position across
restarts comes from the database alone, never from Kafka's committed offsets.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import httpx
import pytest
from kafka import KafkaConsumer, TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from schemas import Article
from services.core.config import CommonSettings
from services.core.db import Database
from services.core.kafka import make_producer
from tests.factories import article
from tests.helpers import free_port, wait_for
from tests.integration.kafka_helpers import settings_for

if TYPE_CHECKING:
    from tests.integration.conftest import FaultsCluster

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
SEED = int(os.environ.get("WIREFEED_TEST_SEED", "20261128"))  # override to explore other kill points
KILLS = 10
PARTITIONS = 3
TOKEN = "test-read-token"
LOG_TAIL = int(os.environ.get("WIREFEED_TEST_LOG_TAIL", "15"))


# --- the stream ---------------------------------------------------------------------------------------------

@dataclass
class Stream:
    """What is offered to the topic, in order, and what storage must hold afterwards."""

    messages: list[Article]
    expected: dict[str, Article]  # article id -> article (redeliveries collapse)

    @classmethod
    def plan(cls, rng: random.Random, stories: int = 200) -> Stream:
        messages: list[Article] = []
        n = 0
        for s in range(stories):
            versions = 3 if s % 10 == 0 else 2 if s % 4 == 0 else 1
            for version in range(1, versions + 1):
                feeds = ["feed-a", "feed-b"] if s % 15 == 0 else [rng.choice(["feed-a", "feed-c", "feed-d"])]
                for feed in feeds:  # a second outlet's copy of the same version
                    n += 1
                    messages.append(article(n, story=f"story-{s:04d}", version=version, feed_id=feed)
                                    .model_copy(update={"id": f"a-{s:04d}-v{version}-{feed}"}))
        expected = {a.id: a for a in messages}
        # Redeliveries: the normalizer republishes after a crash between produce and commit.
        for original in rng.sample(messages, 12):
            messages.insert(rng.randrange(messages.index(original) + 1, len(messages) + 1), original)
        return cls(messages, expected)

    def versions(self) -> dict[str, list[int]]:
        found: defaultdict[str, list[int]] = defaultdict(list)
        for a in self.expected.values():
            found[a.story_id].append(a.version)
        return {story: sorted(v) for story, v in found.items()}


@dataclass
class Producer:
    """Sends the stream at a steady rate in a thread; fetched_at is stamped at send."""

    settings: CommonSettings
    stream: Stream
    rate: float
    sent: int = 0
    error: BaseException | None = None
    _thread: threading.Thread | None = field(default=None, repr=False)

    def start(self) -> Producer:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    @property
    def done(self) -> bool:
        return self._thread is not None and not self._thread.is_alive()

    def join(self) -> None:
        assert self._thread is not None
        self._thread.join(120)
        assert self.error is None, self.error

    def _run(self) -> None:
        producer = make_producer(self.settings)
        try:
            start = time.monotonic()
            for i, a in enumerate(self.stream.messages):
                time.sleep(max(0.0, start + i / self.rate - time.monotonic()))
                stamped = a.model_copy(update={"fetched_at": datetime.now(UTC)})
                producer.send(self.settings.topics.articles, key=a.story_id.encode(), value=stamped.to_bytes())
                self.sent = i + 1
            producer.flush(60)
        except BaseException as error:
            self.error = error
        finally:
            producer.close(10)


# --- the sink as a process ----------------------------------------------------------------------------------


class SinkProcess:
    started: ClassVar[list[SinkProcess]] = []  # the `logs` fixture kills whatever a failed test left running

    def __init__(self, bootstrap: str, prefix: str, database_url: str, logs: Path, run: int,
                 **extra_env: str) -> None:
        self.port = free_port()
        self.log_path = logs / f"sink-{run}.log"
        env = {k: v for k, v in os.environ.items() if k != "WIREFEED_METRICS_PORT"}
        env.update({
            "WIREFEED_KAFKA_BOOTSTRAP_SERVERS": bootstrap, "WIREFEED_TOPIC_PREFIX": prefix,
            "WIREFEED_DATABASE_URL": database_url, "WIREFEED_SINK_METRICS_PORT": str(self.port),
            "WIREFEED_METRICS_HOST": "127.0.0.1", "WIREFEED_MAX_BATCH": "17", "WIREFEED_LOG_FORMAT": "json",
            "WIREFEED_GROUP_ID": f"{prefix}-sink-{run}", "WIREFEED_LAG_INTERVAL_SECONDS": "0.5",
            **extra_env,
        })
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "services.cli", "sink"], cwd=ROOT, env=env,
                                            stdout=log, stderr=subprocess.STDOUT)
        SinkProcess.started.append(self)

    def get(self, path: str, timeout: float = 20.0, token: str | None = None) -> httpx.Response | None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}{path}", timeout=timeout, headers=headers)
        except httpx.HTTPError:
            return None

    def ready(self) -> bool | None:
        """True/False as /readyz says; None while nothing answers."""
        response = self.get("/readyz")
        return None if response is None else response.status_code == 200

    def metric(self, name: str, **labels: str) -> float:
        response = self.get("/metrics")
        total = 0.0
        for family in text_string_to_metric_families(response.text if response else ""):
            for sample in family.samples:
                if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                    total += sample.value
        return total

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def terminate(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(60)


@pytest.fixture
def logs(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    while SinkProcess.started:  # a test that failed half-way must not leave a sink running
        sink = SinkProcess.started.pop()
        if sink.process.poll() is None:
            sink.kill()
    for log in sorted(tmp_path.glob("sink-*.log")):  # shown by pytest only when the test failed
        print(f"--- {log.name} (tail)\n" + "\n".join(log.read_text(errors="replace").splitlines()[-LOG_TAIL:]))


# --- checks -------------------------------------------------------------------------------------------------

def _count(db: Database) -> int:
    return int(db.query("SELECT COUNT(*) FROM articles")[0][0])


def _end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap.split(","))
    try:
        ends = consumer.end_offsets([TopicPartition(topic, p) for p in range(PARTITIONS)])
    finally:
        consumer.close()
    return {tp.partition: int(offset) for tp, offset in ends.items()}


def _stored_offsets(db: Database, topic: str) -> dict[int, int]:
    rows = db.query("SELECT partition, next_offset FROM sink_offsets WHERE topic = ?", (topic,))
    return {int(p): int(o) for p, o in rows}


def _everything_stored(db: Database, stream: Stream, bootstrap: str, topic: str) -> bool:
    return _count(db) == len(stream.expected) and _stored_offsets(db, topic) == _end_offsets(bootstrap, topic)


def assert_stored_exactly_once(db: Database, stream: Stream, bootstrap: str, topic: str) -> None:
    ids = [str(row[0]) for row in db.query("SELECT article_id FROM articles")]
    assert sorted(ids) == sorted(stream.expected), "lost or unexpected articles"
    assert db.query("SELECT COUNT(*), COUNT(DISTINCT article_id) FROM articles") == [
        (len(stream.expected), len(stream.expected))]
    versions: defaultdict[str, list[int]] = defaultdict(list)
    for story, version in db.query("SELECT story_id, version FROM articles"):
        versions[str(story)].append(int(version))
    assert {s: sorted(v) for s, v in versions.items()} == stream.versions()
    latest = {str(s): int(v) for s, v in db.query("SELECT story_id, latest_version FROM stories")}
    assert latest == {s: max(v) for s, v in stream.versions().items()}
    sources = {str(f): int(n) for f, n in db.query("SELECT feed_id, article_count FROM sources")}
    assert sources == dict(Counter(a.feed_id for a in stream.expected.values()))
    ends = _end_offsets(bootstrap, topic)
    assert sum(ends.values()) == len(stream.messages)
    assert _stored_offsets(db, topic) == ends


# --- the tests ----------------------------------------------------------------------------------------------

@pytest.mark.timeout(150)
def test_sigkill_at_random_points_stores_every_article_exactly_once(
        kafka_bootstrap: str, topic_prefix: str, database_url: str, logs: Path) -> None:
    rng = random.Random(SEED)
    settings = settings_for(kafka_bootstrap, topic_prefix, database_url)
    topic = settings.topics.articles
    stream = Stream.plan(rng)
    db = Database(database_url)
    db.migrate("sink", "services.sink")  # the sink does too; the test counts rows from the first moment
    producer = Producer(settings, stream, rate=25).start()
    kill_points: list[str] = []
    try:
        for run in range(KILLS):
            sink = SinkProcess(kafka_bootstrap, topic_prefix, database_url, logs, run)
            kill_points.append(_kill_at_random_point(sink, db, stream, rng))
        producer.join()
        sink = SinkProcess(kafka_bootstrap, topic_prefix, database_url, logs, KILLS)
        wait_for(lambda: _everything_stored(db, stream, kafka_bootstrap, topic), timeout=60,
                 message="every article stored and offsets at the end")
        wait_for(lambda: sink.metric("wirefeed_consumer_lag_messages", topic=topic) == 0
                 and len(_lag_series(sink, topic)) == PARTITIONS, timeout=20, message="lag gauge at zero")
        _assert_read_api_serves(sink, stream)
        assert sink.terminate() == 0
        assert_stored_exactly_once(db, stream, kafka_bootstrap, topic)
    finally:
        db.close()
    print(f"{len(stream.messages)} messages, {len(stream.expected)} articles; kills: {', '.join(kill_points)}")
    assert sum(point.startswith("after") for point in kill_points) >= KILLS // 2, kill_points


def _assert_read_api_serves(sink: SinkProcess, stream: Stream, token: str | None = None) -> None:
    """The read API is wired into the real process, on the metrics port."""
    listed = sink.get("/articles?limit=7", token=token)
    assert listed is not None and listed.status_code == 200 and listed.json()["count"] == 7
    story = sink.get("/stories/story-0000", token=token)  # story 0: three versions, two outlets each
    assert story is not None and story.status_code == 200
    body = story.json()
    assert [len(v["copies"]) for v in body["versions"]] == [2, 2, 2] and body["outlets"] == 2
    assert sum(len(v["copies"]) for v in body["versions"]) == len(
        [a for a in stream.expected.values() if a.story_id == "story-0000"])


def _lag_series(sink: SinkProcess, topic: str) -> list[str]:
    response = sink.get("/metrics")
    return [line for line in (response.text if response else "").splitlines()
            if line.startswith("wirefeed_consumer_lag_messages{") and f'topic="{topic}"' in line]


def _kill_at_random_point(sink: SinkProcess, db: Database, stream: Stream, rng: random.Random) -> str:
    """Kill during start-up (before or while partitions are assigned) or just after rows were stored."""
    before = _count(db)
    if rng.random() < 0.25:
        delay = rng.uniform(0.3, 2.5)
        time.sleep(delay)
        point = f"start+{delay:.2f}s"
    else:
        wait_for(lambda: _count(db) > before or _count(db) == len(stream.expected), timeout=60,
                 interval=0.02, message="more rows stored")
        delay = rng.uniform(0.0, 0.15)
        time.sleep(delay)
        point = f"after {before}->{_count(db)} rows+{delay:.2f}s"
    sink.kill()
    return point


@pytest.mark.timeout(180)
def test_postgresql_stopped_mid_stream_is_waited_out_without_a_restart(
        kafka_bootstrap: str, topic_prefix: str, faults_cluster: FaultsCluster, faults_database: str,
        logs: Path) -> None:
    rng = random.Random(SEED + 1)
    settings = settings_for(kafka_bootstrap, topic_prefix, faults_database)
    topic = settings.topics.articles
    stream = Stream.plan(rng, stories=150)
    sink = SinkProcess(kafka_bootstrap, topic_prefix, faults_database, logs, 0, WIREFEED_READ_API_TOKEN=TOKEN)
    wait_for(lambda: sink.ready() is True, timeout=60, message="sink ready")
    producer = Producer(settings, stream, rate=40).start()
    db = Database(faults_database)
    try:
        wait_for(lambda: _count(db) >= 40, timeout=60, message="a first part stored")
        db.close()  # its pooled connections would die with the server anyway
        faults_cluster.stop()
        sent_at_stop = producer.sent
        wait_for(lambda: sink.ready() is False, timeout=60, message="/readyz says not ready")
        wait_for(lambda: producer.sent >= sent_at_stop + 60 or producer.done, timeout=60,
                 message="articles arriving while the database is down")
        faults_cluster.start()
        wait_for(lambda: sink.ready() is True, timeout=60, message="/readyz ready again")
        producer.join()
        db = Database(faults_database)
        wait_for(lambda: _everything_stored(db, stream, kafka_bootstrap, topic), timeout=90,
                 message="every article stored after the outage")
        assert sink.process.poll() is None, "the sink exited during the outage"
        # No assertion on wirefeed_sink_database_errors_total: the pool checks connections and waits for
        # the server, so a short outage may cost no failed write at all; /readyz above showed it was met.
        unauthorized = sink.get("/articles")
        assert unauthorized is not None and unauthorized.status_code == 401
        _assert_read_api_serves(sink, stream, token=TOKEN)
        assert sink.terminate() == 0
        assert_stored_exactly_once(db, stream, kafka_bootstrap, topic)
    finally:
        db.close()
