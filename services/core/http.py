"""The per-service HTTP endpoint: ``/metrics``, ``/healthz``, ``/readyz`` and optional extra routes.

Liveness says the process's loop is turning; readiness says it can do its job now (broker reachable,
database writable). Extra routes (the sink's read API) plug in as plain functions of the request.
"""

from __future__ import annotations

import io
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPMethod, HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

MAX_QUERY_BYTES = 4096
#: Connections served at once. Each holds a thread; past this many, a new one is closed at once, so a
#: flood of idle connections costs refused requests, not the threads and file descriptors the service
#: needs for Kafka and its database. Far above what scrapes, probes and the read API's callers need
#: (a read holds one of the database pool's few connections anyway), so a burst of reads does not
#: crowd out a liveness probe.
MAX_CONNECTIONS = 256
#: Seconds a connection may stay silent (mid-request, or not reading the answer) before it is closed.
IDLE_SECONDS = 10.0
#: Seconds a client has, from connecting, to send its whole request (line, headers and any body): one
#: trickling a byte every few seconds is never silent for IDLE_SECONDS, and held its thread for good.
REQUEST_SECONDS = 60.0
#: An answer is written this much at a time: a socket's timeout bounds a whole ``sendall`` (Python 3.5
#: on), so written at once, a read API answer of megabytes had to reach its client within IDLE_SECONDS
#: and was cut off on a slow link. A client must take this much per IDLE_SECONDS to keep its connection.
WRITE_PIECE_BYTES = 64 * 1024
#: What every route answers: the endpoint is read-only, and HEAD is what some load balancers and uptime
#: checkers probe with. Other methods are answered 405 with this as ``Allow``.
ALLOWED_METHODS = "GET, HEAD"


@dataclass(frozen=True)
class Request:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    content_type: str = "application/json"
    #: Called once the answer is written or its client gone (what its route held for it can go).
    sent: Callable[[], None] | None = None
    #: A 503's ``Retry-After``: when the client may try again, if the service knows.
    retry_after_seconds: int | None = None

    @classmethod
    def json(cls, payload: Any, status: int = 200) -> Response:
        return cls(status, json.dumps(payload, default=str).encode())


Route = Callable[[Request], Response]


@dataclass
class Health:
    """What ``/healthz`` and ``/readyz`` report.

    ``checks`` are what readiness waits for (a broker, a database: they come back by themselves);
    ``vital`` ones fail only when a restart is the cure, and then liveness fails too.
    """

    checks: dict[str, Callable[[], bool]] = field(default_factory=dict)
    vital: dict[str, Callable[[], bool]] = field(default_factory=dict)

    def ready(self) -> tuple[bool, dict[str, bool]]:
        results = {name: _passes(check) for name, check in {**self.checks, **self.vital}.items()}
        return all(results.values()), results

    def live(self) -> bool:
        return not self.failing_vital()

    def failing_vital(self) -> list[str]:
        """The vital checks failing now (none: alive)."""
        return [name for name, check in self.vital.items() if not _passes(check)]


def _passes(check: Callable[[], bool]) -> bool:
    try:
        return bool(check())
    except Exception:  # a failing probe means a failed check, never a crashed endpoint
        return False


class BoundedHTTPServer(ThreadingHTTPServer):
    """A thread per connection, as many as ``max_connections`` at once (the services' endpoints and the
    WebSub callback)."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler],
                 max_connections: int = MAX_CONNECTIONS) -> None:
        super().__init__(address, handler)
        self._slots = threading.BoundedSemaphore(max_connections)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:  # no thread started: nothing else gives the slot back
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


class BoundedRequestHandler(BaseHTTPRequestHandler):
    """One request per connection (HTTP/1.0), received whole within ``request_seconds``, and none of its
    reads or its answer's writes silent for ``timeout`` seconds."""

    timeout = IDLE_SECONDS  # the stdlib's default is none: a silent client held its thread for good
    request_seconds = REQUEST_SECONDS

    def setup(self) -> None:
        super().setup()
        self.rfile.close()  # the stdlib's reader, replaced by one that keeps the request's deadline
        deadline = time.monotonic() + self.request_seconds
        self.rfile = io.BufferedReader(_ReadsBefore(self.connection, deadline, self.timeout))

    def answer(self, status: int, body: bytes, content_type: str, retry_after_seconds: int | None = None,
               headers: tuple[tuple[str, str], ...] = ()) -> None:
        """The answer, its body left out for a HEAD request (whose headers, ``Content-Length`` included,
        are those of the GET)."""
        self.connection.settimeout(self.timeout)  # the last read may have left less of the deadline
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if retry_after_seconds is not None:
            self.send_header("Retry-After", str(retry_after_seconds))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command == HTTPMethod.HEAD:
            return
        whole = memoryview(body)
        for start in range(0, len(whole), WRITE_PIECE_BYTES):
            self.wfile.write(whole[start:start + WRITE_PIECE_BYTES])

    def end_headers(self) -> None:
        # Every answer, the stdlib's error pages included: a browser must not read an API's JSON or an
        # echoed WebSub challenge as HTML or script, whatever it guesses from the bytes.
        self.send_header("X-Content-Type-Options", "nosniff")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # stdlib signature
        pass  # scrapes every few seconds would drown the service's own log lines; the WebSub
        # subscriber logs what matters, without query strings that carry challenges


class _ReadsBefore(socket.SocketIO):
    """A connection's reads, each waiting at most ``idle`` seconds, and none past ``deadline``."""

    def __init__(self, connection: socket.socket, deadline: float, idle: float) -> None:
        super().__init__(connection, "rb")
        self.connection = connection
        self.deadline = deadline
        self.idle = idle

    def readinto(self, buffer: Any) -> int | None:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("request not received in time")
        self.connection.settimeout(min(self.idle, left))
        return super().readinto(buffer)


class ServiceHTTPServer:
    def __init__(self, host: str, port: int, health: Health, routes: dict[str, Route] | None = None, *,
                 max_connections: int = MAX_CONNECTIONS, idle_seconds: float = IDLE_SECONDS,
                 request_seconds: float = REQUEST_SECONDS) -> None:
        self.health = health
        self.routes: dict[str, Route] = {
            "/metrics": self._metrics,
            "/healthz": self._healthz,
            "/readyz": self._readyz,
            **(routes or {}),
        }
        self._server = BoundedHTTPServer((host, port), self._handler_class(idle_seconds, request_seconds),
                                          max_connections)
        self._thread = threading.Thread(target=self._server.serve_forever, name="http", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> ServiceHTTPServer:
        self._thread.start()
        return self

    def serve(self, health: Health, routes: dict[str, Route] | None = None) -> ServiceHTTPServer:
        """Answer with ``health``, and ``routes`` besides, from now on (a service that has started: until
        then, its server showed what the start waited for). Each replaced whole, never changed in place,
        as the request threads read them."""
        self.routes = {**self.routes, **(routes or {})}
        self.health = health
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def dispatch(self, request: Request) -> Response:
        route = self.routes.get(request.path) or self._prefix_route(request.path)
        if route is None:
            return Response.json({"error": "not found"}, 404)
        try:
            return route(request)
        except ValueError as error:
            return Response.json({"error": str(error)}, 400)

    def _prefix_route(self, path: str) -> Route | None:
        for prefix, route in self.routes.items():
            if prefix.endswith("/") and path.startswith(prefix):
                return route
        return None

    def _metrics(self, _: Request) -> Response:
        return Response(200, generate_latest(REGISTRY), CONTENT_TYPE_LATEST)

    def _healthz(self, _: Request) -> Response:
        live = self.health.live()
        return Response.json({"status": "ok" if live else "dead"}, 200 if live else 503)

    def _readyz(self, _: Request) -> Response:
        ready, checks = self.health.ready()
        return Response.json({"ready": ready, "checks": checks}, 200 if ready else 503)

    def _handler_class(self, idle_seconds: float, request_time: float) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BoundedRequestHandler):
            timeout = idle_seconds
            request_seconds = request_time

            def do_GET(self) -> None:
                self._send(self._routed())

            # HEAD is routed as a GET, for the same status and headers: a read API answer's status depends on
            # its query (404, 503), so the query runs; only sending the body is saved (answer, by command).
            do_HEAD = do_GET  # noqa: N815

            def not_allowed(self) -> None:
                self._send(Response.json({"error": f"method {self.command} not allowed: this endpoint answers "
                                                   f"{ALLOWED_METHODS} only"}, HTTPStatus.METHOD_NOT_ALLOWED),
                           headers=(("Allow", ALLOWED_METHODS),))

            # The methods HTTP defines (a method it does not is the stdlib's 501, through send_error).
            do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_TRACE = do_CONNECT = not_allowed  # noqa: N815

            def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
                # What the stdlib refuses itself (an unknown method, a malformed request line, headers too
                # long) in the JSON errors' shape, not its HTML page.
                self.close_connection = True
                self._send(Response.json({"error": message or HTTPStatus(code).phrase}, code))

            def _routed(self) -> Response:
                try:
                    url = urlsplit(self.path)
                except ValueError:  # an absolute target with a broken host ("http://[/"): no path to route
                    return Response.json({"error": "malformed request target"}, 400)
                if len(url.query) > MAX_QUERY_BYTES:
                    return Response.json({"error": "query too long"}, 414)
                query = parse_qs(url.query, keep_blank_values=False)
                return server.dispatch(Request(url.path, query, {k.lower(): v for k, v in self.headers.items()}))

            def _send(self, response: Response, headers: tuple[tuple[str, str], ...] = ()) -> None:
                try:
                    self.answer(response.status, response.body, response.content_type, response.retry_after_seconds,
                                headers)
                finally:
                    if response.sent is not None:
                        response.sent()

        return Handler
