"""WebSub subscriptions on both state databases: saved, updated, read back whole, deleted."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr

from services.core.db import Database
from services.poller.state import PollerStore
from services.poller.websub import Subscription, WebSubStore

NOW = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(database_url: str) -> Iterator[WebSubStore]:
    database = Database(database_url)
    PollerStore(database).migrate()
    yield WebSubStore(database)
    database.close()


def test_a_subscription_round_trips_with_the_hub_it_moved_from(store: WebSubStore) -> None:
    sub = Subscription("news", "https://hub.example/", "https://news.example/feed", SecretStr("s" * 64),
                       "requested", NOW)
    store.save(sub)
    assert store.get("news") == sub
    moved = replace(sub, hub_url="https://hub2.example/", state="active", lease_seconds=3600,
                    expires_at=NOW + timedelta(hours=1), retired_hub_url=sub.hub_url,
                    retired_topic_url=sub.topic_url)
    store.save(moved)
    found = store.get("news")
    assert found == moved and found is not None and found.secret.get_secret_value() == "s" * 64
    assert store.all() == [moved]
    store.delete("news")
    assert store.get("news") is None and store.all() == []
