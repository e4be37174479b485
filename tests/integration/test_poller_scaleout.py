"""Two poller processes sharing one PostgreSQL state database and the real broker.

While both run, they split the feeds through leases: no feed is ever fetched by both at once, and no
feed is polled more often than its interval asks. After one is killed with SIGKILL, the other takes all
of its feeds over within the lease TTL plus an interval. Across both, every item is published once.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.core.supervise import metric_total, scrape
from tests.helpers import free_port, rss, wait_for
from tests.integration.kafka_helpers import read_all, settings_for

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

FEEDS = 6
INTERVAL = 5.0  # the shortest a feeds file allows
LEASE_SECONDS = 3.0
PAGE = 20  # items a feed document carries; more than arrive between two polls, so nothing is missed
TICK = 1.0  # seconds between new items: 5 an interval, 12 at most while a killed poller's leases run out


@dataclass
class GrowingFeeds:
    """Feeds that gain an item every tick while growing; logs every request's start and end."""

    counts: dict[str, int] = field(default_factory=lambda: {f"/f{n}.xml": 1 for n in range(FEEDS)})
    log: list[tuple[str, float, float]] = field(default_factory=list)
    growing: threading.Event = field(default_factory=threading.Event)
    stopped: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def document(self, path: str) -> tuple[bytes, str]:
        with self.lock:
            count = self.counts[path]
        name = path.strip("/").removesuffix(".xml")
        items = [{"title": f"{name} {i}", "link": f"http://x.example/{name}/{i}", "guid": f"{name}-{i}",
                  "body": f"<p>{i}</p>"} for i in range(max(0, count - PAGE), count)]
        return rss(name, items[::-1]), f'"{count}"'

    def polled_since(self, moment: float, times: int) -> bool:
        """Every feed fetched at least ``times`` times since ``moment`` (time.monotonic)."""
        with self.lock:
            started = [path for path, start, _ in self.log if start > moment]
        return all(started.count(path) >= times for path in self.counts)

    def item_ids(self) -> set[str]:
        return {f"f{n}:f{n}-{i}" for n in range(FEEDS) for i in range(self.counts[f"/f{n}.xml"])}

    def tick(self) -> None:
        while not self.stopped.wait(TICK):
            with self.lock:
                if self.growing.is_set():
                    for path in self.counts:
                        self.counts[path] += 1

    def freeze(self) -> float:
        """Stop growing; returns the moment after which every fetch sees the final documents."""
        with self.lock:
            self.growing.clear()
        return time.monotonic()


@pytest.fixture
def farm() -> Iterator[tuple[GrowingFeeds, int]]:
    feeds = GrowingFeeds()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            started = time.monotonic()
            time.sleep(0.1)  # a fetch takes a while, so overlapping polls would show
            body, etag = feeds.document(self.path)
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.end_headers()
            else:
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("ETag", etag)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            with feeds.lock:
                feeds.log.append((self.path, started, time.monotonic()))

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    threading.Thread(target=feeds.tick, daemon=True).start()
    yield feeds, int(server.server_address[1])
    feeds.stopped.set()
    server.shutdown()
    server.server_close()


def start_poller(name: str, env: dict[str, str], tmp_path: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    log = (tmp_path / f"{name}.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "services.cli", "poller"], stdout=log, stderr=log,
                               env={**env, "WIREFEED_POLLER_ID": name, "WIREFEED_POLLER_METRICS_PORT": str(port)})
    return process, port


def ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def overlapping(log: list[tuple[str, float, float]]) -> list[str]:
    """Feeds with two fetches in flight at the same moment."""
    clashes = []
    for path in {entry[0] for entry in log}:
        spans = sorted((start, end) for p, start, end in log if p == path)
        clashes += [path for (_, end), (start, _) in itertools.pairwise(spans) if start < end]
    return clashes


def test_two_pollers_split_the_feeds_survive_a_kill_and_publish_every_item_once(
        kafka_bootstrap: str, topic_prefix: str, postgres_url: str, farm: tuple[GrowingFeeds, int],
        tmp_path: Path) -> None:
    feeds, port = farm
    settings = settings_for(kafka_bootstrap, topic_prefix)
    feeds_file = tmp_path / "feeds.yaml"
    feeds_file.write_text("feeds:\n" + "".join(
        f"  - {{id: f{n}, url: 'http://127.0.0.1:{port}/f{n}.xml', interval: {INTERVAL}}}\n" for n in range(FEEDS)))
    env = {**os.environ, "WIREFEED_FEEDS_FILE": str(feeds_file), "WIREFEED_DATABASE_URL": postgres_url,
           "WIREFEED_TOPIC_PREFIX": topic_prefix, "WIREFEED_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
           "WIREFEED_TOPIC_PARTITIONS": "3", "WIREFEED_ALLOW_PRIVATE_NETWORKS": "true",
           "WIREFEED_POLLER_LEASE_SECONDS": str(LEASE_SECONDS), "WIREFEED_LOG_FORMAT": "json"}
    victim, victim_port = start_poller("poller-a", env, tmp_path)
    survivor, survivor_port = start_poller("poller-b", env, tmp_path)
    try:
        wait_for(lambda: ready(victim_port) and ready(survivor_port), timeout=60, message="both pollers ready")
        feeds.growing.set()
        both_started = time.monotonic()
        wait_for(lambda: feeds.polled_since(both_started, times=4), timeout=60, message="4 polls of each feed")
        # Freeze the feeds and let every feed be polled again, so no publish is in flight at the kill.
        frozen_at = feeds.freeze()
        wait_for(lambda: feeds.polled_since(frozen_at, times=2), timeout=30, message="every feed polled after freezing")
        per_poller = [metric_total(scrape(p), "wirefeed_poller_fetches_total") for p in (victim_port, survivor_port)]
        before_kill = list(feeds.log)
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        killed_at = time.monotonic()

        # (a) one poller at a time per feed, each at its interval, the work split between both.
        assert overlapping(before_kill) == []
        elapsed = killed_at - both_started
        for path in feeds.counts:
            polls = sum(1 for p, *_ in before_kill if p == path)
            assert polls <= elapsed / (INTERVAL * 0.9) + 3, f"{path} polled {polls} times in {elapsed:.0f}s"
        assert min(per_poller) > 0, f"the feeds were not split: fetches per poller {per_poller}"
        assert sum(per_poller) >= len(before_kill) - FEEDS  # the server's count is both pollers' work

        # (b) the survivor polls every feed within lease TTL + interval (+ slack for a loaded machine).
        feeds.growing.set()
        bound = LEASE_SECONDS + INTERVAL * 1.1 + 3
        wait_for(lambda: feeds.polled_since(killed_at, times=1), timeout=bound,
                 message=f"the survivor polling all feeds within {bound:g}s")
        wait_for(lambda: feeds.polled_since(killed_at, times=3), timeout=60, message="the survivor alone at work")
        frozen_at = feeds.freeze()
        wait_for(lambda: feeds.polled_since(frozen_at, times=2), timeout=30, message="every feed polled after freezing")

        # (c) every item published, none twice, across both pollers.
        expected = feeds.item_ids()
        raw = read_all(settings, settings.topics.raw_items, len(expected) + 1, timeout=15)
        keys = [key.decode() for key, _ in raw]
        assert len(keys) == len(set(keys)), f"published twice: {sorted(k for k in set(keys) if keys.count(k) > 1)}"
        assert set(keys) == expected
    finally:
        for process in (victim, survivor):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in (victim, survivor):
            process.wait(30)
    assert survivor.returncode == 0
