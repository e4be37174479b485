"""A response body's Content-Encoding undone a bounded piece at a time.

httpx decodes each chunk read from the network whole: one 64 KiB chunk of a gzip bomb becomes 64 MiB at
once, and a body encoded twice (``Content-Encoding: gzip, gzip``) a thousand times that, a few kilobytes
on the wire taking gigabytes before any size check could run. Here every step returns at most
``PIECE_BYTES``, and each layer stops once it has given more than the decompressed bound.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence

#: The most one decompression call returns: what a layer holds at once.
PIECE_BYTES = 64 * 1024
#: Layers of encoding undone at most: a server has no reason to compress a body more than twice.
MAX_LAYERS = 3
# zlib's window bits per encoding (RFC 9110 section 8.4.1): gzip's header and trailer, or zlib's. A
# deflate body without zlib's header (as some servers send it) is read raw, as browsers and httpx do.
_WBITS = {"gzip": zlib.MAX_WBITS | 16, "x-gzip": zlib.MAX_WBITS | 16, "deflate": zlib.MAX_WBITS}


class DecodingError(Exception):
    """A body that is not what its Content-Encoding says, or encoded in too many layers."""


class TooLargeError(Exception):
    """A layer of the body decodes to more than the bound."""


class _Layer:
    def __init__(self, encoding: str, limit: int) -> None:
        self.encoding = encoding
        self.limit = limit
        self.given = 0
        self.first = True
        self.decompressor = zlib.decompressobj(_WBITS[encoding])

    def feed(self, data: bytes) -> Iterator[bytes]:
        """``data`` decoded, in pieces of at most PIECE_BYTES."""
        while not self.decompressor.eof:
            piece = self._decompress(data)
            self.given += len(piece)
            if self.given > self.limit:
                raise TooLargeError(f"decompressed body exceeds {self.limit} bytes")
            if piece:
                yield piece
            data = self.decompressor.unconsumed_tail
            if not data and len(piece) < PIECE_BYTES:
                return  # all input taken and no output left waiting

    def _decompress(self, data: bytes) -> bytes:
        first, self.first = self.first, False
        try:
            return self.decompressor.decompress(data, PIECE_BYTES)
        except zlib.error as error:
            if first and self.encoding == "deflate":  # no zlib header: raw deflate
                self.decompressor = zlib.decompressobj(-zlib.MAX_WBITS)
                return self._decompress(data)
            raise DecodingError(f"{self.encoding}: {error}") from error


class BodyDecoder:
    """The decoding of one response body, for its Content-Encoding values as listed (applied in that
    order, so undone in the reverse). Encodings it does not know are left as they are, as httpx leaves them."""

    def __init__(self, encodings: Sequence[str], limit: int) -> None:
        known = [value.strip().lower() for value in encodings if value.strip().lower() in _WBITS]
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
