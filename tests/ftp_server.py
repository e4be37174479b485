"""A real FTP server on 127.0.0.1 for tests (pyftpdlib, serving a local folder), plain or with explicit
TLS, or implicit TLS (a certificate made for 127.0.0.1 and trusted only by the context the test gives the
poller).

It runs in a thread of its own and records the logins it accepted and the files downloaded.
"""

from __future__ import annotations

import logging
import ssl
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.certificates import self_signed_certificate

with warnings.catch_warnings():  # on Python 3.11 pyftpdlib runs on asyncore, which warns it is deprecated
    warnings.simplefilter("ignore", DeprecationWarning)
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler, TLS_FTPHandler
    from pyftpdlib.servers import FTPServer as _Server

logging.getLogger("pyftpdlib").setLevel(logging.WARNING)  # a line per command otherwise


@dataclass
class FtpServer:
    root: Path
    port: int = 0
    tls_context: ssl.SSLContext | None = None  # trusts the server's certificate (TLS servers only)
    logins: list[str] = field(default_factory=list)
    opened: list[str] = field(default_factory=list)

    def url(self, path: str = "/", user: str = "wire") -> str:
        return f"{'ftps' if self.tls_context else 'ftp'}://{user}@127.0.0.1:{self.port}{path}"


def _handler(server: FtpServer, base: type[FTPHandler], *, mlsd: bool, implicit_tls: bool) -> type[FTPHandler]:
    class Recording(base):  # type: ignore[valid-type, misc]
        unicode_errors = "surrogateescape"  # names pass as the bytes they are, as with vsftpd or ProFTPD

        if not mlsd:  # as vsftpd: no MLSD, so listings take NLST, SIZE and MDTM
            proto_cmds = {name: spec for name, spec in base.proto_cmds.items() if name not in ("MLSD", "MLST")}

        def handle(self) -> None:
            if implicit_tls:  # TLS from the first byte; the greeting once it is up
                self.secure_connection(self.ssl_context)
            else:
                super().handle()

        def handle_ssl_established(self) -> None:
            if implicit_tls:
                super().handle()

        def on_login(self, username: str) -> None:
            server.logins.append(username)

        def ftp_RETR(self, file: str) -> Any:  # noqa: N802 (pyftpdlib names its command handlers so)
            server.opened.append(Path(file).name)
            return super().ftp_RETR(file)

    return Recording


@contextmanager
def running_ftp_server(root: Path, *, passwords: dict[str, str], tls_folder: Path | None = None,
                       implicit_tls: bool = False, mlsd: bool = True,
                       pasv_address: str | None = None) -> Iterator[FtpServer]:
    """``tls_folder``: TLS with a certificate made there, explicit or ``implicit_tls``. ``pasv_address``: the
    address PASV answers name instead of the server's own (a hostile or misconfigured server pointing data
    connections elsewhere)."""
    server = FtpServer(root)
    authorizer = DummyAuthorizer()
    for user, password in passwords.items():
        authorizer.add_user(user, password, str(root), perm="elr")  # read-only, as agencies' accounts are
    handler = _handler(server, TLS_FTPHandler if tls_folder else FTPHandler, mlsd=mlsd, implicit_tls=implicit_tls)
    handler.authorizer = authorizer
    handler.banner = "wirefeed test FTP"
    handler.masquerade_address = pasv_address
    if tls_folder is not None:
        cert_file, key_file = self_signed_certificate(tls_folder)
        handler.certfile, handler.keyfile = str(cert_file), str(key_file)
        handler.tls_control_required = handler.tls_data_required = True
        server.tls_context = ssl.create_default_context(cafile=str(cert_file))
    ftpd = _Server(("127.0.0.1", 0), handler)
    server.port = ftpd.address[1]
    stopping = threading.Event()

    def serve() -> None:
        while not stopping.is_set():
            ftpd.ioloop.loop(0.05, blocking=False)
        ftpd.close_all()

    thread = threading.Thread(target=serve, name="ftp-server", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        stopping.set()
        thread.join(30)
