"""A stopping service gives its producer a bounded time to deliver, against a real broker that goes away.

With its broker gone at shutdown, a poller's flush waited 30 s and then raised, which left the producer
open and the publishing threads waiting on their records for their own 60 s: past what supervisors wait
before SIGKILL. Now what is not delivered within the grace is counted, logged and failed at once; the
state is not advanced for it, and the next run publishes it. The poller's polls and its producer share
one grace, counted from the SIGTERM (they took one each, one after the other), and a publish waiting
for a topic's metadata ends with it (kafka-python's ``send()`` waited 60 s). The broker here is the
tests' own (killed and started again), on a port of its own, so that the shared one stays up.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from structlog.testing import capture_logs

from services.core.config import CommonSettings
from services.core.db import Database
from services.core.kafka import FORCE_CLOSE_SECONDS, close_producer, ensure_topics, make_producer
from services.poller.state import PollerStore
from tests.helpers import FeedServer, Resource, pipeline_env, rss, wait_for, wirefeed_process
from tests.integration.kafka_helpers import read_all

pytestmark = [pytest.mark.kafka]

KAFKA = Path(__file__).resolve().parents[2] / "deploy" / "kafka" / "kafka.sh"
PORT = 24092  # below the ephemeral range, apart from the fault suites' 19092 and 29092
GRACE = 4.0
# The documented margin (the sender failing what the producer holds, a publishing thread's last slice,
# the states written, the interpreter's exit: about 2 s), and a busy host's scheduling. Less than the
# grace: the two graces the stop used to take one after the other do not fit.
MARGIN = 3.0
STORY = {"title": "Storm", "link": "http://example.com/a", "guid": "a-1", "body": "<p>Rain.</p>"}


class Stopped(NamedTuple):
    code: int
    seconds: float  # from the SIGTERM to the exit
    events: list[dict[str, Any]]  # the poller's JSON log
    env: dict[str, str]  # the poller's environment, for the next run
    database_url: str


class Broker:
    """A one-node cluster of the tests' own, from the project's script."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.bootstrap = ""
        self.killed = False

    def run(self, *args: str) -> str:
        return subprocess.run([str(KAFKA), *args, "--dir", str(self.directory)], check=True, capture_output=True,
                              text=True, timeout=300).stdout.strip()

    def up(self) -> Broker:
        self.bootstrap = self.run("up", "--nodes", "1", "--port", str(PORT)).splitlines()[-1]
        return self

    def kill(self) -> None:
        self.run("kill", "1")
        self.killed = True

    def start(self) -> None:
        self.run("start", "1")
        self.killed = False


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    own = Broker(tmp_path_factory.mktemp("kafka-exit")).up()
    yield own
    own.run("down", "--wipe")


@pytest.fixture
def gone(broker: Broker) -> Iterator[Broker]:
    """The broker, to be killed by the test; started again after it."""
    yield broker
    if broker.killed:
        broker.start()


def test_closing_a_producer_whose_broker_is_gone_ends_within_its_timeout_and_counts_what_is_left(
        gone: Broker, topic_prefix: str) -> None:
    settings = CommonSettings(kafka_bootstrap_servers=gone.bootstrap, topic_prefix=topic_prefix)  # type: ignore[arg-type]
    ensure_topics(settings, [settings.topics.raw_items])
    producer = make_producer(settings)
    producer.send(settings.topics.raw_items, key=b"k", value=b"first").get(timeout=30)  # its metadata known
    gone.kill()
    futures = [producer.send(settings.topics.raw_items, key=b"k", value=f"{n}".encode()) for n in range(3)]
    started = time.monotonic()
    with capture_logs() as logs:
        undelivered = close_producer(producer, 1.0)
    took = time.monotonic() - started
    assert undelivered == 3
    assert took < 1.0 + FORCE_CLOSE_SECONDS + 1.0  # the timeout, the sender failing the records, a busy host
    assert all(future.is_done and future.failed() for future in futures)  # whoever waits on them is told
    assert [entry["records"] for entry in logs if entry["event"] == "records_not_delivered"] == [3]


def test_a_poller_stopped_with_its_broker_gone_exits_within_the_grace_and_the_next_run_publishes_the_rest(
        gone: Broker, topic_prefix: str, feed_server: FeedServer, tmp_path: Path) -> None:
    stopped = _stop_with_the_broker_gone(gone, topic_prefix, feed_server, tmp_path, names=("early", "late"),
                                         ready="feed_polled")  # early published
    assert stopped.code == 75, stopped.seconds
    assert [event["records"] for event in stopped.events if event["event"] == "records_not_delivered"] == [1]
    db = Database(stopped.database_url)
    try:
        store = PollerStore(db)
        assert store.known_hashes("late", ["late:a-1"]) == {}  # not marked published
        assert store.feed_state("late", feed_server.url("/late.xml")).body_hash is None
        assert store.known_hashes("early", ["early:a-1"]) != {}
    finally:
        db.close()

    assert sorted(_next_run_keys(gone, topic_prefix, stopped.env, expected=2)) == [b"early:a-1", b"late:a-1"]


def test_a_poller_whose_broker_went_away_before_its_first_publish_stops_within_the_grace(
        gone: Broker, topic_prefix: str, feed_server: FeedServer, tmp_path: Path) -> None:
    # The producer has not asked for the raw-items topic's metadata yet: kafka-python's send() waits for
    # it up to max_block_ms, 60 s by default, and the publishing thread held the poller's exit that long.
    stopped = _stop_with_the_broker_gone(gone, topic_prefix, feed_server, tmp_path, names=("late",),
                                         ready="poller_started")  # the poller's producer made
    assert stopped.code == 75
    db = Database(stopped.database_url)
    try:
        store = PollerStore(db)
        assert store.known_hashes("late", ["late:a-1"]) == {}  # not marked published
        assert store.feed_state("late", feed_server.url("/late.xml")).body_hash is None
    finally:
        db.close()

    assert _next_run_keys(gone, topic_prefix, stopped.env, expected=1) == [b"late:a-1"]


def _stop_with_the_broker_gone(gone: Broker, topic_prefix: str, feed_server: FeedServer, tmp_path: Path, *,
                               names: tuple[str, ...], ready: str) -> Stopped:
    """Run ``poller --once`` on a feed per name, the last one held back; once ``ready`` is logged, kill the
    broker, let the last feed answer, SIGTERM the poller when its items are parsed, and wait for its exit.

    The last feed's item thus goes to a producer whose broker is gone."""
    *early, late = names
    for name in early:
        feed_server.resources[f"/{name}.xml"] = Resource(rss(name, [STORY]))
    released = threading.Event()
    feed_server.resources[f"/{late}.xml"] = Resource(rss(late, [STORY]), gate=released)
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("feeds:\n" + "".join(f"  - id: {name}\n    url: {feed_server.url(f'/{name}.xml')}\n"
                                          "    interval: 60\n" for name in names))
    database_url = f"sqlite:///{tmp_path / 'state.db'}"
    env = {**os.environ, **pipeline_env(gone.bootstrap, topic_prefix, database_url, feeds),
           "WIREFEED_SHUTDOWN_GRACE_SECONDS": str(GRACE)}
    log = tmp_path / "poller.log"
    try:
        with log.open("wb") as output, \
                wirefeed_process(["poller", "--once"], env, stdout=output, stderr=subprocess.STDOUT) as poller:
            wait_for(lambda: f'"{ready}"' in log.read_text(), timeout=90, message=f"{ready} logged")
            gone.kill()
            released.set()
            wait_for(lambda: _items_seen(env, late), timeout=30, message=f"{late}'s items parsed")
            poller.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            code = poller.wait(GRACE + MARGIN)  # the polls and the producer share the grace
            stopped_after = time.monotonic() - signalled
    finally:
        released.set()
    events = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    return Stopped(code, stopped_after, events, env, database_url)


def _next_run_keys(gone: Broker, topic_prefix: str, env: dict[str, str], expected: int) -> list[bytes]:
    """Start the broker again, run ``poller --once`` to its clean end, and read the raw items' keys."""
    gone.start()
    with wirefeed_process(["poller", "--once"], env, stdout=subprocess.DEVNULL) as poller:
        assert poller.wait(90) == 0
    settings = CommonSettings(kafka_bootstrap_servers=gone.bootstrap, topic_prefix=topic_prefix)  # type: ignore[arg-type]
    return [key for key, _ in read_all(settings, settings.topics.raw_items, expected=expected)]


def _items_seen(env: dict[str, str], feed: str) -> bool:
    """The poller's own count: the feed's items parsed and on their way to the producer."""
    port = env["WIREFEED_POLLER_METRICS_PORT"]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        return f'wirefeed_poller_items_parsed_total{{feed="{feed}"}} 1.0' in answer.read().decode()
