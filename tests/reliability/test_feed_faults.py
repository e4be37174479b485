"""Feed servers that fail in every usual way: the poller survives, backs off, reports it, and picks
the feeds up again once they heal, without a restart by hand; every healthy item is stored once."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from services.core.supervise import metric_total, scrape
from tests.helpers import rss, wait_for
from tests.reliability.conftest import Cluster
from tests.reliability.harness import RESULTS, Row, Stream, pipeline
from tests.reliability.hostile_server import HostileServer

pytestmark = [pytest.mark.reliability, pytest.mark.kafka]

MISBEHAVIOURS = ["hang", "error_500", "rate_limited", "drip", "close_mid_body", "redirect_loop"]


def items(feed: str, count: int) -> list[dict[str, str]]:
    return [{"title": f"{feed} story {n}", "link": f"https://{feed}.example/{n}", "guid": f"{feed}-{n}",
             "body": f"<p>{feed} report number {n}.</p>"} for n in range(count)]


def lying(feed: str) -> bytes:
    """A Latin-1 document that declares UTF-8, served as image/png: decoded or rejected, never a crash."""
    body = rss(f"{feed} café", items(feed, 2)).decode()
    return body.replace("report number", "r\u00e9sum\u00e9 number").encode("latin-1")


def failing_twice(port: int, feed: str) -> Callable[[], bool]:
    return lambda: metric_total(scrape(port), "wirefeed_poller_consecutive_failures", feed=feed) >= 2


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    server = HostileServer().start()
    yield server
    server.stop()


def test_misbehaving_feed_servers_are_survived_and_recovered(single_broker: Cluster, fault_database: str,
                                                             hostile: HostileServer, tmp_path: Path) -> None:
    hostile.healthy["/healthy.xml"] = rss("healthy", items("healthy", 5))
    for name in MISBEHAVIOURS:
        hostile.behaviour[f"/{name}.xml"] = name
    hostile.healthy["/lying.xml"] = lying("lying")
    feeds = ["healthy", *MISBEHAVIOURS, "lying"]
    feeds_file = tmp_path / "feeds.yaml"
    feeds_file.write_text("feeds:\n" + "".join(
        f"  - id: {name.replace('_', '-')}\n    url: {hostile.url(f'/{name}.xml')}\n    interval: 5\n"
        for name in feeds))
    stream = Stream(single_broker.bootstrap, f"feedfault-{tmp_path.name[-8:]}", fault_database)
    stream.create_topics()
    env = stream.env(WIREFEED_FEEDS_FILE=str(feeds_file), WIREFEED_ALLOW_PRIVATE_NETWORKS="true",
                     WIREFEED_READ_TIMEOUT_SECONDS="1", WIREFEED_TOTAL_TIMEOUT_SECONDS="2")
    with pipeline(env, services=("poller", "normalizer", "sink")) as running:
        port = running.port("poller")
        wait_for(lambda: stream.stored()[1] >= 5, timeout=60, message="healthy items stored")
        for name in MISBEHAVIOURS:
            wait_for(failing_twice(port, name.replace("_", "-")), timeout=60, message=f"{name} failing twice")
        assert metric_total(scrape(port), "wirefeed_poller_feeds", state="backing_off") >= len(MISBEHAVIOURS)
        for name in MISBEHAVIOURS:  # the servers heal; the feeds come back on their own
            hostile.heal(f"/{name}.xml", rss(name, items(name, 3)))
        expected = 5 + 3 * len(MISBEHAVIOURS)
        wait_for(lambda: stream.stored()[1] >= expected, timeout=120, message="healed feeds' items stored")
        assert metric_total(scrape(port), "wirefeed_poller_feeds", state="backing_off") <= 1  # lying may fail
        assert running.alive() == {"poller": True, "normalizer": True, "sink": True}
    rows, distinct = stream.stored()
    offered = expected + 2  # plus the lying feed's two items, which must be decoded, not dropped
    RESULTS.rows.append(Row("feed servers: hang/500/429/drip/cut body/loop/lying charset", offered, distinct,
                            offered - distinct, rows - distinct, 0))
    assert (distinct, rows) == (offered, offered)
