"""The WebSub callback endpoint: a small HTTP server of its own inside the poller process.

The service endpoint (``services/core/http.py``) answers GETs only and is meant for scrapers on an
internal port; hubs call in from outside with GET (verification) and POST (content), so the callback
listens on its own port (``WIREFEED_WEBSUB_PORT``). Paths are ``…/<feed id>``.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler
from urllib.parse import SplitResult, parse_qsl, urlsplit

from services.core.http import IDLE_SECONDS, REQUEST_SECONDS, BoundedHTTPServer, BoundedRequestHandler
from services.core.numbers import whole_number
from services.poller.feeds import FEED_ID
from services.poller.websub import WebSubSubscriber

#: Callers served at once. Hubs, and anyone else on the Internet, call in, and each POST may hold a body
#: of up to WIREFEED_MAX_BODY_BYTES (16 MiB) before its signature can be checked: 16 of them at most.
#: Hubs push seldom and retry a refused delivery.
MAX_CONNECTIONS = 16


class WebSubServer:
    def __init__(self, host: str, port: int, subscriber: WebSubSubscriber, max_body_bytes: int, *,
                 idle_seconds: float = IDLE_SECONDS, request_seconds: float = REQUEST_SECONDS) -> None:
        self.subscriber = subscriber
        self.max_body_bytes = max_body_bytes
        self._server = BoundedHTTPServer((host, port), self._handler_class(idle_seconds, request_seconds),
                                          MAX_CONNECTIONS)
        self._thread = threading.Thread(target=self._server.serve_forever, name="websub", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> WebSubServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler_class(self, idle_seconds: float, request_time: float) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Handler(BoundedRequestHandler):
            timeout = idle_seconds
            request_seconds = request_time

            def do_GET(self) -> None:
                if (url := _target(self.path)) is None:
                    self._send(400, b"malformed request target")
                    return
                if (feed_id := _feed_id(url.path)) is None:
                    self._send(404, b"")
                    return
                params = dict(parse_qsl(url.query[:8192]))
                status, body = owner.subscriber.verify(feed_id, params)
                self._send(status, body)

            def do_POST(self) -> None:
                if (url := _target(self.path)) is None:
                    self._send(400, b"malformed request target")
                    return
                if (feed_id := _feed_id(url.path)) is None:
                    self._send(404, b"")
                    return
                length = whole_number(self.headers.get("Content-Length"))
                if length is None:
                    self._send(411, b"")
                    return
                if length > owner.max_body_bytes:
                    self._send(413, b"")
                    return
                body = self.rfile.read(int(length))
                headers = {k.lower(): v for k, v in self.headers.items()}
                self._send(owner.subscriber.deliver(feed_id, body, headers), b"")

            def _send(self, status: int, body: bytes) -> None:
                self.answer(status, body, "text/plain")

        return Handler


def _target(path: str) -> SplitResult | None:
    """The request target split, or None when it is no URL: an absolute target with a broken host
    ("http://[/") makes urlsplit raise, which would drop the connection unanswered."""
    try:
        return urlsplit(path)
    except ValueError:
        return None


def _feed_id(path: str) -> str | None:
    """The path's last part, when it can be a feed's id: anything else (a NUL, which PostgreSQL would refuse
    in the lookup) is no subscription of this poller's."""
    feed_id = path.rstrip("/").rsplit("/", 1)[-1]
    return feed_id if FEED_ID.fullmatch(feed_id) else None
