"""Spool directories: wire copy an agency delivers as files, one document per story.

Newsrooms take much of their AP, AFP, Reuters or dpa copy this way rather than over HTTP: the agency
pushes each story (NITF, NewsML-G2, NewsML 1, ninjs, ...) by FTP or SFTP into a directory that the
ingester watches. A feed whose URL is ``file:///var/spool/wire/afp/`` reads that directory. Each poll
takes the files that have settled (unmodified for ``settle_seconds``, so an upload still being written
is not read half-way), oldest first. A file whose items were published moves to ``processed/``; one
that is not a document wirefeed reads moves to ``failed/``, with its reason in ``NAME.error`` beside it.
Nothing is deleted: clearing the two is the operator's call.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

PROCESSED, FAILED = "processed", "failed"
#: Files taken per poll; when more are waiting the feed is polled again at once.
MAX_FILES_PER_POLL = 1000
# Names FTP and SFTP servers and clients give files still being written, and editors' leftovers.
_IN_PROGRESS_SUFFIXES = (".tmp", ".part", ".partial", ".filepart", ".crdownload", ".swp", ".error")


class SpoolError(Exception):
    """The spool directory cannot be listed, or a file in it cannot be moved on."""

    kind = "spool_error"


class UnusableFileError(Exception):
    """A spooled file that can be listed but not used as it is: it is set aside in ``failed/``."""


class FileTooLargeError(UnusableFileError):
    """A spooled file is larger than a fetched body may be."""


@dataclass(frozen=True)
class SpooledFile:
    path: Path
    size: int


@dataclass(frozen=True)
class Waiting:
    files: list[SpooledFile]
    more: bool  # settled files beyond MAX_FILES_PER_POLL wait for the next poll


def settled_files(directory: Path, settle_seconds: float, *, limit: int = MAX_FILES_PER_POLL,
                  now: float | None = None) -> Waiting:
    """The regular files of the directory left alone for ``settle_seconds``, oldest first.

    Hidden files, in-progress names and symbolic links (which could point anywhere) are left out.
    """
    now = time.time() if now is None else now
    found: list[tuple[float, str, SpooledFile]] = []
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                if _skipped(entry):
                    continue
                stat = entry.stat(follow_symlinks=False)
                if now - stat.st_mtime >= settle_seconds:
                    found.append((stat.st_mtime, entry.name, SpooledFile(Path(entry.path), stat.st_size)))
    except OSError as error:
        raise SpoolError(f"cannot list {directory}: {error.strerror or error}") from error
    found.sort(key=lambda entry: entry[:2])
    return Waiting([file for *_, file in found[:limit]], len(found) > limit)


def _skipped(entry: os.DirEntry[str]) -> bool:
    name = entry.name
    return (name.startswith((".", "~")) or name.lower().endswith(_IN_PROGRESS_SUFFIXES)
            or not entry.is_file(follow_symlinks=False))


def read_spooled(file: SpooledFile, max_bytes: int) -> bytes:
    """The file's bytes; FileNotFoundError when another process took it since it was listed."""
    try:
        with file.path.open("rb") as handle:
            body = handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise
    except OSError as error:
        raise UnusableFileError(f"cannot read {file.path.name}: {error.strerror or error}") from error
    if len(body) > max_bytes:
        raise FileTooLargeError(f"{file.path.name} is larger than {max_bytes} bytes (WIREFEED_MAX_BODY_BYTES)")
    return body


def mark_processed(file: SpooledFile) -> Path:
    return _move(file, PROCESSED)


def mark_failed(file: SpooledFile, reason: str) -> Path:
    target = _move(file, FAILED)
    try:
        target.with_name(target.name + ".error").write_text(reason + "\n", encoding="utf-8")
    except OSError as error:
        raise SpoolError(f"cannot write the reason beside {target}: {error.strerror or error}") from error
    return target


def _move(file: SpooledFile, subdirectory: str) -> Path:
    folder = file.path.parent / subdirectory
    target = folder / file.path.name
    try:
        folder.mkdir(exist_ok=True)
        if target.exists():  # an agency may send the same name again (a resend, a new day's file)
            target = folder / f"{file.path.stem}.{time.time_ns()}{file.path.suffix}"
        os.replace(file.path, target)
    except OSError as error:
        raise SpoolError(f"cannot move {file.path.name} to {folder}: {error.strerror or error}") from error
    return target
