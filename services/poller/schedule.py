"""When to poll a feed next: pure decisions from the feed's settings and the last outcome."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

JITTER = 0.1
MAX_BACKOFF_SECONDS = 6 * 3600.0
GONE_RECHECK_SECONDS = 24 * 3600.0


@dataclass(frozen=True)
class Hints:
    """What the server or the feed said about polling again."""

    retry_after: float | None = None
    max_age: float | None = None
    ttl: float | None = None


def next_success_time(now: datetime, interval: float, hints: Hints, rng: random.Random, *,
                      min_interval: float | None = None, max_interval: float | None = None) -> datetime:
    wait = max(interval, hints.max_age or 0.0, hints.ttl or 0.0)
    if min_interval is not None:
        wait = max(wait, min_interval)
    if max_interval is not None:
        wait = min(wait, max_interval)
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


def cache_max_age(cache_control: str | None) -> float | None:
    for directive in (cache_control or "").split(","):
        name, _, value = directive.strip().partition("=")
        if name.lower() == "max-age" and value.strip().isdigit():
            return float(value)
    return None


def _jittered(seconds: float, rng: random.Random) -> float:
    return seconds * (1 + rng.uniform(-JITTER, JITTER))
