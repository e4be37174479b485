"""Read side: what a search page costs by how many articles match (prints figures; not a test).

    .venv/bin/python bench/bench_reads.py [--articles 200000] [--engines postgresql,sqlite]

Fills a fresh database with N short articles through the sink's store (40 words drawn from ten, so each
is in ~98% of them; one article in 10,000 also has a rare word), then times a page of 50 articles
(``Reader.page``) and of 50 stories (``Reader.story_page``) for a common word, a rare one, a word in
none and a common word with an exclusion. The reader counts a search's matches up to ``FEW_MATCHES``
first and picks its plan by that; beside it, in the same run, each plan alone: "walk" (every search
walks the newest articles down the date index, checking each: ``FEW_MATCHES = 0``) and "matches" (every
search is answered from all its matches, looked up and sorted: ``FEW_MATCHES`` unbounded). Each figure
is the best of five. PostgreSQL: ``WIREFEED_BENCH_DATABASE_URL`` or ``WIREFEED_TEST_DATABASE_URL`` names a
server where a throwaway database is created and dropped.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_sink import announce, database, engines  # the sink benchmark's engines and databases
from services.core.db import Database
from services.sink import reads
from services.sink.reads import Reader
from services.sink.store import SqlStore
from tests.factories import article

WORDS = ["harbour", "quay", "market", "election", "storm", "court", "trade", "oil", "bank", "vote"]
RARE, RARE_EVERY = "zanzibar", 10_000
SEARCHES = [("common word", "harbour"), ("rare word", RARE), ("no article", "nowhere"),
            ("common, excluding", "harbour -quay")]
PLANS = {"chosen": reads.FEW_MATCHES, "walk": 0, "matches": 10**9}
READS: dict[str, Callable[[Reader, str], int]] = {
    "articles": lambda reader, query: len(reader.page(query=query, limit=50).articles),
    "stories": lambda reader, query: len(reader.story_page(query=query, limit=50).stories),
}


def fill(store: SqlStore, count: int) -> None:
    rng = random.Random(1)
    for start in range(1, count + 1, 2_000):
        batch = []
        for n in range(start, min(start + 2_000, count + 1)):
            body = " ".join(rng.choice(WORDS) for _ in range(40)) + (f" {RARE}" if n % RARE_EVERY == 7 else "")
            batch.append(article(n, body=body))
        store.write(batch, {("bench", 0): start + len(batch)}, datetime.now(UTC))


def best_ms(read: Callable[[], object], rounds: int = 5) -> float:
    read()  # warm the cache
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        read()
        best = min(best, time.perf_counter() - started)
    return best * 1000


def bench_engine(name: str, url: str, count: int) -> None:
    with database(url) as db_url:
        store = SqlStore(Database(db_url))
        store.migrate()
        started = time.monotonic()
        fill(store, count)
        if store.db.dialect == "postgresql":  # statistics as autovacuum would gather them
            with store.db.transaction() as tx:
                tx.execute("ANALYZE articles")
        print(f"\n{name}: {count:,} articles stored in {time.monotonic() - started:.0f} s")
        reader = Reader(store.db)
        print(f"  {'search':20} {'read':8} {'found':>5} " + " ".join(f"{plan:>10}" for plan in PLANS)
              + "   walk/chosen  matches/chosen")
        for label, query in SEARCHES:
            for read_name, read in READS.items():
                times = {}
                for plan, few in PLANS.items():
                    reads.FEW_MATCHES = few
                    times[plan] = best_ms(lambda: read(reader, query))  # noqa: B023  # called at once
                reads.FEW_MATCHES = PLANS["chosen"]
                print(f"  {label:20} {read_name:8} {read(reader, query):>5} "
                      + " ".join(f"{times[plan]:8.1f}ms" for plan in PLANS)
                      + f"   {times['walk'] / times['chosen']:10.1f}x  {times['matches'] / times['chosen']:13.1f}x")
        store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=200_000)
    parser.add_argument("--engines", default="postgresql,sqlite")
    args = parser.parse_args()
    announce("bench/bench_reads.py")
    print(f"a page of 50; {os.cpu_count()} CPUs; the reader's plan ('chosen', counting up to "
          f"{reads.FEW_MATCHES:,} matches first) against each plan alone")
    for name, url in engines(args.engines):
        bench_engine(name, url, args.articles)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
