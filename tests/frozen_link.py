"""A TCP link on 127.0.0.1 to a real server that a test can freeze: while frozen, nothing crosses it in
either direction, yet every connection stays open. That is what a server that hangs, or a network that
drops packets, looks like to a client: its call neither returns nor fails."""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType


class FrozenLink:
    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._thawed = threading.Event()
        self._thawed.set()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = False

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    def __enter__(self) -> FrozenLink:
        threading.Thread(target=self._accept, name="frozen-link", daemon=True).start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def freeze(self) -> None:
        self._thawed.clear()

    def thaw(self) -> None:
        """Carry bytes again, those held first: a network that heals delivers what it had in flight."""
        self._thawed.set()

    def close(self) -> None:
        """Cut every connection (the server sees its client gone) and stop listening."""
        with self._lock:
            self._closed = True
            sockets, self._sockets = self._sockets, []
        for sock in [self._listener, *sockets]:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self._thawed.set()  # pumps holding data wake up, find their sockets closed and end

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            with self._lock:
                if self._closed:
                    client.close()
                    server.close()
                    return
                self._sockets += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                return
            self._thawed.wait()  # frozen: the bytes read are held, and nothing more is read
            if self._closed:
                return
            if not data:  # one side closed: tell the other
                with contextlib.suppress(OSError):
                    sink.shutdown(socket.SHUT_WR)
                return
            try:
                sink.sendall(data)
            except OSError:
                return
