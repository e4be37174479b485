"""Archives among spooled files: some agencies bundle a batch of stories into one ``.zip`` (or compress each
file with gzip) and deliver it like any other file. Each document inside is read as a file of its own would
be; the archive is one file to the spool (processed, or failed as a whole with the member that failed named).

An archive is untrusted input: members are counted and each is read with a bound, whatever sizes its
directory declares, so a decompression bomb stops at the limits; nested archives are not opened.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from dataclasses import dataclass

from services.poller.spool import UnusableFileError, skipped_name

#: Documents an archive may hold: a batch is hundreds of stories; more is no agency's delivery.
MAX_MEMBERS = 10_000
_ZIP, _GZIP = b"PK\x03\x04", b"\x1f\x8b"


class ArchiveError(UnusableFileError):
    """An archive that cannot be read as it is, or that holds more than the limits allow."""


@dataclass(frozen=True)
class Limits:
    member_bytes: int  # one document, as a spooled file may be (WIREFEED_MAX_BODY_BYTES)
    total_bytes: int  # all of them, as a decompressed body may be (WIREFEED_MAX_DECOMPRESSED_BYTES)


def is_archive(body: bytes) -> bool:
    return body.startswith((_ZIP, _GZIP))


def documents(body: bytes, name: str, limits: Limits) -> list[tuple[str, bytes]]:
    """The documents in an archive (``is_archive``), each named: a zip's regular files (folders, hidden files
    and macOS resource forks left out), or the one file gzip compressed."""
    if body.startswith(_GZIP):
        return [(name.removesuffix(".gz"), _gunzipped(body, name, limits.member_bytes))]
    return _zip_members(body, name, limits)


def _gunzipped(body: bytes, name: str, limit: int) -> bytes:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        document = inflater.decompress(body, limit + 1)
    except zlib.error as error:
        raise ArchiveError(f"{name}: not a readable gzip file: {error}") from error
    if len(document) > limit:
        raise ArchiveError(f"{name}: its document is larger than {limit} bytes (WIREFEED_MAX_BODY_BYTES)")
    if not inflater.eof:
        raise ArchiveError(f"{name}: the gzip file is cut short")
    if inflater.unused_data:  # files gzip'd one after another: no one document, and not to be dropped silently
        raise ArchiveError(f"{name}: more than one gzip member (use a zip for several documents)")
    return document


def _zip_members(body: bytes, name: str, limits: Limits) -> list[tuple[str, bytes]]:
    try:
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            members = [info for info in archive.infolist() if _is_document(info)]
            if len(members) > MAX_MEMBERS:
                raise ArchiveError(f"{name}: more than {MAX_MEMBERS} documents")
            found, total = [], 0
            for info in members:
                document = _member(archive, info, name, limits.member_bytes)
                total += len(document)
                if total > limits.total_bytes:
                    raise ArchiveError(f"{name}: its documents come to more than {limits.total_bytes} bytes "
                                       "(WIREFEED_MAX_DECOMPRESSED_BYTES)")
                found.append((info.filename, document))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as error:
        raise ArchiveError(f"{name}: not a readable zip file: {error}") from error
    if not found:
        raise ArchiveError(f"{name}: a zip file with no documents in it")
    return found


def _member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, limit: int) -> bytes:
    try:
        with archive.open(info) as member:
            document = member.read(limit + 1)  # the declared size may lie: the bound holds whatever it says
    except (RuntimeError, NotImplementedError, zlib.error) as error:  # encrypted; a method zipfile lacks
        raise ArchiveError(f"{name}: cannot read {info.filename}: {error}") from error
    if len(document) > limit:
        raise ArchiveError(f"{name}: {info.filename} is larger than {limit} bytes (WIREFEED_MAX_BODY_BYTES)")
    return document


def _is_document(info: zipfile.ZipInfo) -> bool:
    base = info.filename.rstrip("/").rpartition("/")[2]
    return not info.is_dir() and not info.filename.startswith("__MACOSX/") and not skipped_name(base)
