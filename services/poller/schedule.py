"""When to poll a feed next: pure decisions from the feed's settings and the last outcome."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from services.core.numbers import whole_number

JITTER = 0.1
MAX_BACKOFF_SECONDS = 6 * 3600.0
# The longest wait a server's or a feed's hint (max-age, Expires, ttl) sets by itself: a static file's
# "max-age=31536000" would have a news feed read once a year, and an 18-digit one overflowed the date.
# A feed's own interval or max_interval may be longer.
MAX_HINTED_SECONDS = 24 * 3600.0
GONE_RECHECK_SECONDS = 24 * 3600.0
# Adaptive polling: poll about twice per expected new item, within these bounds unless the feed sets its own.
ADAPTIVE_FACTOR = 0.5
ADAPTIVE_MIN_SECONDS = 60.0
ADAPTIVE_MAX_SECONDS = 6 * 3600.0
# Weight of the newest gap in the running mean: recent behaviour counts, one burst does not rule.
GAP_SMOOTHING = 0.3


@dataclass(frozen=True)
class Hints:
    """What the server or the feed said about polling again."""

    retry_after: float | None = None
    max_age: float | None = None
    ttl: float | None = None

    def wait(self) -> float | None:
        """How long the server (max-age, Expires) or the feed (ttl) asked to be left alone after a success,
        at most MAX_HINTED_SECONDS; None when neither said."""
        asked = [seconds for seconds in (self.max_age, self.ttl) if seconds is not None]
        return min(max(asked), MAX_HINTED_SECONDS) if asked else None


def success_wait(interval: float, hinted: float | None, *, min_interval: float | None = None,
                 max_interval: float | None = None) -> float:
    """Seconds to wait after a successful poll, before jitter: the feed's interval, or longer when a hint
    (``Hints.wait``) asks, within the feed's bounds."""
    wait = max(interval, hinted or 0.0)
    if min_interval is not None:
        wait = max(wait, min_interval)
    if max_interval is not None:
        wait = min(wait, max_interval)
    return wait


def jittered_after(now: datetime, wait: float, rng: random.Random) -> datetime:
    """``wait`` seconds from ``now``, give or take the jitter that spreads feeds out."""
    return now + timedelta(seconds=_jittered(wait, rng))


def next_failure_time(now: datetime, interval: float, failures: int, hints: Hints,
                      rng: random.Random) -> datetime:
    """Exponential backoff capped at six hours; a feed is never disabled for good."""
    wait = min(MAX_BACKOFF_SECONDS, interval * 2 ** max(0, failures - 1))
    if hints.retry_after is not None:
        wait = max(wait, min(hints.retry_after, MAX_BACKOFF_SECONDS))
    return now + timedelta(seconds=_jittered(wait, rng))


def next_gone_time(now: datetime, rng: random.Random) -> datetime:
    return now + timedelta(seconds=_jittered(GONE_RECHECK_SECONDS, rng))


def learn_item_gap(mean_gap: float | None, last_new_at: datetime | None, now: datetime,
                   new_items: int) -> float | None:
    """The running mean (EWMA) of seconds between new items, after ``new_items`` arrived at ``now``.

    The first batch ever seen is a backlog, not a rate, so it only starts the clock.
    """
    if new_items <= 0 or last_new_at is None:
        return mean_gap
    sample = max(0.0, (now - last_new_at).total_seconds()) / new_items
    if mean_gap is None:
        return sample
    return GAP_SMOOTHING * sample + (1 - GAP_SMOOTHING) * mean_gap


def adaptive_interval(mean_gap: float | None, last_new_at: datetime | None, now: datetime, *,
                      min_interval: float | None = None, max_interval: float | None = None) -> float | None:
    """``clamp(k × gap)``; the gap is the learned mean, or the current silence when that is longer (a feed
    that went quiet slows down instead of being polled at its old pace). None until a gap is known."""
    if mean_gap is None:
        return None
    silence = (now - last_new_at).total_seconds() if last_new_at else 0.0
    wait = ADAPTIVE_FACTOR * max(mean_gap, silence)
    low = min_interval if min_interval is not None else ADAPTIVE_MIN_SECONDS
    high = max_interval if max_interval is not None else ADAPTIVE_MAX_SECONDS
    return min(max(wait, low), high)


def freshness_seconds(headers: Mapping[str, str], now: datetime) -> float | None:
    """How long the response stays fresh: ``Cache-Control: max-age`` wins over ``Expires`` (RFC 9111)."""
    max_age = cache_max_age(headers.get("cache-control"))
    if max_age is not None:
        return max_age
    return expires_in(headers.get("expires"), headers.get("date"), now)


def expires_in(expires: str | None, date: str | None, now: datetime) -> float | None:
    """Seconds until ``Expires``, measured from the server's ``Date`` when given (clock skew); an invalid
    value means already expired (RFC 9111), which asks for nothing beyond the feed's own interval."""
    if not expires:
        return None
    expires_at = http_date(expires)
    if expires_at is None:
        return 0.0
    reference = http_date(date) if date else None
    return max(0.0, (expires_at - (reference or now)).total_seconds())


def http_date(value: str) -> datetime | None:
    """An HTTP date (RFC 9110: always GMT), aware; None when it is none. email.utils gives a naive one for
    a zone it does not know ("GMT\\", "-0000"), which compared with an aware one raised TypeError."""
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def cache_max_age(cache_control: str | None) -> float | None:
    for directive in (cache_control or "").split(","):
        name, _, value = directive.strip().partition("=")
        if name.lower() == "max-age" and (seconds := whole_number(value)) is not None:
            return float(seconds)
    return None


def _jittered(seconds: float, rng: random.Random) -> float:
    return seconds * (1 + rng.uniform(-JITTER, JITTER))
