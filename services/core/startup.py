"""A service's start: its endpoint answers while it waits for its broker and database.

Containers often start before their dependencies, and a service waits for each (``kafka_unavailable``,
``database_unavailable`` warnings, backing off; SIGTERM stops it at once). Its endpoint used to come up
only after: meanwhile every connection was refused, so Prometheus saw the target down and the runbook's
``GET /readyz`` could not say which dependency was missing. Now the endpoint serves from the first moment:
``/healthz`` 200 (alive, and trying), ``/readyz`` 503 naming the dependency waited for as false
(``{"started": false, "kafka": false}``, then ``"kafka": true, "database": false``), ``/metrics`` the
process's metrics. Once started, the same server answers with the service's own checks.

Up and alive, a waiting service is no target down, and where no readiness probe watches it (Compose,
systemd, ``wirefeed run``) nothing would notice that it does nothing: ``wirefeed_startup_waiting`` is 1
per dependency waited for, for the WirefeedServiceWaitingAtStart alert.
"""

from __future__ import annotations

import errno
from collections.abc import Callable

from services.core.config import CommonSettings, setting_variables
from services.core.db import TRANSIENT_ERRORS
from services.core.errors import PortInUseError
from services.core.http import Health, Route, ServiceHTTPServer
from services.core.kafka import wait_for_topics
from services.core.metrics import STARTUP_WAITING
from services.core.runner import StopSignal, retry_until_done


class Startup:
    """The waits of a service's start, each shown on its endpoint, which serves from construction on."""

    def __init__(self, settings: CommonSettings, stop: StopSignal) -> None:
        self.settings = settings
        self.stop = stop
        # Not ready until started (the steps after the waits, loading models and making clients, take a
        # while too), and each dependency waited for so far: false while waiting, true once there.
        self.health = Health({"started": _not_yet})
        self.server = _serve(settings, self.health)

    def kafka(self, topics: list[str]) -> bool:
        """Wait until Kafka answers and holds ``topics``: True, or False when stopped first."""
        return self._wait("kafka", lambda: wait_for_topics(self.settings, topics, self.stop))

    def database(self, name: str, migrate: Callable[[], object]) -> bool:
        """Wait until ``migrate`` has run on the database the service's readiness calls ``name``: True, or
        False when stopped first."""
        return self._wait(name, lambda: retry_until_done(migrate, self.stop, "database_unavailable",
                                                         transient=TRANSIENT_ERRORS))

    def started(self, health: Health, routes: dict[str, Route] | None = None) -> ServiceHTTPServer:
        """The service runs: its endpoint answers with its own checks, and ``routes``, from now on."""
        return self.server.serve(health, routes)

    def stopped(self) -> int:
        """Stopped while waiting: the endpoint closes. The exit code: 0, as for any stop asked for."""
        self.server.stop()
        return 0

    def _wait(self, dependency: str, wait: Callable[[], bool]) -> bool:
        # A new dict each time: the server's threads read the checks while this one changes them.
        self.health.checks = {**self.health.checks, dependency: _not_yet}
        STARTUP_WAITING.labels(dependency).set(1)
        there = wait()
        if there:
            self.health.checks = {**self.health.checks, dependency: _there}
            STARTUP_WAITING.labels(dependency).set(0)
        return there


def _serve(settings: CommonSettings, health: Health) -> ServiceHTTPServer:
    try:
        return ServiceHTTPServer(settings.metrics_host, settings.metrics_port, health).start()
    except OSError as error:
        if error.errno != errno.EADDRINUSE:
            raise
        variables = " or ".join(setting_variables(type(settings))["metrics_port"])
        raise PortInUseError(f"metrics port {settings.metrics_port} on {settings.metrics_host} is in use by "
                             f"another process (another wirefeed running?): stop it, or set {variables} to a "
                             "free port") from None


def _not_yet() -> bool:
    return False


def _there() -> bool:
    return True
