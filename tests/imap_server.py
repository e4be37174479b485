"""A real IMAP server on 127.0.0.1 for tests: pymap (its in-memory backend; password and XOAUTH2 logins,
tests/pymap_xoauth2.py) as a process of its own, with messages delivered by IMAP APPEND, as a mail server
files them. It offers STARTTLS with a certificate for 127.0.0.1 that only the context the test gives the
poller trusts; for imaps, a TLS front with the same certificate passes the bytes through to it.
"""

from __future__ import annotations

import imaplib
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from tests.certificates import self_signed_certificate
from tests.helpers import free_port, wait_for

PYMAP = [sys.executable, str(Path(__file__).with_name("pymap_xoauth2.py"))]  # pymap, taking XOAUTH2 too


@dataclass
class ImapServer:
    plain_port: int  # pymap's own port, where the test delivers
    port: int  # where the poller connects: pymap's, or the TLS front's
    user: str
    password: str
    tls_context: ssl.SSLContext | None = None  # trusts the server's certificate
    implicit_tls: bool = False  # imaps: TLS from the first byte; else STARTTLS, where offered
    certificate: tuple[Path, Path] | None = None  # (certificate, key) files, for other servers of the test

    def url(self, mailbox: str = "INBOX") -> str:
        return f"{'imaps' if self.implicit_tls else 'imap'}://{self.user}@127.0.0.1:{self.port}/{mailbox}"

    @contextmanager
    def session(self) -> Iterator[imaplib.IMAP4]:
        client = imaplib.IMAP4("127.0.0.1", self.plain_port, timeout=30)
        try:
            # pymap lets local clients sign in without TLS; SASL PLAIN, as passwords may be beyond ASCII
            client.authenticate("PLAIN", lambda _: f"\0{self.user}\0{self.password}".encode())
            yield client
        finally:
            client.logout()

    def deliver(self, message: bytes, *, age: float = 60.0, mailbox: str = "INBOX") -> None:
        with self.session() as client:
            status, data = client.append(mailbox, None, imaplib.Time2Internaldate(time.time() - age), message)
            assert status == "OK", data

    def unseen(self, mailbox: str = "INBOX") -> int:
        """How many messages nobody has read: the poller must leave them so."""
        with self.session() as client:
            client.select(mailbox, readonly=True)
            status, data = client.search(None, "UNSEEN")
            assert status == "OK", data
            return len(data[0].split())


@contextmanager
def running_imap_server(folder: Path, *, user: str, password: str,
                        implicit_tls: bool = False) -> Iterator[ImapServer]:
    port = free_port()
    cert_file, key_file = self_signed_certificate(folder)
    process = subprocess.Popen(
        [*PYMAP, "--host", "127.0.0.1", "--port", str(port), "--cert", str(cert_file), "--key", str(key_file),
         "dict", "--demo-user", user, "--demo-password", password],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: _greets(port) or process.poll() is not None, timeout=60, message="pymap listening")
        assert process.poll() is None, f"pymap exited with {process.returncode}"
        server = ImapServer(port, port, user, password, ssl.create_default_context(cafile=str(cert_file)),
                            certificate=(cert_file, key_file))
        if not implicit_tls:
            yield server
            return
        with tls_front(port, cert_file, key_file) as front_port:
            server.port, server.implicit_tls = front_port, True
            yield server
    finally:
        process.terminate()
        process.wait(30)


def _greets(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            return sock.recv(64).startswith(b"* OK")
    except OSError:
        return False


@contextmanager
def tls_front(backend_port: int, cert_file: Path, key_file: Path) -> Iterator[int]:
    """A TLS listener that passes each connection's bytes through to the backend, as a TLS-terminating
    proxy in front of a mail server does."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    listener = socket.create_server(("127.0.0.1", 0))

    def serve(client: socket.socket) -> None:
        try:
            secure = context.wrap_socket(client, server_side=True)
        except (ssl.SSLError, OSError):  # a client that does not trust the certificate hangs up here
            client.close()
            return
        backend = socket.create_connection(("127.0.0.1", backend_port))
        threading.Thread(target=pump, args=(backend, secure), daemon=True).start()
        pump(secure, backend)

    def accept() -> None:
        with suppress(OSError):  # the listener closed: the test is over
            while True:
                client, _ = listener.accept()
                threading.Thread(target=serve, args=(client,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield listener.getsockname()[1]
    finally:
        with suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread, as close() alone does not
        listener.close()


def pump(source: socket.socket, target: socket.socket) -> None:
    with suppress(OSError):
        while data := source.recv(65536):
            target.sendall(data)
    for sock in (source, target):
        with suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
