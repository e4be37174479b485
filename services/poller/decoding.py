"""A response body's Content-Encoding undone a bounded piece at a time.

httpx decodes each chunk read from the network whole: one 64 KiB chunk of a gzip bomb becomes 64 MiB at
once, and a body encoded twice (``Content-Encoding: gzip, gzip``) a thousand times that, a few kilobytes
on the wire taking gigabytes before any size check could run. Here every step returns at most
``PIECE_BYTES``, and each layer stops once it has given more than the decompressed bound.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence
from typing import Protocol

import brotli

from services.core.compression import zstd, zstd_frame_decompressor

#: The most one decompression call returns: what a layer holds at once (brotli's buffer may grow past
#: it by one of its blocks).
PIECE_BYTES = 64 * 1024
#: Layers of encoding undone at most: a server has no reason to compress a body more than twice.
MAX_LAYERS = 3
#: zstd frames one body may hold one after another. Each costs a decompressor (about 50 µs) and a copy of
#: the rest of its chunk: a body of countless empty frames (9 bytes each) took 6 s a MiB to read.
MAX_ZSTD_FRAMES = 1_000
# zlib's window bits per encoding (RFC 9110 section 8.4.1): gzip's header and trailer, or zlib's. A
# deflate body without zlib's header (as some servers send it) is read raw, as browsers and httpx do.
_WBITS = {"gzip": zlib.MAX_WBITS | 16, "x-gzip": zlib.MAX_WBITS | 16, "deflate": zlib.MAX_WBITS}
#: The Content-Encoding values undone here, and the Accept-Encoding that offers them.
ENCODINGS = ("gzip", "x-gzip", "deflate", "br", "zstd")
ACCEPT_ENCODING = "gzip, deflate, br, zstd"


class DecodingError(Exception):
    """A body that is not what its Content-Encoding says, or encoded in too many layers."""


class TooLargeError(Exception):
    """A layer of the body decodes to more than the bound."""


class _Codec(Protocol):
    def step(self, data: bytes) -> bytes:
        """Some of ``data`` (and of what earlier steps kept) decoded, at most about PIECE_BYTES."""

    @property
    def finished(self) -> bool:
        """The end of the encoded stream was reached: what follows is ignored."""

    @property
    def hungry(self) -> bool:
        """All input taken and no output waiting: the next step needs more data."""


class _Zlib:
    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._decompressor = zlib.decompressobj(_WBITS[encoding])
        self._first = True
        self._full = False

    def step(self, data: bytes) -> bytes:
        first, self._first = self._first, False
        data = self._decompressor.unconsumed_tail + data
        try:
            piece = self._decompressor.decompress(data, PIECE_BYTES)
        except zlib.error as error:
            if not (first and self.encoding == "deflate"):
                raise DecodingError(f"{self.encoding}: {error}") from error
            self._decompressor = zlib.decompressobj(-zlib.MAX_WBITS)  # no zlib header: raw deflate
            piece = self._decompressor.decompress(data, PIECE_BYTES)
        self._full = len(piece) == PIECE_BYTES
        return piece

    @property
    def finished(self) -> bool:
        return self._decompressor.eof

    @property
    def hungry(self) -> bool:
        return not self._decompressor.unconsumed_tail and not self._full


class _Brotli:
    def __init__(self) -> None:
        self._decompressor = brotli.Decompressor()

    def step(self, data: bytes) -> bytes:
        try:
            return bytes(self._decompressor.process(data, output_buffer_limit=PIECE_BYTES))
        except brotli.error as error:
            raise DecodingError(f"br: {error}") from error

    @property
    def finished(self) -> bool:
        return bool(self._decompressor.is_finished())

    @property
    def hungry(self) -> bool:
        return bool(self._decompressor.can_accept_more_data())


class _Zstd:
    """Frame after frame, as zstd(1) reads them: a body may be written as several."""

    def __init__(self) -> None:
        self._decompressor = zstd_frame_decompressor()
        self._frames = 1

    def step(self, data: bytes) -> bytes:
        if self._decompressor.eof:
            data = self._decompressor.unused_data + data
            if not data:
                return b""
            self._frames += 1
            if self._frames > MAX_ZSTD_FRAMES:
                raise DecodingError(f"zstd: more than {MAX_ZSTD_FRAMES} frames one after another")
            self._decompressor = zstd_frame_decompressor()
        try:
            return self._decompressor.decompress(data, PIECE_BYTES)
        except zstd.ZstdError as error:
            raise DecodingError(f"zstd: {error}") from error

    @property
    def finished(self) -> bool:
        return False  # another frame may follow

    @property
    def hungry(self) -> bool:
        if self._decompressor.eof:
            return not self._decompressor.unused_data
        return self._decompressor.needs_input


def _codec(encoding: str) -> _Codec:
    if encoding == "br":
        return _Brotli()
    if encoding == "zstd":
        return _Zstd()
    return _Zlib(encoding)


class _Layer:
    def __init__(self, encoding: str, limit: int) -> None:
        self.limit = limit
        self.given = 0
        self.codec = _codec(encoding)

    def feed(self, data: bytes) -> Iterator[bytes]:
        """``data`` decoded, in pieces of at most about PIECE_BYTES."""
        while not self.codec.finished:
            piece = self.codec.step(data)
            data = b""
            self.given += len(piece)
            if self.given > self.limit:
                raise TooLargeError(f"decompressed body exceeds {self.limit} bytes")
            if piece:
                yield piece
            if self.codec.hungry:
                return


class BodyDecoder:
    """The decoding of one response body, for its Content-Encoding values as listed (applied in that
    order, so undone in the reverse). Encodings it does not know are left as they are, as httpx leaves them."""

    def __init__(self, encodings: Sequence[str], limit: int) -> None:
        known = [value.strip().lower() for value in encodings if value.strip().lower() in ENCODINGS]
        if len(known) > MAX_LAYERS:
            raise DecodingError(f"{len(known)} layers of Content-Encoding (at most {MAX_LAYERS} are undone)")
        self._layers = [_Layer(encoding, limit) for encoding in reversed(known)]

    def feed(self, data: bytes) -> Iterator[bytes]:
        """The decoded pieces of the next raw bytes of the body."""
        return self._through(0, data)

    def _through(self, index: int, data: bytes) -> Iterator[bytes]:
        if index == len(self._layers):
            if data:
                yield data
            return
        for piece in self._layers[index].feed(data):
            yield from self._through(index + 1, piece)
