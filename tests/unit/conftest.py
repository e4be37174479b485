"""Fixtures shared by the unit tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from services.core.db import Database
from services.poller.state import PollerStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[PollerStore]:
    """The poller's state store in a fresh SQLite file (modules with another kind of store override it)."""
    db = Database(f"sqlite:///{tmp_path / 'state.db'}")
    store = PollerStore(db)
    store.migrate()
    yield store
    db.close()
