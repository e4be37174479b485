"""What the poller stores from outside its documents (file names, error messages) reaches both state
databases whole: a byte of a name that was not UTF-8 (kept by Python as a lone surrogate) or a NUL in an
error once failed the write, and with it every poll of the feed."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from services.core.db import Database
from services.poller.remote import RemoteFile
from services.poller.state import FailedFile, FeedState, PollerStore

LATIN1_NAME = os.fsdecode(b"r\xe9sum\xe9.xml")


@pytest.fixture
def store(database_url: str) -> Iterator[PollerStore]:
    database = Database(database_url)
    store = PollerStore(database)
    store.migrate()
    yield store
    database.close()


def test_an_error_with_nul_or_half_a_character_is_stored_readable(store: PollerStore) -> None:
    error = f"spool_error: cannot move {LATIN1_NAME} to failed/: \x00 \ud83d"
    store.save_feed_state(FeedState("wire", "file:///spool/", consecutive_failures=1, last_error=error))
    assert store.feed_state("wire", "file:///spool/").last_error == \
        "spool_error: cannot move r\\xe9sum\\xe9.xml to failed/: \\x00 \ufffd"


def test_a_file_with_a_name_that_is_not_utf8_is_listed_as_failed_and_forgotten(store: PollerStore) -> None:
    store.record_failed_file(FailedFile("wire", LATIN1_NAME, f"FeedParseError: {LATIN1_NAME} is no feed",
                                        datetime.now(UTC)))
    assert [(f.name, f.reason) for f in store.failed_files("wire")] == [
        ("r\\xe9sum\\xe9.xml", "FeedParseError: r\\xe9sum\\xe9.xml is no feed")]
    store.forget_failed_file("wire", LATIN1_NAME)  # read fine once moved back
    assert store.failed_files("wire") == []


def test_a_server_file_with_such_a_name_is_remembered_once_read(store: PollerStore) -> None:
    file = RemoteFile(LATIN1_NAME, 120, 1_700_000_000)
    store.mark_published("sftp-wire", [(file.seen_id, file.version)], datetime.now(UTC))
    assert store.known_hashes("sftp-wire", [file.seen_id]) == {file.seen_id: "120:1700000000"}
