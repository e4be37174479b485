"""Every document of the shared corpus, served as a feed, through the whole pipeline: nothing goes missing.

Over a thousand real feeds and wire documents in every format wirefeed reads (RSS, Atom, RDF, JSON
Feed, ninjs, NewsML-G2, NITF, NewsML 1.2, ANPA, IPTC 7901, e-mail), oddities included. Each raw item the
poller publishes must end in exactly one place: an article stored once, a duplicate counted, an item
without text skipped, or a dead letter with its reason.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.core.supervise import Pipeline, metric_total, scrape
from services.poller.formats import FeedContext, FeedParseError, parse_document
from tests.helpers import CORPUS, FeedServer, Resource, pipeline_env, stored_articles, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.kafka]

MAX_DOCUMENT_BYTES = 5_000_000  # the corpus's few larger files are archives of test data, not feeds


@dataclass(frozen=True)
class CorpusFeeds:
    feeds_file: Path
    feeds: int
    items: int  # distinct items (by id) the poller should publish


@pytest.fixture
def corpus_feeds(shared_dir: Path, feed_server: FeedServer, tmp_path: Path) -> CorpusFeeds:
    """Each corpus document the poller reads items from, served at its own path as its own feed."""
    lines, items = [], 0
    for path in sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.stat().st_size <= MAX_DOCUMENT_BYTES):
        feed_id, route = f"c{len(lines)}", f"/c{len(lines)}"
        body = path.read_bytes()
        context = FeedContext(feed_id=feed_id, feed_url=feed_server.url(route), fetched_at=datetime.now(UTC))
        try:
            ids = {item.item_id for item in parse_document(body, context).items}
        except FeedParseError:
            continue  # documents the poller refuses are the conformance tests' business
        if ids:
            feed_server.resources[route] = Resource(body, headers={})
            lines.append(f"  - id: {feed_id}\n    url: {feed_server.url(route)}\n    interval: 3600\n")
            items += len(ids)
    feeds_file = tmp_path / "feeds.yaml"
    feeds_file.write_text("feeds:\n" + "".join(lines))
    return CorpusFeeds(feeds_file, len(lines), items)


def accounted(pipeline: Pipeline, corpus: CorpusFeeds) -> dict[str, float] | None:
    """The pipeline's figures once every feed was fetched and every raw item has an outcome, else None."""
    poller, normalizer, sink = (scrape(pipeline.port(name)) for name in ("poller", "normalizer", "sink"))
    figures = {
        "fetched": metric_total(poller, "wirefeed_poller_fetches_total", outcome="ok"),
        "published": metric_total(poller, "wirefeed_poller_items_published_total"),
        "consumed": metric_total(normalizer, "wirefeed_normalizer_items_consumed_total"),
        "articles": metric_total(normalizer, "wirefeed_normalizer_articles_published_total"),
        "duplicates": metric_total(normalizer, "wirefeed_normalizer_duplicates_total"),
        "skipped": metric_total(normalizer, "wirefeed_normalizer_items_skipped_total"),
        "dead_letters": metric_total(normalizer, "wirefeed_dead_letters_total"),
        "sink_dead_letters": metric_total(sink, "wirefeed_dead_letters_total"),
        "stored": metric_total(sink, "wirefeed_sink_rows_written_total", outcome="inserted"),
    }
    outcomes = figures["articles"] + figures["duplicates"] + figures["skipped"] + figures["dead_letters"]
    done = (figures["fetched"] == corpus.feeds and figures["published"] == corpus.items
            and figures["consumed"] == figures["published"] == outcomes and figures["stored"] == figures["articles"])
    return figures if done else None


def test_every_corpus_item_is_stored_counted_or_dead_lettered_with_a_reason(
        kafka_bootstrap: str, topic_prefix: str, database_url: str, corpus_feeds: CorpusFeeds) -> None:
    assert corpus_feeds.feeds > 1_000 and corpus_feeds.items > 3_500  # the corpus is all there
    env = pipeline_env(kafka_bootstrap, topic_prefix, database_url, corpus_feeds.feeds_file,
                       LOG_LEVEL="WARNING")
    pipeline = Pipeline(env).start()
    try:
        pipeline.wait_ready(timeout=90)
        figures = wait_for(lambda: accounted(pipeline, corpus_feeds), timeout=300, interval=1.0,
                           message="every corpus item accounted for")
        letters = subprocess.run([sys.executable, "-m", "services.cli", "dead-letters", "list", "--json"],
                                 env={**os.environ, **env}, capture_output=True, text=True, timeout=60, check=True)
        codes = pipeline.stop()
    finally:
        pipeline.stop()

    assert codes == {"poller": 0, "normalizer": 0, "sink": 0}
    assert figures["sink_dead_letters"] == 0
    articles = stored_articles(database_url)
    assert len(articles) == len({a.id for a in articles}) == figures["stored"]  # each stored once
    assert figures["articles"] > figures["duplicates"] > 0  # the corpus repeats some stories: counted, not stored
    dead = [json.loads(line) for line in letters.stdout.splitlines()]
    assert len(dead) == figures["dead_letters"]
    # A letter says what went wrong: the one dated a thousand years ahead (a WordPress export's typo).
    assert dead and all(letter["stage"] == "normalizer" and letter["reason"] for letter in dead)
    assert any("in the future" in letter["reason"] for letter in dead)
