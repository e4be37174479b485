"""Process lifecycle: SIGTERM/SIGINT ask the loop to stop after the batch in hand."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType

import structlog

log = structlog.get_logger(__name__)


class StopSignal:
    """An event set by SIGTERM or SIGINT (or by a test calling :meth:`set`)."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def install(self) -> StopSignal:
        signal.signal(signal.SIGTERM, self._handle)
        signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum: int, _: FrameType | None) -> None:
        log.info("stop_requested", signal=signal.Signals(signum).name)
        self._event.set()

    def set(self) -> None:
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float) -> bool:
        return self._event.wait(timeout)


def retry_until_done(action: Callable[[], object], stop: StopSignal, event: str, *,
                     transient: tuple[type[Exception], ...], max_delay: float = 30.0) -> bool:
    """Run ``action`` until it succeeds (True), backing off on transient errors; False if stopped first.

    For start-up steps that need a dependency (the database) which may come up after the service.
    """
    delay = 0.5
    while not stop.is_set():
        try:
            action()
        except transient as error:
            # Up to 1,000 characters: the errors wirefeed raises here end in what to check (the Kafka
            # settings, a topic Kafka refused and why), which a shorter cut would lose.
            log.warning(event, error_class=type(error).__name__, error=str(error)[:1000], retry_in=delay)
            stop.wait(delay)
            delay = min(max_delay, delay * 2)
        else:
            return True
    return False
