"""/healthz and /readyz: readiness waits for dependencies; a vital check failing means restart me."""

from __future__ import annotations

import http.client
import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from services.core.http import Health, Response, ServiceHTTPServer
from services.core.runner import EXIT_UNHEALTHY, Heartbeat, StopSignal, UnhealthyExit
from tests.helpers import trickle, wait_for


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


def test_a_service_unhealthy_for_the_set_time_stops_itself_to_exit_unhealthy(switches: dict[str, bool]) -> None:
    switches["producer"] = False
    stop = StopSignal()
    ended: list[int] = []
    unhealthy = UnhealthyExit(Health(vital={"producer": lambda: switches["producer"]}).failing_vital, stop,
                              after=0.3, every=0.02, exit_now=ended.append).start()
    wait_for(stop.is_set, timeout=10, message="the service stopping itself")
    assert unhealthy.exit_code == EXIT_UNHEALTHY == 70
    assert Health(vital={"producer": lambda: False, "loop_turning": lambda: True}).failing_vital() == ["producer"]
    # A service that does not stop within `after` more seconds (stuck in a call) is ended at once.
    wait_for(lambda: ended == [EXIT_UNHEALTHY], timeout=10, message="the process ended with code 70")


def test_a_loop_that_stops_coming_round_fails_liveness() -> None:
    now = [100.0]
    heartbeat = Heartbeat(clock=lambda: now[0])
    health = Health(vital={"loop_turning": heartbeat.within(300)})
    now[0] += 299
    assert health.live()
    now[0] += 2  # 301 s since the last turn: stuck in a call
    assert not health.live()
    heartbeat.beat()
    assert health.live()
    assert Heartbeat(clock=lambda: now[0]).within(0)()  # 0: never checked


def test_liveness_that_comes_back_in_time_keeps_the_service_running() -> None:
    outcomes = iter([False] * 5 + [True] * 1_000_000)  # failing for ~0.1 s, then live for good
    checks: list[bool] = []
    stop = StopSignal()

    def live() -> bool:
        checks.append(next(outcomes))
        return checks[-1]

    unhealthy = UnhealthyExit(Health(vital={"producer": live}).failing_vital, stop, after=0.5, every=0.02).start()
    wait_for(lambda: len(checks) > 60, timeout=10, message="more than 0.5 s of checks")  # past `after`
    stop.set()
    assert unhealthy.exit_code == 0



def _silent_connection(server: ServiceHTTPServer) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=5)


def test_a_connection_that_stays_silent_is_closed() -> None:
    server = ServiceHTTPServer("127.0.0.1", 0, Health(), idle_seconds=0.2).start()
    try:
        with _silent_connection(server) as silent:
            assert silent.recv(1) == b""  # closed by the server, well before the client's 5 s
    finally:
        server.stop()


def test_a_large_answer_reaches_a_client_slower_than_the_idle_bound_allows_for_the_whole() -> None:
    # Written in one sendall, whose timeout bounds the whole call, an answer taking longer than the idle
    # bound to read was cut off: 8 MiB of read API JSON needed a client faster than 7 Mbit/s.
    body = bytes(range(256)) * (12 * 1024 * 1024 // 256)
    server = ServiceHTTPServer("127.0.0.1", 0, Health(), {"/big": lambda _: Response(200, body, "text/plain")},
                               idle_seconds=2.5).start()  # well above a pause, well below the whole read
    try:
        with socket.socket() as client:
            client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
            client.settimeout(10)
            client.connect(("127.0.0.1", server.port))
            client.sendall(b"GET /big HTTP/1.0\r\n\r\n")
            received = _read_slowly(client, pause=0.02)  # about 3 MB/s: 4 s for the whole
        assert received.endswith(b"\r\n\r\n" + body)
    finally:
        server.stop()


def _read_slowly(client: socket.socket, pause: float) -> bytes:
    pieces = []
    while piece := client.recv(64 * 1024):
        pieces.append(piece)
        time.sleep(pause)  # a slow link, not a wait for a condition: the client's own pace
    return b"".join(pieces)


@pytest.mark.parametrize("start", [b"GET /healthz HTTP/1.0\r\nX-Slow: ", b"GET /healthz"])
def test_a_request_trickling_in_is_closed_when_its_time_is_up(start: bytes) -> None:
    # A byte every 50 ms is never silent for the idle bound: before the request's own deadline, such
    # clients held their threads, and 256 of them the endpoint, for as long as they liked.
    server = ServiceHTTPServer("127.0.0.1", 0, Health(), idle_seconds=1.0, request_seconds=0.5).start()
    try:
        assert trickle(server.port, start) is not None  # closed, well before the client's 5 s
        assert _get(server, "/healthz") == (200, {"status": "ok"})
    finally:
        server.stop()


def test_connections_past_the_bound_are_closed_at_once_and_served_again_when_slots_free() -> None:
    server = ServiceHTTPServer("127.0.0.1", 0, Health(), max_connections=2, idle_seconds=60).start()
    try:
        holders = [_silent_connection(server), _silent_connection(server)]
        with _silent_connection(server) as third:
            third.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
            assert third.recv(100) == b""  # no answer: both slots are held (for 60 s), so it is closed
        for holder in holders:
            holder.close()  # a slot comes back as soon as its connection ends
        # A request right after a served one may still find its slot taken (the slot is given back when
        # the handler returns, just after the answer is out): the answer is waited for, not asked twice.
        wait_for(lambda: _answer(server) == (200, {"status": "ok"}), timeout=10)
    finally:
        server.stop()


def _answer(server: ServiceHTTPServer) -> tuple[int, object] | None:
    try:
        return _get(server, "/healthz")
    except (urllib.error.URLError, ConnectionError, json.JSONDecodeError):
        return None


@pytest.mark.parametrize("path", ["/articles", "/metrics", "/healthz"])
def test_a_request_target_that_is_no_url_is_answered_400(path: str, capsys: pytest.CaptureFixture[str]) -> None:
    # urlsplit raises on an unbalanced "[" in the host: the request went unanswered, its traceback to stderr.
    server = ServiceHTTPServer("127.0.0.1", 0, Health(), {"/articles": lambda _: Response.json({})}).start()
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as client:
            client.sendall(f"GET http://[{path} HTTP/1.0\r\n\r\n".encode())
            answer = _read_slowly(client, pause=0)
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.0 400 ") and b"Content-Type: application/json" in head
        assert json.loads(body) == {"error": "malformed request target"}
        assert _get(server, "/healthz") == (200, {"status": "ok"})
    finally:
        server.stop()
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/healthz", 200), ("GET", "/nothing-here", 404), ("HEAD", "/readyz", 200), ("POST", "/healthz", 405),
    ("BREW", "/healthz", 501),  # refused by the stdlib itself
])
def test_every_answer_tells_browsers_not_to_guess_its_type(server: ServiceHTTPServer, method: str, path: str,
                                                           status: int) -> None:
    body = b"" if method == "POST" else None
    request = urllib.request.Request(f"http://127.0.0.1:{server.port}{path}", data=body, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            answered, headers = response.status, response.headers
    except urllib.error.HTTPError as error:
        answered, headers = error.code, error.headers
    assert answered == status
    assert headers["X-Content-Type-Options"] == "nosniff"


def _exchange(server: ServiceHTTPServer, method: str, path: str,
              body: bytes | None = None) -> tuple[http.client.HTTPResponse, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        connection.request(method, path, body=body)
        response = connection.getresponse()
        return response, response.read()
    finally:
        connection.close()


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics", "/extra", "/nothing-here"])
@pytest.mark.parametrize("ready", [True, False])
def test_head_answers_as_get_does_without_the_body(path: str, ready: bool) -> None:
    # Load balancers and uptime checkers that probe with HEAD were answered 501, an HTML page, as if down.
    server = ServiceHTTPServer("127.0.0.1", 0, Health({"database": lambda: ready}),
                               {"/extra": lambda _: Response(200, b"extra", "text/plain")}).start()
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as client:
            client.sendall(f"HEAD {path} HTTP/1.0\r\n\r\n".encode())
            head = _read_slowly(client, pause=0)
        got, _ = _exchange(server, "GET", path)
    finally:
        server.stop()
    status_line, _, rest = head.partition(b"\r\n")
    headers, _, body = rest.partition(b"\r\n\r\n")
    assert int(status_line.split()[1]) == got.status
    assert body == b""  # not a byte past the headers
    sent = dict(line.decode().split(": ", 1) for line in headers.split(b"\r\n"))
    for name in ("Content-Type", "X-Content-Type-Options"):
        assert sent[name] == got.headers[name]
    if path != "/metrics":  # its counters may move between the two requests
        assert sent["Content-Length"] == got.headers["Content-Length"]


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics", "/nothing-here"])
def test_methods_other_than_get_and_head_are_405_with_allow_and_a_json_error(server: ServiceHTTPServer, method: str,
                                                                             path: str) -> None:
    answer, body = _exchange(server, method, path, body=b'{"x": 1}' if method in ("POST", "PUT", "PATCH") else None)
    assert answer.status == 405
    assert answer.headers["Allow"] == "GET, HEAD"
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert json.loads(body) == {"error": f"method {method} not allowed: this endpoint answers GET, HEAD only"}


def test_a_method_the_server_does_not_know_is_501_as_a_json_error(server: ServiceHTTPServer) -> None:
    answer, body = _exchange(server, "BREW", "/healthz")
    assert (answer.status, answer.headers["Content-Type"]) == (501, "application/json")
    assert json.loads(body) == {"error": "Unsupported method ('BREW')"}
