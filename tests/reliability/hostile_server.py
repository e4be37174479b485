"""A feed server on 127.0.0.1 whose paths misbehave the way real feed servers do."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class HostileServer:
    healthy: dict[str, bytes] = field(default_factory=dict)   # path -> feed body, served normally
    behaviour: dict[str, str] = field(default_factory=dict)   # path -> name of a misbehaviour
    release: threading.Event = field(default_factory=threading.Event)  # ends hanging answers at teardown
    server: ThreadingHTTPServer | None = None

    def start(self) -> HostileServer:
        handler = type("Handler", (_Handler,), {"owner": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def url(self, path: str) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def heal(self, path: str, body: bytes) -> None:
        self.behaviour.pop(path, None)
        self.healthy[path] = body

    def stop(self) -> None:
        self.release.set()
        if self.server:
            self.server.shutdown()
            self.server.server_close()


class _Handler(BaseHTTPRequestHandler):
    owner: HostileServer

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        misbehaviour = self.owner.behaviour.get(self.path)
        if misbehaviour:
            getattr(self, f"_{misbehaviour}")()
            return
        body = self.owner.healthy.get(self.path)
        if body is None:
            self._answer(404, b"")
            return
        self._answer(200, body, "application/rss+xml; charset=utf-8")

    def _answer(self, status: int, body: bytes, content_type: str = "text/plain",
                extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _hang(self) -> None:  # accepts, then never answers within the poller's timeouts
        self.owner.release.wait(30)

    def _error_500(self) -> None:
        self._answer(500, b"internal error")

    def _rate_limited(self) -> None:
        self._answer(429, b"slow down", extra={"Retry-After": "1"})

    def _drip(self) -> None:  # a byte at a time, slower than the total timeout allows
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", "100000")
        self.end_headers()
        for _ in range(200):
            if self.owner.release.wait(0.1):
                return
            self.wfile.write(b" ")
            self.wfile.flush()

    def _close_mid_body(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", "5000")
        self.end_headers()
        self.wfile.write(b"<?xml version='1.0'?><rss version='2.0'><channel><title>cut")
        self.wfile.flush()
        self.close_connection = True

    def _redirect_loop(self) -> None:
        self._answer(302, b"", extra={"Location": self.path})

    def log_message(self, format: str, *args: Any) -> None:
        pass
