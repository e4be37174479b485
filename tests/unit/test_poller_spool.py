"""Spool directory feeds: wire copy delivered as files into a directory, read with real files and a real
SQLite state store. tests/e2e/test_spool_directory.py runs one through the whole pipeline on Kafka."""

from __future__ import annotations

import functools
import os
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from services.poller import spool
from services.poller.feeds import FeedConfig
from services.poller.fetch import Fetcher, FetchLimits
from services.poller.service import Poller
from services.poller.spool import FileTooLargeError, SpooledFile, SpoolError, UnusableFileError, settled_files
from services.poller.state import FeedState, PollerStore
from tests.helpers import CORPUS
from tests.unit.test_poller_service import Published

FIXTURES = CORPUS / "superdesk-core" / "tests" / "io" / "fixtures"
REUTERS_G2 = "tag_reuters.com_2014_newsml_KBN0FL0NM_version_10"  # as the agency names its files: no extension
EFE_NITF = "efe_nitf.xml"
AFP_NEWSML1 = "afp.xml"
AP_ANPA = "ap_anpa-1.tst"
MAIL = "simple_email.txt"


def deliver(spool_dir: Path, name: str, *, as_name: str | None = None, age: float = 60.0) -> Path:
    """A corpus file as the agency's upload leaves it, last written ``age`` seconds ago."""
    target = spool_dir / (as_name or name)
    shutil.copyfile(FIXTURES / name, target)
    settle(target, age)
    return target


def settle(path: Path, age: float) -> None:
    then = time.time() - age
    os.utime(path, (then, then))


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


@pytest.fixture
def spool_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "afp"
    folder.mkdir()
    return folder


def make_poller(spool_dir: Path, store: PollerStore, published: Published, *,
                max_bytes: int = 16 * 1024 * 1024) -> tuple[Poller, FeedConfig]:
    feed = FeedConfig(id="wire", url=spool_dir.as_uri() + "/", interval=10)
    fetcher = Fetcher(FetchLimits(max_body_bytes=max_bytes))
    poller = Poller([feed], store, fetcher, published, spool_settle_seconds=5)
    poller.load_states()
    return poller, feed


async def poll(spool_dir: Path, store: PollerStore, published: Published, **options: int) -> str:
    poller, feed = make_poller(spool_dir, store, published, **options)
    try:
        return (await poller.poll(feed)).outcome
    finally:
        await poller.fetcher.aclose()


def state_of(store: PollerStore, spool_dir: Path) -> FeedState:
    return store.feed_state("wire", spool_dir.as_uri() + "/")


def spooled(feed: str, result: str) -> float:
    return REGISTRY.get_sample_value("wirefeed_poller_spooled_files_total", {"feed": feed, "result": result}) or 0


# --- the directory ------------------------------------------------------------------------------------


def test_settled_files_are_listed_oldest_first(spool_dir: Path) -> None:
    for name, age in (("b.xml", 30), ("a.xml", 20), ("c.xml", 40)):
        (spool_dir / name).write_bytes(b"<x/>")
        settle(spool_dir / name, age)
    assert [f.path.name for f in settled_files(spool_dir, 5).files] == ["c.xml", "b.xml", "a.xml"]


def test_uploads_in_progress_hidden_files_links_and_folders_are_left_alone(spool_dir: Path, tmp_path: Path) -> None:
    for name in ("story.xml", "writing.xml", ".hidden.xml", "story2.xml.part", "story3.tmp", "~lock"):
        (spool_dir / name).write_bytes(b"<x/>")
        settle(spool_dir / name, 0 if name == "writing.xml" else 60)
    outside = tmp_path / "secret.txt"
    outside.write_text("not wire copy")
    (spool_dir / "link.xml").symlink_to(outside)
    (spool_dir / "processed").mkdir()
    assert [f.path.name for f in settled_files(spool_dir, 5).files] == ["story.xml"]


def test_a_backlog_is_taken_a_bounded_number_at_a_time(spool_dir: Path) -> None:
    for n in range(5):
        (spool_dir / f"{n}.xml").write_bytes(b"<x/>")
        settle(spool_dir / f"{n}.xml", 100 - n)
    waiting = settled_files(spool_dir, 5, limit=3)
    assert ([f.path.name for f in waiting.files], waiting.more) == (["0.xml", "1.xml", "2.xml"], True)
    assert settled_files(spool_dir, 5, limit=5).more is False


def test_a_missing_directory_is_a_spool_error(tmp_path: Path) -> None:
    with pytest.raises(SpoolError, match="cannot list"):
        settled_files(tmp_path / "not-mounted", 5)


def test_a_file_over_the_body_limit_or_unreadable_is_unusable(spool_dir: Path) -> None:
    big = spool_dir / "big.xml"
    big.write_bytes(b"x" * 101)
    with pytest.raises(FileTooLargeError, match="larger than 100 bytes"):
        spool.read_spooled(SpooledFile(big, 101), 100)
    with pytest.raises(UnusableFileError, match="cannot read"):
        spool.read_spooled(SpooledFile(spool_dir, 0), 100)  # a directory where a file was listed


def test_files_moved_on_keep_their_name_and_never_overwrite(spool_dir: Path) -> None:
    for _ in range(2):
        (spool_dir / "same.xml").write_bytes(b"<x/>")
        spool.mark_processed(SpooledFile(spool_dir / "same.xml", 4))
    done = names(spool_dir / "processed")
    assert len(done) == 2 and "same.xml" in done and all(n.startswith("same.") for n in done)
    (spool_dir / "bad.xml").write_bytes(b"junk")
    target = spool.mark_failed(SpooledFile(spool_dir / "bad.xml", 4), "FeedParseError: not XML")
    assert target.read_bytes() == b"junk"
    assert target.with_name("bad.xml.error").read_text() == "FeedParseError: not XML\n"
    assert names(spool_dir) == ["failed", "processed"]


@pytest.mark.parametrize("subdirectory", [spool.PROCESSED, spool.FAILED])
def test_a_folder_planted_as_a_link_is_refused_and_nothing_moves_through_it(
        spool_dir: Path, tmp_path: Path, subdirectory: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    move = spool.mark_processed if subdirectory == spool.PROCESSED else functools.partial(spool.mark_failed,
                                                                                       reason="junk")
    (spool_dir / subdirectory).symlink_to(outside)
    (spool_dir / "payload.sh").write_bytes(b"#!/bin/sh\n")
    with pytest.raises(SpoolError, match=f"{subdirectory}/ in the spool directory is not a directory"):
        move(SpooledFile(spool_dir / "payload.sh", 10))
    assert names(outside) == []
    assert (spool_dir / "payload.sh").is_file()


def test_a_reason_is_never_written_through_a_planted_link(spool_dir: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim.conf"
    victim.write_text("IMPORTANT CONFIG\n")
    (spool_dir / "failed").mkdir()
    (spool_dir / "failed" / "story1.txt.error").symlink_to(victim)
    (spool_dir / "story1.txt").write_bytes(b"junk")
    target = spool.mark_failed(SpooledFile(spool_dir / "story1.txt", 4), "FeedParseError: not XML")
    assert victim.read_text() == "IMPORTANT CONFIG\n"
    assert target.name != "story1.txt" and target.read_bytes() == b"junk"
    assert target.with_name(target.name + ".error").read_text() == "FeedParseError: not XML\n"


def test_a_listed_file_swapped_for_a_link_or_a_fifo_is_not_read(spool_dir: Path, tmp_path: Path) -> None:
    """Between the listing and the read an uploader may replace the file; the read follows no link and
    waits for no FIFO's writer."""
    secret = tmp_path / "secret.txt"
    secret.write_text("not wire copy")
    (spool_dir / "story.xml").symlink_to(secret)
    with pytest.raises(UnusableFileError, match=r"story\.xml: a symbolic link"):
        spool.read_spooled(SpooledFile(spool_dir / "story.xml", 4), 100)
    os.mkfifo(spool_dir / "fifo.xml")
    with pytest.raises(UnusableFileError, match=r"fifo\.xml: not a regular file"):
        spool.read_spooled(SpooledFile(spool_dir / "fifo.xml", 0), 100)


# --- polling a spool directory feed --------------------------------------------------------------------


async def test_each_delivered_file_is_published_then_moved_to_processed(spool_dir: Path, store: PollerStore) -> None:
    for name in (REUTERS_G2, EFE_NITF, AFP_NEWSML1, AP_ANPA):
        deliver(spool_dir, name)
    deliver(spool_dir, MAIL, as_name="1424326722.M1P2.mailhost")  # as a Maildir names a message
    published = Published()
    assert await poll(spool_dir, store, published) == "ok"
    assert [(item.format.value, item.title) for item in published] == [
        ("newsml-g2", "Confident Assad launches new term in stronger position"),
        ("nitf", "Honduran president announces Cabinet changes"),
        ("newsml-1", "Sweden court accepts receivership for Saab carmaker"),
        ("anpa-1312", "Deng has 30 points, short-handed Heat beat Hawks 115-111"),
        ("email", "Test message 1234"),
    ]  # in the order they arrived
    assert {item.feed_url for item in published} == {spool_dir.as_uri() + "/"}
    assert names(spool_dir / "processed") == sorted([REUTERS_G2, EFE_NITF, AFP_NEWSML1, AP_ANPA,
                                                     "1424326722.M1P2.mailhost"])
    assert names(spool_dir) == ["processed"]
    assert await poll(spool_dir, store, published) == "not_modified"
    assert len(published) == 5


async def test_a_file_delivered_again_publishes_nothing_new(spool_dir: Path, store: PollerStore) -> None:
    published = Published()
    deliver(spool_dir, EFE_NITF)
    await poll(spool_dir, store, published)
    deliver(spool_dir, EFE_NITF)  # the agency's resend, under the same name
    assert await poll(spool_dir, store, published) == "ok"
    assert len(published) == 1
    assert len(names(spool_dir / "processed")) == 2  # both copies kept, neither overwritten


async def test_a_file_that_is_no_document_is_set_aside_and_the_rest_published(spool_dir: Path,
                                                                               store: PollerStore) -> None:
    before = spooled("wire", "failed")
    (spool_dir / "garbage.xml").write_bytes(b"\x00\x01 not a wire document")
    settle(spool_dir / "garbage.xml", 60)
    deliver(spool_dir, EFE_NITF)
    published = Published()
    assert await poll(spool_dir, store, published) == "ok"
    assert [item.title for item in published] == ["Honduran president announces Cabinet changes"]
    assert names(spool_dir / "failed") == ["garbage.xml", "garbage.xml.error"]
    reason = (spool_dir / "failed" / "garbage.xml.error").read_text()
    assert "neither XML, JSON, e-mail nor a wire text format" in reason
    assert spooled("wire", "failed") == before + 1
    assert state_of(store, spool_dir).consecutive_failures == 0  # one bad file is not a failing feed


async def test_files_whose_names_are_not_utf8_are_read_set_aside_and_listed(spool_dir: Path,
                                                                            store: PollerStore) -> None:
    # Python keeps the stray bytes of such names (a Windows upload's Latin-1) as lone surrogates, which no
    # database holds: each one failed its feed's poll, and the story stayed unread behind it.
    directory = os.fsencode(spool_dir)
    story, junk = os.path.join(directory, b"Honduras_\xe9.xml"), os.path.join(directory, b"r\xe9sum\xe9.xml")
    shutil.copyfile(FIXTURES / EFE_NITF, story)
    with open(junk, "wb") as handle:
        handle.write(b"<nonsense/>")
    for path in (story, junk):
        settle(Path(os.fsdecode(path)), 60)
    published = Published()
    assert await poll(spool_dir, store, published) == "ok"
    assert [item.title for item in published] == ["Honduran president announces Cabinet changes"]
    assert os.listdir(os.path.join(directory, b"processed")) == [b"Honduras_\xe9.xml"]
    assert sorted(os.listdir(os.path.join(directory, b"failed"))) == [b"r\xe9sum\xe9.xml", b"r\xe9sum\xe9.xml.error"]
    assert [f.name for f in store.failed_files("wire")] == ["r\\xe9sum\\xe9.xml"]
    assert state_of(store, spool_dir).consecutive_failures == 0


async def test_a_failed_file_moved_back_and_read_fine_is_no_longer_listed_as_failed(spool_dir: Path,
                                                                                    store: PollerStore) -> None:
    deliver(spool_dir, EFE_NITF, as_name="story.xml")
    (spool_dir / "story.xml").write_bytes(b"<nitf><body>cut short")  # the upload broke off
    settle(spool_dir / "story.xml", 60)
    assert await poll(spool_dir, store, Published()) == "ok"
    assert [f.name for f in store.failed_files("wire")] == ["story.xml"]
    (spool_dir / "failed" / "story.xml").unlink()  # the operator has the agency send it again
    deliver(spool_dir, EFE_NITF, as_name="story.xml")
    published = Published()
    assert await poll(spool_dir, store, published) == "ok"
    assert [item.title for item in published] == ["Honduran president announces Cabinet changes"]
    assert store.failed_files("wire") == []


async def test_a_file_over_the_size_limit_is_set_aside(spool_dir: Path, store: PollerStore) -> None:
    deliver(spool_dir, AFP_NEWSML1)
    assert await poll(spool_dir, store, Published(), max_bytes=1000) == "ok"
    assert names(spool_dir / "failed") == [AFP_NEWSML1, f"{AFP_NEWSML1}.error"]


async def test_a_file_still_being_written_waits_until_it_settles(spool_dir: Path, store: PollerStore) -> None:
    upload = deliver(spool_dir, EFE_NITF, age=0)
    published = Published()
    assert await poll(spool_dir, store, published) == "not_modified"
    assert names(spool_dir) == [EFE_NITF] and not published
    settle(upload, 6)
    assert await poll(spool_dir, store, published) == "ok"
    assert len(published) == 1


async def test_when_kafka_refuses_the_files_stay_and_are_published_later(spool_dir: Path,
                                                                         store: PollerStore) -> None:
    deliver(spool_dir, EFE_NITF)
    published = Published()
    published.fail = True
    assert await poll(spool_dir, store, published) == "publish_error"
    assert names(spool_dir) == [EFE_NITF]
    assert state_of(store, spool_dir).consecutive_failures == 1  # backing off, and retried
    published.fail = False
    assert await poll(spool_dir, store, published) == "ok"
    assert len(published) == 1 and names(spool_dir) == ["processed"]


async def test_a_file_whose_move_failed_is_read_again_and_publishes_nothing_twice(
        spool_dir: Path, store: PollerStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """Published, then the poller stopped (or the move failed) before the file left the directory."""
    deliver(spool_dir, EFE_NITF)

    def cannot_move(file: SpooledFile) -> Path:
        raise SpoolError(f"cannot move {file.path.name} to processed: Read-only file system")

    monkeypatch.setattr(spool, "mark_processed", cannot_move)
    published = Published()
    assert await poll(spool_dir, store, published) == "spool_error"
    assert len(published) == 1 and names(spool_dir) == [EFE_NITF]
    monkeypatch.undo()
    assert await poll(spool_dir, store, published) == "ok"
    assert len(published) == 1 and names(spool_dir) == ["processed"]


async def test_a_missing_directory_fails_the_feed_which_backs_off(tmp_path: Path, store: PollerStore) -> None:
    assert await poll(tmp_path / "not-mounted", store, Published()) == "spool_error"
    state = state_of(store, tmp_path / "not-mounted")
    assert state.consecutive_failures == 1 and "cannot list" in (state.last_error or "")


async def test_a_backlog_larger_than_one_poll_is_polled_again_at_once(spool_dir: Path, store: PollerStore,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spool, "settled_files", functools.partial(spool.settled_files, limit=1))
    deliver(spool_dir, EFE_NITF, age=90)
    deliver(spool_dir, AFP_NEWSML1, age=60)
    published = Published()
    assert await poll(spool_dir, store, published) == "ok"
    assert [item.title for item in published] == ["Honduran president announces Cabinet changes"]
    next_attempt = state_of(store, spool_dir).next_attempt_at
    assert next_attempt is not None and next_attempt <= datetime.now(UTC)


def test_a_spool_feed_is_a_local_directory_without_http_settings() -> None:
    feed = FeedConfig(id="afp", url="file:///var/spool/wire/afp/")
    assert feed.directory == Path("/var/spool/wire/afp")
    assert FeedConfig(id="web", url="https://example.com/feed").directory is None
    with pytest.raises(ValueError, match="on this machine"):
        FeedConfig(id="afp", url="file://fileserver/wire/afp/")
    with pytest.raises(ValueError, match="takes none"):
        FeedConfig(id="afp", url="file:///var/spool/wire/afp/", headers={"X-Key": "1"})
