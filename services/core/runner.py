"""Process lifecycle: SIGTERM/SIGINT ask the loop to stop after the batch in hand."""

from __future__ import annotations

import gc
import os
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import NoReturn

import structlog
from pydantic import ValidationError

from services.core.config import settings_error_exit

log = structlog.get_logger(__name__)

#: The exit code of a service that stopped itself because only a new process can mend it (EX_SOFTWARE).
EXIT_UNHEALTHY = 70
#: The exit code of a job that a stop cut short, its work to be done again by the next run (EX_TEMPFAIL).
EXIT_INCOMPLETE = 75


def run_program(main: Callable[[], int]) -> NoReturn:
    """Run a service as ``python -m services.NAME``, as containers do: settings it cannot use are named by
    their variables, as the ``wirefeed`` command names them, rather than in a traceback quoting each value
    (a database URL's password among them)."""
    try:
        code = main()
    except ValidationError as error:
        code = settings_error_exit(error)
    raise SystemExit(code)


def freeze_startup_heap() -> None:
    """Leave what start-up made (modules, models' schemas, clients: ~70,000 objects that live as long as the
    process) out of the garbage collector's passes. Each pass over the oldest generation walked them all
    while a batch's short-lived objects were collected: about a fifth of the sink's own CPU per article."""
    gc.collect()
    gc.freeze()


class StopSignal:
    """An event set by SIGTERM or SIGINT (or by a test calling :meth:`set`)."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._asked_at: float | None = None  # time.monotonic() of the first request

    def install(self) -> StopSignal:
        signal.signal(signal.SIGTERM, self._handle)
        signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum: int, _: FrameType | None) -> None:
        log.info("stop_requested", signal=signal.Signals(signum).name)
        self.set()

    def set(self) -> None:
        if self._asked_at is None:
            self._asked_at = time.monotonic()
        self._event.set()

    def seconds_left(self, grace: float) -> float:
        """What is left of ``grace`` seconds counted from the stop request, so that the steps of a stop share
        one grace rather than each taking its own (the whole of it when no stop was asked: a job that ended
        by itself)."""
        if self._asked_at is None:
            return grace
        return max(0.0, self._asked_at + grace - time.monotonic())

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


class Heartbeat:
    """When a service's main loop last came round. A loop stuck inside one call (a database server that
    stopped answering without closing the connection, a network that drops packets) stops beating, and
    its liveness check fails: nothing else would notice, as no call returns an error."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.last = clock()

    def beat(self) -> None:
        self.last = self.clock()

    def age(self) -> float:
        """Seconds since the last beat."""
        return self.clock() - self.last

    def within(self, seconds: float) -> Callable[[], bool]:
        """A liveness check: the loop came round in the last ``seconds`` (always true for 0)."""
        return lambda: seconds <= 0 or self.age() < seconds


class UnhealthyExit:
    """Stops the service once its liveness has failed for ``after`` seconds (0: never), so that it exits
    with EXIT_UNHEALTHY: supervisors that restart only processes that exit (Docker Compose, systemd,
    ``wirefeed run``) then restart it, as a Kubernetes liveness probe would. A service that cannot stop
    cleanly within ``after`` more seconds (its loop is stuck in a call) is ended at once, with the same
    code: what it had in hand is uncommitted, so a new process reads it again."""

    def __init__(self, failing: Callable[[], list[str]], stop: StopSignal, after: float, every: float = 1.0,
                 *, exit_now: Callable[[int], object] = os._exit) -> None:
        self.failing = failing  # the names of the liveness checks failing now
        self.stop = stop
        self.after = after
        self.every = every
        self.exit_now = exit_now
        self.exit_code = 0

    def start(self) -> UnhealthyExit:
        if self.after > 0:
            threading.Thread(target=self._watch, name="unhealthy-exit", daemon=True).start()
        return self

    def _watch(self) -> None:
        failing_since: float | None = None
        while not self.stop.wait(self.every):
            failing = self.failing()
            if not failing:
                failing_since = None
                continue
            now = time.monotonic()
            failing_since = now if failing_since is None else failing_since
            if now - failing_since >= self.after:
                log.error("service_unhealthy_exiting", unhealthy_seconds=round(now - failing_since),
                          failing=failing, exit_code=EXIT_UNHEALTHY)
                self.exit_code = EXIT_UNHEALTHY
                self.stop.set()
                self._exit_if_still_running()
                return

    def _exit_if_still_running(self) -> None:
        # A daemon thread: when the service stops cleanly in time, the process ends and this wait with it.
        time.sleep(self.after)
        log.error("service_stuck_exiting_now", exit_code=EXIT_UNHEALTHY)
        self.exit_now(EXIT_UNHEALTHY)
