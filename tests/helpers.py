"""Test helpers: waiting on conditions (never fixed sleeps), a scriptable feed server, the shared corpus."""

from __future__ import annotations

import asyncio
import random
import select
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import psycopg

from schemas import Article, RawItem
from services.core.db import Database
from services.poller.formats import FeedContext, parse_document
from services.sink.store import SqlStore

T = TypeVar("T")

#: Real feeds and wire samples beside the project (see its MANIFEST.md); read in place, never copied.
CORPUS = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus"


def corpus_items(relative: str, fetched_at: datetime) -> list[RawItem]:
    """The raw items the poller reads from one corpus file."""
    ctx = FeedContext(feed_id="corpus", feed_url="https://corpus.example/feed", fetched_at=fetched_at)
    return parse_document((CORPUS / relative).read_bytes(), ctx).items


def wait_for(condition: Callable[[], T], timeout: float = 30.0, interval: float = 0.1,
             message: str = "condition") -> T:
    """Poll ``condition`` until it returns something truthy; fail with ``message`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: T = condition()
    while not last:
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {message} (last: {last!r})")
        time.sleep(interval)
        last = condition()
    return last


async def eventually(condition: Callable[[], object], timeout: float = 15.0, message: str = "condition") -> None:
    """``wait_for`` for async tests: waits without blocking the event loop the code under test runs on."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {message}")
        await asyncio.sleep(0.02)


def in_thread(call: Callable[[], T], timeout: float) -> T:
    """``call()`` on another thread, failing the test (not hanging it) when it takes over ``timeout``."""
    outcome: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(call())
        except BaseException as error:
            failure.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), f"still blocked after {timeout:g}s"
    if failure:
        raise failure[0]
    return outcome[0]


@contextmanager
def wirefeed_process(args: list[str], env: dict[str, str], **popen: Any) -> Iterator[subprocess.Popen[bytes]]:
    """``wirefeed ARGS`` as a child process, killed if the test leaves it running."""
    process = subprocess.Popen([sys.executable, "-m", "services.cli", *args], env=env, **popen)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(30)


@contextmanager
def scratch_database(admin_url: str, prefix: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards (with whatever is still
    connected to it: a killed process's session may linger)."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(admin_url)
    yield urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))
    wait_for(lambda: _drop_database(admin_url, name), timeout=60, interval=0.2,
             message=f"database {name} to be dropped")


def _drop_database(admin_url: str, name: str) -> bool:
    # PostgreSQL 15 refuses FORCE while an autovacuum worker (a session no role owns) is in the
    # database; the worker leaves within moments, so try again rather than fail the test.
    with psycopg.connect(admin_url, autocommit=True) as conn:
        try:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        except psycopg.errors.InsufficientPrivilege:
            return False
    return True


@dataclass
class Resource:
    body: bytes
    status: int = 200
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/rss+xml"})
    gate: threading.Event | None = None  # when set, the answer waits until the test opens it (or 30 s)
    # when set, the first half of the body goes at once and the rest once the test opens it (or 30 s)
    midway: threading.Event | None = None


@dataclass
class FeedServer:
    """An HTTP server on 127.0.0.1 whose answers a test sets per path."""

    resources: dict[str, Resource] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None
    keep_alive: bool = False  # HTTP/1.1, connections kept open for the next request; else one per request
    # Each connection's client address, when it was accepted and when it ended (appended from handler threads).
    opened: list[tuple[str, int]] = field(default_factory=list)
    closed: list[tuple[str, int]] = field(default_factory=list)

    def start(self) -> FeedServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if owner.keep_alive else "HTTP/1.0"

            def setup(self) -> None:
                owner.opened.append(self.client_address)
                super().setup()

            def finish(self) -> None:
                try:
                    super().finish()
                finally:
                    owner.closed.append(self.client_address)

            def do_GET(self) -> None:
                owner.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                resource = owner.resources.get(self.path)
                if resource is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if resource.gate is not None:
                    resource.gate.wait(30)
                etag = resource.headers.get("ETag")
                if etag and self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                self.send_response(resource.status)
                for name, value in resource.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(resource.body)))
                self.end_headers()
                if resource.midway is not None:
                    half = len(resource.body) // 2
                    self.wfile.write(resource.body[:half])
                    self.wfile.flush()
                    resource.midway.wait(30)
                    self.wfile.write(resource.body[half:])
                    return
                self.wfile.write(resource.body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def open_connections(self) -> set[tuple[str, int]]:
        """The client addresses of the connections open now."""
        return set(self.opened) - set(self.closed)

    def url(self, path: str) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()


def rss(title: str, items: list[dict[str, str]]) -> bytes:
    entries = "".join(
        f"<item><title>{escape(i['title'])}</title><link>{escape(i['link'])}</link>"
        f"<guid isPermaLink=\"false\">{escape(i.get('guid', i['link']))}</guid>"
        f"<pubDate>{i.get('date', 'Mon, 01 Jan 2024 10:00:00 GMT')}</pubDate>"
        f"<description>{escape(i['body'])}</description></item>"
        for i in items
    )
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>{escape(title)}</title>'
            f"<link>http://example.com/</link><description>test</description>{entries}</channel></rss>").encode()


_handed_out_ports: set[int] = set()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing uses right now, for a server a test starts later.

    Drawn above the kernel's ephemeral range: a port the kernel hands out itself (an outgoing connection's
    local end, an FTP server's passive data listener, another bind to port 0) could otherwise take it
    before the server binds it. Not below the range either, where the tests' Kafka clusters have their
    fixed ports and a broker killed in a fault test must find its port free again."""
    candidates = _above_ephemeral_ports()
    for _ in range(1000):
        port = random.choice(candidates) if candidates else 0
        if port in _handed_out_ports:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            port = int(sock.getsockname()[1])
        _handed_out_ports.add(port)
        return port
    raise RuntimeError("no free port above the ephemeral range")


def _above_ephemeral_ports() -> range | None:
    """The ports above the kernel's ephemeral range, when there are enough of them (Linux's default range
    ends at 60999); None: the kernel's own choice (port 0) is all there is."""
    try:
        end = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    above = range(end + 1, 65536)
    return above if len(above) >= 1000 else None


def trickle(port: int, start: bytes, limit: float = 5.0) -> float | None:
    """Send ``start``, then a byte every 50 ms (never silent for long) until the server closes the
    connection: the seconds that took, or None if it was still open after ``limit``."""
    began = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=limit) as client:
        client.sendall(start)
        while time.monotonic() - began < limit:
            readable, _, _ = select.select([client], [], [], 0.05)  # the trickle's pace
            try:
                if readable and not client.recv(1024):
                    return time.monotonic() - began
                client.sendall(b"x")
            except ConnectionError:
                return time.monotonic() - began
    return None


def pipeline_env(kafka_bootstrap: str, topic_prefix: str, database_url: str, feeds_file: Path,
                 **settings: str) -> dict[str, str]:
    """The three services' settings for a test's pipeline: its own topics, database, feeds and metrics ports
    (``settings``, as WIREFEED_* names, add to or override them)."""
    return {
        "WIREFEED_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "WIREFEED_TOPIC_PREFIX": topic_prefix,
        "WIREFEED_DATABASE_URL": database_url, "WIREFEED_FEEDS_FILE": str(feeds_file),
        "WIREFEED_ALLOW_PRIVATE_NETWORKS": "true",  # the tests' feed servers are on 127.0.0.1
        "WIREFEED_LOG_FORMAT": "json",
        **{f"WIREFEED_{name.upper()}_METRICS_PORT": str(free_port()) for name in ("poller", "normalizer", "sink")},
        **settings,
    }


class RecordingProducer:
    """A producer that keeps what is sent and acknowledges at once, for unit tests of a batch step."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []

    def send(self, topic: str, key: bytes, value: bytes) -> Any:
        self.sent.append((topic, value))
        return self

    def get(self, timeout: float) -> None:
        return None

    def flush(self, timeout: float) -> None:
        return None


def count_transactions(db: Any) -> list[int]:
    """A live count of the transactions ``db`` opens from now on."""
    count = [0]
    real = db.transaction

    def counting() -> Any:
        count[0] += 1
        return real()

    db.transaction = counting
    return count


def stored_articles(database_url: str) -> list[Article]:
    """Every article a pipeline's sink stored, read back through the sink's own store."""
    store = SqlStore(Database(database_url))
    try:
        return list(store.export())
    finally:
        store.close()
