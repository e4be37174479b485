"""A database password never shows in a service's logs, even while the database refuses it or is gone."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import free_port, wait_for

PASSWORD = "S3cret-Do-Not-Log-9f2"


@pytest.mark.parametrize("service", ["normalizer", "sink"])
def test_the_database_password_stays_out_of_the_logs(service: str, tmp_path: Path,
                                                     kafka_bootstrap: str, topic_prefix: str) -> None:
    output = tmp_path / "service.log"
    env = {"PATH": "/usr/bin:/bin", "WIREFEED_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
           "WIREFEED_TOPIC_PREFIX": topic_prefix, "WIREFEED_LOG_FORMAT": "json",
           f"WIREFEED_{service.upper()}_METRICS_PORT": str(free_port()),
           # Nothing listens on port 1: the service must wait for its database, saying so without the URL.
           "WIREFEED_DATABASE_URL": f"postgresql://wirefeed:{PASSWORD}@127.0.0.1:1/wirefeed"}
    with output.open("w") as sink:
        process = subprocess.Popen([sys.executable, "-m", "services.cli", service], env=env,
                                   stdout=sink, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: "database_unavailable" in output.read_text(), timeout=60,
                 message="the service to report its database unavailable")
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0  # stops cleanly while waiting
    finally:
        if process.poll() is None:
            process.kill()
    text = output.read_text()
    assert PASSWORD not in text
    assert "Traceback" not in text
