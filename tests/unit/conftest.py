"""Fixtures shared by the unit tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from services.core.db import Database
from services.poller.state import PollerStore


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    """The poller's state database: a fresh SQLite file, migrated."""
    database = Database(f"sqlite:///{tmp_path / 'state.db'}")
    PollerStore(database).migrate()
    yield database
    database.close()


@pytest.fixture
def store(db: Database) -> PollerStore:
    """The poller's state store on ``db`` (modules with another kind of store override it)."""
    return PollerStore(db)


@pytest.fixture
def quick_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    """Feeds may be polled every tenth of a second: tests of the poll loop see several polls at once, where
    the feeds file's floor (5 s, against hammering a server) would have them wait."""
    monkeypatch.setattr("services.poller.feeds.MIN_INTERVAL_SECONDS", 0.05)
