"""Sink benchmark through the real broker into PostgreSQL and SQLite (prints figures; not a test).

    .venv/bin/python bench/bench_sink.py [--articles 30000] [--baseline 2000] [--rate 500] [--seconds 20]
                                         [--engines postgresql,sqlite]

For each engine, on a fresh topic and a fresh database:

1. throughput: produce N articles with 2 KB bodies first, then time the sink draining them (from its
   first batch to its last commit) with the production path: batches of up to 500, one transaction each;
2. baseline: the same polls and batches on fewer articles, but one transaction per article, for the ratio;
   on PostgreSQL also two replicas of the sink in one consumer group (how the sink scales out);
3. full-text cost: the batched run again (half the articles) on a database without the full-text index
   (PostgreSQL: the tsvector column and its GIN index; SQLite: the FTS5 insert trigger); the difference
   in CPU per article is what indexing for search costs; on PostgreSQL also a what-if that indexes only
   the first 1 KB of each body (one and two replicas): what bounding the indexed text would buy;
4. latency: the sink running, a producer in a separate process sends at a fixed rate for a while and
   stamps ``fetched_at`` at send; latency is the commit time minus ``fetched_at`` (p50 / p99 / max).

Besides rates it prints CPU time per article (this process, and the PostgreSQL server processes serving the
benchmark database, read from /proc): on a shared machine the rate measures the neighbours too, the CPU
cost per article does not.

The sink runs in this process with the real consume loop, consumer, ``SinkBatch`` and ``SqlStore``; the
store is wrapped only to note when each transaction committed. Kafka: ``WIREFEED_KAFKA_BOOTSTRAP_SERVERS``
(default 127.0.0.1:9092). PostgreSQL: ``WIREFEED_BENCH_DATABASE_URL`` or ``WIREFEED_TEST_DATABASE_URL``
names a server where a throwaway database is created and dropped. Topics are deleted afterwards.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import structlog
from kafka import KafkaAdminClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from schemas import Article
from services.core.config import CommonSettings
from services.core.consume import ConsumeLoop
from services.core.db import Database
from services.core.kafka import ensure_topics, make_consumer, make_producer
from services.core.runner import StopSignal, freeze_startup_heap
from services.sink.service import SinkBatch, StoredOffsets
from services.sink.store import OffsetKey, SqlStore, WriteResult

BOOTSTRAP = os.environ.get("WIREFEED_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
PARTITIONS = 6
SYLLABLES = ("ka", "lo", "mi", "ne", "ra", "tu", "ve", "so", "di", "ba", "re", "po", "ni", "ga", "te", "lu", "mo", "sa")
# A few thousand distinct words with a skewed frequency, so that lexemes and the GIN index look like prose.
WORDS = [a + b + c for a in SYLLABLES for b in SYLLABLES for c in ("", *SYLLABLES[:8])]
WEIGHTS = [1.0 / (rank + 1) for rank in range(len(WORDS))]

AS_BUILT, NO_FULL_TEXT, BODY_PREFIX = "as built", "no full-text", "body prefix"
#: Characters of the body the "body prefix" experiment indexes (the title is always indexed whole).
PREFIX_CHARS = 1024
_PG_DROP_SEARCH = ("DROP INDEX articles_search", "ALTER TABLE articles DROP COLUMN search")
#: Schema changes made after the migrations, per scenario and engine. "no full-text" drops what indexing
#: for search adds to every insert, to measure its cost; "body prefix" is a what-if, not the product: it
#: indexes only the start of each body, so later words are not found.
SCHEMA_CHANGES: dict[str, dict[str, tuple[str, ...]]] = {
    AS_BUILT: {"postgresql": (), "sqlite": ()},
    NO_FULL_TEXT: {"postgresql": _PG_DROP_SEARCH, "sqlite": ("DROP TRIGGER articles_fts_insert",)},
    BODY_PREFIX: {"postgresql": (*_PG_DROP_SEARCH,
        "ALTER TABLE articles ADD COLUMN search tsvector GENERATED ALWAYS AS (setweight(to_tsvector('simple', "
        "coalesce(title, '')), 'A') || to_tsvector('simple', left(coalesce(body_text, ''), "
        f"{PREFIX_CHARS}))) STORED",
        "ALTER TABLE articles ALTER COLUMN search SET STORAGE EXTERNAL",
        "CREATE INDEX articles_search ON articles USING GIN (search)"), "sqlite": ()},
}


# --- articles -----------------------------------------------------------------------------------------------

def make_article(n: int, rng: random.Random, fetched_at: datetime) -> Article:
    body = " ".join(rng.choices(WORDS, WEIGHTS, k=400))[:2048]  # 2 KB of text
    return Article(
        id=f"bench-{n:08d}", story_id=f"story-{n // 3:08d}", version=n % 3 + 1, item_id=f"feed-{n % 20}:{n}",
        feed_id=f"feed-{n % 20}", url=f"https://news.example/{n}", canonical_url=f"https://news.example/{n}",
        title=" ".join(rng.choices(WORDS, WEIGHTS, k=8)).capitalize(), body_text=body,
        body_html=f"<p>{body}</p>", published_at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=n),
        fetched_at=fetched_at, content_hash=f"{n:064x}",
    )


def produce(settings: CommonSettings, count: int, start: int = 0) -> None:
    producer = make_producer(settings)
    rng = random.Random(start)
    for n in range(start, start + count):
        a = make_article(n, rng, datetime.now(UTC))
        producer.send(settings.topics.articles, key=a.story_id.encode(), value=a.to_bytes())
    producer.flush(120)
    producer.close(10)


def paced_producer(bootstrap: str, prefix: str, rate: float, seconds: float, start: int) -> None:
    """Runs in its own process, so that producing does not compete with the sink for the GIL."""
    settings = CommonSettings(kafka_bootstrap_servers=bootstrap, topic_prefix=prefix)
    producer = make_producer(settings)
    rng = random.Random(start)
    began = time.monotonic()
    for i in range(int(rate * seconds)):
        time.sleep(max(0.0, began + i / rate - time.monotonic()))
        a = make_article(start + i, rng, datetime.now(UTC))  # fetched_at = the moment it is sent
        producer.send(settings.topics.articles, key=a.story_id.encode(), value=a.to_bytes())
    producer.flush(60)
    producer.close(10)


# --- the sink, timed ----------------------------------------------------------------------------------------

class TimedStore(SqlStore):
    """The real store; notes commit times and end-to-end latencies.

    ``one_per_transaction`` is the baseline: the same batches, but every article is written in a
    transaction of its own (the batch's offsets go with the last one).
    """

    def __init__(self, db: Database, *, one_per_transaction: bool = False) -> None:
        super().__init__(db)
        self.one_per_transaction = one_per_transaction
        self.rows = 0
        self.first_batch: float | None = None
        self.last_commit = 0.0
        self.latencies: list[float] = []
        self._lock = threading.Lock()  # replicas write from several threads

    def write(self, articles: list[Article], offsets: dict[OffsetKey, int], now: datetime,
              payloads: Mapping[str, str] | None = None) -> WriteResult:
        with self._lock:
            if self.first_batch is None and articles:
                self.first_batch = time.monotonic()
        if self.one_per_transaction and len(articles) > 1:
            for article in articles[:-1]:
                self._timed_write([article], {}, now, payloads)
            return self._timed_write(articles[-1:], offsets, now, payloads)
        return self._timed_write(articles, offsets, now, payloads)

    def _timed_write(self, articles: list[Article], offsets: dict[OffsetKey, int], now: datetime,
                     payloads: Mapping[str, str] | None) -> WriteResult:
        result = super().write(articles, offsets, now, payloads)
        committed = datetime.now(UTC)
        with self._lock:
            self.last_commit = time.monotonic()
            self.rows += result.inserted
            self.latencies.extend((committed - a.fetched_at).total_seconds() for a in result.new_articles)
        return result


@contextmanager
def running_sink(settings: CommonSettings, store: TimedStore, replicas: int = 1) -> Iterator[None]:
    """``replicas`` consume loops in one consumer group, as separate sink processes would run."""
    stop = StopSignal()
    producer = make_producer(settings)
    consumers, threads = [], []
    for _ in range(replicas):
        consumer = make_consumer(settings, f"{settings.topic_prefix}-sink", max_poll_records=500,
                                 fetch_max_wait_ms=200)
        offsets = StoredOffsets(consumer, store, settings.topics.articles)
        consumer.subscribe([settings.topics.articles], listener=offsets)
        loop = ConsumeLoop(consumer, SinkBatch(store, producer, settings.topics, offsets), stop, stage="sink",
                           commit=lambda _: None, max_records=500)
        consumers.append(consumer)
        threads.append(threading.Thread(target=loop.run, daemon=True))
    freeze_startup_heap()  # as the sink's main does before its loop
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        for thread, consumer in zip(threads, consumers, strict=True):
            thread.join(60)
            consumer.close(autocommit=False)
        producer.close(10)


def wait_until(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the sink did not catch up in time")
        time.sleep(0.05)


# --- scenarios ----------------------------------------------------------------------------------------------

@dataclass
class Drain:
    rows: int
    seconds: float
    sink_cpu: float  # seconds of CPU in this process (consume loop, Kafka client threads)
    db_cpu: float  # seconds of CPU in the PostgreSQL server processes serving this database

    @property
    def rate(self) -> float:
        return self.rows / self.seconds

    def per_row(self, cpu: float) -> float:
        return cpu / self.rows * 1e6


def drain(url: str, count: int, *, one_per_transaction: bool = False, replicas: int = 1,
          schema: str = AS_BUILT) -> Drain:
    with fresh(url, one_per_transaction, schema) as (settings, store):
        produce(settings, count)
        sink_cpu, db_cpu = time.process_time(), ServerCpu(store.db)
        with running_sink(settings, store, replicas):
            wait_until(lambda: store.rows >= count, timeout=600)
            sink_cpu, db_seconds = time.process_time() - sink_cpu, db_cpu.used()
        assert store.first_batch is not None and store.count() == count
        return Drain(count, store.last_commit - store.first_batch, sink_cpu, db_seconds)


class ServerCpu:
    """CPU time of the PostgreSQL backends connected to one database, read from /proc (same host).

    Wall-clock rates on a shared machine measure the neighbours too; CPU per article does not.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self.start = self._total()

    def used(self) -> float:
        return self._total() - self.start

    def _total(self) -> float:
        if self.db.dialect != "postgresql":
            return 0.0
        pids = [int(row[0]) for row in self.db.query(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()")]
        return sum(_process_cpu(pid) for pid in pids)


def _process_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:  # not on this host, or gone
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def latency(url: str, rate: float, seconds: float) -> list[float]:
    with fresh(url) as (settings, store), running_sink(settings, store):
        time.sleep(3)  # joined and assigned before the clock starts
        sender = multiprocessing.get_context("spawn").Process(
            target=paced_producer, args=(BOOTSTRAP, settings.topic_prefix, rate, seconds, 10_000_000))
        sender.start()
        sender.join(seconds + 120)
        expected = int(rate * seconds)
        wait_until(lambda: store.rows >= expected, timeout=60)
        return sorted(store.latencies)


@contextmanager
def fresh(url: str, one_per_transaction: bool = False,
          schema: str = AS_BUILT) -> Iterator[tuple[CommonSettings, TimedStore]]:
    """A new topic set and a new, migrated database for one scenario, its schema changed as ``schema`` says."""
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    settings = CommonSettings(kafka_bootstrap_servers=BOOTSTRAP, topic_prefix=prefix,
                              topic_partitions=PARTITIONS)
    ensure_topics(settings, settings.topics.all())
    with database(url) as db_url:
        store = TimedStore(Database(db_url), one_per_transaction=one_per_transaction)
        store.migrate()
        change_schema(store.db, schema)
        try:
            yield settings, store
        finally:
            store.close()
            delete_topics(settings)


def change_schema(db: Database, schema: str) -> None:
    with db.transaction() as tx:
        for statement in SCHEMA_CHANGES[schema][db.dialect]:
            tx.execute(statement)


def announce(script: str) -> None:
    """Print the command line the figures below come from, and keep the log to warnings and errors (a
    log line per tiny batch of the latency run buried the figures)."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    print("$ " + " ".join([".venv/bin/python", script, *sys.argv[1:]]))


def engines(names: str) -> Iterator[tuple[str, str]]:
    """Each engine of a comma-separated list, named, with the server URL a throwaway database goes on
    (PostgreSQL: ``WIREFEED_BENCH_DATABASE_URL`` or ``WIREFEED_TEST_DATABASE_URL``; skipped, saying so,
    without one)."""
    pg_url = os.environ.get("WIREFEED_BENCH_DATABASE_URL") or os.environ.get("WIREFEED_TEST_DATABASE_URL")
    for engine in names.split(","):
        if engine != "postgresql":
            yield "SQLite", "sqlite:///"
        elif pg_url:
            yield "PostgreSQL", pg_url
        else:
            print("\npostgresql: skipped (set WIREFEED_BENCH_DATABASE_URL or WIREFEED_TEST_DATABASE_URL)")


@contextmanager
def database(url: str) -> Iterator[str]:
    if url.startswith("sqlite"):
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/bench.db"
        return
    name = f"wirefeed_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(url)
    try:
        yield urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))
    finally:
        drop_database(url, name)


def drop_database(url: str, name: str) -> None:
    # FORCE cannot end an autovacuum worker (owned by the superuser) that happens to be in the database;
    # it leaves within moments, so try again briefly.
    for attempt in range(10):
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except psycopg.errors.InsufficientPrivilege:
            time.sleep(0.5 * (attempt + 1))
    print(f"  (could not drop database {name}; drop it by hand)")


def delete_topics(settings: CommonSettings) -> None:
    admin = KafkaAdminClient(bootstrap_servers=BOOTSTRAP.split(","))
    try:
        admin.delete_topics(settings.topics.all())
    except Exception as error:  # leftovers are harmless; say so rather than fail the figures
        print(f"  (could not delete topics {settings.topic_prefix}.*: {error})")
    finally:
        admin.close()


def percentile(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


# --- main ---------------------------------------------------------------------------------------------------

def bench_engine(name: str, url: str, args: argparse.Namespace) -> None:
    print(f"\n{name}")
    batched = drain(url, args.articles)
    report("batched (<=500/tx)", batched)
    single = drain(url, args.baseline, one_per_transaction=True)
    report("baseline (1/tx)", single)
    print(f"  batched / baseline    {batched.rate / single.rate:>9.1f}x")
    plain = drain(url, args.articles // 2, schema=NO_FULL_TEXT)
    report("batched, no full-text", plain)
    print_full_text_cost(batched, plain)
    if url.startswith("postgresql"):  # SQLite has one writer: replicas would only take turns
        report("batched, 2 replicas", drain(url, args.articles, replicas=2))
        print(f"  what-if, not the product: only the first {PREFIX_CHARS} characters of each body indexed")
        report("  batched", drain(url, args.articles, schema=BODY_PREFIX))
        report("  batched, 2 replicas", drain(url, args.articles, replicas=2, schema=BODY_PREFIX))
    found = latency(url, args.rate, args.seconds)
    print(f"  latency at {args.rate:.0f}/s for {args.seconds:.0f} s ({len(found)} articles): "
          f"p50 {percentile(found, 0.5) * 1000:.0f} ms, p99 {percentile(found, 0.99) * 1000:.0f} ms, "
          f"max {found[-1] * 1000:.0f} ms, mean {statistics.fmean(found) * 1000:.0f} ms")


def print_full_text_cost(batched: Drain, plain: Drain) -> None:
    """What the full-text index costs per article: the batched run minus the same run without it."""
    sink = batched.per_row(batched.sink_cpu) - plain.per_row(plain.sink_cpu)
    line = f"  full-text cost per article: sink {sink:.0f} us"
    if batched.db_cpu:
        db = batched.per_row(batched.db_cpu) - plain.per_row(plain.db_cpu)
        line += f" + PostgreSQL {db:.0f} us ({db / batched.per_row(batched.db_cpu):.0%} of its CPU per article)"
    print(f"{line}; rate without it {plain.rate / batched.rate:.1f}x")


def report(label: str, run: Drain) -> None:
    cpu = f"sink {run.per_row(run.sink_cpu):.0f} us"
    if run.db_cpu:
        cpu += f" + PostgreSQL {run.per_row(run.db_cpu):.0f} us"
    print(f"  {label:<22}{run.rows:>7} articles in {run.seconds:6.2f} s = {run.rate:>7,.0f} articles/s   "
          f"CPU per article: {cpu}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=30_000, help="articles for the throughput run")
    parser.add_argument("--baseline", type=int, default=2_000, help="articles for the 1-per-transaction run")
    parser.add_argument("--rate", type=float, default=500.0, help="arrival rate of the latency run (articles/s)")
    parser.add_argument("--seconds", type=float, default=20.0, help="duration of the latency run")
    parser.add_argument("--engines", default="postgresql,sqlite")
    args = parser.parse_args()
    announce("bench/bench_sink.py")
    print(f"broker {BOOTSTRAP}, {PARTITIONS} partitions; {os.cpu_count()} CPUs; 2 KB article bodies "
          f"(~{len(make_article(0, random.Random(0), datetime.now(UTC)).to_bytes()) / 1024:.1f} KB messages)")
    started, load_before = time.monotonic(), os.getloadavg()[0]
    for name, url in engines(args.engines):
        bench_engine(name, url, args)
    print(f"\ntotal {time.monotonic() - started:.0f} s; load average now {os.getloadavg()[0]:.1f} "
          f"(was {load_before:.1f}) on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
