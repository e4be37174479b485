"""WebSub subscriber: a feed that names a hub gets its new items pushed instead of waiting for a poll.

Discovery: after a poll that parsed the feed, the hub and topic come from the feed (``<link rel="hub">``
and ``rel="self"``, JSON Feed ``hubs``) or from the response's ``Link`` headers. Subscribing: a form
POST to the hub (through the poller's fetcher, so the hub's address obeys the rule for every feed: a
feed's ``private_networks``, the operator's word for its own server, do not reach the hub its document
names) with a callback URL per feed and a fresh secret; the hub then verifies with a GET to the
callback, which echoes ``hub.challenge`` only for a subscription this poller asked for and the hub has
not verified yet (a new one, or a renewal asked for since the hub last verified); a "denied" is taken
only then too. Two verifications come when no request of ours waits, and change nothing stored: a hub's
repeat of the one it just made (our answer lost on the way; anything but a 2xx is a refusal) is answered
again, and a "denied" for an active subscription (a hub may withdraw one it accepted) makes the renewal
loop ask the hub afresh, soon but no more often than ``RECHECK_SPACING``, the hub's answer to that
request deciding.
Denials: a verification is a GET anyone who knows the callback and topic can send, so no denial is final.
A denied subscription is asked for again ``RETRY_UNVERIFIED`` (an hour) after the request denied, twice as
long after each further denial in a row, at most ``MAX_DENIAL_BACKOFF`` (a day); the hub's verification
of that request is taken as usual and ends the count. What a forged denial costs: for a subscription no
request of ours waits on, one subscribe request to the hub (at most one per ``RECHECK_SPACING``); while
one waits (a new subscription, a renewal, or that very request), it is taken as the hub's answer, and
costs the pushes until the backoff is over (the hub's verification of the request denied is answered
404, its pushes 410): an hour for the first denial in a row, and no more than a day once whoever denies
each of our requests stops. The feed is polled as usual all the while, and a hub that denies us for real
is asked five times the first day, then once a day.
Content: a POST to the callback whose ``X-Hub-Signature`` (HMAC of the body with the secret) must match;
the body is parsed and published through the same decide -> publish path as a poll (``PollLoop.push``).
A wrong or missing signature is acknowledged and ignored, as the spec asks. Leases are renewed when half
of them has run out. Unsubscribing: when a feed leaves the configuration, the hub is asked to stop
(``hub.mode=unsubscribe``, confirmed by the hub's verification); a subscription the hub never confirms is
forgotten once its lease has run out, after which a delivery is answered 410 Gone. When a feed names
another hub or topic, the old hub is asked to unsubscribe too, and the old pair is kept (``retired_*``)
until it confirms.

Only hubs reached over https are subscribed to: the secret travels in the subscribe request, and WebSub
forbids sending it over plain HTTP, where anyone on the way could read it and sign pushes of their own.
A subscription without a secret would not do either: its pushes could not be authenticated, and
unsigned pushes are ignored. An ``http://`` hub is refused (logged, counted) unless
``allow_insecure_hub`` (``WIREFEED_WEBSUB_ALLOW_INSECURE_HUB``, for a local hub in development and tests);
a subscription through one made before (by an earlier version, or while they were allowed) is not
trusted: its pushes are answered 410 Gone, and it is dropped when it comes up for renewal.

Subscriptions live in the state database, so any poller behind the callback URL can answer the hub.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import structlog
from pydantic import SecretStr

from services.core.db import Database, as_datetime
from services.core.numbers import whole_number
from services.poller import metrics
from services.poller.feeds import FeedConfig
from services.poller.fetch import Fetcher, FetchError, FetchResult
from services.poller.formats import ParsedFeed
from services.poller.formats.values import join_url
from services.poller.service import PollOutcome

log = structlog.get_logger(__name__)

Push = Callable[[str, bytes, "str | None"], Coroutine[Any, Any, PollOutcome]]

RETRY_UNVERIFIED = timedelta(hours=1)
#: After a denial the hub is asked again RETRY_UNVERIFIED after the request it answered, twice as long after
#: each further denial in a row, at most this long: anyone can send a denial, so none may be final, and a hub
#: that really denies us is asked a few times a day at most.
MAX_DENIAL_BACKOFF = timedelta(days=1)
#: How long after a verification a hub's repeat of it is answered again: a hub whose copy of our 200 was lost
#: retries, and takes anything but a 2xx as our refusal. Short, as a third party's subscribe request for our
#: callback, verified by that echo, would replace our secret at the hub until our next renewal.
REPEAT_WINDOW = timedelta(minutes=15)
#: The least time between our last request and one a hub's late "denied" makes us send: denials anyone can
#: forge cost the hub a request per feed this often at most.
RECHECK_SPACING = timedelta(minutes=15)
PUSH_TIMEOUT_SECONDS = 120.0
#: The longest lease taken from a hub's verification: a longer one is renewed as if it were a year.
MAX_LEASE_SECONDS = 366 * 24 * 3600
_DIGESTS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha384": hashlib.sha384, "sha512": hashlib.sha512}
_LINK = re.compile(r"<([^>]*)>([^,<]*)")
_REL = re.compile(r"""rel\s*=\s*(?:"([^"]*)"|([^\s;,]+))""", re.IGNORECASE)


@dataclass(frozen=True)
class Subscription:
    feed_id: str
    hub_url: str
    topic_url: str
    secret: SecretStr
    state: str  # requested (waiting for the hub's verification), active, denied, unsubscribing
    requested_at: datetime
    lease_seconds: int | None = None
    expires_at: datetime | None = None
    retired_hub_url: str | None = None  # the hub the feed named before, asked to unsubscribe
    retired_topic_url: str | None = None
    denials: int = 0  # denials in a row since the hub last verified (or since the feed named this hub)


class WebSubStore:
    _COLUMNS = ("feed_id, hub_url, topic_url, secret, state, requested_at, lease_seconds, expires_at, "
                "retired_hub_url, retired_topic_url, denials")

    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, feed_id: str) -> Subscription | None:
        rows = self.db.query(f"SELECT {self._COLUMNS} FROM poller_websub WHERE feed_id = ?", (feed_id,))
        return _subscription(rows[0]) if rows else None

    def all(self) -> list[Subscription]:
        return [_subscription(row) for row in self.db.query(f"SELECT {self._COLUMNS} FROM poller_websub")]

    def save(self, sub: Subscription) -> None:
        with self.db.transaction() as tx:
            tx.execute(
                f"INSERT INTO poller_websub ({self._COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (feed_id) DO UPDATE SET hub_url = excluded.hub_url, topic_url = excluded.topic_url, "
                "secret = excluded.secret, state = excluded.state, requested_at = excluded.requested_at, "
                "lease_seconds = excluded.lease_seconds, expires_at = excluded.expires_at, "
                "retired_hub_url = excluded.retired_hub_url, retired_topic_url = excluded.retired_topic_url, "
                "denials = excluded.denials",
                (sub.feed_id, sub.hub_url, sub.topic_url, sub.secret.get_secret_value(), sub.state,
                 sub.requested_at, sub.lease_seconds, sub.expires_at, sub.retired_hub_url, sub.retired_topic_url,
                 sub.denials),
            )

    # The hub's verifications arrive on the callback server's threads, two hubs' at once when a feed
    # moves: each changes only its own columns, so neither overwrites the other's change.
    def mark_verified(self, feed_id: str, lease_seconds: int | None, expires_at: datetime | None) -> None:
        with self.db.transaction() as tx:
            tx.execute("UPDATE poller_websub SET state = 'active', lease_seconds = ?, expires_at = ?, denials = 0 "
                       "WHERE feed_id = ?", (lease_seconds, expires_at, feed_id))

    def mark_denied(self, feed_id: str) -> None:
        with self.db.transaction() as tx:
            tx.execute("UPDATE poller_websub SET state = 'denied', denials = denials + 1 WHERE feed_id = ?",
                       (feed_id,))

    def mark_requested(self, feed_id: str, state: str, requested_at: datetime) -> None:
        with self.db.transaction() as tx:
            tx.execute("UPDATE poller_websub SET state = ?, requested_at = ? WHERE feed_id = ?",
                       (state, requested_at, feed_id))

    def forget_retired(self, feed_id: str) -> None:
        with self.db.transaction() as tx:
            tx.execute("UPDATE poller_websub SET retired_hub_url = NULL, retired_topic_url = NULL WHERE feed_id = ?",
                       (feed_id,))

    def delete(self, feed_id: str) -> None:
        with self.db.transaction() as tx:
            tx.execute("DELETE FROM poller_websub WHERE feed_id = ?", (feed_id,))


def _subscription(row: tuple[object, ...]) -> Subscription:
    return Subscription(
        feed_id=str(row[0]), hub_url=str(row[1]), topic_url=str(row[2]), secret=SecretStr(str(row[3])),
        state=str(row[4]), requested_at=as_datetime(row[5]) or datetime.now(UTC),
        lease_seconds=None if row[6] is None else int(str(row[6])), expires_at=as_datetime(row[7]),
        retired_hub_url=None if row[8] is None else str(row[8]),
        retired_topic_url=None if row[9] is None else str(row[9]), denials=int(str(row[10])),
    )


def _granted_lease(params: Mapping[str, str]) -> int | None:
    """The lease a hub's verification grants, at most ``MAX_LEASE_SECONDS`` (a hub's "10**15" overflowed the
    expiry's date)."""
    seconds = whole_number(params.get("hub.lease_seconds", ""))
    return None if seconds is None else min(seconds, MAX_LEASE_SECONDS)


def link_header(value: str | None, base: str) -> dict[str, str]:
    """``Link: <url>; rel="hub", <url>; rel="self"`` -> {rel: absolute url}, first of each rel."""
    links: dict[str, str] = {}
    for url, params in _LINK.findall(value or ""):
        match = _REL.search(params)
        absolute = join_url(base, url.strip())
        if match is None or absolute is None:  # no rel, or a URL urllib cannot read
            continue
        for rel in (match.group(1) or match.group(2)).lower().split():
            links.setdefault(rel, absolute)
    return links


def discover_hub(parsed: ParsedFeed, result: FetchResult) -> tuple[str, str] | None:
    """(hub, topic) from the feed document or, failing that, the response's Link headers."""
    links = link_header(result.headers.get("link"), result.final_url)
    hub = parsed.hub_url or links.get("hub")
    if not hub:
        return None
    return hub, parsed.self_url or links.get("self") or result.final_url


def signature_valid(secret: SecretStr, body: bytes, header: str | None) -> bool:
    """``X-Hub-Signature: <method>=<hex HMAC of the body>``, compared in constant time."""
    method, _, signature = (header or "").partition("=")
    digest = _DIGESTS.get(method.strip().lower())
    if digest is None or not signature:
        return False
    expected = hmac.new(secret.get_secret_value().encode(), body, digest).hexdigest()
    return hmac.compare_digest(expected, signature.strip().lower())


def _lease_start(sub: Subscription) -> datetime | None:
    """When the hub's last verification of an active subscription began its lease; None if not active or
    the lease is unknown (a hub that gave none)."""
    if sub.state != "active" or sub.expires_at is None or sub.lease_seconds is None:
        return None
    return sub.expires_at - timedelta(seconds=sub.lease_seconds)


def awaits_verification(sub: Subscription) -> bool:
    """Whether a request of ours waits for the hub's verification: a new subscription, or a renewal asked for
    since the hub last verified (its lease began then). Anyone who knows a callback's path and the feed's
    topic can send a verification, and an unasked "denied" stopped the subscription for good, an unasked
    year's lease its renewals. A renewing row stays ``active``, as pollers before this check wrote it."""
    if sub.state == "requested":
        return True
    lease_start = _lease_start(sub)
    return lease_start is not None and sub.requested_at > lease_start


def settled_since(sub: Subscription) -> datetime | None:
    """Pure: when the hub last verified this subscription, if it is settled: active, its lease known, and no
    request of ours waiting for a verification since; else None. Only then does a verification answer no
    request of ours: a subscribe one may be the hub's repeat of the one it made at that time, a "denied" the
    hub withdrawing the subscription. (With the lease unknown, a renewal's verification would look the same.)"""
    lease_start = _lease_start(sub)
    return lease_start if lease_start is not None and sub.requested_at <= lease_start else None


def repeats_verification(sub: Subscription, mode: str, lease_seconds: int | None, now: datetime) -> bool:
    """Pure: is this subscribe verification a repeat of the one that settled ``sub`` (same mode and lease,
    within ``REPEAT_WINDOW`` of it)? Such a repeat is answered again but changes nothing, so a forged one
    gains its sender only the challenge it sent itself."""
    verified_at = settled_since(sub)
    if mode != "subscribe" or verified_at is None or lease_seconds is None or lease_seconds != sub.lease_seconds:
        return False
    return now < verified_at + min(REPEAT_WINDOW, timedelta(seconds=lease_seconds))


def recheck_due(sub: Subscription, denied_at: datetime | None, now: datetime) -> bool:
    """Pure: ask the hub again now, after a late denial at ``denied_at`` (one for a settled subscription:
    WebSub lets a hub withdraw one it accepted, but anyone can send the denial, so the hub's answer to a
    fresh request decides)? Not if a request of ours followed the denial (the hub's answer to it decides),
    nor within ``RECHECK_SPACING`` of our last request."""
    return (denied_at is not None and denied_at > sub.requested_at and settled_since(sub) is not None
            and now - sub.requested_at >= RECHECK_SPACING)


def denial_backoff(denials: int) -> timedelta:
    """Pure: how long after the request a hub denied it is asked again, after ``denials`` denials in a row:
    ``RETRY_UNVERIFIED``, doubled for each further one, at most ``MAX_DENIAL_BACKOFF``."""
    doublings = min(max(denials - 1, 0), 16)  # 2**16 h is past the cap; years of denials would overflow timedelta
    return min(RETRY_UNVERIFIED * (1 << doublings), MAX_DENIAL_BACKOFF)


def needs_subscribe(sub: Subscription | None, hub: str, topic: str, now: datetime) -> bool:
    """Pure: ask the hub now? New or moved hub/topic, an unverified request gone stale, a denial's backoff
    over (anyone can send a denial: it may not be final), or a lease half run out."""
    if sub is None or (sub.hub_url, sub.topic_url) != (hub, topic):
        return True
    if sub.state == "unsubscribing":
        return True  # the feed is configured again: ask before the hub confirms the unsubscribe
    if sub.state == "requested":
        return now - sub.requested_at > RETRY_UNVERIFIED
    if sub.state == "denied":
        return now - sub.requested_at >= denial_backoff(sub.denials)
    if sub.state == "active" and sub.expires_at and sub.lease_seconds:
        asked_lately = now - sub.requested_at < min(RETRY_UNVERIFIED, timedelta(seconds=sub.lease_seconds / 4))
        return not asked_lately and now >= sub.expires_at - timedelta(seconds=sub.lease_seconds / 2)
    return False


def unsubscribe_action(sub: Subscription, feed_ids: set[str], now: datetime) -> str | None:
    """Pure: for a subscription of a feed no longer configured, "forget" it (nothing left at the hub),
    "ask" the hub to unsubscribe, or None (configured, or waiting for the hub to confirm)."""
    if sub.feed_id in feed_ids:
        return None
    if sub.state == "denied" or (sub.expires_at is not None and now >= sub.expires_at):
        return "forget"
    if sub.state == "unsubscribing" and now - sub.requested_at <= RETRY_UNVERIFIED:
        return None
    return "ask"


class WebSubSubscriber:
    def __init__(self, store: WebSubStore, fetcher: Fetcher, callback_base: str, push: Push, *,
                 feed_ids: set[str], lease_seconds: int = 86400,
                 clock: Callable[[], datetime] | None = None, allow_insecure_hub: bool = False) -> None:
        self.store = store
        self.allow_insecure_hub = allow_insecure_hub
        self.fetcher = fetcher
        self.callback_base = callback_base.rstrip("/")
        self.push = push
        self.feed_ids = feed_ids
        self.lease_seconds = lease_seconds
        self.clock = clock or (lambda: datetime.now(UTC))
        self.loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        # Late denials waiting for the renewal loop to ask the hub again, by feed: written on the callback
        # server's threads. Lost at a restart, when the lease's own renewal asks the hub instead.
        self._late_denials: dict[str, datetime] = {}

    def on_parsed(self, feed: FeedConfig, parsed: ParsedFeed, result: FetchResult) -> None:
        """The poller's hook after each parsed poll: subscribe in the background when needed."""
        found = discover_hub(parsed, result)
        if found and needs_subscribe(self.store.get(feed.id), *found, self.clock()):
            task = asyncio.create_task(self.subscribe(feed.id, *found))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def subscribe(self, feed_id: str, hub: str, topic: str) -> None:
        # Saved before asking: the hub may verify before its answer to us arrives.
        old, now = self.store.get(feed_id), self.clock()
        self._late_denials.pop(feed_id, None)  # the hub's answer to this request decides
        if not self._secret_may_go_to(hub):
            self._refuse_insecure_hub(feed_id, hub, old)
            return
        retiring = None
        if old is not None and (old.hub_url, old.topic_url) == (hub, topic):
            # A renewal keeps its secret and stays active: the hub signs with that secret until it has
            # verified the renewal. Only two columns change, so a verification arriving meanwhile is kept.
            sub = replace(old, requested_at=now, state="active" if old.state == "active" else "requested")
            self.store.mark_requested(feed_id, sub.state, now)
        else:
            sub = Subscription(feed_id, hub, topic, SecretStr(secrets.token_hex(32)), "requested", now)
            # The feed names another hub or topic: the old one is asked to stop, unless it denied us.
            retiring = old if old is not None and old.state != "denied" else None
            if retiring is not None:
                sub = replace(sub, retired_hub_url=retiring.hub_url, retired_topic_url=retiring.topic_url)
            self.store.save(sub)
        await self._ask(sub, {"hub.mode": "subscribe", "hub.secret": sub.secret.get_secret_value(),
                              "hub.lease_seconds": str(self.lease_seconds)})
        if retiring is not None:
            await self._ask(retiring, {"hub.mode": "unsubscribe"})  # same callback: the old hub knows it

    def _secret_may_go_to(self, hub: str) -> bool:
        return self.allow_insecure_hub or urlsplit(hub).scheme == "https"

    def _refuse_insecure_hub(self, feed_id: str, hub: str, old: Subscription | None) -> None:
        """No subscription through a hub the secret would reach in clear text; one made before (by an earlier
        version, or while insecure hubs were allowed) is dropped, its pushes refused from now on."""
        metrics.WEBSUB_REQUESTS.labels("subscribe", "insecure_hub").inc()
        log.warning("websub_hub_refused", feed=feed_id, hub=hub,
                    reason="not https: the secret would be sent in clear text (WIREFEED_WEBSUB_ALLOW_INSECURE_HUB)")
        if old is not None and old.hub_url == hub:
            self.store.delete(feed_id)
            log.warning("websub_insecure_subscription_dropped", feed=feed_id, hub=hub)

    async def unsubscribe(self, sub: Subscription) -> None:
        now = self.clock()
        # The lease the hub may hold bounds how long it is asked: after it, nothing is delivered anyway.
        lease_end = sub.expires_at or sub.requested_at + timedelta(seconds=self.lease_seconds)
        sub = replace(sub, state="unsubscribing", requested_at=now, expires_at=lease_end)
        self.store.save(sub)
        await self._ask(sub, {"hub.mode": "unsubscribe"})

    async def _ask(self, sub: Subscription, form: dict[str, str]) -> None:
        form = {"hub.callback": f"{self.callback_base}/{sub.feed_id}", "hub.topic": sub.topic_url, **form}
        mode = form["hub.mode"]
        try:
            status = await self.fetcher.post_form(sub.hub_url, form)
        except FetchError as error:
            metrics.WEBSUB_REQUESTS.labels(mode, "error").inc()
            log.warning("websub_request_failed", mode=mode, feed=sub.feed_id, hub=sub.hub_url, error=str(error)[:300])
            return
        accepted = 200 <= status < 300
        metrics.WEBSUB_REQUESTS.labels(mode, "accepted" if accepted else "refused").inc()
        log.info("websub_requested", mode=mode, feed=sub.feed_id, hub=sub.hub_url, topic=sub.topic_url, status=status)

    async def renew_forever(self, every: float = 10.0) -> None:
        self.loop = asyncio.get_running_loop()
        while True:
            now = self.clock()
            for sub in self.store.all():
                await self._tend(sub, now)
            await asyncio.sleep(every)

    async def _tend(self, sub: Subscription, now: datetime) -> None:
        if sub.feed_id in self.feed_ids:
            if recheck_due(sub, self._late_denials.get(sub.feed_id), now):
                log.info("websub_recheck_after_denial", feed=sub.feed_id, hub=sub.hub_url)
                await self.subscribe(sub.feed_id, sub.hub_url, sub.topic_url)
            elif needs_subscribe(sub, sub.hub_url, sub.topic_url, now):
                await self.subscribe(sub.feed_id, sub.hub_url, sub.topic_url)
            return
        action = unsubscribe_action(sub, self.feed_ids, now)
        if action == "forget":
            self.store.delete(sub.feed_id)
            log.info("websub_forgotten", feed=sub.feed_id, hub=sub.hub_url)
        elif action == "ask":
            await self.unsubscribe(sub)

    def verify(self, feed_id: str, params: Mapping[str, str]) -> tuple[int, bytes]:
        """The hub's GET: confirm only what this poller asked for, echoing the challenge."""
        sub = self.store.get(feed_id)
        mode, topic = params.get("hub.mode", ""), params.get("hub.topic", "")
        if sub is not None and mode == "unsubscribe":
            return self._confirm_unsubscribe(sub, topic, params.get("hub.challenge", ""))
        if sub is None or topic != sub.topic_url or feed_id not in self.feed_ids:
            return 404, b""
        if not awaits_verification(sub):
            return self._answer_after_verified(sub, mode, params)
        if mode == "denied":
            # Taken as the hub's answer, though anyone may have sent it: the hub is asked again after a backoff.
            self.store.mark_denied(feed_id)
            log.warning("websub_denied", feed=feed_id, reason=params.get("hub.reason", "")[:200],
                        asked_again_at=(sub.requested_at + denial_backoff(sub.denials + 1)).isoformat())
            return 200, b""
        challenge = params.get("hub.challenge", "")
        if mode != "subscribe" or not challenge:
            return 404, b""
        seconds = _granted_lease(params)
        expires = self.clock() + timedelta(seconds=seconds) if seconds else None
        self.store.mark_verified(feed_id, seconds, expires)
        log.info("websub_subscribed", feed=feed_id, hub=sub.hub_url, lease_seconds=seconds)
        return 200, challenge.encode()

    def _answer_after_verified(self, sub: Subscription, mode: str, params: Mapping[str, str]) -> tuple[int, bytes]:
        """A verification no request of ours waits for: anyone may have sent it, so nothing stored changes.
        A hub's repeat of the one it just made is echoed again (404 would make the hub drop us), and a late
        denial makes the renewal loop ask the hub afresh, whose answer to that request is taken as usual."""
        now, challenge = self.clock(), params.get("hub.challenge", "")
        if challenge and repeats_verification(sub, mode, _granted_lease(params), now):
            log.info("websub_verification_repeated", feed=sub.feed_id, hub=sub.hub_url)
            return 200, challenge.encode()
        if mode == "denied" and settled_since(sub) is not None:
            self._late_denials[sub.feed_id] = now
            log.warning("websub_denied_after_verification", feed=sub.feed_id, hub=sub.hub_url,
                        reason=params.get("hub.reason", "")[:200])
            return 200, b""
        return 404, b""

    def _confirm_unsubscribe(self, sub: Subscription, topic: str, challenge: str) -> tuple[int, bytes]:
        """Only what this poller asked for: the hub a feed no longer names, or a feed that left."""
        if challenge and sub.retired_topic_url is not None and topic == sub.retired_topic_url:
            self.store.forget_retired(sub.feed_id)
            log.info("websub_unsubscribed", feed=sub.feed_id, hub=sub.retired_hub_url)
            return 200, challenge.encode()
        if challenge and sub.state == "unsubscribing" and topic == sub.topic_url:
            self.store.delete(sub.feed_id)
            log.info("websub_unsubscribed", feed=sub.feed_id, hub=sub.hub_url)
            return 200, challenge.encode()
        return 404, b""  # an unsubscribe nobody asked for

    def deliver(self, feed_id: str, body: bytes, headers: Mapping[str, str]) -> int:
        """The hub's POST (called on the callback server's thread): check the signature, then publish."""
        sub = self.store.get(feed_id) if feed_id in self.feed_ids else None
        if sub is None or sub.state != "active" or not self._secret_may_go_to(sub.hub_url):
            return self._pushed("unknown_subscription", 410)  # an http hub's: its secret went in clear
        if not signature_valid(sub.secret, body, headers.get("x-hub-signature")):
            log.warning("websub_bad_signature", feed=feed_id)
            return self._pushed("bad_signature", 202)  # acknowledged and ignored, as WebSub asks
        if self.loop is None:
            return self._pushed("not_ready", 503)
        future = asyncio.run_coroutine_threadsafe(self.push(feed_id, body, headers.get("content-type")), self.loop)
        try:
            outcome = future.result(PUSH_TIMEOUT_SECONDS)
        except Exception as error:  # the broker refused: a 5xx makes the hub deliver again later
            log.warning("websub_push_failed", feed=feed_id, error=str(error)[:300])
            return self._pushed("publish_error", 503)
        status = {"busy": 503, "over_budget": 503, "unknown_subscription": 410}.get(outcome.outcome, 202)
        return self._pushed(outcome.outcome, status)

    @staticmethod
    def _pushed(outcome: str, status: int) -> int:
        metrics.WEBSUB_PUSHES.labels(outcome).inc()
        return status
