import math
import random
from datetime import UTC, datetime, timedelta

import pytest

from services.poller.schedule import (
    MAX_BACKOFF_SECONDS,
    MAX_HINTED_SECONDS,
    Hints,
    cache_max_age,
    jittered_after,
    next_failure_time,
    success_wait,
)

NOW = datetime(2024, 1, 1, tzinfo=UTC)


def seconds(when: datetime) -> float:
    return (when - NOW).total_seconds()


def test_success_waits_the_interval_within_ten_percent_jitter() -> None:
    rng = random.Random(1)
    waits = [seconds(jittered_after(NOW, success_wait(100, Hints().wait()), rng)) for _ in range(200)]
    assert all(90 <= w <= 110 for w in waits)
    assert max(waits) - min(waits) > 5  # jitter spreads feeds out


def test_server_max_age_and_feed_ttl_stretch_the_wait() -> None:
    assert success_wait(60, Hints(max_age=600).wait()) == 600
    assert success_wait(60, Hints(ttl=1800).wait()) == 1800
    assert success_wait(60, Hints(max_age=600, ttl=1800).wait()) == 1800
    assert success_wait(600, Hints(max_age=60).wait()) == 600  # a hint never shortens the interval


@pytest.mark.parametrize("hints", [Hints(max_age=10**18 - 1), Hints(max_age=31_536_000), Hints(ttl=math.inf),
                                   Hints(ttl=1e300)])
def test_a_hint_waits_a_day_at_most_unless_the_feed_asks_for_longer(hints: Hints) -> None:
    # An 18-digit max-age (or an endless ttl) overflowed the date; a year's would read a news feed yearly.
    rng = random.Random(1)
    assert seconds(jittered_after(NOW, success_wait(60, hints.wait()), rng)) <= MAX_HINTED_SECONDS * 1.1
    assert success_wait(3 * 86400, hints.wait()) == 3 * 86400  # the feed's own interval


def test_per_feed_bounds_clamp_the_wait() -> None:
    assert success_wait(60, Hints(ttl=86400).wait(), max_interval=900) == 900
    assert success_wait(60, Hints().wait(), min_interval=300) == 300


def test_failures_back_off_exponentially_up_to_a_cap_and_never_stop() -> None:
    rng = random.Random(2)
    waits = [seconds(next_failure_time(NOW, 60, n, Hints(), rng)) for n in range(1, 20)]
    assert waits[1] > waits[0] * 1.5
    assert max(waits) <= MAX_BACKOFF_SECONDS * 1.1
    assert waits[-1] >= MAX_BACKOFF_SECONDS * 0.9  # still scheduled: a feed is never disabled


def test_retry_after_is_honoured() -> None:
    when = next_failure_time(NOW, 60, 1, Hints(retry_after=3600), random.Random(3))
    assert when - NOW >= timedelta(seconds=3240)


def test_cache_control_max_age_is_read() -> None:
    assert cache_max_age("public, max-age=300") == 300
    assert cache_max_age("no-cache") is None
    assert cache_max_age(None) is None


@pytest.mark.parametrize("header", ["max-age=²", "max-age=" + "9" * 5_000, "max-age=-5", "max-age=1.5"])
def test_a_max_age_that_is_no_number_is_no_hint(header: str) -> None:
    # "max-age=²" used to raise in every poll of the feed: its items were never published
    assert cache_max_age(header) is None
