"""The whole pipeline as three separate processes started through the CLI, on real Kafka and databases."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from services.core.supervise import Pipeline, metric_total, scrape
from tests.helpers import FeedServer, Resource, pipeline_env, rss, stored_articles, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.kafka]

WIRE_COPY = "<p>BAGHDAD (Reuters) – Baghdad and Washington agreed to set up a committee.</p><p>Talks follow.</p>"
OUTLET_A = [
    {"title": "Iraq, U.S. agree to set up talks", "link": "https://a.example/iraq", "guid": "a-1", "body": WIRE_COPY},
    {"title": "Storm floods the coast", "link": "https://a.example/storm", "guid": "a-2", "body": "<p>Rain.</p>"},
]
OUTLET_B = [  # the same wire copy word for word, and a story of its own
    {"title": "Iraq, U.S. agree to set up talks", "link": "https://b.example/w/9?utm_source=rss", "guid": "b-9",
     "body": WIRE_COPY},
    {"title": "Markets close higher", "link": "https://b.example/markets", "guid": "b-10", "body": "<p>Up.</p>"},
]


def lag_drained(values: dict[str, float]) -> bool:
    series = [v for key, v in values.items() if key.startswith("wirefeed_consumer_lag_messages{")]
    return bool(series) and sum(series) == 0


@pytest.fixture
def feeds_file(tmp_path: Path, feed_server: FeedServer) -> Path:
    feed_server.resources["/a.xml"] = Resource(rss("Outlet A", OUTLET_A), headers={"ETag": '"a1"'})
    feed_server.resources["/b.xml"] = Resource(rss("Outlet B", OUTLET_B))
    path = tmp_path / "feeds.yaml"
    path.write_text(f"""feeds:
  - id: outlet-a
    url: {feed_server.url('/a.xml')}
    interval: 5
  - id: outlet-b
    url: {feed_server.url('/b.xml')}
    interval: 5
""")
    return path


def test_the_pipeline_stores_each_story_once_and_stops_cleanly(
        kafka_bootstrap: str, topic_prefix: str, database_url: str, feeds_file: Path,
        feed_server: FeedServer) -> None:
    env = pipeline_env(kafka_bootstrap, topic_prefix, database_url, feeds_file)
    pipeline = Pipeline(env).start()
    try:
        pipeline.wait_ready(timeout=90)
        sink_port = pipeline.port("sink")
        wait_for(lambda: metric_total(scrape(sink_port), "wirefeed_sink_rows_written_total", outcome="inserted") >= 3,
                 timeout=90, message="three articles stored")
        # Every feed is polled again (5 s interval): unchanged feeds must add nothing.
        poller_port = pipeline.port("poller")
        wait_for(lambda: metric_total(scrape(poller_port), "wirefeed_poller_fetches_total") >= 6, timeout=60,
                 message="each feed polled three times")
        for name in ("normalizer", "sink"):  # each consumer reports its own lag per partition, drained to 0
            wait_for(lambda name=name: lag_drained(scrape(pipeline.port(name))), timeout=30,
                     message=f"{name} lag reported and zero")
        status = subprocess.run([sys.executable, "-m", "services.cli", "status", "--interval", "0.2"],
                                env={**os.environ, **env}, capture_output=True, text=True, timeout=60, check=False)
        poller = scrape(poller_port)
        normalizer = scrape(pipeline.port("normalizer"))
        sink = scrape(sink_port)
        codes = pipeline.stop()
    finally:
        pipeline.stop()

    assert metric_total(poller, "wirefeed_poller_items_published_total") == 4
    assert metric_total(poller, "wirefeed_poller_fetches_total", feed="outlet-a", outcome="not_modified") >= 1
    assert metric_total(poller, "wirefeed_poller_fetches_total", feed="outlet-b", outcome="unchanged") >= 1
    assert any(path == "/a.xml" and headers.get("if-none-match") == '"a1"' for path, headers in feed_server.requests)
    assert metric_total(normalizer, "wirefeed_normalizer_items_consumed_total") == 4

    assert metric_total(normalizer, "wirefeed_normalizer_duplicates_total", reason="same_content") == 1
    assert metric_total(sink, "wirefeed_sink_rows_written_total", outcome="inserted") == 3
    assert metric_total(sink, "wirefeed_end_to_end_latency_seconds_count") == 3
    assert codes == {"poller": 0, "normalizer": 0, "sink": 0}
    assert status.returncode == 0, status.stdout + status.stderr
    assert status.stdout.count("ready") >= 3 and "not ready" not in status.stdout

    articles = stored_articles(database_url)
    assert sorted(a.title for a in articles) == ["Iraq, U.S. agree to set up talks", "Markets close higher",
                                                  "Storm floods the coast"]
    assert len({a.id for a in articles}) == 3
    iraq = next(a for a in articles if a.title.startswith("Iraq"))
    assert iraq.published_at.tzinfo is not None and "BAGHDAD" in iraq.body_text
