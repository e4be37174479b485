"""Archives among spooled files: some agencies bundle a batch of stories into one ``.zip`` or tar file (a
``.tar.gz`` or ``.tar.zst``, say), or compress each file with gzip, bzip2, xz or zstd, and deliver it like
any other file. Each document inside is read as a file of its own would be; the archive is one file to the
spool (processed, or failed as a whole with the member that failed named).

An archive is untrusted input: members are counted and each is read with a bound, whatever sizes its
directory declares, so a decompression bomb stops at the limits; nested archives are not opened.
"""

from __future__ import annotations

import bz2
import functools
import io
import lzma
import re
import tarfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from services.core.compression import zipfile, zstd
from services.poller.spool import UnusableFileError, skipped_name

#: Documents an archive may hold: a batch is hundreds of stories; more is no agency's delivery.
MAX_MEMBERS = 10_000
_ZIP = b"PK\x03\x04"
#: Compressed streams one file may hold one after another: a parallel compressor writes one per block of
#: a MiB or more, and a file of countless empty streams would only cost time to walk.
MAX_STREAMS = 1_000
#: Output decompressed at once, its bound taken from the reserve first.
_STEP = 1024 * 1024
#: Input a stream is first given; each slice after is twice the last, up to _STEP.
_FIRST_INPUT = 1024
_NOT_ZERO = re.compile(rb"[^\0]")
_ZLIB = type(zlib.decompressobj())
_BUFFERING = (bz2.BZ2Decompressor, lzma.LZMADecompressor, zstd.ZstdDecompressor)  # keep unread input
_TAR_MAGIC, _TAR_MAGIC_AT = b"ustar", 257  # POSIX and GNU tar headers alike


class Reserve(Protocol):
    """Where the bytes unpacked are counted (a poll's share of the poller's body budget, ``budget.py``)."""

    def take(self, size: int) -> None: ...

    def give_back(self, size: int) -> None: ...


class _Uncounted:
    def take(self, size: int) -> None:
        pass

    def give_back(self, size: int) -> None:
        pass


UNCOUNTED: Reserve = _Uncounted()


class _Decompressor(Protocol):
    @property
    def eof(self) -> bool: ...

    @property
    def unused_data(self) -> bytes: ...

    def decompress(self, data: bytes | memoryview, max_length: int = -1, /) -> bytes: ...


@dataclass(frozen=True)
class _Compression:
    label: str
    magic: tuple[bytes, ...]  # what the file starts with
    suffix: str  # dropped from the file's name to name its one document
    decompressor: Callable[[], _Decompressor]


_COMPRESSIONS = (
    _Compression("gzip", (b"\x1f\x8b",), ".gz", lambda: zlib.decompressobj(16 + zlib.MAX_WBITS)),
    _Compression("bzip2", (b"BZh",), ".bz2", bz2.BZ2Decompressor),
    _Compression("xz", (b"\xfd7zXZ\x00",), ".xz", lambda: lzma.LZMADecompressor(lzma.FORMAT_XZ)),
    # A frame, or a skippable frame (pzstd starts each frame with one); a frame that needs a window over
    # zstd's default limit (128 MiB of memory) is refused, as zstd(1) refuses it.
    _Compression("zstd", (b"\x28\xb5\x2f\xfd", *(bytes([0x50 + n]) + b"\x2a\x4d\x18" for n in range(16))), ".zst",
                 zstd.ZstdDecompressor),
)


class ArchiveError(UnusableFileError):
    """An archive that cannot be read as it is, or that holds more than the limits allow."""


@dataclass(frozen=True)
class Limits:
    member_bytes: int  # one document, as a spooled file may be (WIREFEED_MAX_BODY_BYTES)
    total_bytes: int  # all of them, as a decompressed body may be (WIREFEED_MAX_DECOMPRESSED_BYTES)


def is_archive(body: bytes) -> bool:
    return body.startswith(_ZIP) or _is_tar(body) or _compression_of(body) is not None


def _compression_of(body: bytes) -> _Compression | None:
    return next((kind for kind in _COMPRESSIONS if body.startswith(kind.magic)), None)


def _is_tar(body: bytes) -> bool:
    return body[_TAR_MAGIC_AT:_TAR_MAGIC_AT + len(_TAR_MAGIC)] == _TAR_MAGIC


def documents(body: bytes, name: str, limits: Limits, reserve: Reserve = UNCOUNTED) -> list[tuple[str, bytes]]:
    """The documents in an archive (``is_archive``), each named: a zip's or a tar's regular files (folders,
    links, hidden files and macOS resource forks left out), or the one file gzip, bzip2, xz or zstd compressed.
    Each read takes its bound from ``reserve`` first, so a bomb is refused before it is unpacked."""
    if body.startswith(_ZIP):
        return _zip_members(body, name, limits, reserve)
    if _is_tar(body):
        return _tar_members(body, name, limits, reserve)
    kind = _compression_of(body)
    if kind is None:
        raise ArchiveError(f"{name}: not an archive")  # callers ask is_archive() first
    # A compressed tar may come to the whole decompressed bound; a compressed document only to a document's.
    unpacked = _decompressed(body, name, kind, max(limits.member_bytes, limits.total_bytes), reserve)
    if _is_tar(unpacked):
        return _tar_members(unpacked, name, limits, reserve)
    if len(unpacked) > limits.member_bytes:
        raise ArchiveError(f"{name}: its document is larger than {limits.member_bytes} bytes "
                           "(WIREFEED_MAX_BODY_BYTES)")
    return [(name.removesuffix(kind.suffix), unpacked)]


def _decompressed(body: bytes, name: str, kind: _Compression, limit: int, reserve: Reserve) -> bytes:
    """The body decompressed, stream after stream, reading no more than ``limit`` bytes out of it, a step at
    a time: each step's bound is taken from ``reserve`` before it is read, so a file that unpacks to little
    holds little (the whole bound taken at once would refuse it when the budget is busy).

    Streams one after another are joined, as gunzip, bunzip2 and unxz join them: parallel compressors
    (pbzip2, lbzip2, ``xz -T``, pzstd) and writers that flush as they go (gzip members) write one file so.
    At most MAX_STREAMS: the body is walked in time linear in its length, but each stream costs a
    decompressor, and an empty gzip member is 20 bytes."""
    out = _Output(name, kind, limit, reserve)
    view, offset, streams = memoryview(body), 0, 0
    while offset < len(body):
        streams += 1
        if streams > MAX_STREAMS:
            raise ArchiveError(f"{name}: more than {MAX_STREAMS} {kind.label} streams one after another")
        # Past zeros after the stream: xz's stream padding (gzip and bzip2 tolerate zeros too).
        after = _NOT_ZERO.search(body, _stream(out, view, offset))
        offset = len(body) if after is None else after.start()
    return _joined(out.pieces, out.size, reserve)


@dataclass
class _Output:
    """What the streams of one file have unpacked so far, and the bounds it is read within."""

    name: str
    kind: _Compression
    limit: int
    reserve: Reserve
    pieces: list[bytes] = field(default_factory=list)
    size: int = 0

    def read(self, decompressor: _Decompressor, data: bytes | memoryview) -> bool:
        """One step of output from ``data`` and what the decompressor holds; True when it needs more input."""
        most = min(_STEP, self.limit - self.size + 1)
        try:
            piece = _within(self.reserve, most, functools.partial(_step, decompressor, data, most))
        except (zlib.error, OSError, lzma.LZMAError, zstd.ZstdError, EOFError) as error:  # bz2: OSError
            raise ArchiveError(f"{self.name}: not a readable {self.kind.label} file: {error}") from error
        self.pieces.append(piece)
        self.size += len(piece)
        if self.size > self.limit:
            raise ArchiveError(f"{self.name}: it decompresses to more than {self.limit} bytes "
                               "(WIREFEED_MAX_DECOMPRESSED_BYTES)")
        return not decompressor.eof and _starved(decompressor, len(piece) < most)


def _stream(out: _Output, view: memoryview, start: int) -> int:
    """One stream read from ``start``; where the input after it starts.

    The input is given in slices, each twice the one before (up to _STEP): a stream is given less than
    twice its own length and a slice more, so what a decompressor hands back unread past a stream's end,
    a copy, stays as short, and the rest of the body is never copied once per stream."""
    decompressor = out.kind.decompressor()
    fed, size, hungry = start, _FIRST_INPUT, True
    while not decompressor.eof:
        data = view[fed:fed + size] if hungry else b""
        if hungry:
            if not data:
                raise ArchiveError(f"{out.name}: the {out.kind.label} file is cut short")
            fed, size = fed + len(data), min(2 * size, _STEP)
        hungry = out.read(decompressor, data)
    return fed - len(decompressor.unused_data)


def _step(decompressor: _Decompressor, data: bytes | memoryview, most: int) -> bytes:
    if isinstance(decompressor, _ZLIB):  # zlib hands back the input it did not read; the others keep it
        data = decompressor.unconsumed_tail + data
    return decompressor.decompress(data, most)


def _starved(decompressor: _Decompressor, short: bool) -> bool:
    """All input read and no output waiting, before the stream's end."""
    if isinstance(decompressor, _BUFFERING):
        return decompressor.needs_input
    return short and isinstance(decompressor, _ZLIB) and not decompressor.unconsumed_tail


def _joined(pieces: list[bytes], size: int, reserve: Reserve) -> bytes:
    """The pieces as one document; the copy is counted while the pieces still live."""
    if len(pieces) == 1:
        return pieces[0]
    reserve.take(size)
    joined = b"".join(pieces)
    pieces.clear()
    reserve.give_back(size)
    return joined


def _zip_members(body: bytes, name: str, limits: Limits, reserve: Reserve) -> list[tuple[str, bytes]]:
    try:
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            members = [info for info in archive.infolist() if _is_document(info)]
            if len(members) > MAX_MEMBERS:
                raise ArchiveError(f"{name}: more than {MAX_MEMBERS} documents")
            return _bounded(name, "zip", limits, ((info.filename, _member(archive, info, name, limits.member_bytes,
                                                                          reserve))
                                                  for info in members))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as error:
        raise ArchiveError(f"{name}: not a readable zip file: {error}") from error


def _tar_members(body: bytes, name: str, limits: Limits, reserve: Reserve) -> list[tuple[str, bytes]]:
    """A tar's regular files. Nothing is extracted to disk: names are only labels, so paths that climb out
    (``../``) or links cannot reach anything."""
    try:
        with tarfile.open(fileobj=io.BytesIO(body), mode="r:") as archive:
            return _bounded(name, "tar", limits, _tar_documents(archive, name, limits.member_bytes, reserve))
    except (tarfile.TarError, EOFError) as error:
        raise ArchiveError(f"{name}: not a readable tar file: {error}") from error


def _tar_documents(archive: tarfile.TarFile, name: str, limit: int,
                   reserve: Reserve) -> Iterator[tuple[str, bytes]]:
    # Every header counts, not just documents: an archive of endless empty entries stops at the bound too.
    for entries, info in enumerate(archive, start=1):
        if entries > MAX_MEMBERS:
            raise ArchiveError(f"{name}: more than {MAX_MEMBERS} documents")
        if info.isfile() and _is_document_name(info.name):
            yield info.name, _tar_member(archive, info, name, limit, reserve)


def _bounded(name: str, kind: str, limits: Limits, members: Iterable[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """The members read, while together they stay within the decompressed bound."""
    found, total = [], 0
    for member, document in members:
        total += len(document)
        if total > limits.total_bytes:
            raise ArchiveError(f"{name}: its documents come to more than {limits.total_bytes} bytes "
                               "(WIREFEED_MAX_DECOMPRESSED_BYTES)")
        found.append((member, document))
    if not found:
        raise ArchiveError(f"{name}: a {kind} file with no documents in it")
    return found


def _tar_member(archive: tarfile.TarFile, info: tarfile.TarInfo, name: str, limit: int, reserve: Reserve) -> bytes:
    if info.size > limit:  # a tar member's size is what its bytes take in the archive: no need to read them
        raise ArchiveError(f"{name}: {info.name} is larger than {limit} bytes (WIREFEED_MAX_BODY_BYTES)")
    member = archive.extractfile(info)
    if member is None:
        raise ArchiveError(f"{name}: cannot read {info.name}")
    return _within(reserve, info.size, functools.partial(member.read, info.size))


def _member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, limit: int, reserve: Reserve) -> bytes:
    try:
        with archive.open(info) as member:
            # zipfile returns no more than the declared size (a lie is a CRC error), so that is all taken.
            document = _within(reserve, min(limit + 1, info.file_size), functools.partial(member.read, limit + 1))
    except (RuntimeError, NotImplementedError, zlib.error, zstd.ZstdError, lzma.LZMAError, OSError) as error:
        # encrypted; a method zipfile lacks; a member its own decompressor refuses (bz2 raises OSError)
        raise ArchiveError(f"{name}: cannot read {info.filename}: {error}") from error
    if len(document) > limit:
        raise ArchiveError(f"{name}: {info.filename} is larger than {limit} bytes (WIREFEED_MAX_BODY_BYTES)")
    return document


def _within(reserve: Reserve, most: int, read: Callable[[], bytes]) -> bytes:
    """``read()``, which returns at most ``most`` bytes: that bound is taken from ``reserve`` before, and
    what the read did not use given back after."""
    reserve.take(most)
    try:
        data = read()
    except BaseException:
        reserve.give_back(most)
        raise
    reserve.give_back(most - len(data))
    return data


def _is_document(info: zipfile.ZipInfo) -> bool:
    return not info.is_dir() and _is_document_name(info.filename)


def _is_document_name(path: str) -> bool:
    base = path.rstrip("/").rpartition("/")[2]
    return not path.startswith(("__MACOSX/", "./__MACOSX/")) and not skipped_name(base)
