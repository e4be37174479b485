"""Archives in spools: a .zip or .tar.zst of stories, or a gzip'd story, delivered as one file and read document by
document, with bounds that hold against decompression bombs. Real files, a real SQLite state store."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from services.cli import main as cli
from services.core.compression import zipfile, zstd
from services.poller import archive
from services.poller.feeds import FeedConfig
from services.poller.fetch import Fetcher, FetchLimits
from services.poller.service import Poller
from services.poller.state import PollerStore
from tests.unit.test_poller_service import Published
from tests.unit.test_poller_spool import AFP_NEWSML1, EFE_NITF, FIXTURES, MAIL, REUTERS_G2, names, settle, spooled

TITLES = {EFE_NITF: "Honduran president announces Cabinet changes",
          AFP_NEWSML1: "Sweden court accepts receivership for Saab carmaker",
          REUTERS_G2: "Confident Assad launches new term in stronger position"}


def zipped(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as bundle:
        for name, content in members.items():
            bundle.writestr(name, content)
    return buffer.getvalue()


def pzstd(content: bytes) -> bytes:
    """What pzstd writes: frames, each after a skippable frame that holds its size."""
    half = len(content) // 2
    frames = [zstd.compress(part) for part in (content[:half], content[half:])]
    return b"".join(b"\x50\x2a\x4d\x18" + (4).to_bytes(4, "little") + len(frame).to_bytes(4, "little") + frame
                    for frame in frames)


def huge_window_zstd(content: bytes) -> bytes:
    compressor = zstd.ZstdCompressor(options={zstd.CompressionParameter.window_log: 30})
    return compressor.compress(content) + compressor.flush()


def tarred(members: dict[str, bytes]) -> bytes:
    """A tar of ``members``: a name ending in "/" is a folder, content starting "->" a symbolic link."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:") as bundle:
        for name, content in members.items():
            info = tarfile.TarInfo(name.rstrip("/"))
            if name.endswith("/"):
                info.type = tarfile.DIRTYPE
                bundle.addfile(info)
            elif content.startswith(b"->"):
                info.type, info.linkname = tarfile.SYMTYPE, content[2:].decode()
                bundle.addfile(info)
            else:
                info.size = len(content)
                bundle.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def corpus(*names: str) -> dict[str, bytes]:
    return {f"batch/{name}": (FIXTURES / name).read_bytes() for name in names}


async def poll_with(spool_dir: Path, store: PollerStore, published: Published, *, member_bytes: int = 1 << 24,
                    total_bytes: int = 1 << 26) -> str:
    feed = FeedConfig(id="wire", url=spool_dir.as_uri() + "/", interval=10)
    limits = FetchLimits(max_body_bytes=member_bytes, max_decompressed_bytes=total_bytes)
    poller = Poller([feed], store, Fetcher(limits), published, spool_settle_seconds=5)
    poller.load_states()
    try:
        return (await poller.poll(feed)).outcome
    finally:
        await poller.fetcher.aclose()


@pytest.fixture
def spool_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "wire"
    folder.mkdir()
    return folder


def deliver(spool_dir: Path, name: str, content: bytes) -> None:
    (spool_dir / name).write_bytes(content)
    settle(spool_dir / name, 60)


def failure(spool_dir: Path, name: str) -> str:
    return (spool_dir / "failed" / f"{name}.error").read_text()


async def test_each_document_of_a_zip_and_a_gzipped_file_is_published(spool_dir: Path, store: PollerStore) -> None:
    bundle = corpus(EFE_NITF, AFP_NEWSML1, REUTERS_G2)
    deliver(spool_dir, "batch.zip", zipped({**bundle, "batch/": b"", "__MACOSX/batch/._x.xml": b"\0\5\26\7",
                                           "batch/.DS_Store": b"\0\0\0\1Bud1"}))
    deliver(spool_dir, "message.eml.gz", gzip.compress((FIXTURES / MAIL).read_bytes()))
    processed_before = spooled("wire", "processed")
    published = Published()
    assert await poll_with(spool_dir, store, published) == "ok"
    assert sorted(item.title or "" for item in published) == sorted([*TITLES.values(), "Test message 1234"])
    assert names(spool_dir / "processed") == ["batch.zip", "message.eml.gz"]
    assert spooled("wire", "processed") == processed_before + 2  # an archive is one file to the spool


async def test_each_document_of_a_tar_plain_or_gzipped_is_published(spool_dir: Path, store: PollerStore,
                                                                     tmp_path: Path) -> None:
    extras = {"batch/": b"", "batch/latest.xml": b"->batch/efe_nitf.xml", "batch/._afp.xml": b"\0\5\26\7"}
    deliver(spool_dir, "batch.tar.gz", gzip.compress(tarred({**corpus(EFE_NITF, AFP_NEWSML1), **extras})))
    # A name that climbs out of the archive is only a label: nothing is written anywhere.
    deliver(spool_dir, "more.tar", tarred({"../../escaped.xml": (FIXTURES / REUTERS_G2).read_bytes()}))
    published = Published()
    assert await poll_with(spool_dir, store, published) == "ok"
    assert sorted(item.title or "" for item in published) == sorted(TITLES.values())
    assert names(spool_dir / "processed") == ["batch.tar.gz", "more.tar"]
    assert not list(tmp_path.rglob("escaped.xml"))


async def test_zip_members_compressed_with_zstd_bzip2_or_xz_are_read(spool_dir: Path, store: PollerStore) -> None:
    deliver(spool_dir, "zstd.zip", zipped(corpus(EFE_NITF), zipfile.ZIP_ZSTANDARD))  # 7-Zip, WinZip: method 93
    deliver(spool_dir, "bzip2.zip", zipped(corpus(AFP_NEWSML1), zipfile.ZIP_BZIP2))
    deliver(spool_dir, "xz.zip", zipped(corpus(REUTERS_G2), zipfile.ZIP_LZMA))
    published = Published()
    assert await poll_with(spool_dir, store, published) == "ok"
    assert sorted(item.title or "" for item in published) == sorted(TITLES.values())
    assert names(spool_dir / "processed") == ["bzip2.zip", "xz.zip", "zstd.zip"]


async def test_bzip2_xz_and_zstd_compress_a_tar_or_one_document(spool_dir: Path, store: PollerStore) -> None:
    deliver(spool_dir, "batch.tar.xz", lzma.compress(tarred(corpus(EFE_NITF))))
    deliver(spool_dir, "batch.tar.zst", zstd.compress(tarred(corpus(AFP_NEWSML1))))
    deliver(spool_dir, "batch.tar.bz2", bz2.compress(tarred(corpus(REUTERS_G2))))
    deliver(spool_dir, "message.eml.xz", lzma.compress((FIXTURES / MAIL).read_bytes()))
    deliver(spool_dir, "message.eml.zst", zstd.compress((FIXTURES / MAIL).read_bytes().replace(b"1234", b"5678")))
    published = Published()
    assert await poll_with(spool_dir, store, published) == "ok"
    assert sorted(item.title or "" for item in published) == sorted([*TITLES.values(), "Test message 1234",
                                                                     "Test message 5678"])
    assert names(spool_dir / "processed") == ["batch.tar.bz2", "batch.tar.xz", "batch.tar.zst", "message.eml.xz",
                                              "message.eml.zst"]


@pytest.mark.parametrize("compress", [gzip.compress, bz2.compress, lzma.compress, zstd.compress, pzstd],
                         ids=["gzip", "bzip2", "xz", "zstd", "pzstd"])
def test_streams_one_after_another_make_one_document(compress: Callable[[bytes], bytes]) -> None:
    # pbzip2, lbzip2, xz -T and pzstd write a file as streams one after another, xz padded with zeros
    # between, pzstd's frames each after a skippable frame; a writer that flushes as it goes writes gzip
    # members so. gunzip, bunzip2, unxz and unzstd join them.
    story = (FIXTURES / EFE_NITF).read_bytes()
    half = len(story) // 2
    body = compress(story[:half]) + b"\0" * 4 + compress(story[half:])
    limits = archive.Limits(member_bytes=1 << 20, total_bytes=1 << 22)
    assert archive.is_archive(body)
    assert archive.documents(body, "story.xml.x", limits) == [("story.xml.x", story)]


@pytest.mark.parametrize("compress", [gzip.compress, bz2.compress, lzma.compress, zstd.compress, pzstd],
                         ids=["gzip", "bzip2", "xz", "zstd", "pzstd"])
def test_a_compressed_document_holds_what_it_unpacks_to_and_a_step_not_the_whole_bound(
        compress: Callable[[bytes], bytes]) -> None:
    story = (FIXTURES / EFE_NITF).read_bytes()
    large = story * (3_500_000 // len(story))  # several steps of output, streams joined
    first, second = compress(large[:1_000_000]), compress(large[1_000_000:])
    body = first + second
    limits = archive.Limits(member_bytes=64 << 20, total_bytes=64 << 20)
    for document in (story, large):
        ledger = Ledger()
        packed = compress(document) if document is story else body
        assert archive.documents(packed, "news.xml.x", limits, ledger) == [("news.xml.x", document)]
        assert ledger.held == len(document)
        # the whole bound (64 MiB) is never taken: a step at a time, and the pieces' copy when joined
        assert ledger.peak <= 2 * len(document) + archive._STEP + 1
    with pytest.raises(archive.ArchiveError, match="cut short"):
        archive.documents(first + second[:len(second) // 2], "news.xml.x", limits, Ledger())


COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {"gzip": gzip.compress, "bzip2": bz2.compress,
                                                    "xz": lzma.compress, "zstd": zstd.compress}


@pytest.mark.parametrize("kind", list(COMPRESSORS))
def test_a_file_of_countless_empty_streams_is_refused_at_the_stream_bound(kind: str) -> None:
    # 4 MiB of empty gzip members took 36 s: the input left was copied once per member.
    empty = COMPRESSORS[kind](b"")
    body = empty * (4 * 1024 * 1024 // len(empty))
    with pytest.raises(archive.ArchiveError, match=f"more than {archive.MAX_STREAMS} {kind} streams"):
        archive.documents(body, "news.xml.x", archive.Limits(member_bytes=1 << 24, total_bytes=1 << 26))


@pytest.mark.parametrize("kind", list(COMPRESSORS))
def test_streams_up_to_the_bound_are_read_giving_each_byte_to_a_decompressor_about_once(
        kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    given = []
    step = archive._step

    def counted(decompressor: Any, data: bytes, most: int) -> bytes:
        given.append(len(data))
        return step(decompressor, data, most)

    monkeypatch.setattr(archive, "_step", counted)
    compress, streams = COMPRESSORS[kind], archive.MAX_STREAMS
    body = compress(b"") * (streams - 1) + compress(b"<x>story</x>")
    assert archive.documents(body, "news.xml.x", archive.Limits(1 << 20, 1 << 22)) == [("news.xml.x", b"<x>story</x>")]
    # A stream is given less than twice its length, or the first slice: never the whole rest of the body,
    # which made what the decompressors were given grow with the square of the number of streams.
    assert sum(given) <= 2 * len(body) + streams * archive._FIRST_INPUT


class Ledger:
    """A reserve that keeps count, refusing past ``cap``, as a poll's share of the body budget does."""

    def __init__(self, cap: int = 1 << 40) -> None:
        self.cap, self.held, self.peak = cap, 0, 0

    def take(self, size: int) -> None:
        if self.held + size > self.cap:
            raise OverflowError(f"{size} more than the cap")
        self.held += size
        self.peak = max(self.peak, self.held)

    def give_back(self, size: int) -> None:
        self.held -= size


@pytest.mark.parametrize(("pack", "sizes_known"), [
    (zipped, True), (tarred, True), (lambda docs: gzip.compress(tarred(docs)), False),
    (lambda docs: gzip.compress(next(iter(docs.values()))), False)], ids=["zip", "tar", "tar.gz", "gz"])
def test_what_an_archive_unpacks_is_counted_and_each_read_s_bound_taken_before_it(
        pack: Callable[[dict[str, bytes]], bytes], sizes_known: bool) -> None:
    docs = corpus(EFE_NITF, AFP_NEWSML1, REUTERS_G2)
    body = pack(docs)
    limits = archive.Limits(member_bytes=1 << 20, total_bytes=1 << 22)
    ledger = Ledger()
    unpacked = archive.documents(body, "batch.x", limits, ledger)
    tar_unpacked = len(tarred(docs)) if body.startswith(b"\x1f\x8b") and len(unpacked) > 1 else 0
    assert ledger.held == sum(len(document) for _, document in unpacked) + tar_unpacked  # what it keeps, no more
    # a read takes its bound, then gives back what it did not use; a tar or zip member's size is exact
    assert ledger.peak == ledger.held if sizes_known else ledger.peak > ledger.held
    refusing = Ledger(cap=ledger.peak - 1)
    with pytest.raises(OverflowError):  # refused before that read, not turned into an unreadable archive
        archive.documents(body, "batch.x", limits, refusing)
    assert refusing.peak < ledger.peak


def test_a_zip_member_larger_than_it_declares_is_refused_having_held_what_it_declared() -> None:
    body = bytearray(zipped({"story.xml": b"<nitf>" + b"x" * 10_000 + b"</nitf>"}, zipfile.ZIP_STORED))
    directory = body.rindex(b"PK\x01\x02")
    body[directory + 24:directory + 28] = (100).to_bytes(4, "little")  # the central directory's size: a lie
    ledger = Ledger()
    with pytest.raises(archive.ArchiveError, match="CRC"):
        archive.documents(bytes(body), "batch.zip", archive.Limits(member_bytes=1 << 20, total_bytes=1 << 22), ledger)
    assert ledger.peak == 100 and ledger.held == 0


async def test_a_member_that_is_no_document_fails_the_whole_archive(
        spool_dir: Path, store: PollerStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    deliver(spool_dir, "batch.zip", zipped({**corpus(EFE_NITF), "batch/notes.txt": b"call the desk"}))
    published = Published()
    assert await poll_with(spool_dir, store, published) == "ok"
    assert not published and names(spool_dir / "failed") == ["batch.zip", "batch.zip.error"]
    assert failure(spool_dir, "batch.zip").startswith("FeedParseError: batch.zip: batch/notes.txt: ")
    # The reason is in the state database too, where `wirefeed feeds failed` reads it (a server's spool has
    # no failed/ of ours to write it in).
    monkeypatch.setenv("WIREFEED_STATE_DATABASE_URL", f"sqlite:///{tmp_path / 'state.db'}")
    capsys.readouterr()  # the poll's log lines
    assert cli(["feeds", "failed", "--feed", "wire"]) == 0
    header, row = capsys.readouterr().out.splitlines()
    assert header == "failed\tfeed\tfile\treason"
    assert row.split("\t")[1:3] == ["wire", "batch.zip"]
    assert row.split("\t")[3].startswith("FeedParseError: batch.zip: batch/notes.txt: ")


@pytest.mark.parametrize(("content", "reason"), [
    (zipped({"bomb.xml": b"<x>" + b"0" * 2_000_000 + b"</x>"}), "bomb.xml is larger than 100000 bytes"),
    (zipped({f"{n}.xml": b"<x>" + b"0" * 90_000 + b"</x>" for n in range(5)}),
     "its documents come to more than 300000 bytes"),
    (gzip.compress(b"<x>" + b"0" * 200_000 + b"</x>"), "its document is larger than 100000 bytes"),
    (gzip.compress(b"<x>" + b"0" * 2_000_000 + b"</x>"), "it decompresses to more than 300000 bytes"),
    (gzip.compress(tarred({"bomb.xml": b"<x>" + b"0" * 2_000_000 + b"</x>"})), "it decompresses to more than"),
    (gzip.compress(tarred({"bomb.xml": b"<x>" + b"0" * 200_000 + b"</x>"})), "bomb.xml is larger than 100000 bytes"),
    (gzip.compress(tarred({f"{n}.xml": b"<x>" + b"0" * 90_000 + b"</x>" for n in range(4)})),
     "it decompresses to more than 300000 bytes"),  # a tar's documents are in its bytes: bounded with them
    (tarred({"batch/": b"", "link.xml": b"->/etc/passwd"}), "a tar file with no documents in it"),
    (tarred({"a.xml": b"<x>story</x>"})[:600], "not a readable tar file"),
    (gzip.compress(b"<x>story</x>")[:-12], "the gzip file is cut short"),
    (gzip.compress(b"<x>1</x>") + gzip.compress(b"<x>" + b"0" * 2_000_000 + b"</x>"), "it decompresses to more than"),
    (gzip.compress(b"<x>story</x>") + b"trailing words", "not a readable gzip file"),
    (bz2.compress(b"<x>" + b"0" * 200_000 + b"</x>"), "its document is larger than 100000 bytes"),
    (bz2.compress(b"<x>" + b"0" * 2_000_000 + b"</x>"), "it decompresses to more than 300000 bytes"),
    (bz2.compress(b"<x>1</x>") + bz2.compress(b"<x>" + b"0" * 2_000_000 + b"</x>"), "it decompresses to more than"),
    (lzma.compress(tarred({"bomb.xml": b"<x>" + b"0" * 2_000_000 + b"</x>"})), "it decompresses to more than"),
    (lzma.compress(b"<x>" + b"0" * 200_000 + b"</x>"), "its document is larger than 100000 bytes"),
    (bz2.compress(b"<x>story</x>")[:-8], "the bzip2 file is cut short"),
    (lzma.compress(b"<x>story</x>")[:-8], "the xz file is cut short"),
    (bz2.compress(b"<x>story</x>") + b"trailing words", "not a readable bzip2 file"),
    (b"\xfd7zXZ\x00 and then nothing xz writes", "not a readable xz file"),
    (zstd.compress(b"<x>" + b"0" * 2_000_000 + b"</x>"), "it decompresses to more than 300000 bytes"),
    (zstd.compress(tarred({"bomb.xml": b"<x>" + b"0" * 200_000 + b"</x>"})), "bomb.xml is larger than 100000 bytes"),
    (zstd.compress(b"<x>1</x>") + zstd.compress(b"<x>" + b"0" * 2_000_000 + b"</x>"), "it decompresses to more than"),
    (zstd.compress(b"<x>story</x>")[:-4], "the zstd file is cut short"),
    (zstd.compress(b"<x>story</x>") + b"trailing words", "not a readable zstd file"),
    (huge_window_zstd(b"<x>story</x>"), "Frame requires too much memory"),  # a 1 GiB window: zstd(1) refuses it
    (b"PK\x03\x04 and then nothing a zip holds", "not a readable zip file"),
    (zipped({"batch/": b""}), "a zip file with no documents in it"),
    (zipped({"bomb.xml": b"<x>" + b"0" * 2_000_000 + b"</x>"}, zipfile.ZIP_ZSTANDARD), "bomb.xml is larger than"),
])
async def test_bombs_and_broken_archives_are_set_aside_with_the_reason(spool_dir: Path, store: PollerStore,
                                                                      content: bytes, reason: str) -> None:
    assert len(content) < 100_000  # each fits in a file the spool reads: the bounds inside must hold
    deliver(spool_dir, "batch.bin", content)
    published = Published()
    assert await poll_with(spool_dir, store, published, member_bytes=100_000, total_bytes=300_000) == "ok"
    assert not published and reason in failure(spool_dir, "batch.bin")


@pytest.mark.parametrize("kind", ["zip", "tar"])
async def test_an_archive_of_more_documents_than_the_bound_is_not_read(
        spool_dir: Path, store: PollerStore, monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    monkeypatch.setattr(archive, "MAX_MEMBERS", 2)
    bundle = corpus(EFE_NITF, AFP_NEWSML1, REUTERS_G2)
    deliver(spool_dir, f"batch.{kind}", zipped(bundle) if kind == "zip" else tarred(bundle))
    published = Published()
    assert await poll_with(spool_dir, store, published) == "ok"
    assert not published and "more than 2 documents" in failure(spool_dir, f"batch.{kind}")


def test_preview_shows_every_document_of_an_archive(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIREFEED_MAX_BODY_BYTES", "1000000")
    bundle = tmp_path / "batch.zip"
    bundle.write_bytes(zipped(corpus(EFE_NITF, AFP_NEWSML1, REUTERS_G2)))
    assert cli(["feeds", "preview", str(bundle)]) == 0
    out = capsys.readouterr().out
    assert all(title in out for title in TITLES.values())
    bundle.write_bytes(zipped({"bomb.xml": b"<x>" + b"0" * 2_000_000 + b"</x>"}))
    assert cli(["feeds", "preview", str(bundle)]) == 1
    assert "bomb.xml is larger than" in capsys.readouterr().err
