"""Poller benchmark: can one poller process hold a 10,000-feed farm on a 60-second schedule under one core?

A feed farm (a separate process, so its CPU is not counted) serves N feeds on 127.0.0.1: 90% answer
304 to the poller's conditional GET, 5% answer 200 with an unchanged body, 5% answer 200 with 20 new
items on every poll. The poller runs its real loop (leases, state database, and the Kafka publisher
against the broker at WIREFEED_KAFKA_BOOTSTRAP_SERVERS, on a topic of its own deleted at the end); first polls
are spread over one interval, as a poller that has been running a while has them. The first interval is
warm-up (every feed's first fetch is a full 200 and every item is new), prolonged until every feed's
first poll has finished and the backlog a slow first round leaves has drained (the last 200 polls each
within 2 s of due; at most four more intervals), so that neither falls into the measured steady state:
polls per second, CPU seconds per 1,000 polls (getrusage of this process, i.e. the poller's threads
and the Kafka client's), peak RSS, publish rate, and how far polls lag behind their due time.

Then the parse path alone: items per second of ``parse_document`` against plain ``feedparser.parse``
on the same real feeds from the shared corpus, with feedparser-rs (feedparser ported to Rust, parsing
only) as a compiled-core reference point.

    .venv/bin/python bench/bench_poller.py                  # 10,000 feeds, 60 s, 60 s warm-up + 120 s
    .venv/bin/python bench/bench_poller.py --feeds 2000 --measure 30   # a quicker run
    .venv/bin/python bench/bench_poller.py --publisher count           # no broker: the poller alone
    .venv/bin/python bench/bench_poller.py --state-db postgresql://…   # state in PostgreSQL, as in production
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import feedparser  # noqa: E402
import feedparser_rs  # type: ignore[import-untyped, unused-ignore]  # noqa: E402
import structlog  # noqa: E402
from kafka import KafkaAdminClient  # noqa: E402
from prometheus_client import REGISTRY  # noqa: E402

from bench import feed_farm  # noqa: E402
from schemas import RawItem  # noqa: E402
from services.core.config import CommonSettings  # noqa: E402
from services.core.db import Database, dialect_of  # noqa: E402
from services.core.kafka import broker_reachable, ensure_topics, make_producer  # noqa: E402
from services.core.runner import StopSignal  # noqa: E402
from services.poller.feeds import FeedConfig  # noqa: E402
from services.poller.fetch import Fetcher, FetchLimits  # noqa: E402
from services.poller.formats import FeedContext, FeedParseError, parse_document  # noqa: E402
from services.poller.formats.rss_atom import prepared  # noqa: E402
from services.poller.formats.rss_fast import parse_plain_feed  # noqa: E402
from services.poller.formats.safexml import thread_strict_parser  # noqa: E402
from services.poller.leases import LeaseStore  # noqa: E402
from services.poller.loop import PollLoop  # noqa: E402
from services.poller.service import KafkaPublisher, Poller, PollOutcome  # noqa: E402
from services.poller.state import PollerStore  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"
REAL_FEEDS = [
    "rss-parser/test/input/guardian.rss", "rss-parser/test/input/heise.atom", "rss-parser/test/input/uolNoticias.rss",
    "feed-rs/feed-rs/fixture/rss2/rss_2.0_spiegel.xml", "feed-rs/feed-rs/fixture/rss2/rss_2.0_nbcny.xml",
    "feed-rs/feed-rs/fixture/rss2/rss_2.0_bbc.xml", "feed-rs/feed-rs/fixture/rss2/rss_2.0_wirecutter.xml",
    "feed-rs/feed-rs/fixture/rss2/rss_2.0_ilgiornale.xml", "feed-rs/feed-rs/fixture/rss2/rss_2.0_ilmessaggero.xml",
]


# The parse comparison's turns per parser and feed (see _best_rates).
PARSE_ROUNDS = 5
# Steady state begins when this many polls in a row finished within this long of their due time.
CAUGHT_UP_POLLS, CAUGHT_UP_SECONDS = 200, 2.0


# --- the farm (runs in its own process: `bench_poller.py --serve-farm N`) -------------------------------

def kind_of(feed: int) -> str:
    return {0: "changed", 1: "unchanged"}.get(feed % 20, "not_modified")


def document(feed: int, first: int, count: int) -> bytes:
    items = "".join(
        f"<item><title>Feed {feed} story {n}</title><link>https://news.example/{feed}/{n}</link>"
        f"<guid isPermaLink='false'>{feed}-{n}</guid><pubDate>Mon, 01 Jan 2024 10:00:00 GMT</pubDate>"
        f"<description>&lt;p&gt;Wire copy of story {n}, feed {feed}.&lt;/p&gt;</description></item>"
        for n in range(first + count - 1, first - 1, -1))
    return (f"<?xml version='1.0' encoding='UTF-8'?><rss version='2.0'><channel><title>Feed {feed}</title>"
            f"<link>https://news.example/{feed}</link><description>bench</description>{items}</channel></rss>").encode()


def answer(feed: int, if_none_match: str | None, served: Counter[int]) -> bytes:
    kind = kind_of(feed)
    etag = f'"{feed}"'
    if kind == "not_modified" and if_none_match == etag:
        return feed_farm.not_modified(etag)
    served[feed] += 1
    body = document(feed, 20 * served[feed], 20) if kind == "changed" else document(feed, 0, 5)
    return feed_farm.feed_response(body, etag if kind == "not_modified" else None)


def serve_farm(feeds: int) -> None:
    """The farm's process: prints its port, then serves until terminated."""
    served: Counter[int] = Counter()
    asyncio.run(feed_farm.serve(lambda feed, match: answer(feed, match, served),
                                lambda port: print(port, flush=True)))


# --- the poller under measurement ------------------------------------------------------------------

class CountingPublisher:
    def __init__(self) -> None:
        self.items = 0

    def __call__(self, items: list[RawItem]) -> None:
        self.items += len(items)


def kafka_publisher(prefix: str) -> KafkaPublisher:
    """The poller's own publisher on a topic of the bench's own, at WIREFEED_KAFKA_BOOTSTRAP_SERVERS."""
    settings = CommonSettings(topic_prefix=prefix, topic_partitions=6)
    if not broker_reachable(settings)():
        raise SystemExit(f"no Kafka broker at {settings.kafka_bootstrap_servers}: start one, set "
                         "WIREFEED_KAFKA_BOOTSTRAP_SERVERS, or pass --publisher count")
    ensure_topics(settings, [settings.topics.raw_items])
    return KafkaPublisher(make_producer(settings, role="bench"), settings.topics.raw_items)


def close_kafka(publish: KafkaPublisher) -> None:
    """Close the producer and delete the bench's topic, so runs leave nothing behind on a shared broker."""
    publish.producer.close(timeout=30)  # type: ignore[attr-defined]
    settings = CommonSettings()
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers.split(","))
    try:
        admin.delete_topics([publish.topic])
    finally:
        admin.close()


class Probe:
    """Counts polls by outcome and how late each started, and samples CPU at phase boundaries."""

    def __init__(self, poller: Poller) -> None:
        self.outcomes: Counter[str] = Counter()
        self.polled: set[str] = set()
        self.lags: list[float] = []
        self.poller = poller
        inner = poller.poll

        async def timed(feed: FeedConfig) -> PollOutcome:
            due = poller.states[feed.id].next_attempt_at
            outcome = await inner(feed)
            if due is not None:  # done minus due: queueing, fetch, parse and publish all count
                self.lags.append((datetime.now(UTC) - due).total_seconds())
            self.outcomes[outcome.outcome] += 1
            self.polled.add(feed.id)
            return outcome

        poller.poll = timed  # type: ignore[method-assign]

    def caught_up(self, polls: int = CAUGHT_UP_POLLS, seconds: float = CAUGHT_UP_SECONDS) -> bool:
        """The last ``polls`` polls all finished within ``seconds`` of their due time."""
        recent = self.lags[-polls:]
        return len(recent) == polls and max(recent) < seconds

    def mark(self) -> tuple[float, Counter[str], int]:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime, Counter(self.outcomes), len(self.lags)


def seed(db: Database, feeds: list[FeedConfig], interval: float) -> None:
    """First polls spread evenly over one interval, as in a poller that has been running a while."""
    now = datetime.now(UTC)
    rows = [(f.id, str(f.url), now + timedelta(seconds=interval * i / len(feeds))) for i, f in enumerate(feeds)]
    with db.transaction() as tx:
        tx.executemany("INSERT INTO poller_feeds (feed_id, url, next_attempt_at) VALUES (?, ?, ?)", rows)


async def run_poller(args: argparse.Namespace, port: int, publish: Any, db: Database) -> dict[str, Any]:
    feeds = [FeedConfig(id=f"f{n}", url=f"http://127.0.0.1:{port}/{n}.xml", interval=args.interval)
             for n in range(args.feeds)]
    seed(db, feeds, args.interval)
    # Every bench feed shares one host; real farms spread over many, so the per-host cap is lifted here.
    fetcher = Fetcher(FetchLimits(allow_private_networks=True), max_connections=args.concurrency)
    poller = Poller(feeds, PollerStore(db), fetcher, publish, max_concurrency=args.concurrency,
                    per_host_concurrency=args.concurrency, rng=random.Random(7))
    probe = Probe(poller)
    stop = StopSignal()
    task = asyncio.create_task(PollLoop(poller, LeaseStore(db, "bench", 30)).run(stop))
    started = time.monotonic()
    await asyncio.sleep(args.warmup)
    give_up = started + args.warmup + 4 * args.interval  # a stalled poller must not hang the bench
    # A slow first round (every item new) delays the second round of the feeds it reached first: wait
    # until every feed was polled once and that backlog has drained, so the measurement is of steady state.
    while (len(probe.polled) < len(feeds) or not probe.caught_up()) and time.monotonic() < give_up:
        await asyncio.sleep(0.5)
    warmup = time.monotonic() - started
    start, start_wall = probe.mark(), time.monotonic()
    published_start = _published(publish)
    await asyncio.sleep(args.measure)
    end, elapsed = probe.mark(), time.monotonic() - start_wall
    published = _published(publish) - published_start
    stop.set()
    await task
    await poller.fetcher.aclose()
    return {"start": start, "end": end, "elapsed": elapsed, "lags": probe.lags[start[2]:end[2]],
            "published": published, "warmup_polls": sum(start[1].values()), "warmup": warmup}


def _published(publish: Any) -> int:
    if isinstance(publish, CountingPublisher):
        return publish.items
    total = 0.0
    for metric in REGISTRY.collect():
        if metric.name == "wirefeed_poller_items_published":
            total += sum(sample.value for sample in metric.samples if sample.name.endswith("_total"))
    return int(total)


def fresh_state(db: Database) -> None:
    """The poller's tables, empty: a given database may hold an earlier run's."""
    PollerStore(db).migrate()
    with db.transaction() as tx:
        for table in ("poller_seen_items", "poller_leases", "poller_feeds"):
            tx.execute(f"DELETE FROM {table}")


def _state_kind(url: str | None) -> str:
    return "PostgreSQL" if url and dialect_of(url) == "postgresql" else "SQLite (WAL) file"


def report(args: argparse.Namespace, result: dict[str, Any], publisher_note: str) -> None:
    cpu0, outcomes0, _ = result["start"]
    cpu1, outcomes1, _ = result["end"]
    outcomes = outcomes1 - outcomes0
    polls = sum(outcomes.values())
    cpu = cpu1 - cpu0
    lags = sorted(result["lags"]) or [0.0]
    needed = args.feeds / args.interval
    rate = polls / result["elapsed"]
    share = cpu / result["elapsed"]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    p99 = lags[min(len(lags) - 1, int(len(lags) * 0.99))]
    print("wirefeed poller benchmark")
    print(f"  farm          {args.feeds} feeds on 127.0.0.1 in a separate process: 90% 304, 5% unchanged 200, "
          "5% 200 with 20 new items per poll")
    print(f"  schedule      every {args.interval:g} s (±10% jitter); first polls spread over one interval")
    print(f"  publisher     {publisher_note}")
    # httpcore retries importing sniffio on every request when it is missing: a measurable cost.
    sniffio = "installed" if importlib.util.find_spec("sniffio") else "NOT installed"
    print(f"  state         {_state_kind(args.state_db)}, leases on; max concurrency {args.concurrency}; "
          f"sniffio {sniffio}")
    print(f"  warm-up       {result['warmup']:.0f} s (at least {args.warmup:g} s, until every feed was polled once "
          f"and the last {CAUGHT_UP_POLLS} polls were within {CAUGHT_UP_SECONDS:g} s of due), "
          f"{result['warmup_polls']} polls (first fetches: full bodies, all items new)")
    print(f"  measured      {result['elapsed']:.0f} s of steady state")
    print(f"    polls       {polls} = {rate:.1f}/s (feeds/interval = {needed:.1f}/s; each next poll is timed "
          "from the end of the last); "
          + ", ".join(f"{k} {v}" for k, v in outcomes.most_common()))
    print(f"    CPU         {cpu:.1f} s user+sys = {1000 * cpu / max(polls, 1):.2f} s per 1,000 polls; "
          f"{100 * share:.0f}% of one core")
    print(f"    lateness    poll done after due time: median {statistics.median(lags):.2f} s, p99 {p99:.2f} s, "
          f"max {lags[-1]:.2f} s")
    print(f"    published   {result['published']} items = {result['published'] / result['elapsed']:.0f} items/s; "
          f"{outcomes['publish_error']} polls with a publish error (retried later)")
    print(f"    peak RSS    {peak:.0f} MiB (ru_maxrss of the poller process)")
    # Held: polls keep pace with the feeds and finish within a tenth of an interval of their due time.
    held = rate >= 0.95 * needed and p99 < 0.1 * args.interval
    print(f"  verdict       {'held' if held else 'NOT held'} on schedule, "
          f"{'under' if share < 1 else 'OVER'} one core")


# --- parse throughput ------------------------------------------------------------------------------

def parse_comparison(seconds_each: float) -> None:
    ctx = FeedContext(feed_id="bench", feed_url="https://bench.example/feed", fetched_at=datetime.now(UTC))
    print("parse throughput: services.poller.formats.parse_document vs feedparser.parse (same bytes, same process)")
    print("  (reading: the fast path's lxml parse and field reading alone, before each item becomes a RawItem")
    print("   with its XML fragment, content hash and validation; feedparser-rs: feedparser's Rust port, which")
    print("   parses to dictionaries only: a compiled-core reference, not part of wirefeed)")
    print(f"  (each rate the best of {PARSE_ROUNDS} rounds in which the four take turns)")
    print(f"  {'feed':<26}{'items':>6}{'poller/s':>10}{'feedparser/s':>14}{'ratio':>7}"
          f"{'reading/s':>11}{'ratio':>7}{'feedparser-rs/s':>17}{'ratio':>7}")
    totals = [0.0, 0.0, 0.0, 0.0]  # seconds per item of each feed, summed: feedparser, poller, reading, rust
    for relative in REAL_FEEDS:
        path = CORPUS / relative
        if not path.exists():
            print(f"  {relative}: missing, skipped")
            continue
        body = path.read_bytes()
        items = len(parse_document(body, ctx).items)
        rates = _best_rates({
            "poller": lambda b=body: parse_document(b, ctx),
            "feedparser": lambda b=body: feedparser.parse(b),
            "reading": lambda b=body: parse_plain_feed(b, None, thread_strict_parser()),
            "rust": lambda b=body: feedparser_rs.parse(b),
        }, seconds_each)
        ours, theirs, reading, rust = (rates[name] * items for name in ("poller", "feedparser", "reading", "rust"))
        for n, rate in enumerate((theirs, ours, reading, rust)):
            totals[n] += 1 / rate if rate else 0
        print(f"  {path.name:<26}{items:>6}{ours:>10.0f}{theirs:>14.0f}{ours / theirs:>7.2f}"
              f"{reading:>11.0f}{reading / theirs:>7.2f}{rust:>17.0f}{rust / theirs:>7.2f}")
    print(f"  harmonic-mean ratio to feedparser: poller {totals[0] / totals[1]:.2f}; reading alone "
          f"{totals[0] / totals[2]:.2f}; feedparser-rs {totals[0] / totals[3]:.2f}")


def fast_path_share() -> None:
    """How many of the corpus's RSS, RDF and Atom documents the fast reading takes: the real feeds, that is,
    with feedparser's and gofeed's suites of parser edge cases left out."""
    suites = (CORPUS / "feedparser" / "tests", CORPUS / "gofeed" / "testdata")
    taken = total = 0
    for path in sorted(CORPUS.rglob("*")):
        if not path.is_file() or path.stat().st_size > 5_000_000 or path.is_relative_to(suites[0]) \
                or path.is_relative_to(suites[1]):
            continue
        body = path.read_bytes()
        head = body[:2000]
        if b"<rss" not in head and b"<feed" not in head and b"rdf:RDF" not in head:
            continue
        total += 1
        try:
            body = prepared(body, None)
        except FeedParseError:
            continue
        taken += parse_plain_feed(body, None, thread_strict_parser()) is not None
    print(f"fast reading: takes {taken} of the corpus's {total} RSS/RDF/Atom feeds ({taken / total:.0%}; "
          "feedparser reads the rest)")


def _best_rates(works: dict[str, Any], seconds: float, rounds: int = PARSE_ROUNDS) -> dict[str, float]:
    """Runs per second of each work: the parsers take turns for ``rounds`` rounds (``seconds`` each in all),
    and each keeps its best round, as timeit does. On a shared machine a neighbour's burst of load then
    slows every parser alike instead of whichever happened to be running, and the ratios compare code."""
    best = dict.fromkeys(works, 0.0)
    for _ in range(rounds):
        for name, work in works.items():
            best[name] = max(best[name], _rate(work, seconds / rounds))
    return best


def _rate(work: Any, seconds: float) -> float:
    runs, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        work()
        runs += 1
    return runs / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--feeds", type=int, default=10_000)
    parser.add_argument("--interval", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=None, help="seconds (default: one interval)")
    parser.add_argument("--measure", type=float, default=120.0, help="seconds of steady state measured")
    parser.add_argument("--publisher", choices=("kafka", "count"), default="kafka")
    parser.add_argument("--concurrency", type=int, default=64, help="WIREFEED_MAX_CONCURRENCY (default 64)")
    parser.add_argument("--topic-prefix", default="bench-poller", help="the topic is <prefix>-<random>.raw-items.v1")
    parser.add_argument("--parse-seconds", type=float, default=1.0, help="per feed and parser")
    parser.add_argument("--parse-only", action="store_true", help="only the parse comparison, no farm")
    parser.add_argument("--state-db", help="the poller's state database URL (default: a SQLite file made for the "
                        "run); its poller tables are emptied first")
    parser.add_argument("--serve-farm", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_farm:
        serve_farm(args.serve_farm)
        return 0
    if args.parse_only:
        parse_comparison(args.parse_seconds)
        fast_path_share()
        return 0
    args.warmup = args.interval if args.warmup is None else args.warmup
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))  # errors only
    kafka = kafka_publisher(f"{args.topic_prefix}-{uuid.uuid4().hex[:8]}") if args.publisher == "kafka" else None
    farm = subprocess.Popen([sys.executable, __file__, "--serve-farm", str(args.feeds)], stdout=subprocess.PIPE)
    assert farm.stdout is not None
    port = int(farm.stdout.readline())
    publish: Any = kafka or CountingPublisher()
    note = (f"the real broker at {CommonSettings().kafka_bootstrap_servers}, topic {publish.topic} (acks=all, "
            f"each feed's items acknowledged within {publish.timeout:g} s, deleted afterwards)" if kafka
            else "a counting publisher (no broker)")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            db = Database(args.state_db or f"sqlite:///{tmp}/state.db")
            fresh_state(db)
            result = asyncio.run(run_poller(args, port, publish, db))
            db.close()
    finally:
        farm.terminate()
        farm.wait(10)
        if kafka:
            close_kafka(kafka)
    report(args, result, note)
    parse_comparison(args.parse_seconds)
    fast_path_share()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
