"""An HTTP proxy on 127.0.0.1 for tests that answers CONNECT only, as an egress proxy does for TLS: it
opens the connection asked for, passes bytes both ways, and records each target (and the credentials it
was given). ``refuse`` makes it answer 403 instead."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

from tests.imap_server import pump


@dataclass
class ConnectProxy:
    port: int = 0
    targets: list[str] = field(default_factory=list)
    authorizations: list[str] = field(default_factory=list)
    refuse: bool = False

    def url(self, login: str = "") -> str:
        return f"http://{login + '@' if login else ''}127.0.0.1:{self.port}"

    def serve(self, client: socket.socket) -> None:
        with client.makefile("rb") as lines:
            request = lines.readline().decode("latin-1").split()
            while (line := lines.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                if name.lower() == "proxy-authorization":
                    self.authorizations.append(value.strip())
        if len(request) < 2 or request[0] != "CONNECT" or self.refuse:
            client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            client.close()
            return
        self.targets.append(request[1])
        host, _, port = request[1].rpartition(":")
        upstream = socket.create_connection((host.strip("[]"), int(port)))
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        threading.Thread(target=pump, args=(upstream, client), daemon=True).start()
        pump(client, upstream)


@contextmanager
def running_connect_proxy() -> Iterator[ConnectProxy]:
    proxy = ConnectProxy()
    listener = socket.create_server(("127.0.0.1", 0))
    proxy.port = listener.getsockname()[1]

    def accept() -> None:
        with suppress(OSError):  # the listener closed: the test is over
            while True:
                client, _ = listener.accept()
                threading.Thread(target=proxy.serve, args=(client,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield proxy
    finally:
        with suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)
        listener.close()
