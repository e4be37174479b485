"""``wirefeed feeds forget``: the poller's state of feeds taken out of the feeds file, deleted on request."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.cli import main
from services.core.db import Database
from services.poller.leases import LeaseStore, holders
from services.poller.state import FeedState, PollerStore

NOW = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> PollerStore:
    """Feeds "kept" (in the feeds file) and "dropped" and "old" (taken out), each with items and a lease."""
    url = f"sqlite:///{tmp_path / 'state.db'}"
    store = PollerStore(Database(url))
    store.migrate()
    LeaseStore(store.db, "poller-1", ttl_seconds=30).ensure(["kept", "dropped", "old"])
    for feed_id in ("kept", "dropped", "old"):
        store.save_feed_state(FeedState(feed_id, f"http://x.example/{feed_id}", etag='"v1"'))
        store.mark_published(feed_id, [(f"{feed_id}:{n}", "h") for n in range(3)], NOW)
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("feeds:\n  - id: kept\n    url: http://x.example/kept\n")
    monkeypatch.setenv("WIREFEED_FEEDS_FILE", str(feeds))
    monkeypatch.setenv("WIREFEED_STATE_DATABASE_URL", url)
    return store


def remembered(store: PollerStore) -> dict[str, int]:
    return {feed_id: len(store.known_hashes(feed_id, [f"{feed_id}:{n}" for n in range(3)]))
            for feed_id in ("kept", "dropped", "old")}


def test_feeds_out_of_the_feeds_file_are_forgotten_whole(state: PollerStore,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["feeds", "forget", "--unconfigured", "--dry-run"]) == 0
    assert capsys.readouterr().out.splitlines() == ["would forget dropped", "would forget old"]
    assert remembered(state) == {"kept": 3, "dropped": 3, "old": 3}
    assert main(["feeds", "forget", "--unconfigured"]) == 0
    assert "forgot dropped: 3 remembered item(s)" in capsys.readouterr().out
    assert remembered(state) == {"kept": 3, "dropped": 0, "old": 0}
    assert state.feed_ids() == ["kept"]
    assert set(holders(state.db)) == {"kept"}
    assert state.feed_state("kept", "http://x.example/kept").etag == '"v1"'


def test_a_configured_or_unknown_feed_is_refused(state: PollerStore, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["feeds", "forget", "kept", "nowhere", "old"]) == 1
    err = capsys.readouterr().err
    assert "kept is in the feeds file; take it out first" in err
    assert "holds nothing of nowhere" in err
    assert remembered(state) == {"kept": 3, "dropped": 3, "old": 0}  # the feed it could forget, it did
    assert main(["feeds", "forget"]) == 2  # neither feeds nor --unconfigured
