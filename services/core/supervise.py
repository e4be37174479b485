"""Run the three services as child processes (``wirefeed run`` and the demo) and stop them cleanly."""

from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping

import httpx
import structlog
from prometheus_client.parser import text_string_to_metric_families

from services.core.errors import PortInUseError
from services.core.runner import EXIT_UNHEALTHY

log = structlog.get_logger(__name__)

SERVICES = ("poller", "normalizer", "sink")
DEAD_LETTERING = ("normalizer", "sink")  # the stages that dead-letter what they cannot process
DEFAULT_PORTS = {"poller": 9401, "normalizer": 9402, "sink": 9403}
#: How long a service's /healthz may fail under ``wirefeed run`` before it exits to be restarted, as a
#: Kubernetes liveness probe would restart it: a Kafka producer in kafka-python's fatal state (refused
#: its producer id by an ACL, say) is mended only by a new process.
RESTART_UNHEALTHY_AFTER_SECONDS = 30.0


class Pipeline:
    def __init__(self, env: Mapping[str, str] | None = None, services: tuple[str, ...] = SERVICES) -> None:
        self.env = {**os.environ, **(env or {})}
        # One WIREFEED_METRICS_PORT would make the three services collide; each gets its own.
        shared_port = self.env.pop("WIREFEED_METRICS_PORT", None)
        for name in services:
            key = f"WIREFEED_{name.upper()}_METRICS_PORT"
            if shared_port is not None and key not in self.env:
                self.env[key] = str(DEFAULT_PORTS[name])
        self.services = services
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self._check_ports_distinct()

    def _check_ports_distinct(self) -> None:
        # Two services given one port: the second dies unable to bind it while the first answers its
        # readiness checks, and the pipeline would look ready. Port 0 is any free port: never shared.
        by_port: dict[int, str] = {}
        for name in self.services:
            port = self.port(name)
            if port and (other := by_port.setdefault(port, name)) != name:
                raise ValueError(f"{other} and {name} are both given metrics port {port}: "
                                 f"set WIREFEED_{other.upper()}_METRICS_PORT and "
                                 f"WIREFEED_{name.upper()}_METRICS_PORT apart")

    def start(self) -> Pipeline:
        self._check_ports_free()
        for name in self.services:
            self.processes[name] = subprocess.Popen([sys.executable, "-m", "services.cli", name], env=self.env)
        return self

    def _check_ports_free(self) -> None:
        # A port another process holds (a `wirefeed run` already up) kills the service started on it, while
        # the other process answers in its place: the pipeline would look ready, and the demo would report
        # the other pipeline's figures as its own. PortInUseError before anything starts instead.
        host = self.env.get("WIREFEED_METRICS_HOST", "0.0.0.0")
        for name in self.services:
            if _port_in_use(host, self.port(name)):
                raise PortInUseError(f"the {name}'s metrics port {self.port(name)} on {host} is in use by another "
                                     f"process (another wirefeed running?): stop it, or set "
                                     f"WIREFEED_{name.upper()}_METRICS_PORT to a free port")

    def kill(self, name: str) -> None:
        """SIGKILL one service (fault tests): no clean-up runs in it."""
        process = self.processes[name]
        process.kill()
        process.wait(30)

    def restart(self, name: str) -> None:
        if self.processes[name].poll() is None:
            raise RuntimeError(f"{name} is still running")
        self.processes[name] = subprocess.Popen([sys.executable, "-m", "services.cli", name], env=self.env)

    def port(self, name: str) -> int:
        return int(self.env.get(f"WIREFEED_{name.upper()}_METRICS_PORT", DEFAULT_PORTS[name]))

    def alive(self) -> dict[str, bool]:
        return {name: process.poll() is None for name, process in self.processes.items()}

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        pending = set(self.services)
        while pending:
            for name in list(pending):
                if self.processes[name].poll() is not None:
                    raise RuntimeError(f"{name} exited with {self.processes[name].returncode}")
                if _ready(self.port(name)):
                    pending.discard(name)
            if time.monotonic() > deadline:
                raise TimeoutError(f"not ready within {timeout:g}s: {sorted(pending)}")
            time.sleep(0.2)

    def stop(self, timeout: float = 30.0) -> dict[str, int | None]:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        return {name: _ended(process, timeout) for name, process in self.processes.items()}

    def wait(self) -> int:
        """Wait until one service exits (or we are signalled), then stop the others; one that exited
        unhealthy (its /healthz failed for WIREFEED_EXIT_UNHEALTHY_AFTER_SECONDS) is restarted instead.
        SIGHUP is passed on to the poller, which reads its feeds file again."""
        stop_requested = []
        signal.signal(signal.SIGTERM, lambda *_: stop_requested.append(True))
        signal.signal(signal.SIGINT, lambda *_: stop_requested.append(True))
        signal.signal(signal.SIGHUP, lambda *_: self._signal("poller", signal.SIGHUP))
        while not stop_requested and self.restart_unhealthy():
            time.sleep(0.2)
        codes = self.stop()
        return 0 if stop_requested and all(code == 0 for code in codes.values()) else 1

    def restart_unhealthy(self) -> bool:
        """True while every service runs; one that stopped itself as unhealthy is restarted first."""
        for name, process in self.processes.items():
            code = process.poll()
            if code == EXIT_UNHEALTHY:
                log.warning("service_restarted", service=name, reason="exited unhealthy", exit_code=code)
                self.restart(name)
            elif code is not None:  # said, as the others' stop lines would otherwise be all there is to read
                log.error("service_exited", service=name, exit_code=code, then="stopping the others")
                return False
        return True

    def _signal(self, name: str, signum: signal.Signals) -> None:
        process = self.processes.get(name)
        if process is not None and process.poll() is None:
            process.send_signal(signum)


def _ended(process: subprocess.Popen[bytes], timeout: float) -> int | None:
    """The process's exit code once it has ended, SIGKILLed (None) if it has not within ``timeout``."""
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return None


def _port_in_use(host: str, port: int) -> bool:
    """Whether another process holds ``port`` on ``host``, bound as a service binds its metrics port."""
    if port == 0:  # any free port
        return False
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as http.server's HTTPServer does
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return True
            raise
    return False


def _ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def scrape(port: int) -> dict[str, float]:
    """A service's /metrics, read by metric_values."""
    return metric_values(httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text)


def metric_values(text: str) -> dict[str, float]:
    """Each sample of a /metrics page by sample name and labels, e.g. ``name{label="x"}``; ValueError, or
    IndexError (the parser's own, on some broken labels), when the text is not Prometheus's format."""
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            key = f"{sample.name}{{{labels}}}" if labels else sample.name
            values[key] = sample.value
    return values


def metric_total(values: Mapping[str, float], name: str, **labels: str) -> float:
    """Sum of every series of ``name`` whose labels include ``labels``."""
    total = 0.0
    for key, value in values.items():
        series, _, rest = key.partition("{")
        if series != name:
            continue
        if all(f'{k}="{v}"' in rest for k, v in labels.items()):
            total += value
    return total
