"""A database that stops answering without closing the connection (a hung server, a network dropping
packets): the service's call neither returns nor fails, so nothing but its own heartbeat can tell. Its
liveness fails, it exits with code 70 for its supervisor to restart it, and the new process loses and
doubles nothing. Real PostgreSQL and real Kafka; the hang is a link between them that stops carrying
bytes (tests/frozen_link.py). And a statement that merely runs long is cancelled at the session's
statement timeout, where one is set (the read API's)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest

from services.core.config import SessionOptions
from services.core.db import TCP_DEFAULTS, TRANSIENT_ERRORS, Database, QueryTimeoutError
from services.core.kafka import make_producer
from services.core.runner import EXIT_UNHEALTHY
from services.sink.store import SqlStore
from tests.factories import article
from tests.frozen_link import FrozenLink
from tests.helpers import FeedServer, Resource, free_port, pipeline_env, rss, wait_for, wirefeed_process
from tests.integration.kafka_helpers import settings_for

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


@dataclass
class LinkedDatabase:
    url: str
    link: FrozenLink

    @property
    def through_link(self) -> str:
        address = urlsplit(self.url)
        netloc = f"{address.username}:{address.password}@127.0.0.1:{self.link.port}"
        return address._replace(netloc=netloc).geturl()


@pytest.fixture
def database(postgres_url: str) -> Iterator[LinkedDatabase]:
    address = urlsplit(postgres_url)
    with FrozenLink((address.hostname or "127.0.0.1", address.port or 5432)) as link:
        yield LinkedDatabase(postgres_url, link)


def stored(url: str) -> tuple[int, int]:
    db = Database(url)
    try:
        rows, distinct = db.query("SELECT COUNT(*), COUNT(DISTINCT article_id) FROM articles")[0]
    finally:
        db.close()
    return int(rows), int(distinct)


def live(port: int) -> bool | None:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return None


def loop_age(port: int) -> float:
    try:
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
    except httpx.HTTPError:
        return 0.0
    return next((float(line.split()[1]) for line in metrics.splitlines()
                 if line.startswith("wirefeed_main_loop_age_seconds ")), 0.0)


@pytest.mark.timeout(240)
def test_a_sink_stuck_on_a_database_that_stopped_answering_exits_and_its_restart_stores_everything_once(
        kafka_bootstrap: str, topic_prefix: str, database: LinkedDatabase, tmp_path: Path) -> None:
    postgres_url, link = database.url, database.link
    settings = settings_for(kafka_bootstrap, topic_prefix, postgres_url)
    store = SqlStore(Database(postgres_url))
    store.migrate()  # the tables, before the first count
    store.close()
    producer = make_producer(settings)

    def offer(numbers: range) -> None:
        for n in numbers:
            a = article(n, story=f"story-{n}")
            producer.send(settings.topics.articles, key=a.story_id.encode(), value=a.to_bytes())
        producer.flush()

    port = free_port()
    env = {**os.environ, "WIREFEED_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "WIREFEED_TOPIC_PREFIX": topic_prefix,
           "WIREFEED_TOPIC_PARTITIONS": "3", "WIREFEED_DATABASE_URL": database.through_link,
           "WIREFEED_SINK_METRICS_PORT": str(port), "WIREFEED_LOG_FORMAT": "json",
           "WIREFEED_LOOP_STALL_SECONDS": "3", "WIREFEED_EXIT_UNHEALTHY_AFTER_SECONDS": "2"}
    log = tmp_path / "sink.log"
    with log.open("wb") as output, wirefeed_process(["sink"], env, stdout=output, stderr=subprocess.STDOUT) as sink:
        offer(range(30))
        wait_for(lambda: stored(postgres_url) == (30, 30), timeout=90, message="the first 30 stored")
        assert live(port)
        link.freeze()
        offer(range(30, 60))
        wait_for(lambda: loop_age(port) >= 2, timeout=60, message="the main loop's age growing on /metrics")
        wait_for(lambda: live(port) is False, timeout=60, message="liveness failing while the write hangs")
        code = sink.wait(60)
    entries = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    assert code == EXIT_UNHEALTHY
    assert [e["failing"] for e in entries if e["event"] == "service_unhealthy_exiting"] == [["loop_turning"]]
    assert "service_stuck_exiting_now" in [e["event"] for e in entries]  # the write never returned
    link.close()  # the hung session's connection goes too: PostgreSQL rolls its transaction back

    env["WIREFEED_DATABASE_URL"] = postgres_url
    with wirefeed_process(["sink"], env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as restarted:
        wait_for(lambda: stored(postgres_url) == (60, 60), timeout=90, message="all 60 stored after the restart")
        restarted.send_signal(signal.SIGTERM)
        assert restarted.wait(60) == 0
    producer.close()


@pytest.mark.timeout(180)
def test_a_poller_whose_state_database_stopped_answering_exits_to_be_restarted(
        kafka_bootstrap: str, topic_prefix: str, database: LinkedDatabase, tmp_path: Path,
        feed_server: FeedServer) -> None:
    # The poller claims due feeds from its event loop: a claim that hangs stops the whole loop, and with it
    # every feed, until the poller is restarted.
    feed_server.resources["/feed.xml"] = Resource(rss("Outlet", [
        {"title": "One", "link": "https://example.com/1", "body": "First report."}]))
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(f"feeds:\n  - id: outlet\n    url: {feed_server.url('/feed.xml')}\n    interval: 5\n")
    settings_for(kafka_bootstrap, topic_prefix)
    env = {**os.environ, **pipeline_env(kafka_bootstrap, topic_prefix, database.through_link, feeds),
           "WIREFEED_LOOP_STALL_SECONDS": "3", "WIREFEED_EXIT_UNHEALTHY_AFTER_SECONDS": "2"}
    port = int(env["WIREFEED_POLLER_METRICS_PORT"])
    log = tmp_path / "poller.log"
    with log.open("wb") as output, wirefeed_process(["poller"], env, stdout=output, stderr=subprocess.STDOUT) as poller:
        wait_for(lambda: len(feed_server.requests) >= 2, timeout=90, message="the feed polled twice")
        assert live(port)
        database.link.freeze()
        wait_for(lambda: live(port) is False, timeout=60, message="liveness failing while a claim hangs")
        code = poller.wait(60)
    events = [json.loads(line)["event"] for line in log.read_text().splitlines() if line.startswith("{")]
    assert code == EXIT_UNHEALTHY and "service_stuck_exiting_now" in events


def test_connections_probe_a_silent_server_and_give_up_on_unacknowledged_data(postgres_url: str) -> None:
    # What ends a statement when the network drops packets (a frozen link cannot show it: its kernel
    # acknowledges everything); a URL that sets its own values keeps them.
    def parameters(url: str) -> dict[str, str]:
        db = Database(url)
        try:
            with db.transaction() as tx:
                return dict(tx._cursor.connection.info.get_parameters())
        finally:
            db.close()

    defaults = parameters(postgres_url)
    assert {k: defaults.get(k) for k in TCP_DEFAULTS} == TCP_DEFAULTS
    joiner = "&" if "?" in postgres_url else "?"
    own = parameters(f"{postgres_url}{joiner}keepalives_idle=7&tcp_user_timeout=5000")
    assert (own["keepalives_idle"], own["tcp_user_timeout"], own["keepalives_count"]) == ("7", "5000", "3")


def test_a_statement_past_the_sessions_statement_timeout_is_cancelled(database_url: str) -> None:
    # The read API's guard against a query that would hold the database; the next one runs as usual.
    counting = ("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000000) "
                "SELECT COUNT(*) FROM n")
    slow = "SELECT pg_sleep(5)" if database_url.startswith("postgresql") else counting
    db = Database(database_url, session=SessionOptions(statement_timeout=0.2))
    try:
        started = time.monotonic()
        with pytest.raises(QueryTimeoutError):
            db.query(slow)
        assert time.monotonic() - started < 4
        assert db.query("SELECT 1") == [(1,)]
    finally:
        db.close()


@pytest.mark.parametrize(("seconds", "shown"), [(0.0001, "1ms"), (0.2, "200ms"), (2.5, "2500ms")])
def test_a_time_limit_under_a_millisecond_is_one_not_none(postgres_url: str, seconds: float, shown: str) -> None:
    # PostgreSQL reads a limit of 0 as no limit at all, which `--timeout 0.0001` must not become. The idle
    # limit is rounded the same way but left out: at 1 ms a busy machine's pause between the test's own
    # SHOW and COMMIT is enough for the server to end the session.
    limited = SessionOptions(statement_timeout=seconds, lock_timeout=seconds)
    db = Database(postgres_url, session=limited)
    try:
        settings = [db.query(f"SHOW {name}")[0][0] for name in ("statement_timeout", "lock_timeout")]
    finally:
        db.close()
    assert settings == [shown] * 2


def test_without_a_statement_timeout_a_cancelled_statement_stays_a_transient_error(postgres_url: str) -> None:
    # An operator's pg_cancel_backend on a writer: retried as before, not answered as a read API timeout.
    db = Database(postgres_url)
    try:
        with pytest.raises(psycopg.errors.QueryCanceled) as raised, db.transaction() as tx:
            tx.execute("SELECT pg_cancel_backend(pg_backend_pid())")
            tx.execute("SELECT pg_sleep(5)")
        assert isinstance(raised.value, TRANSIENT_ERRORS)
    finally:
        db.close()
