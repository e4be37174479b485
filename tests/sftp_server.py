"""A real SFTP server on 127.0.0.1 for tests (asyncssh's server, serving a local folder as its root).

It runs on an event loop of its own in a thread, so synchronous tests, asynchronous ones and poller
processes can all reach it. It records the logins it accepted and the files opened, so a test can tell
what the poller did on the server, not only what it published.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncssh


@dataclass
class SftpServer:
    root: Path
    host_key: asyncssh.SSHKey
    passwords: dict[str, str]
    client_keys: dict[str, asyncssh.SSHKey]
    port: int = 0
    logins: list[str] = field(default_factory=list)
    opened: list[str] = field(default_factory=list)

    def url(self, path: str = "/", user: str = "wire") -> str:
        return f"sftp://{user}@127.0.0.1:{self.port}{path}"

    def known_hosts(self, folder: Path, key: asyncssh.SSHKey | None = None) -> Path:
        """A known_hosts file trusting this server's host key (or ``key`` instead)."""
        path = folder / "known_hosts"
        public = (key or self.host_key).export_public_key().decode().strip()
        path.write_text(f"[127.0.0.1]:{self.port} {public}\n")
        return path


class _Logins(asyncssh.SSHServer):
    def __init__(self, server: SftpServer) -> None:
        self.server = server
        self.username = ""

    def begin_auth(self, username: str) -> bool:
        self.username = username
        return True

    def auth_completed(self) -> None:
        self.server.logins.append(self.username)

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return self.server.passwords.get(username) == password

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        known = self.server.client_keys.get(username)
        return known is not None and known.public_data == key.public_data


class _RecordingSFTP(asyncssh.SFTPServer):
    def __init__(self, chan: asyncssh.SSHServerChannel, server: SftpServer) -> None:
        super().__init__(chan, chroot=str(server.root).encode())
        self.server = server

    def open(self, path: bytes, pflags: int, attrs: asyncssh.SFTPAttrs) -> Any:
        self.server.opened.append(Path(os.fsdecode(path)).name)
        return super().open(path, pflags, attrs)


@contextmanager
def running_sftp_server(root: Path, *, passwords: dict[str, str] | None = None,
                        client_keys: dict[str, asyncssh.SSHKey] | None = None) -> Iterator[SftpServer]:
    server = SftpServer(root, asyncssh.generate_private_key("ssh-ed25519"), passwords or {}, client_keys or {})
    loop = asyncio.new_event_loop()
    started = threading.Event()

    async def listen() -> asyncssh.SSHAcceptor:
        return await asyncssh.listen(
            "127.0.0.1", 0, server_host_keys=[server.host_key], server_factory=lambda: _Logins(server),
            sftp_factory=lambda chan: _RecordingSFTP(chan, server), allow_scp=False)

    def serve() -> None:
        asyncio.set_event_loop(loop)
        acceptor = loop.run_until_complete(listen())
        server.port = acceptor.get_port()
        started.set()
        loop.run_forever()
        acceptor.close()
        loop.run_until_complete(acceptor.wait_closed())
        # Sessions whose client is gone but whose close has not arrived yet (through a proxy, say): ended
        # here, not left for the garbage collector to report at exit.
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.close()

    thread = threading.Thread(target=serve, name="sftp-server", daemon=True)
    thread.start()
    if not started.wait(30):
        raise RuntimeError("the test SFTP server did not start within 30 s")
    try:
        yield server
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
