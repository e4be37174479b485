"""The benchmarks' feed server on 127.0.0.1: a minimal asyncio HTTP/1.1 server with keep-alive, in one
thread, so that serving 10,000 feeds stays cheap and steady (a thread per connection fights over the GIL
and adds latency spikes). A request for ``/N.xml`` is answered by ``answer(N, its If-None-Match)``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

Answer = Callable[[int, str | None], bytes]


async def serve(answer: Answer, listening: Callable[[int], None]) -> None:
    """Serve until cancelled; ``listening`` is told the port first."""
    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                lines = head.decode("latin-1").split("\r\n")
                feed = int(lines[0].split()[1].strip("/").removesuffix(".xml"))
                headers = {k.lower(): v for k, v in (line.split(": ", 1) for line in lines[1:] if ": " in line)}
                writer.write(answer(feed, headers.get("if-none-match")))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(connection, "127.0.0.1", 0, backlog=1024)
    listening(server.sockets[0].getsockname()[1])
    await server.serve_forever()


def not_modified(etag: str) -> bytes:
    return f"HTTP/1.1 304 Not Modified\r\nETag: {etag}\r\nContent-Length: 0\r\n\r\n".encode()


def feed_response(body: bytes, etag: str | None = None) -> bytes:
    """A 200 with an RSS body, written in one piece (no Nagle stall between headers and body)."""
    validator = f"ETag: {etag}\r\n" if etag else ""
    return (f"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n{validator}"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body
