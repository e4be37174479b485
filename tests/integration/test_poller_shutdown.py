"""SIGTERM stops a poller process within its grace, whatever its feed servers do.

A server that sends half a body and then nothing for 30 s (as one dripping a byte every few seconds
would, within the read timeout) held the poller until the fetch gave up, past ``wirefeed run``'s 30 s
and Compose's 45 s before SIGKILL. Now the poll is cancelled after WIREFEED_SHUTDOWN_GRACE_SECONDS, its
lease given back with its feed due at once, and the poller exits 0.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from services.core.db import Database
from services.poller.leases import holders
from services.poller.state import PollerStore
from tests.helpers import FeedServer, Resource, pipeline_env, rss, wait_for, wirefeed_process

pytestmark = [pytest.mark.kafka]

GRACE = 2.0
# After the grace: the loop's turn that notices the signal, the states written, the producer flushed
# and closed, the interpreter's exit. Far below the 30 s the slow server would otherwise hold the poll.
MARGIN = 8.0
STORY = {"title": "Storm", "link": "http://example.com/a", "guid": "a-1", "body": "<p>Rain.</p>"}


class Stopped(NamedTuple):
    code: int
    seconds: float  # from the SIGTERM to the exit
    events: list[dict[str, Any]]  # the poller's JSON log
    database_url: str


def _stop_mid_poll(command: list[str], kafka_bootstrap: str, topic_prefix: str, feed_server: FeedServer,
                   tmp_path: Path) -> Stopped:
    """Run the poller on a quick feed and a slow one, SIGTERM it once the quick one is polled and the slow
    one's body is half sent, and wait for its exit."""
    stalled = threading.Event()
    feed_server.resources["/slow.xml"] = Resource(rss("slow", [STORY]), midway=stalled)
    feed_server.resources["/quick.xml"] = Resource(rss("quick", [STORY]))
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("feeds:\n" + "".join(f"  - id: {name}\n    url: {feed_server.url(f'/{name}.xml')}\n"
                                          "    interval: 60\n" for name in ("slow", "quick")))
    database_url = f"sqlite:///{tmp_path / 'state.db'}"
    env = {**os.environ, **pipeline_env(kafka_bootstrap, topic_prefix, database_url, feeds),
           "WIREFEED_SHUTDOWN_GRACE_SECONDS": str(GRACE)}
    log = tmp_path / "poller.log"
    try:
        with log.open("wb") as output, \
                wirefeed_process(command, env, stdout=output, stderr=subprocess.STDOUT) as poller:
            wait_for(lambda: "feed_polled" in log.read_text() and any(
                path == "/slow.xml" for path, _ in feed_server.requests), timeout=90,
                     message="quick polled, slow's body half sent")
            poller.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            code = poller.wait(GRACE + MARGIN)
            stopped_after = time.monotonic() - signalled
    finally:
        stalled.set()
    events = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    return Stopped(code, stopped_after, events, database_url)


def test_sigterm_cancels_a_poll_still_reading_after_the_grace_and_exits_0(
        kafka_bootstrap: str, topic_prefix: str, feed_server: FeedServer, tmp_path: Path) -> None:
    stopped = _stop_mid_poll(["poller"], kafka_bootstrap, topic_prefix, feed_server, tmp_path)
    assert stopped.code == 0
    assert stopped.seconds >= GRACE  # the slow poll was given its grace
    cancelled = [event for event in stopped.events if event["event"] == "polls_cancelled"]
    assert [event["feeds"] for event in cancelled] == [["slow"]]
    assert stopped.events[-1]["event"] == "poller_stopped"

    db = Database(stopped.database_url)
    try:
        leases, store = holders(db), PollerStore(db)
        assert leases["slow"][0] == "" and leases["slow"][1] is not None
        assert leases["slow"][1] <= datetime.now(UTC)  # due at once, for whichever poller runs next
        assert store.feed_state("slow", feed_server.url("/slow.xml")).last_attempt_at is None  # nothing saved
        assert store.feed_state("quick", feed_server.url("/quick.xml")).last_success_at is not None
    finally:
        db.close()


def test_sigterm_ends_a_once_run_within_the_grace_and_exits_75_naming_the_feeds_not_polled(
        kafka_bootstrap: str, topic_prefix: str, feed_server: FeedServer, tmp_path: Path) -> None:
    stopped = _stop_mid_poll(["poller", "--once"], kafka_bootstrap, topic_prefix, feed_server, tmp_path)
    assert stopped.code == 75  # EX_TEMPFAIL: a job cut short, to be run again
    assert stopped.seconds >= GRACE
    events = stopped.events
    assert [event["feeds"] for event in events if event["event"] == "polls_cancelled"] == [["slow"]]
    assert events[-1]["event"] == "poll_once_incomplete" and events[-1]["feeds"] == ["slow"]
    assert events[-1]["exit_code"] == 75

    db = Database(stopped.database_url)
    try:
        store = PollerStore(db)
        assert store.feed_state("slow", feed_server.url("/slow.xml")).last_attempt_at is None  # polled next run
        assert store.feed_state("quick", feed_server.url("/quick.xml")).last_success_at is not None
        assert holders(db)["slow"][0] == ""
    finally:
        db.close()
