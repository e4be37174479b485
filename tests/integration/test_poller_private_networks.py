"""A poller process with WIREFEED_ALLOW_PRIVATE_NETWORKS off and two feeds on 127.0.0.1: the one whose
feeds-file entry lists that network in ``private_networks`` is fetched and published to the real broker;
the other is refused (``blocked_address``) and never reaches the server.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from services.core.supervise import metric_total, scrape
from tests.helpers import FeedServer, Resource, pipeline_env, rss, wait_for, wirefeed_process
from tests.integration.kafka_helpers import read_all, settings_for

pytestmark = pytest.mark.kafka

STORY = {"title": "Canteen closed on Friday", "link": "http://intranet.example/memo/1", "guid": "memo-1",
         "body": "<p>Closed for cleaning.</p>"}


def fetches(port: int, feed: str, outcome: str) -> float:
    try:
        return metric_total(scrape(port), "wirefeed_poller_fetches_total", feed=feed, outcome=outcome)
    except httpx.HTTPError:  # not listening yet
        return 0.0


def test_only_the_feed_allowed_its_private_network_is_fetched(
        kafka_bootstrap: str, topic_prefix: str, feed_server: FeedServer, tmp_path: Path) -> None:
    feed_server.resources["/intranet.xml"] = Resource(rss("Intranet", [STORY]))
    feed_server.resources["/other.xml"] = Resource(rss("Other", [{**STORY, "guid": "other-1"}]))
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("feeds:\n"
                     f"  - id: intranet\n    url: {feed_server.url('/intranet.xml')}\n    interval: 60\n"
                     "    private_networks: [127.0.0.0/8]\n"
                     f"  - id: other\n    url: {feed_server.url('/other.xml')}\n    interval: 60\n")
    env = {**os.environ, **pipeline_env(kafka_bootstrap, topic_prefix, f"sqlite:///{tmp_path / 'state.db'}", feeds,
                                        WIREFEED_ALLOW_PRIVATE_NETWORKS="false")}
    port = int(env["WIREFEED_POLLER_METRICS_PORT"])
    log = tmp_path / "poller.log"
    with log.open("wb") as output, \
            wirefeed_process(["poller"], env, stdout=output, stderr=subprocess.STDOUT) as poller:
        wait_for(lambda: fetches(port, "intranet", "ok") >= 1 and fetches(port, "other", "blocked_address") >= 1,
                 timeout=90, message="the intranet feed fetched, the other refused")
        poller.send_signal(signal.SIGTERM)
        assert poller.wait(30) == 0
    assert [path for path, _ in feed_server.requests] == ["/intranet.xml"]
    settings = settings_for(kafka_bootstrap, topic_prefix)
    published = [json.loads(value) for _, value in read_all(settings, settings.topics.raw_items, 1)]
    assert [(item["feed_id"], item["title"]) for item in published] == [("intranet", STORY["title"])]
    refusals = [json.loads(line) for line in log.read_text().splitlines()
                if line.startswith("{") and '"feed_failed"' in line]
    assert [(event["feed"], event["error_kind"]) for event in refusals] == [("other", "blocked_address")]
