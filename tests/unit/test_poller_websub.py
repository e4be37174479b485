"""WebSub: hub discovery, subscription with verification, signed pushes published at once, lease renewal.

The hub is a small HTTP server the test starts on 127.0.0.1; the poller runs its real loop, lease store
and callback server; the publisher is a list (the Kafka path is the same as for polls).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import http.client
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_network
from itertools import pairwise
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
import structlog
from prometheus_client import REGISTRY
from pydantic import SecretStr

from schemas import RawItem
from services.core.db import Database
from services.core.runner import StopSignal
from services.poller.feeds import FeedConfig
from services.poller.fetch import Fetcher, FetchLimits, FetchResult
from services.poller.formats import ParsedFeed
from services.poller.leases import LeaseStore
from services.poller.loop import PollLoop
from services.poller.service import Poller
from services.poller.settings import PollerSettings
from services.poller.state import PollerStore
from services.poller.websub import (
    MAX_DENIAL_BACKOFF,
    MAX_LEASE_SECONDS,
    RECHECK_SPACING,
    REPEAT_WINDOW,
    RETRY_UNVERIFIED,
    Subscription,
    WebSubStore,
    WebSubSubscriber,
    denial_backoff,
    discover_hub,
    link_header,
    needs_subscribe,
    recheck_due,
    repeats_verification,
    settled_since,
    signature_valid,
    unsubscribe_action,
)
from services.poller.websub_server import WebSubServer
from tests.helpers import FeedServer, Resource, eventually, trickle

NOW = datetime(2024, 1, 1, tzinfo=UTC)
TOPIC = "https://topic.example/news.atom"


def atom(hub: str, numbers: list[int]) -> bytes:
    entries = "".join(f"<entry><id>urn:story:{n}</id><title>Story {n}</title><link href='http://example.com/{n}'/>"
                      f"<updated>2024-01-01T10:00:00Z</updated><summary>{escape(f'<p>{n}</p>')}</summary></entry>"
                      for n in numbers)
    return (f"<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom'><id>urn:news</id><title>News</title>"
            f"<updated>2024-01-01T10:00:00Z</updated><link rel='hub' href='{hub}'/><link rel='self' href='{TOPIC}'/>"
            f"{entries}</feed>").encode()


@dataclass
class Hub:
    """A WebSub hub: accepts subscriptions, verifies them with a challenge, distributes content."""

    lease_seconds: int = 2
    verifies: bool = True  # False: records requests only, never calls the callback back
    denies: bool = False  # True: answers a subscribe request with a denial instead of a verification
    requests: list[dict[str, str]] = field(default_factory=list)
    verified: list[tuple[int, str, str]] = field(default_factory=list)  # (status, body, challenge)
    verified_forms: list[dict[str, str]] = field(default_factory=list)  # the request each verification was for
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    def start(self) -> Hub:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                form = dict(parse_qsl(self.rfile.read(int(self.headers["Content-Length"])).decode()))
                hub.requests.append(form)
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()
                if hub.verifies:
                    threading.Thread(target=hub.verify, args=(form,), daemon=True).start()  # after answering

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hub"

    def verify(self, form: dict[str, str], topic: str | None = None) -> None:
        challenge = f"challenge-{len(self.verified)}"
        mode = "denied" if self.denies and form["hub.mode"] == "subscribe" else form["hub.mode"]
        params = {"hub.mode": mode, "hub.topic": topic or form["hub.topic"], "hub.challenge": challenge}
        if mode == "subscribe":
            params["hub.lease_seconds"] = str(self.lease_seconds)
        answer = httpx.get(form["hub.callback"], params=params)
        with self.lock:
            self.verified.append((answer.status_code, answer.text, challenge))
            self.verified_forms.append(form)

    def distribute(self, callback: str, body: bytes, secret: str | None, method: str = "sha256") -> int:
        headers = {"Content-Type": "application/atom+xml"}
        if secret is not None:
            digest = hmac.new(secret.encode(), body, getattr(hashlib, method)).hexdigest()
            headers["X-Hub-Signature"] = f"{method}={digest}"
        return httpx.post(callback, content=body, headers=headers, timeout=30).status_code

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()


def pushes(outcome: str) -> float:
    return REGISTRY.get_sample_value("wirefeed_poller_websub_pushes_total", {"outcome": outcome}) or 0.0


@dataclass
class Running:
    hub: Hub
    subscriber: WebSubSubscriber
    published: list[RawItem]
    callback: str


@pytest.fixture
async def running(tmp_path: Path, feed_server: FeedServer) -> AsyncIterator[Running]:
    hub = Hub().start()
    feed_server.resources["/news.atom"] = Resource(atom(hub.url, [1]), headers={"Content-Type": "application/atom+xml"})
    db = Database(f"sqlite:///{tmp_path / 'state.db'}")
    store = PollerStore(db)
    store.migrate()
    published: list[RawItem] = []
    feed = FeedConfig(id="news", url=feed_server.url("/news.atom"), interval=3600)  # type: ignore[arg-type]
    fetcher = Fetcher(FetchLimits(allow_private_networks=True))
    poller = Poller([feed], store, fetcher, published.extend)
    loop = PollLoop(poller, LeaseStore(db, "poller-test", ttl_seconds=5))
    subscriber = WebSubSubscriber(WebSubStore(db), fetcher, "http://unset.invalid", loop.push, feed_ids={"news"},
                                  allow_insecure_hub=True)  # the test's hub is http://127.0.0.1
    server = WebSubServer("127.0.0.1", 0, subscriber, max_body_bytes=1_000_000).start()
    subscriber.callback_base = f"http://127.0.0.1:{server.port}/websub"
    poller.on_parsed = subscriber.on_parsed
    stop = StopSignal()
    tasks = [asyncio.create_task(loop.run(stop)), asyncio.create_task(subscriber.renew_forever(every=0.1))]
    yield Running(hub, subscriber, published, f"{subscriber.callback_base}/news")
    stop.set()
    tasks[1].cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    server.stop()
    hub.stop()
    await fetcher.aclose()
    db.close()


async def test_a_feed_naming_a_hub_is_subscribed_and_the_subscription_verified(running: Running) -> None:
    hub = running.hub
    await eventually(lambda: hub.verified, message="the hub's verification")
    form = hub.requests[0]
    assert form["hub.mode"] == "subscribe" and form["hub.topic"] == TOPIC  # rel=self, not the fetched URL
    assert form["hub.callback"] == running.callback and len(form["hub.secret"]) == 64
    status, body, challenge = hub.verified[0]
    assert (status, body) == (200, challenge)
    assert [item.item_id for item in running.published] == ["news:urn:story:1"]  # from the poll


async def test_signed_pushes_are_published_at_once_and_bad_signatures_ignored(running: Running) -> None:
    hub = running.hub
    await eventually(lambda: hub.verified, message="the hub's verification")
    secret = hub.requests[0]["hub.secret"]
    rejected = pushes("bad_signature")
    assert await asyncio.to_thread(hub.distribute, running.callback, atom(hub.url, [3, 1]), "wrong") == 202
    assert await asyncio.to_thread(hub.distribute, running.callback, atom(hub.url, [3, 1]), None) == 202
    assert pushes("bad_signature") == rejected + 2
    assert await asyncio.to_thread(hub.distribute, running.callback, atom(hub.url, [2, 1]), secret, "sha1") == 202
    assert [item.item_id for item in running.published] == ["news:urn:story:1", "news:urn:story:2"]  # 1 not again
    assert await asyncio.to_thread(hub.distribute, running.callback, atom(hub.url, [4, 2]), secret) == 202
    assert running.published[-1].item_id == "news:urn:story:4" and len(running.published) == 3
    assert pushes("ok") >= 2


@pytest.mark.parametrize("length", ["²", "9" * 5_000, "-1", ""])
async def test_a_push_whose_length_is_no_number_is_refused_with_411(running: Running, length: str) -> None:
    # "²".isdigit() is true, and int() refused it (or 5,000 digits) inside the handler: no answer at all
    def post() -> int:
        connection = http.client.HTTPConnection(urlsplit(running.callback).netloc, timeout=10)
        try:
            connection.putrequest("POST", urlsplit(running.callback).path)
            connection.putheader("Content-Length", length.encode("latin-1"))
            connection.endheaders()
            return connection.getresponse().status
        finally:
            connection.close()

    assert await asyncio.to_thread(post) == 411


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_request_target_that_is_no_url_is_answered_400(running: Running, method: str) -> None:
    # urlsplit raises on an unbalanced "[" in the host: the hub's request went unanswered
    def ask() -> bytes:
        with socket.create_connection(("127.0.0.1", urlsplit(running.callback).port or 0), timeout=10) as client:
            client.sendall(f"{method} http://[/websub/news HTTP/1.0\r\nContent-Length: 0\r\n\r\n".encode())
            return client.makefile("rb").read()

    assert (await asyncio.to_thread(ask)).startswith(b"HTTP/1.0 400 ")


async def test_the_lease_is_renewed_before_it_runs_out_with_the_same_secret(running: Running) -> None:
    hub = running.hub  # grants 2-second leases
    await eventually(lambda: len(hub.requests) >= 2 and len(hub.verified) >= 2, message="a renewal")
    assert hub.requests[1]["hub.secret"] == hub.requests[0]["hub.secret"]
    assert all(status == 200 for status, _, _ in hub.verified)


async def test_verifications_nobody_asked_for_are_refused(running: Running) -> None:
    hub = running.hub
    await eventually(lambda: hub.verified, message="the hub's verification")
    form = hub.requests[0]
    await asyncio.to_thread(hub.verify, form, "https://other.example/feed")
    await asyncio.to_thread(hub.verify, {**form, "hub.callback": form["hub.callback"].replace("/news", "/nope")})
    assert [status for status, _, _ in hub.verified[-2:]] == [404, 404]


async def test_a_feed_removed_from_the_config_is_unsubscribed_and_its_pushes_refused(running: Running) -> None:
    hub, subscriber = running.hub, running.subscriber
    await eventually(lambda: hub.verified, message="the hub's verification")
    secret = hub.requests[0]["hub.secret"]
    hub.lease_seconds = 3600  # from the next renewal on: a lease that cannot run out during the test

    def long_lease() -> bool:
        sub = subscriber.store.get("news")
        return sub is not None and sub.lease_seconds == 3600

    await eventually(long_lease, message="a renewal with a long lease")
    subscriber.feed_ids.discard("news")  # as after a restart with the feed gone from the feeds file
    await eventually(lambda: any(form["hub.mode"] == "unsubscribe" for form in hub.verified_forms),
                     message="an unsubscribe request")
    unsubscribe = next(form for form in hub.verified_forms if form["hub.mode"] == "unsubscribe")
    assert unsubscribe["hub.callback"] == running.callback and unsubscribe["hub.topic"] == TOPIC
    await eventually(lambda: subscriber.store.get("news") is None, message="the confirmed unsubscription")
    status, body, challenge = hub.verified[hub.verified_forms.index(unsubscribe)]
    assert (status, body) == (200, challenge)
    assert await asyncio.to_thread(hub.distribute, running.callback, atom(hub.url, [9]), secret) == 410
    assert "news:urn:story:9" not in [item.item_id for item in running.published]


async def test_a_feed_that_names_another_hub_moves_its_subscription(running: Running) -> None:
    old_hub, subscriber = running.hub, running.subscriber
    await eventually(lambda: old_hub.verified, message="the first hub's verification")
    old_secret = old_hub.requests[0]["hub.secret"]
    new_hub = Hub().start()
    try:
        await subscriber.subscribe("news", new_hub.url, TOPIC)  # what a poll naming the new hub does
        await eventually(lambda: any(form["hub.mode"] == "unsubscribe" for form in old_hub.verified_forms),
                         message="the old hub's unsubscribe verification")
        index = next(i for i, form in enumerate(old_hub.verified_forms) if form["hub.mode"] == "unsubscribe")
        status, body, challenge = old_hub.verified[index]
        assert (status, body) == (200, challenge)
        assert old_hub.verified_forms[index]["hub.callback"] == running.callback

        def moved() -> bool:
            sub = subscriber.store.get("news")
            return sub is not None and sub.state == "active" and sub.hub_url == new_hub.url
        await eventually(moved, message="the new hub's verification")
        sub = subscriber.store.get("news")
        assert sub is not None and sub.retired_hub_url is None  # the old hub confirmed: nothing left to ask
        new_secret = new_hub.requests[0]["hub.secret"]
        assert await asyncio.to_thread(old_hub.distribute, running.callback, atom(old_hub.url, [7]), old_secret) == 202
        assert await asyncio.to_thread(new_hub.distribute, running.callback, atom(new_hub.url, [8]), new_secret) == 202
        assert [item.item_id for item in running.published][-1] == "news:urn:story:8"
        assert "news:urn:story:7" not in [item.item_id for item in running.published]  # the old secret is void
    finally:
        new_hub.stop()


async def test_an_unsubscribe_nobody_asked_for_is_refused(running: Running) -> None:
    hub = running.hub
    await eventually(lambda: hub.verified, message="the hub's verification")
    await asyncio.to_thread(hub.verify, {**hub.requests[0], "hub.mode": "unsubscribe"})
    assert hub.verified[-1][0] == 404
    sub = running.subscriber.store.get("news")
    assert sub is not None and sub.state == "active"


async def long_lease_verified(running: Running) -> Subscription:
    """Waits until the hub has verified a 3600-second lease and answered every request: no renewal follows
    for half an hour, so any later verification is no answer to a request of ours."""
    hub, store = running.hub, running.subscriber.store
    await eventually(lambda: hub.verified, message="the hub's verification")
    hub.lease_seconds = 3600

    def settled() -> bool:
        sub = store.get("news")
        return sub is not None and sub.lease_seconds == 3600 and len(hub.verified) == len(hub.requests)

    await eventually(settled, message="a verified renewal with a long lease")
    sub = store.get("news")
    assert sub is not None and sub.state == "active"
    return sub


async def test_a_hub_repeating_its_verification_is_answered_again_and_nothing_changes(running: Running) -> None:
    # Our 200 lost on the way, the hub asks again; a 404 would be a refusal, and the hub would drop us.
    hub, store = running.hub, running.subscriber.store
    verified = await long_lease_verified(running)
    form = hub.verified_forms[-1]
    assert hub.verified[-1][0] == 200
    await asyncio.to_thread(hub.verify, form)  # the same verification again, with a new challenge
    status, body, challenge = hub.verified[-1]
    assert (status, body) == (200, challenge)
    assert store.get("news") == verified
    hub.lease_seconds = 7200  # no repeat: the lease the hub gave was another
    await asyncio.to_thread(hub.verify, form)
    await asyncio.to_thread(hub.verify, form, "https://other.example/feed")  # a topic we never asked for
    await asyncio.to_thread(hub.verify, {**form, "hub.mode": "unsubscribe"})  # one we hold
    assert [status for status, _, _ in hub.verified[-3:]] == [404, 404, 404]
    assert store.get("news") == verified


@pytest.mark.parametrize("hub_denies_again", [False, True])
async def test_a_denial_after_verification_makes_the_hub_asked_again_and_its_answer_decides(
        running: Running, hub_denies_again: bool) -> None:
    # WebSub lets a hub deny a subscription it accepted; anyone can send that denial, so it changes nothing
    # stored: a new request goes to the hub, whose answer to it is taken.
    hub, subscriber = running.hub, running.subscriber
    verified = await long_lease_verified(running)
    form, asked = hub.verified_forms[-1], len(hub.requests)
    await asyncio.to_thread(hub.verify, {**form, "hub.mode": "denied"}, "https://other.example/feed")
    assert hub.verified[-1][0] == 404  # not for a topic we hold
    await asyncio.to_thread(hub.verify, {**form, "hub.mode": "denied"})
    assert hub.verified[-1][0] == 200
    assert subscriber.store.get("news") == verified  # still active: pushes are taken meanwhile
    hub.denies = hub_denies_again
    subscriber.clock = lambda: datetime.now(UTC) + RECHECK_SPACING  # our last request is that long ago
    await eventually(lambda: len(hub.requests) > asked, message="a new subscribe request")
    assert hub.requests[asked]["hub.mode"] == "subscribe"
    assert hub.requests[asked]["hub.secret"] == hub.requests[0]["hub.secret"]  # a renewal: pushes stay signed

    def answered() -> bool:
        sub = subscriber.store.get("news")
        return sub is not None and sub.requested_at > verified.requested_at and not (
            sub.state == "active" and sub.expires_at == verified.expires_at)

    await eventually(answered, message="the hub's answer to the new request")
    sub = subscriber.store.get("news")
    assert sub is not None and sub.state == ("denied" if hub_denies_again else "active")


@pytest.fixture
def hub() -> Iterator[Hub]:
    """A hub that only records what it is asked (its callback is never called: nothing to verify here)."""
    started = Hub(verifies=False).start()
    yield started
    started.stop()


CALLBACK = "http://127.0.0.1:9/websub"  # never called: the hub fixture does not verify


def insecure_hub_refusals() -> float:
    return REGISTRY.get_sample_value("wirefeed_poller_websub_subscribe_requests_total",
                                     {"mode": "subscribe", "result": "insecure_hub"}) or 0.0


async def test_a_hub_over_plain_http_is_never_sent_the_secret(db: Database, hub: Hub) -> None:
    # WebSub: a subscriber must not send hub.secret over plain HTTP; anyone on the way could sign pushes.
    fetcher = Fetcher(FetchLimits(allow_private_networks=True))
    subscriber = WebSubSubscriber(WebSubStore(db), fetcher, CALLBACK, _no_push,
                                  feed_ids={"news"})
    refused = insecure_hub_refusals()
    with structlog.testing.capture_logs() as logs:
        await subscriber.subscribe("news", hub.url, TOPIC)  # what a poll naming the hub does
    await fetcher.aclose()
    assert hub.requests == []  # nothing asked at all: a subscription without a secret is no better
    assert subscriber.store.get("news") is None
    assert insecure_hub_refusals() == refused + 1
    [refusal] = [entry for entry in logs if entry["event"] == "websub_hub_refused"]
    assert refusal["hub"] == hub.url and "WIREFEED_WEBSUB_ALLOW_INSECURE_HUB" in refusal["reason"]


def websub_errors() -> float:
    return REGISTRY.get_sample_value("wirefeed_poller_websub_subscribe_requests_total",
                                     {"mode": "subscribe", "result": "error"}) or 0.0


async def test_a_feeds_private_networks_do_not_open_them_to_the_hub_it_names(
        db: Database, hub: Hub, feed_server: FeedServer) -> None:
    # The hub comes from the feed's document, not from the operator: it stays under the rule for every
    # feed (WIREFEED_ALLOW_PRIVATE_NETWORKS), here off, and the intranet feed is polled instead.
    feed_server.resources["/news.atom"] = Resource(atom(hub.url, [1]), headers={"Content-Type": "application/atom+xml"})
    feed = FeedConfig(id="news", url=feed_server.url("/news.atom"),  # type: ignore[arg-type]
                      private_networks=[ip_network("127.0.0.0/8")])
    fetcher = Fetcher(FetchLimits())
    subscriber = WebSubSubscriber(WebSubStore(db), fetcher, CALLBACK, _no_push, feed_ids={"news"},
                                  allow_insecure_hub=True)  # not what refuses it here
    published: list[RawItem] = []
    poller = Poller([feed], PollerStore(db), fetcher, published.extend, on_parsed=subscriber.on_parsed)
    errors = websub_errors()
    with structlog.testing.capture_logs() as logs:
        assert (await poller.poll(feed)).outcome == "ok"
        await eventually(lambda: websub_errors() == errors + 1, message="the subscribe request refused")
    await fetcher.aclose()
    assert len(published) == 1 and hub.requests == []
    [failure] = [entry for entry in logs if entry["event"] == "websub_request_failed"]
    assert "resolves to a non-public address 127.0.0.1" in failure["error"]


async def test_a_subscription_through_an_http_hub_made_before_is_no_longer_trusted(db: Database, hub: Hub) -> None:
    store = WebSubStore(db)
    secret = "s" * 64
    store.save(Subscription("news", hub.url, TOPIC, SecretStr(secret), "active", NOW, lease_seconds=3600,
                            expires_at=NOW + timedelta(seconds=3600)))
    fetcher = Fetcher(FetchLimits(allow_private_networks=True))
    subscriber = WebSubSubscriber(store, fetcher, CALLBACK, _no_push, feed_ids={"news"},
                                  clock=lambda: NOW + timedelta(seconds=1900))  # past half its lease
    body = atom(hub.url, [5])
    signed = {"x-hub-signature": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()}
    assert subscriber.deliver("news", body, signed) == 410  # its secret went in clear: pushes are refused
    sub = store.get("news")
    assert sub is not None
    await subscriber._tend(sub, subscriber.clock())  # the renewal loop's turn
    await fetcher.aclose()
    assert hub.requests == [] and store.get("news") is None  # dropped when due for renewal, nothing re-sent


def _verification(mode: str, **extra: str) -> dict[str, str]:
    return {"hub.mode": mode, "hub.topic": TOPIC, "hub.challenge": f"c-{mode}", **extra}


async def test_a_lease_no_date_can_hold_is_taken_as_a_year(db: Database, hub: Hub) -> None:
    fetcher = Fetcher(FetchLimits())
    subscriber = WebSubSubscriber(WebSubStore(db), fetcher, CALLBACK, _no_push, feed_ids={"news"})
    await fetcher.aclose()  # never used: the hub's verification is all there is
    subscriber.store.save(Subscription("news", hub.url, TOPIC, SecretStr("s" * 64), "requested", NOW))
    verification = _verification("subscribe", **{"hub.lease_seconds": "9" * 18})
    assert subscriber.verify("news", verification) == (200, b"c-subscribe")  # raised OverflowError: no answer
    sub = subscriber.store.get("news")
    assert sub is not None and sub.lease_seconds == MAX_LEASE_SECONDS and sub.expires_at is not None


async def test_a_verification_is_taken_only_while_a_request_of_ours_waits_for_it(db: Database, hub: Hub) -> None:
    """Anyone who knows the callback and the topic can send one: an unasked "denied" stopped the subscription
    for good, an unasked year's lease its renewals."""
    fetcher = Fetcher(FetchLimits(allow_private_networks=True))
    subscriber = WebSubSubscriber(WebSubStore(db), fetcher, CALLBACK, _no_push, feed_ids={"news"},
                                  clock=lambda: NOW, allow_insecure_hub=True)
    active = Subscription("news", hub.url, TOPIC, SecretStr("s" * 64), "active", NOW - timedelta(hours=1),
                          lease_seconds=86400, expires_at=NOW + timedelta(hours=23))
    subscriber.store.save(active)
    year = {"hub.lease_seconds": str(MAX_LEASE_SECONDS)}
    assert subscriber.verify("news", _verification("denied")) == (200, b"")  # a late denial: the hub is asked again
    assert subscriber.verify("news", _verification("subscribe", **year)) == (404, b"")
    assert subscriber.store.get("news") == active
    await subscriber.subscribe("news", hub.url, TOPIC)  # a renewal: the hub will verify it
    await fetcher.aclose()
    renewing = subscriber.store.get("news")
    assert renewing is not None and renewing.state == "active" and len(hub.requests) == 1  # as older pollers
    assert subscriber.deliver("news", b"<feed/>", {}) == 202  # still pushed to (an unsigned push is ignored)
    lease = {"hub.lease_seconds": "3600"}
    assert subscriber.verify("news", _verification("subscribe", **lease)) == (200, b"c-subscribe")
    assert subscriber.verify("news", _verification("subscribe", **year)) == (404, b"")  # answered already
    verified = subscriber.store.get("news")
    assert verified is not None and (verified.state, verified.lease_seconds) == ("active", 3600)


async def test_a_denial_is_taken_for_a_request_waiting_for_it(db: Database, hub: Hub) -> None:
    fetcher = Fetcher(FetchLimits(allow_private_networks=True))
    subscriber = WebSubSubscriber(WebSubStore(db), fetcher, CALLBACK, _no_push, feed_ids={"news"},
                                  clock=lambda: NOW, allow_insecure_hub=True)
    await subscriber.subscribe("news", hub.url, TOPIC)
    await fetcher.aclose()
    assert subscriber.verify("news", _verification("denied")) == (200, b"")
    assert subscriber.verify("news", _verification("subscribe")) == (404, b"")  # no request of ours waits now
    sub = subscriber.store.get("news")
    assert sub is not None and (sub.state, sub.denials) == ("denied", 1)


def test_insecure_hubs_are_refused_unless_the_setting_allows_them(monkeypatch: pytest.MonkeyPatch) -> None:
    assert PollerSettings().websub_allow_insecure_hub is False
    monkeypatch.setenv("WIREFEED_WEBSUB_ALLOW_INSECURE_HUB", "true")
    assert PollerSettings().websub_allow_insecure_hub is True


async def _no_push(feed_id: str, body: bytes, content_type: str | None) -> Any:
    raise AssertionError("nothing is pushed in these tests")


class RecordingSubscriber:
    """Records what the callback delivers: for the tests of connections the callback must close first."""

    def __init__(self) -> None:
        self.delivered: list[bytes] = []

    def deliver(self, feed_id: str, body: bytes, headers: dict[str, str]) -> int:
        self.delivered.append(body)
        return 202


def test_a_push_that_stops_mid_body_is_closed_and_delivers_nothing() -> None:
    subscriber = RecordingSubscriber()
    server = WebSubServer("127.0.0.1", 0, subscriber, max_body_bytes=1_000_000,  # type: ignore[arg-type]
                          idle_seconds=0.2).start()
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as caller:
            caller.sendall(b"POST /websub/news HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n<feed")
            assert caller.recv(100) == b""  # closed by the server, well before the caller's 5 s
    finally:
        server.stop()
    assert subscriber.delivered == []


def test_a_push_trickling_in_is_closed_when_its_time_is_up_and_delivers_nothing() -> None:
    subscriber = RecordingSubscriber()
    server = WebSubServer("127.0.0.1", 0, subscriber, max_body_bytes=1_000_000,  # type: ignore[arg-type]
                          idle_seconds=1.0, request_seconds=0.5).start()
    try:
        assert trickle(server.port, b"POST /websub/news HTTP/1.0\r\nContent-Length: 100000\r\n\r\n") is not None
    finally:
        server.stop()
    assert subscriber.delivered == []


def test_hub_and_topic_come_from_the_feed_or_from_link_headers() -> None:
    result = FetchResult(200, "https://site.example/feed.xml", headers={
        "link": '<https://hub.example/>; rel="hub", </feed.xml?canonical=1>; rel=self'})
    assert link_header(result.headers["link"], result.final_url) == {
        "hub": "https://hub.example/", "self": "https://site.example/feed.xml?canonical=1"}
    assert discover_hub(ParsedFeed(format="rss"), result) == (  # type: ignore[arg-type]
        "https://hub.example/", "https://site.example/feed.xml?canonical=1")
    in_document = ParsedFeed(format="atom", hub_url="https://pubsubhubbub.example/", self_url=TOPIC)  # type: ignore[arg-type]
    assert discover_hub(in_document, result) == ("https://pubsubhubbub.example/", TOPIC)
    assert discover_hub(ParsedFeed(format="rss"), FetchResult(200, "https://x.example/")) is None  # type: ignore[arg-type]
    assert link_header('<http://[::1>; rel="hub", <https://hub.example/>; rel="hub"', TOPIC) == {
        "hub": "https://hub.example/"}  # a URL urllib cannot read is skipped


def test_signatures_are_checked_with_each_supported_method() -> None:
    secret, body = SecretStr("s3cret"), b"<feed/>"
    for method in ("sha1", "sha256", "sha512"):
        good = hmac.new(b"s3cret", body, getattr(hashlib, method)).hexdigest()
        assert signature_valid(secret, body, f"{method}={good}")
        assert not signature_valid(secret, body + b" ", f"{method}={good}")
    assert not signature_valid(secret, body, "md5=abc") and not signature_valid(secret, body, None)


def test_when_to_ask_the_hub_again() -> None:
    active = Subscription("f", "https://hub/", TOPIC, SecretStr("s"), "active", NOW, 86400, NOW + timedelta(days=1))
    assert needs_subscribe(None, "https://hub/", TOPIC, NOW)
    assert not needs_subscribe(active, "https://hub/", TOPIC, NOW + timedelta(hours=11))
    assert needs_subscribe(active, "https://hub/", TOPIC, NOW + timedelta(hours=13))  # half the lease gone
    assert needs_subscribe(active, "https://other-hub/", TOPIC, NOW)  # the feed names another hub
    pending = Subscription("f", "https://hub/", TOPIC, SecretStr("s"), "requested", NOW)
    assert not needs_subscribe(pending, "https://hub/", TOPIC, NOW + timedelta(minutes=5))
    assert needs_subscribe(pending, "https://hub/", TOPIC, NOW + timedelta(hours=2))  # never verified: ask again
    denied = Subscription("f", "https://hub/", TOPIC, SecretStr("s"), "denied", NOW, denials=1)
    assert not needs_subscribe(denied, "https://hub/", TOPIC, NOW + RETRY_UNVERIFIED - timedelta(seconds=1))
    assert needs_subscribe(denied, "https://hub/", TOPIC, NOW + RETRY_UNVERIFIED)  # anyone may have denied it
    denied_thrice = replace(denied, denials=3)
    assert not needs_subscribe(denied_thrice, "https://hub/", TOPIC, NOW + timedelta(hours=4) - timedelta(seconds=1))
    assert needs_subscribe(denied_thrice, "https://hub/", TOPIC, NOW + timedelta(hours=4))
    leaving = Subscription("f", "https://hub/", TOPIC, SecretStr("s"), "unsubscribing", NOW)
    assert needs_subscribe(leaving, "https://hub/", TOPIC, NOW)  # back in the config before the hub confirmed
    assert "s'" not in repr(active)  # the secret is masked


VERIFIED = Subscription("f", "https://hub/", TOPIC, SecretStr("s"), "active", NOW - timedelta(seconds=5),
                        86400, NOW + timedelta(days=1))  # verified at NOW, 5 s after our request


def test_which_verification_repeats_the_one_that_made_a_subscription_active() -> None:
    later = NOW + timedelta(minutes=1)
    assert repeats_verification(VERIFIED, "subscribe", 86400, later)
    assert not repeats_verification(VERIFIED, "subscribe", 86400, NOW + REPEAT_WINDOW)  # too long after it
    assert not repeats_verification(VERIFIED, "subscribe", 3600, later)  # not the lease the hub gave
    assert not repeats_verification(VERIFIED, "subscribe", None, later)
    assert not repeats_verification(VERIFIED, "denied", 86400, later)
    assert not repeats_verification(VERIFIED, "unsubscribe", 86400, later)
    for state in ("requested", "denied", "unsubscribing"):
        assert not repeats_verification(replace(VERIFIED, state=state), "subscribe", 86400, later)
    renewing = replace(VERIFIED, requested_at=later)  # a request of ours waits: its answer is taken instead
    assert not repeats_verification(renewing, "subscribe", 86400, later)
    short = replace(VERIFIED, lease_seconds=60, expires_at=NOW + timedelta(seconds=60))
    assert repeats_verification(short, "subscribe", 60, NOW + timedelta(seconds=59))
    assert not repeats_verification(short, "subscribe", 60, NOW + timedelta(seconds=60))  # run out


def test_a_denial_is_followed_by_a_request_after_a_backoff_doubling_up_to_a_day() -> None:
    assert [denial_backoff(n) / timedelta(hours=1) for n in range(7)] == [1, 1, 2, 4, 8, 16, 24]
    assert denial_backoff(10_000) == MAX_DENIAL_BACKOFF


def test_which_subscription_is_settled_with_no_request_of_ours_waiting() -> None:
    assert settled_since(VERIFIED) == NOW
    for state in ("requested", "denied", "unsubscribing"):
        assert settled_since(replace(VERIFIED, state=state)) is None
    assert settled_since(replace(VERIFIED, requested_at=NOW + timedelta(hours=12))) is None  # renewing
    assert settled_since(replace(VERIFIED, lease_seconds=None, expires_at=None)) is None  # renewal unrecognised


def test_when_a_late_denial_makes_us_ask_the_hub_again() -> None:
    denied_at = NOW + timedelta(minutes=1)
    last_request = VERIFIED.requested_at
    assert recheck_due(VERIFIED, denied_at, last_request + RECHECK_SPACING)
    assert not recheck_due(VERIFIED, denied_at, last_request + RECHECK_SPACING - timedelta(seconds=1))  # bounded
    assert not recheck_due(VERIFIED, None, NOW + timedelta(hours=1))  # no denial
    answered = replace(VERIFIED, requested_at=denied_at + timedelta(seconds=1),
                       expires_at=denied_at + timedelta(seconds=2, days=1))  # asked and verified since
    assert not recheck_due(answered, denied_at, NOW + timedelta(hours=1))


def _denying_subscriber(db: Database, hub: Hub, now: list[datetime]) -> tuple[WebSubSubscriber, Fetcher]:
    fetcher = Fetcher(FetchLimits(allow_private_networks=True))
    subscriber = WebSubSubscriber(WebSubStore(db), fetcher, CALLBACK, _no_push, feed_ids={"news"},
                                  clock=lambda: now[0], allow_insecure_hub=True)
    return subscriber, fetcher


async def _tend(subscriber: WebSubSubscriber) -> None:
    """The renewal loop's turn for the feed, at the subscriber's clock."""
    sub = subscriber.store.get("news")
    assert sub is not None
    await subscriber._tend(sub, subscriber.clock())


async def test_a_late_denial_changes_nothing_and_asks_the_hub_again_at_a_bounded_rate(db: Database, hub: Hub) -> None:
    now = [NOW]
    subscriber, fetcher = _denying_subscriber(db, hub, now)
    active = Subscription("news", hub.url, TOPIC, SecretStr("s" * 64), "active", NOW - timedelta(hours=1),
                          lease_seconds=86400, expires_at=NOW + timedelta(hours=23))
    subscriber.store.save(active)
    assert subscriber.verify("news", {**_verification("denied"), "hub.topic": "https://other.example/"}) == (404, b"")
    assert subscriber.verify("elsewhere", _verification("denied")) == (404, b"")
    await _tend(subscriber)
    assert hub.requests == [] and subscriber.store.get("news") == active  # forged for nothing we hold
    assert subscriber.verify("news", _verification("denied")) == (200, b"")
    assert subscriber.store.get("news") == active  # not denied: anyone may have sent it
    await _tend(subscriber)
    assert [form["hub.mode"] for form in hub.requests] == ["subscribe"]
    assert subscriber.verify("news", _verification("subscribe", **{"hub.lease_seconds": "86400"}))[0] == 200
    for _ in range(3):  # denials as fast as anyone can send them
        now[0] += timedelta(minutes=1)
        assert subscriber.verify("news", _verification("denied")) == (200, b"")
        await _tend(subscriber)
    assert len(hub.requests) == 1  # within RECHECK_SPACING of our last request
    now[0] = NOW + RECHECK_SPACING
    await _tend(subscriber)
    await fetcher.aclose()
    assert len(hub.requests) == 2
    sub = subscriber.store.get("news")
    assert sub is not None and sub.state == "active"


async def test_two_forged_denials_around_a_recheck_cost_the_pushes_of_one_backoff(db: Database, hub: Hub) -> None:
    # The first, late, makes us ask the hub again; the second arrives while that request waits, so it is
    # taken as the hub's answer. It stopped the subscription for good: a denied one was never asked again.
    now = [NOW]
    subscriber, fetcher = _denying_subscriber(db, hub, now)
    subscriber.store.save(Subscription("news", hub.url, TOPIC, SecretStr("s" * 64), "active",
                                       NOW - timedelta(hours=1), lease_seconds=86400,
                                       expires_at=NOW + timedelta(hours=23)))
    assert subscriber.verify("news", _verification("denied")) == (200, b"")
    await _tend(subscriber)  # our last request was an hour ago: the hub is asked at once
    assert len(hub.requests) == 1
    assert subscriber.verify("news", _verification("denied")) == (200, b"")  # while our request waits
    denied = subscriber.store.get("news")
    assert denied is not None and denied.state == "denied"
    now[0] += RETRY_UNVERIFIED - timedelta(seconds=1)
    await _tend(subscriber)
    assert len(hub.requests) == 1  # not before the backoff
    now[0] += timedelta(seconds=1)
    await _tend(subscriber)
    await fetcher.aclose()
    assert [form["hub.mode"] for form in hub.requests] == ["subscribe", "subscribe"]
    assert subscriber.verify("news", _verification("subscribe", **{"hub.lease_seconds": "86400"})) == (
        200, b"c-subscribe")  # the hub's verification of the new request
    sub = subscriber.store.get("news")
    assert sub is not None and (sub.state, sub.expires_at) == ("active", now[0] + timedelta(days=1))


async def test_a_new_subscriptions_forged_denial_is_retried_after_the_backoff(db: Database, hub: Hub) -> None:
    now = [NOW]
    subscriber, fetcher = _denying_subscriber(db, hub, now)
    await subscriber.subscribe("news", hub.url, TOPIC)
    assert subscriber.verify("news", _verification("denied")) == (200, b"")  # before the hub's verification
    now[0] += RETRY_UNVERIFIED - timedelta(seconds=1)
    await _tend(subscriber)
    assert len(hub.requests) == 1
    now[0] += timedelta(seconds=1)
    await _tend(subscriber)
    await fetcher.aclose()
    assert len(hub.requests) == 2 and hub.requests[1]["hub.topic"] == TOPIC
    assert subscriber.verify("news", _verification("subscribe", **{"hub.lease_seconds": "3600"})) == (
        200, b"c-subscribe")
    sub = subscriber.store.get("news")
    assert sub is not None and (sub.state, sub.lease_seconds) == ("active", 3600)


async def test_a_hub_that_keeps_denying_is_asked_ever_less_often_at_most_daily(db: Database, hub: Hub) -> None:
    now = [NOW]
    subscriber, fetcher = _denying_subscriber(db, hub, now)
    await subscriber.subscribe("news", hub.url, TOPIC)
    asked_at: list[datetime] = []
    while now[0] < NOW + timedelta(days=4):  # the renewal loop, every 5 simulated minutes
        await _tend(subscriber)
        if len(hub.requests) > len(asked_at):
            asked_at.append(now[0])
            assert subscriber.verify("news", _verification("denied")) == (200, b"")  # the hub's answer
        now[0] += timedelta(minutes=5)
    await fetcher.aclose()
    gaps = [(later - earlier) / timedelta(hours=1) for earlier, later in pairwise(asked_at)]
    assert asked_at[0] == NOW and gaps == [1, 2, 4, 8, 16, 24, 24]
    assert len([at for at in asked_at if at < NOW + timedelta(days=1)]) == 5  # in the first day


async def test_a_repeated_verification_is_answered_again_and_changes_nothing(db: Database, hub: Hub) -> None:
    fetcher = Fetcher(FetchLimits())
    now = [NOW]
    subscriber = WebSubSubscriber(WebSubStore(db), fetcher, CALLBACK, _no_push, feed_ids={"news"},
                                  clock=lambda: now[0])
    await fetcher.aclose()  # never used: the hub's verifications are all there is
    subscriber.store.save(Subscription("news", hub.url, TOPIC, SecretStr("s" * 64), "requested",
                                       NOW - timedelta(seconds=5)))
    lease = {"hub.lease_seconds": "3600"}
    assert subscriber.verify("news", _verification("subscribe", **lease)) == (200, b"c-subscribe")
    verified = subscriber.store.get("news")
    now[0] += timedelta(minutes=2)
    assert subscriber.verify("news", _verification("subscribe", **lease)) == (200, b"c-subscribe")
    assert subscriber.store.get("news") == verified  # the lease still runs from the first verification
    year = {"hub.lease_seconds": str(MAX_LEASE_SECONDS)}
    assert subscriber.verify("news", _verification("subscribe", **year)) == (404, b"")
    now[0] = NOW + REPEAT_WINDOW
    assert subscriber.verify("news", _verification("subscribe", **lease)) == (404, b"")
    assert subscriber.store.get("news") == verified


def test_what_becomes_of_a_subscription_whose_feed_left_the_config() -> None:
    lease_end = NOW + timedelta(days=1)
    active = Subscription("f", "https://hub/", TOPIC, SecretStr("s"), "active", NOW, 86400, lease_end)
    assert unsubscribe_action(active, {"f"}, NOW) is None  # still configured
    assert unsubscribe_action(active, set(), NOW) == "ask"
    asked = Subscription("f", "https://hub/", TOPIC, SecretStr("s"), "unsubscribing", NOW, 86400, lease_end)
    assert unsubscribe_action(asked, set(), NOW + timedelta(minutes=5)) is None  # waiting for the hub
    assert unsubscribe_action(asked, set(), NOW + timedelta(hours=2)) == "ask"  # never confirmed: ask again
    assert unsubscribe_action(asked, set(), lease_end) == "forget"  # the lease ran out: nothing left at the hub
    denied = Subscription("f", "https://hub/", TOPIC, SecretStr("s"), "denied", NOW)
    assert unsubscribe_action(denied, set(), NOW) == "forget"
