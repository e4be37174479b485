"""/healthz and /readyz: readiness waits for dependencies; a vital check failing means restart me."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from services.core.http import Health, ServiceHTTPServer


@pytest.fixture
def switches() -> dict[str, bool]:
    return {"database": True, "producer": True}


@pytest.fixture
def server(switches: dict[str, bool]) -> Iterator[ServiceHTTPServer]:
    health = Health({"database": lambda: switches["database"], "flaky": lambda: True},
                    vital={"producer": lambda: switches["producer"]})
    server = ServiceHTTPServer("127.0.0.1", 0, health).start()
    yield server
    server.stop()


def _get(server: ServiceHTTPServer, path: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}{path}", timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_a_dependency_down_is_not_ready_but_alive(server: ServiceHTTPServer, switches: dict[str, bool]) -> None:
    assert _get(server, "/readyz")[0] == 200 and _get(server, "/healthz") == (200, {"status": "ok"})
    switches["database"] = False
    assert _get(server, "/readyz") == (503, {"ready": False, "checks": {"database": False, "flaky": True,
                                                                        "producer": True}})
    assert _get(server, "/healthz") == (200, {"status": "ok"})


def test_a_vital_check_failing_is_neither_ready_nor_alive(server: ServiceHTTPServer,
                                                          switches: dict[str, bool]) -> None:
    switches["producer"] = False
    assert _get(server, "/readyz")[0] == 503
    assert _get(server, "/healthz") == (503, {"status": "dead"})


def test_a_probe_that_raises_counts_as_failed() -> None:
    def crashing() -> bool:
        raise RuntimeError("probe crashed")

    health = Health({"database": crashing}, vital={"producer": crashing})
    assert health.ready() == (False, {"database": False, "producer": False})
    assert not health.live()
