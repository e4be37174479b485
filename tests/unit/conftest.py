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
