"""JSON logs stay one object per line when several services share one stream (``wirefeed run``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WRITER = """
import structlog, sys
from services.core.logging import configure_logging
configure_logging("INFO", "json", service=sys.argv[1])
log = structlog.get_logger()
for n in range(2000):
    log.info("tick", n=n, padding="x" * 200)
"""


def test_lines_from_concurrent_unbuffered_processes_do_not_interleave(tmp_path: Path) -> None:
    # Unbuffered, as the container image runs: print() then writes a line and its newline separately.
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT)}
    with (tmp_path / "log").open("wb") as shared:
        writers = [subprocess.Popen([sys.executable, "-c", WRITER, name], stderr=shared, env=env, cwd=ROOT)
                   for name in ("poller", "normalizer", "sink")]
        assert [writer.wait(timeout=120) for writer in writers] == [0, 0, 0]
    lines = (tmp_path / "log").read_text().splitlines()
    events = [json.loads(line) for line in lines]  # a line holding two objects, or half of one, fails here
    assert len(events) == 3 * 2000
    assert {event["service"] for event in events} == {"poller", "normalizer", "sink"}


LIBRARY = """
import logging, threading, structlog
from services.core.logging import configure_logging
configure_logging("INFO", "json", service="sink")
logging.getLogger("kafka.conn").info("chatter below warning")
logging.getLogger("kafka.conn").warning("broker %s gone", "b-1")
slow = "Task %r ran for %.3fs (>0.100s threshold). It is blocking the event loop"
logging.getLogger("kafka.net.selector").warning(slow % ("<step>", 0.132))  # GIL contention: left out
logging.getLogger("kafka.net.selector").warning(slow % ("<step>", 2.5))
try:
    raise ValueError("bad row")
except ValueError:
    logging.getLogger("psycopg.pool").exception("pool failed")
for transport in ("<KafkaTCPTransport [none] (closed)>", "<KafkaTCPTransport [b-1] (connected)>"):
    try:  # kafka-python's read of a socket its close() let go of: noise on a closed connection only
        None.recv(4096)
    except BaseException:
        logging.getLogger("kafka.net.transport").exception("%s: Error receiving network data closing socket",
                                                           transport)
def elsewhere():  # threads start with an empty context
    logging.getLogger("kafka.net").warning("from the network thread")
    structlog.get_logger().warning("callback_failed")
thread = threading.Thread(target=elsewhere)
thread.start()
thread.join()
"""


def test_libraries_logging_through_the_standard_library_write_json_too() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", LIBRARY], capture_output=True, text=True, env=env, cwd=ROOT,
                            timeout=60, check=True)
    events = [json.loads(line) for line in result.stderr.splitlines()]
    assert [(e.get("logger"), e["level"], e["event"], e["service"]) for e in events] == [
        ("kafka.conn", "warning", "broker b-1 gone", "sink"),
        ("kafka.net.selector", "warning", "Task '<step>' ran for 2.500s (>0.100s threshold). It is blocking the "
                                          "event loop", "sink"),
        ("psycopg.pool", "error", "pool failed", "sink"),
        ("kafka.net.transport", "error", "<KafkaTCPTransport [b-1] (connected)>: Error receiving network data "
                                         "closing socket", "sink"),
        ("kafka.net", "warning", "from the network thread", "sink"), (None, "warning", "callback_failed", "sink")]
    assert events[2]["exception"].endswith("ValueError: bad row")


CRASH = """
import threading
from services.core.logging import configure_logging
configure_logging("INFO", "json", service="sink")
worker = threading.Thread(target=lambda: 1 / 0, name="retention")
worker.start()
worker.join()
raise OSError(98, "Address already in use")
"""


def test_a_crash_is_logged_as_json_and_still_fails_the_process() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", CRASH], capture_output=True, text=True, env=env, cwd=ROOT,
                            timeout=60, check=False)
    assert result.returncode == 1
    events = [json.loads(line) for line in result.stderr.splitlines()]
    assert [(e["event"], e["level"], e["service"], e.get("thread")) for e in events] == [
        ("uncaught_exception", "critical", "sink", "retention"), ("uncaught_exception", "critical", "sink", None)]
    assert events[0]["exception"].endswith("ZeroDivisionError: division by zero")
    assert events[1]["exception"].endswith("OSError: [Errno 98] Address already in use")
