"""A service's endpoint answers while it waits at start, saying for what (services/core/startup.py)."""

from __future__ import annotations

import json
import sqlite3
import threading
import urllib.error
import urllib.request

from services.core.config import CommonSettings
from services.core.http import Health, Response
from services.core.runner import StopSignal
from services.core.startup import Startup
from tests.helpers import free_port, wait_for


def _get(port: int, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _readyz(port: int) -> tuple[int, dict[str, bool]]:
    status, body = _get(port, "/readyz")
    return status, json.loads(body)["checks"]


def _settings() -> CommonSettings:
    return CommonSettings(kafka_bootstrap_servers=f"127.0.0.1:{free_port()}",  # type: ignore[call-arg]
                          metrics_host="127.0.0.1", metrics_port=0)


def test_waiting_for_kafka_it_is_alive_not_ready_names_kafka_and_stops_when_asked() -> None:
    stop = StopSignal()
    startup = Startup(_settings(), stop)
    port = startup.server.port
    waiting: list[bool] = []
    thread = threading.Thread(target=lambda: waiting.append(startup.kafka(["t.raw-items.v1"])))
    thread.start()
    try:
        wait_for(lambda: _readyz(port) == (503, {"started": False, "kafka": False}), timeout=10,
                 message="/readyz naming kafka")
        assert _get(port, "/healthz") == (200, b'{"status": "ok"}')
        status, metrics = _get(port, "/metrics")
        assert status == 200 and b"process_start_time_seconds" in metrics
        assert b'wirefeed_startup_waiting{dependency="kafka"} 1.0' in metrics  # WirefeedServiceWaitingAtStart
    finally:
        stop.set()
        thread.join(timeout=10)
    assert waiting == [False]  # stopped, not there
    assert startup.stopped() == 0


def test_waiting_for_the_database_then_started_it_answers_with_the_services_own_checks() -> None:
    stop, answering = StopSignal(), threading.Event()

    def migrate() -> None:
        if not answering.is_set():
            raise sqlite3.OperationalError("database is locked")

    startup = Startup(_settings(), stop)
    port = startup.server.port
    try:
        waiting = threading.Thread(target=lambda: startup.database("database", migrate))
        waiting.start()
        wait_for(lambda: _readyz(port) == (503, {"started": False, "database": False}), timeout=10,
                 message="/readyz naming the database")
        assert b'wirefeed_startup_waiting{dependency="database"} 1.0' in _get(port, "/metrics")[1]
        answering.set()
        waiting.join(timeout=10)  # its back-off is 0.5 s, then 1 s
        assert not waiting.is_alive()
        assert _readyz(port) == (503, {"started": False, "database": True})  # not ready before it runs
        assert b'wirefeed_startup_waiting{dependency="database"} 0.0' in _get(port, "/metrics")[1]
        assert _get(port, "/articles")[0] == 404
        startup.started(Health({"database": lambda: True}), routes={"/articles": lambda _: Response.json([])})
        assert _readyz(port) == (200, {"database": True})
        assert _get(port, "/articles") == (200, b"[]")
    finally:
        stop.set()
        startup.server.stop()
