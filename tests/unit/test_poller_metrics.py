"""The poller's metrics as Prometheus scrapes them: outcomes, durations, bytes, items, per-feed health."""

from __future__ import annotations

import uuid
from pathlib import Path

from prometheus_client import REGISTRY, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from schemas import RawItem
from services.core.db import Database
from services.poller.feeds import FeedConfig
from services.poller.fetch import Fetcher, FetchLimits
from services.poller.service import Poller
from services.poller.state import PollerStore
from tests.helpers import FeedServer, Resource, rss

STORY = {"title": "Storm", "link": "http://example.com/a", "guid": "a-1", "body": "<p>Rain.</p>"}


def scrape() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    samples = {}
    for family in text_string_to_metric_families(generate_latest(REGISTRY).decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


async def test_every_poll_outcome_and_feed_health_is_exported(feed_server: FeedServer, tmp_path: Path) -> None:
    run = uuid.uuid4().hex[:6]
    paths = {"fresh": Resource(rss("F", [STORY]), headers={"ETag": '"1"'}), "same": Resource(rss("S", [STORY])),
             "broken": Resource(b"", status=503), "closed": Resource(b"", status=410)}
    feeds = []
    for name, resource in paths.items():
        feed_server.resources[f"/{name}.xml"] = resource
        feeds.append(FeedConfig(id=f"{name}-{run}", url=feed_server.url(f"/{name}.xml")))  # type: ignore[arg-type]
    db = Database(f"sqlite:///{tmp_path / 'state.db'}")
    store = PollerStore(db)
    store.migrate()
    published: list[RawItem] = []
    poller = Poller(feeds, store, Fetcher(FetchLimits(allow_private_networks=True)), published.extend)
    poller.load_states()
    before = scrape()
    for _ in range(2):
        for feed in feeds:
            await poller.poll(feed)
    await poller.fetcher.aclose()
    db.close()
    after = scrape()

    def value(name: str, **labels: str) -> float:
        return after.get((name, tuple(sorted(labels.items()))), 0.0)

    fetches = "wirefeed_poller_fetches_total"
    assert value(fetches, feed=f"fresh-{run}", outcome="ok") == 1
    assert value(fetches, feed=f"fresh-{run}", outcome="not_modified") == 1
    assert value(fetches, feed=f"same-{run}", outcome="unchanged") == 1
    assert value(fetches, feed=f"broken-{run}", outcome="http_status") == 2
    assert value(fetches, feed=f"closed-{run}", outcome="gone") == 2
    assert value("wirefeed_poller_fetched_bytes_total", feed=f"fresh-{run}") == len(paths["fresh"].body)
    assert value("wirefeed_poller_items_published_total", feed=f"same-{run}") == 1
    assert value("wirefeed_poller_last_success_timestamp_seconds", feed=f"fresh-{run}") > 1.7e9
    assert value("wirefeed_poller_consecutive_failures", feed=f"broken-{run}") == 2
    assert [value("wirefeed_poller_feeds", state=s) for s in ("ok", "backing_off", "gone")] == [2, 1, 1]
    polls = after[("wirefeed_poller_fetch_duration_seconds_count", ())]
    assert polls - before.get(("wirefeed_poller_fetch_duration_seconds_count", ()), 0) == 8
