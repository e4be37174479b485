"""The pipeline supervisor's own checks (its runs are tested end to end in tests/e2e)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from services.cli import main
from services.core.errors import PortInUseError
from services.core.supervise import DEFAULT_PORTS, Pipeline
from tests.helpers import free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def no_ports_from_outside(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in DEFAULT_PORTS:
        monkeypatch.delenv(f"WIREFEED_{name.upper()}_METRICS_PORT", raising=False)
    monkeypatch.delenv("WIREFEED_METRICS_PORT", raising=False)


def test_two_services_on_one_metrics_port_are_refused_before_anything_starts() -> None:
    env = {"WIREFEED_POLLER_METRICS_PORT": "19401", "WIREFEED_SINK_METRICS_PORT": "19401"}
    with pytest.raises(ValueError, match="poller and sink are both given metrics port 19401"):
        Pipeline(env)


def test_wirefeed_run_says_which_ports_collide_and_starts_nothing(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("WIREFEED_NORMALIZER_METRICS_PORT", "9401")  # the poller's default
    assert main(["run"]) == 2
    assert "poller and normalizer are both given metrics port 9401" in capsys.readouterr().err


def test_distinct_ports_any_free_ports_and_the_defaults_are_accepted() -> None:
    assert Pipeline({"WIREFEED_SINK_METRICS_PORT": "19403"}).port("sink") == 19403
    anywhere = {f"WIREFEED_{name.upper()}_METRICS_PORT": "0" for name in DEFAULT_PORTS}
    assert {Pipeline(anywhere).port(name) for name in DEFAULT_PORTS} == {0}
    assert {Pipeline({}).port(name) for name in DEFAULT_PORTS} == set(DEFAULT_PORTS.values())


def test_one_service_alone_is_not_compared_with_the_others() -> None:
    env = {"WIREFEED_POLLER_METRICS_PORT": "19402"}  # the normalizer's default, but it is not run
    assert Pipeline(env, services=("poller",)).port("poller") == 19402


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port another process's server holds (here: a socket listening on it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", free_port()))
        holder.listen()
        yield int(holder.getsockname()[1])


def test_a_pipeline_whose_port_another_process_holds_starts_nothing_and_says_which(taken_port: int) -> None:
    # Started anyway, the service on it died while the other process answered its readiness checks, and
    # the demo reported that other pipeline's figures as its own.
    env = {"WIREFEED_METRICS_HOST": "127.0.0.1", "WIREFEED_POLLER_METRICS_PORT": str(free_port()),
           "WIREFEED_NORMALIZER_METRICS_PORT": str(free_port()), "WIREFEED_SINK_METRICS_PORT": str(taken_port)}
    pipeline = Pipeline(env)
    try:
        with pytest.raises(PortInUseError, match=f"the sink's metrics port {taken_port} on 127.0.0.1 is in use by "
                                                 "another process .*set WIREFEED_SINK_METRICS_PORT to a free port"):
            pipeline.start()
        assert pipeline.processes == {}
    finally:
        pipeline.stop(timeout=10)


def test_a_service_whose_port_is_taken_says_so_in_one_line_not_a_traceback(taken_port: int, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "WIREFEED_METRICS_HOST": "127.0.0.1",
           "WIREFEED_SINK_METRICS_PORT": str(taken_port), "WIREFEED_LOG_FORMAT": "json",
           "WIREFEED_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}",
           "WIREFEED_DATABASE_URL": f"sqlite:///{tmp_path / 'w.db'}"}
    result = subprocess.run([sys.executable, "-m", "services.cli", "sink"], env=env, capture_output=True, text=True,
                            timeout=60, check=False)
    assert (result.returncode, result.stderr) == (2, (
        f"wirefeed: metrics port {taken_port} on 127.0.0.1 is in use by another process (another wirefeed "
        "running?): stop it, or set WIREFEED_SINK_METRICS_PORT or WIREFEED_METRICS_PORT to a free port\n"))


def test_a_service_that_exits_by_itself_is_named_with_its_exit_code(tmp_path: Path) -> None:
    (tmp_path / "feeds.yaml").write_text("feeds:\n  - id: a\n    url: http://x.example/a\n    intreval: 60\n")
    env = {"WIREFEED_FEEDS_FILE": str(tmp_path / "feeds.yaml"), "WIREFEED_METRICS_HOST": "127.0.0.1",
           "WIREFEED_POLLER_METRICS_PORT": str(free_port()), "PYTHONPATH": str(ROOT),
           "WIREFEED_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}"}
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    try:
        with capture_logs() as logs:
            assert Pipeline(env, services=("poller",)).start().wait() == 1  # the poller refuses the feeds file
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    assert {"event": "service_exited", "service": "poller", "exit_code": 2, "then": "stopping the others",
            "log_level": "error"} in logs
