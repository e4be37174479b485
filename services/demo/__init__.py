"""``wirefeed demo``: the whole pipeline on bundled sample feeds served from 127.0.0.1.

Four outlets carry the same Reuters story: one with its ad-blocker notice, as in the seed document, two
word for word, one trimmed and re-headlined with its own newsletter prompt;
the demo runs poller, normalizer and sink as separate processes against the configured Kafka,
stores into an embedded SQLite file, and prints what happened.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any

from services.core.db import Database
from services.core.errors import PortInUseError
from services.core.supervise import Pipeline, metric_total, scrape
from services.sink.store import SqlStore

FEEDS = ("shore-news.xml", "harbor-times.xml", "metro-ledger.atom", "coastal-courier.xml")
# The seed document's headline. Whichever copy arrives first starts the story, and one outlet re-headlined
# it, so the summary shows a copy with this headline: the same output whatever the arrival order.
SEED_HEADLINE = "Iraq, U.S. agree set up talks on future of U.S.-led coalition – statement"


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # stdlib signature
        pass


def serve_feeds(directory: Path) -> ThreadingHTTPServer:
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def run_demo(timeout: float = 120.0, workdir: Path | None = None) -> int:
    run_id = time.strftime("%Y%m%d-%H%M%S")
    workdir = workdir or Path(".wirefeed") / f"demo-{run_id}"
    workdir.mkdir(parents=True, exist_ok=True)
    feeds_dir = Path(str(resources.files("services.demo") / "feeds"))
    server = serve_feeds(feeds_dir)
    port = server.server_address[1]
    feeds_file = workdir / "feeds.yaml"
    feeds_file.write_text("feeds:\n" + "".join(
        f"  - id: {name.split('.')[0]}\n    url: http://127.0.0.1:{port}/{name}\n    interval: 5\n"
        for name in FEEDS))
    database = (workdir / "wirefeed.db").resolve()
    env = {
        "WIREFEED_TOPIC_PREFIX": f"wirefeed-demo-{run_id}",
        "WIREFEED_DATABASE_URL": f"sqlite:///{database}",
        "WIREFEED_FEEDS_FILE": str(feeds_file),
        "WIREFEED_ALLOW_PRIVATE_NETWORKS": "true",  # the sample feeds are served on 127.0.0.1
        "WIREFEED_LOG_FORMAT": os.environ.get("WIREFEED_LOG_FORMAT", "json"),
        "WIREFEED_LOG_LEVEL": os.environ.get("WIREFEED_LOG_LEVEL", "WARNING"),
    }
    try:
        pipeline = Pipeline(env).start()
    except PortInUseError:
        server.shutdown()
        raise
    try:
        pipeline.wait_ready(timeout=60)
        figures = _wait_until_drained(pipeline, timeout)
    finally:
        codes = pipeline.stop()
        server.shutdown()
    _report(figures, database, pipeline, codes)
    return 0 if figures["stored"] > 0 and all(code == 0 for code in codes.values()) else 1


def _figures(pipeline: Pipeline) -> dict[str, float]:
    poller, normalizer, sink = (scrape(pipeline.port(name)) for name in ("poller", "normalizer", "sink"))
    return {
        "polls": metric_total(poller, "wirefeed_poller_fetches_total"),
        "items_parsed": metric_total(poller, "wirefeed_poller_items_parsed_total"),
        "published_raw": metric_total(poller, "wirefeed_poller_items_published_total"),
        "consumed": metric_total(normalizer, "wirefeed_normalizer_items_consumed_total"),
        "articles": metric_total(normalizer, "wirefeed_normalizer_articles_published_total"),
        "copies": metric_total(normalizer, "wirefeed_normalizer_articles_published_total", verdict="copy"),
        "duplicates": metric_total(normalizer, "wirefeed_normalizer_duplicates_total"),
        "dead_letters": metric_total(normalizer, "wirefeed_dead_letters_total")
        + metric_total(sink, "wirefeed_dead_letters_total"),
        "stored": metric_total(sink, "wirefeed_sink_rows_written_total", outcome="inserted"),
    }


def _wait_until_drained(pipeline: Pipeline, timeout: float) -> dict[str, float]:
    """Until every feed was polled twice and every raw item is accounted for downstream."""
    deadline = time.monotonic() + timeout
    while True:
        figures = _figures(pipeline)
        polled_twice = figures["polls"] >= 2 * len(FEEDS)
        normalized = figures["consumed"] >= figures["published_raw"] > 0
        stored = figures["stored"] >= figures["articles"] > 0
        if polled_twice and normalized and stored:
            return figures
        if time.monotonic() > deadline:
            raise TimeoutError(f"the demo pipeline did not drain within {timeout:g}s: {figures}")
        time.sleep(0.5)


def _show_seed_story(database: Path) -> None:
    store = SqlStore(Database(f"sqlite:///{database}"))
    try:
        copies = [a for a in store.export() if "coalition" in a.title.lower()]
    finally:
        store.close()
    if not copies:
        return
    seed = next((a for a in copies if a.title == SEED_HEADLINE), copies[0])
    print(f"  the seed story          \"{seed.title}\"")
    print(f"                          dateline {seed.dateline.place} ({seed.dateline.agency}), agency "
          f"{seed.agency}, byline {', '.join(seed.byline)}, credits {seed.credits}")
    print(f"                          carried by {len({a.feed_id for a in copies})} outlets as "
          f"{len({a.story_id for a in copies})} story; ad-blocker notice removed: "
          f"{all('ad blocker' not in a.body_text for a in copies)}")


def _report(figures: dict[str, float], database: Path, pipeline: Pipeline, codes: dict[str, int | None]) -> None:
    print("\nwirefeed demo: what happened")
    print(f"  feeds polled            {len(FEEDS)} feeds, {figures['polls']:.0f} polls (the second poll of an "
          "unchanged feed publishes nothing)")
    print(f"  items fetched           {figures['items_parsed']:.0f} parsed, {figures['published_raw']:.0f} "
          "published as raw items")
    print(f"  articles                {figures['articles']:.0f} published, "
          f"{figures['duplicates']:.0f} duplicates dropped, {figures['dead_letters']:.0f} dead letters")
    print(f"  stored                  {figures['stored']:.0f} articles in {database}, "
          f"{figures['copies']:.0f} of them other outlets' copies grouped into an existing story")
    _show_seed_story(database)
    print("  metrics (while running) " + ", ".join(
        f"{name} :{pipeline.port(name)}/metrics" for name in ("poller", "normalizer", "sink")))
    print("  shutdown                " + ", ".join(f"{name} exit {code}" for name, code in codes.items()))
    print(f"  see the articles        WIREFEED_DATABASE_URL=sqlite:///{database} wirefeed export\n")
