"""TCP connections through an HTTP proxy's ``CONNECT`` (RFC 9110 9.3.6), for the feeds that are not HTTP.

Behind an egress proxy (``WIREFEED_HTTP_PROXY``) SFTP, FTP and IMAP servers are reached the way a browser
reaches an HTTPS site: the proxy is asked to open a connection to the server's host and port, and the
protocol then runs over it, TLS and all, end to end. FTP's data connections are tunnelled the same way.
The proxy resolves the server's name; wirefeed's address check applies where this host can resolve it too.
"""

from __future__ import annotations

import base64
import socket
from urllib.parse import unquote, urlsplit

#: A proxy's answer to CONNECT is a status line and a few headers; more is no proxy's.
MAX_ANSWER_BYTES = 16 * 1024


class TunnelError(OSError):
    """The proxy cannot be reached, or would not open the connection."""


def tunnel(proxy_url: str, host: str, port: int, timeout: float) -> socket.socket:
    """A connection to ``host:port`` through the proxy, ready for the protocol's first byte; blocks."""
    proxy = urlsplit(proxy_url)
    if proxy.scheme != "http" or not proxy.hostname:
        raise TunnelError(f"only an http:// proxy carries SFTP, FTP and IMAP connections, not {proxy.scheme}://")
    authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    request = f"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n"
    if proxy.username is not None:
        login = f"{unquote(proxy.username)}:{unquote(proxy.password or '')}".encode()
        request += f"Proxy-Authorization: Basic {base64.b64encode(login).decode('ascii')}\r\n"
    sock = socket.create_connection((proxy.hostname, proxy.port or 80), timeout)
    try:
        sock.sendall((request + "\r\n").encode("ascii"))
        status = _status_line(sock)
    except BaseException:
        sock.close()
        raise
    if not status.startswith(("HTTP/1.1 2", "HTTP/1.0 2")):
        sock.close()
        raise TunnelError(f"the proxy would not connect to {authority}: {status[:200]}")
    return sock


def _status_line(sock: socket.socket) -> str:
    """The answer's status line, its headers read to their end and no further: the server's first bytes
    (an SSH banner, an FTP greeting) may follow at once."""
    answer = b""
    while not answer.endswith(b"\r\n\r\n"):
        byte = sock.recv(1)
        if not byte:
            raise TunnelError("the proxy closed the connection before answering CONNECT")
        answer += byte
        if len(answer) > MAX_ANSWER_BYTES:
            raise TunnelError(f"the proxy's answer to CONNECT runs past {MAX_ANSWER_BYTES} bytes")
    return answer.split(b"\r\n", 1)[0].decode("latin-1")
