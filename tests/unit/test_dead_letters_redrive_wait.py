"""How a redrive waits for its letters' acknowledgements, with plain futures and a stand-in clock."""

from __future__ import annotations

import time

import pytest
from kafka.errors import KafkaTimeoutError

from services.core import dead_letters
from services.core.errors import TopicMissingError


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class SlowFuture:
    """Acknowledged ``takes`` seconds after it is waited for, or a timeout if given less."""

    def __init__(self, clock: Clock, takes: float) -> None:
        self.clock, self.takes = clock, takes

    def get(self, timeout: float) -> None:
        if timeout < self.takes:
            self.clock.now += timeout
            raise KafkaTimeoutError("no acknowledgement")
        self.clock.now += self.takes


def test_a_window_acknowledged_steadily_is_waited_for_past_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    # 20 large letters to a healthy broker, 0.6 s each, 12 s in all against a 10 s timeout: not "deleted?".
    clock = Clock()
    monkeypatch.setattr(time, "monotonic", clock)
    pending = [("wirefeed.raw-items.v1", SlowFuture(clock, 0.6)) for _ in range(20)]
    dead_letters._await(pending, 10.0)  # type: ignore[arg-type]
    assert pending == [] and clock.now == pytest.approx(12.0)


def test_a_letter_unacknowledged_for_the_timeout_ends_the_redrive(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    monkeypatch.setattr(time, "monotonic", clock)
    pending = [("wirefeed.raw-items.v1", SlowFuture(clock, 0.6)), ("wirefeed.raw-items.v1", SlowFuture(clock, 60.0))]
    with pytest.raises(TopicMissingError, match="could not be written within 10 s"):
        dead_letters._await(pending, 10.0)  # type: ignore[arg-type]
    assert clock.now == pytest.approx(10.6)
