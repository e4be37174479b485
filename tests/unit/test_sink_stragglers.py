"""The sink keys rows older replicas write during a rolling update: at its first turn, then when due."""

from __future__ import annotations

import pytest

from services.sink.stragglers import Stragglers


class _Store:
    def __init__(self) -> None:
        self.runs = 0

    def key_stragglers(self) -> int:
        self.runs += 1
        return 3


def test_rows_of_older_sinks_are_keyed_at_the_first_turn_and_then_every_interval() -> None:
    now = [100.0]
    store = _Store()
    stragglers = Stragglers(store, interval=120, clock=lambda: now[0])
    stragglers.maybe_run()
    stragglers.maybe_run()
    assert store.runs == 1
    now[0] += 119
    stragglers.maybe_run()
    assert store.runs == 1
    now[0] += 1
    stragglers.maybe_run()
    assert store.runs == 2


def test_a_failed_run_is_tried_again_when_next_due_not_at_every_turn() -> None:
    now = [0.0]

    class Down(_Store):
        def key_stragglers(self) -> int:
            self.runs += 1
            raise OSError("database down")

    store = Down()
    stragglers = Stragglers(store, interval=60, clock=lambda: now[0])
    with pytest.raises(OSError):  # the consume loop logs a failed chore and goes on
        stragglers.maybe_run()
    stragglers.maybe_run()
    assert store.runs == 1
    now[0] += 60
    with pytest.raises(OSError):
        stragglers.maybe_run()
    assert store.runs == 2
