"""`wirefeed run` on SIGHUP: the poller reads its feeds file again and polls a feed added to it."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx
import pytest

from services.core.supervise import metric_total, scrape
from tests.helpers import FeedServer, Resource, free_port, pipeline_env, rss, wait_for, wirefeed_process

pytestmark = [pytest.mark.e2e, pytest.mark.kafka]


def feed(server: FeedServer, fid: str) -> str:
    server.resources[f"/{fid}.xml"] = Resource(rss(fid, [{"title": f"News of {fid}", "link": f"https://{fid}.example/1",
                                                          "body": f"<p>What {fid} reported today.</p>"}]))
    return f"  - id: {fid}\n    url: {server.url(f'/{fid}.xml')}\n    interval: 5\n"


def test_sighup_to_wirefeed_run_makes_the_poller_read_its_feeds_file_again(
        kafka_bootstrap: str, topic_prefix: str, sqlite_url: str, tmp_path: Path, feed_server: FeedServer) -> None:
    feeds_file = tmp_path / "feeds.yaml"
    feeds_file.write_text("feeds:\n" + feed(feed_server, "first"))
    poller_port = free_port()
    env = {
        **os.environ,
        **pipeline_env(kafka_bootstrap, topic_prefix, sqlite_url, feeds_file,
                       WIREFEED_FEEDS_RELOAD_SECONDS="3600",  # only the signal can make it read the file again
                       WIREFEED_POLLER_METRICS_PORT=str(poller_port)),
    }
    def published(fid: str) -> float:
        try:
            return metric_total(scrape(poller_port), "wirefeed_poller_items_published_total", feed=fid)
        except httpx.TransportError:  # not listening yet
            return 0

    with wirefeed_process(["run"], env) as run:
        wait_for(lambda: published("first") >= 1, timeout=90, message="the first feed's item published")
        feeds_file.write_text("feeds:\n" + feed(feed_server, "second"))  # "first" removed, "second" added
        run.send_signal(signal.SIGHUP)
        wait_for(lambda: published("second") >= 1, timeout=60, message="the added feed's item published")
        metrics = scrape(poller_port)
        run.send_signal(signal.SIGTERM)
        code = run.wait(60)

    assert metrics["wirefeed_poller_feeds_file_last_reload_successful"] == 1
    assert metrics['wirefeed_poller_feeds_file_reloads_total{result="applied"}'] == 1
    assert metric_total(metrics, "wirefeed_poller_items_published_total", feed="first") == 0  # series removed
    assert code == 0
