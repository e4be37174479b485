"""WebSub subscriptions on both state databases: saved, updated, read back whole, deleted."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pydantic import SecretStr

from services.core.db import Database
from services.poller.fetch import Fetcher, FetchLimits
from services.poller.state import PollerStore
from services.poller.websub import Subscription, WebSubStore, WebSubSubscriber
from services.poller.websub_server import WebSubServer

NOW = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
TOPIC = "https://news.example/feed"


@pytest.fixture
def store(database_url: str) -> Iterator[WebSubStore]:
    database = Database(database_url)
    PollerStore(database).migrate()
    yield WebSubStore(database)
    database.close()


def test_a_subscription_round_trips_with_the_hub_it_moved_from(store: WebSubStore) -> None:
    sub = Subscription("news", "https://hub.example/", "https://news.example/feed", SecretStr("s" * 64),
                       "requested", NOW)
    store.save(sub)
    assert store.get("news") == sub
    moved = replace(sub, hub_url="https://hub2.example/", state="active", lease_seconds=3600,
                    expires_at=NOW + timedelta(hours=1), retired_hub_url=sub.hub_url,
                    retired_topic_url=sub.topic_url, denials=2)
    store.save(moved)
    found = store.get("news")
    assert found == moved and found is not None and found.secret.get_secret_value() == "s" * 64
    assert store.all() == [moved]
    store.delete("news")
    assert store.get("news") is None and store.all() == []


def test_denials_in_a_row_are_counted_until_the_hub_verifies(store: WebSubStore) -> None:
    # The count sets how long a denied subscription waits before the hub is asked again.
    sub = Subscription("news", "https://hub.example/", TOPIC, SecretStr("s" * 64), "requested", NOW)
    store.save(sub)
    store.mark_denied("news")
    store.mark_requested("news", "requested", NOW + timedelta(hours=1))
    store.mark_denied("news")
    assert store.get("news") == replace(sub, state="denied", requested_at=NOW + timedelta(hours=1), denials=2)
    store.mark_verified("news", 3600, NOW + timedelta(hours=2))
    verified = store.get("news")
    assert verified is not None and (verified.state, verified.denials, verified.lease_seconds) == ("active", 0, 3600)


def raw_request(port: int, request_line: bytes) -> bytes:
    """The status line answered to a request http.client would refuse to send (a NUL in its path)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request_line + b"\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        return sock.makefile("rb").readline()


def test_a_callback_path_that_names_no_feed_is_refused_before_any_lookup(store: WebSubStore) -> None:
    # A hub, or anyone, can send any bytes: a NUL reached the subscription lookup, which PostgreSQL refuses,
    # and the handler died without an answer.
    async def push(*_: object) -> None:
        raise AssertionError("nothing is pushed")

    subscriber = WebSubSubscriber(store, Fetcher(FetchLimits()), "http://unset.invalid", push, feed_ids={"news"})
    server = WebSubServer("127.0.0.1", 0, subscriber, max_body_bytes=1000).start()
    try:
        for method in (b"GET", b"POST"):
            line = method + b" /websub/ne\x00ws?hub.mode=subscribe&hub.topic=x&hub.challenge=c HTTP/1.1"
            assert raw_request(server.port, line).startswith(b"HTTP/1.0 404")
    finally:
        server.stop()


def test_a_verification_the_hub_repeats_or_a_late_denial_changes_no_stored_row(store: WebSubStore) -> None:
    # The rules read the lease's start back from its stored expiry: on either database, a hub's repeat of
    # its verification is answered again and a denial after it only asks the hub afresh.
    async def push(*_: object) -> None:
        raise AssertionError("nothing is pushed")

    subscriber = WebSubSubscriber(store, Fetcher(FetchLimits()), "http://unset.invalid", push, feed_ids={"news"})
    store.save(Subscription("news", "https://hub.example/", TOPIC, SecretStr("s" * 64), "requested",
                            datetime.now(UTC) - timedelta(seconds=1)))
    server = WebSubServer("127.0.0.1", 0, subscriber, max_body_bytes=1000).start()
    callback = f"http://127.0.0.1:{server.port}/websub/news"
    verification = {"hub.mode": "subscribe", "hub.topic": TOPIC, "hub.lease_seconds": "3600"}
    try:
        first = httpx.get(callback, params={**verification, "hub.challenge": "first"})
        verified = store.get("news")
        again = httpx.get(callback, params={**verification, "hub.challenge": "again"})
        assert store.get("news") == verified
        denied = httpx.get(callback, params={"hub.mode": "denied", "hub.topic": TOPIC})
        assert store.get("news") == verified
    finally:
        server.stop()
    assert [(answer.status_code, answer.text) for answer in (first, again, denied)] == [
        (200, "first"), (200, "again"), (200, "")]
    assert verified is not None and (verified.state, verified.lease_seconds) == ("active", 3600)
