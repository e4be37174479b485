"""Near-duplicate dedup benchmark (prints figures; not a test). ``python bench/bench_dedup.py [--postgres URL]``

1. CPU per article: shingling + MinHash with rensa vs datasketch, and the normalize() step before it.
2. Lookup cost against index size: the LSH structure (band key -> story, signatures kept for verification)
   in memory at 10k, 100k and 1M stories, against a linear scan of every signature measured in the same run.
   The in-memory index is a sorted array of band keys probed by binary search, the same shape as the
   database's B-tree primary key on (band_index, band_hash); 1M stories are not loaded into a database
   here because loading 42M band rows takes longer than this benchmark's budget.
3. The real DedupStore.decide() on SQLite (and PostgreSQL with --postgres) with 100k stories bulk-loaded,
   against the same store nearly empty, with the storage each indexed story costs.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from schemas import Article, RawItem
from services.core.db import Database
from services.normalizer.dedup import DedupStore
from services.normalizer.neardup import NearDup, NearDupConfig
from services.normalizer.normalize import normalize

ROOT = Path(__file__).resolve().parents[1]
SEED_TEXT = ROOT.parent / "shared" / "seed" / "reuters-iraq-coalition-syndicated.txt"
CONFIG = NearDupConfig()
RNG = np.random.default_rng(42)
NOW = datetime(2024, 1, 25, tzinfo=UTC)


def timed(fn: Callable[[], object], seconds: float = 1.0) -> float:
    """Seconds per call, repeated for about ``seconds``."""
    fn()
    n, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        fn()
        n += 1
    return (time.perf_counter() - started) / n


# -- 1. CPU ----------------------------------------------------------------------------------------------

def article_text(words: int = 500) -> tuple[str, str]:
    paragraphs = [p for p in SEED_TEXT.read_text().split("\n\n") if p.strip()] if SEED_TEXT.exists() else []
    text = " ".join(paragraphs[1:]) or "lorem ipsum dolor sit amet " * 100
    vocabulary = text.split()
    body = " ".join(vocabulary[i % len(vocabulary)] for i in range(words))
    return (paragraphs[0] if paragraphs else "Headline"), body


def bench_cpu() -> None:
    title, body = article_text()
    print("== 1. CPU per article (one core): a 500-word article, 128 permutations, 3-word shingles")
    costs = {}
    for backend in ("rensa", "datasketch"):
        near = NearDup(NearDupConfig(backend=backend))
        costs[backend] = timed(lambda near=near: near.fingerprint_text(f"{title}\n{body}"))
        print(f"  fingerprint ({backend:>10}): {costs[backend] * 1e6:7.1f} µs  (tokens, shingles, MinHash, band keys)")
    print(f"  rensa is {costs['datasketch'] / costs['rensa']:.1f}x faster than datasketch on the whole fingerprint")
    html = "".join(f"<p>{body[i:i + 400]}</p>" for i in range(0, len(body), 400))
    raw = RawItem(item_id="f:1", feed_id="f", feed_url="https://f.example/feed", format="rss", fetched_at=NOW,
                  content_hash="x", title=title, content_html=html, published_raw="2024-01-25T00:00:00Z")
    norm = timed(lambda: normalize(raw, NOW))
    total = norm + costs["rensa"]
    print(f"  normalize() (not part of dedup): {norm * 1e6:7.1f} µs")
    print(f"  normalize + fingerprint: {total * 1e6:.0f} µs -> {1 / total:,.0f} items/s per core before the database")


# -- 2. lookup cost against index size --------------------------------------------------------------------

Sigs = npt.NDArray[np.uint32]


def band_keys(sigs: Sigs) -> npt.NDArray[np.int64]:
    """Vectorised stand-in for minhash.band_keys (same role: one 64-bit key per band, band index mixed in)."""
    rows = sigs[:, : CONFIG.bands * CONFIG.rows].reshape(len(sigs), CONFIG.bands, CONFIG.rows).astype(np.uint64)
    h = np.arange(CONFIG.bands, dtype=np.uint64)[None, :] * np.uint64(0x9E3779B97F4A7C15)
    for j in range(CONFIG.rows):
        h = (h ^ rows[:, :, j]) * np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(31)
    return h.view(np.int64)


class LshIndex:
    """Band key -> story (sorted keys, binary search) plus every story's signature for verification."""

    def __init__(self, sigs: Sigs) -> None:
        keys = band_keys(sigs)
        order = np.argsort(keys, axis=None, kind="stable")
        self.keys = keys.ravel()[order]
        self.story = (order // CONFIG.bands).astype(np.int32)
        self.sigs = sigs

    def lookup(self, sig: Sigs) -> int | None:
        probe = band_keys(sig[None, :]).ravel()
        at = np.searchsorted(self.keys, probe)
        inside = at < len(self.keys)
        at, probe = at[inside], probe[inside]
        stories = np.unique(self.story[at[self.keys[at] == probe]])
        return self._verify(sig, stories)

    def _verify(self, sig: Sigs, stories: npt.NDArray[np.int64] | npt.NDArray[np.int32]) -> int | None:
        if not len(stories):
            return None
        similarity = (self.sigs[stories] == sig).mean(axis=1)
        best = int(np.argmax(similarity))
        return int(stories[best]) if similarity[best] >= CONFIG.threshold else None

    def nbytes(self) -> int:
        return int(self.keys.nbytes + self.story.nbytes + self.sigs.nbytes)


def linear_lookup(sigs: Sigs, sig: Sigs) -> int | None:
    similarity = (sigs == sig).mean(axis=1)
    best = int(np.argmax(similarity))
    return best if similarity[best] >= CONFIG.threshold else None


def near_copy(sig: Sigs, keep: float = 0.6) -> Sigs:
    """A signature agreeing with ``sig`` on about ``keep`` of its values (estimated Jaccard ~keep)."""
    out = sig.copy()
    replace = RNG.random(len(sig)) > keep
    out[replace] = RNG.integers(0, 2**32, size=int(replace.sum()), dtype=np.uint32)
    return out


def bench_lookups() -> None:
    print("\n== 2. near-duplicate lookups per second against index size (in memory, one core)")
    print("     queries: half copies of an indexed story (Jaccard ~0.6), half unrelated stories")
    sigs = RNG.integers(0, 2**32, size=(1_000_000, CONFIG.num_perm), dtype=np.uint32)
    for size in (10_000, 100_000, 1_000_000):
        index = LshIndex(sigs[:size])
        targets = RNG.integers(0, size, 200)
        queries = [near_copy(sigs[t]) if i % 2 == 0 else RNG.integers(0, 2**32, CONFIG.num_perm, dtype=np.uint32)
                   for i, t in enumerate(targets)]
        started = time.perf_counter()
        found = [index.lookup(q) for q in queries]
        per = (time.perf_counter() - started) / len(queries)
        hits = sum(f == t for f, t, i in zip(found, targets, range(len(targets)), strict=True) if i % 2 == 0)
        wrong = sum(f is not None for i, f in enumerate(found) if i % 2 == 1)
        print(f"  LSH    {size:>9,} stories: {1 / per:>9,.0f} lookups/s ({per * 1e6:6.1f} µs); copies found "
              f"{hits}/100, unrelated matched {wrong}/100; index {index.nbytes() / size:,.0f} bytes/story")
        if size <= 100_000:
            scan = timed(lambda size=size, query=queries[0]: linear_lookup(sigs[:size], query), 0.5)
            print(f"  linear {size:>9,} stories: {1 / scan:>9,.0f} lookups/s ({scan * 1e6:6.1f} µs)")


# -- 3. the real store --------------------------------------------------------------------------------------

def bulk_load(db: Database, stories: int) -> float:
    """Index ``stories`` unrelated stories directly (signature, story row, band rows)."""
    started = time.perf_counter()
    created = NOW - timedelta(days=1)
    for start in range(0, stories, 10_000):
        n = min(10_000, stories - start)
        sigs = RNG.integers(0, 2**32, size=(n, CONFIG.num_perm), dtype=np.uint32)
        keys = band_keys(sigs)
        ids = [f"bulk-{start + i:09d}" for i in range(n)]
        blobs = [row.astype("<u4").tobytes() for row in sigs]
        hashes = keys.tolist()
        with db.transaction() as tx:
            tx.executemany("INSERT INTO dedup_stories (story_id, first_article_id, latest_version, canceled, "
                           "created_at, updated_at) VALUES (?, ?, 1, ?, ?, ?)",
                           [(i, i, False, created, created) for i in ids])
            tx.executemany("INSERT INTO dedup_articles (article_id, story_id, version, published, created_at, kind, "
                           "feed_id, signature) VALUES (?, ?, 1, ?, ?, 'story', 'bulk', ?)",
                           [(i, i, True, created, blob) for i, blob in zip(ids, blobs, strict=True)])
            tx.executemany("INSERT INTO dedup_bands (band_index, band_hash, story_id, article_id, created_at) "
                           "VALUES (?, ?, ?, ?, ?) ON CONFLICT (band_index, band_hash) DO NOTHING",
                           [(b, h, i, i, created) for i, row in zip(ids, hashes, strict=True)
                            for b, h in enumerate(row)])
    return time.perf_counter() - started


def real_articles(n: int, offset: int) -> list[Article]:
    title, body = article_text(400)
    words = body.split()
    out = []
    for i in range(n):
        rng = np.random.default_rng(offset + i)
        text = " ".join(words[j] for j in rng.permutation(len(words)))  # a new story: same words, new order
        raw = RawItem(item_id=f"bench:{offset + i}", feed_id="bench", feed_url="https://b.example/feed",
                      format="rss", fetched_at=NOW, content_hash=str(i), title=f"{title} {offset + i}",
                      content_html=f"<p>{text}</p>", published_raw="2024-01-25T00:00:00Z")
        out.append(normalize(raw, NOW))
    return out


def copy_of(article: Article, n: int) -> Article:
    body = article.body_text + "\n\nCopyright 2024 Harbor Times. All rights reserved."
    return article.model_copy(update={"id": f"copy-{n}-{article.id}", "feed_id": "harbor",
                                      "content_hash": f"copy-{n}-{article.content_hash}",
                                      "story_id": f"copy-story-{n}-{article.story_id}", "body_text": body})


def measure_store(store: DedupStore, label: str, offset: int) -> None:
    news = real_articles(150, offset)
    started = time.perf_counter()
    for article in news:
        store.decide(article, NOW)
    per_new = (time.perf_counter() - started) / len(news)
    copies = [copy_of(a, offset) for a in news[:100]]
    started = time.perf_counter()
    verdicts = [store.decide(c, NOW).verdict.value for c in copies]
    per_copy = (time.perf_counter() - started) / len(copies)
    print(f"  {label}: decide() new story {per_new * 1e3:.2f} ms ({1 / per_new:,.0f}/s), copy {per_copy * 1e3:.2f} ms "
          f"({1 / per_copy:,.0f}/s); copies recognised {verdicts.count('copy')}/{len(copies)}")


def bench_store(url: str, stories: int) -> None:
    db = Database(url)
    store = DedupStore(db)
    store.migrate()
    measure_store(store, f"{db.dialect:>10}, {0:>7,} bulk stories", 0)
    seconds = bulk_load(db, stories)
    print(f"  {db.dialect:>10}: bulk-loaded {stories:,} stories x {CONFIG.bands} band rows in {seconds:.0f} s")
    measure_store(store, f"{db.dialect:>10}, {stories:>7,} bulk stories", 10_000)
    if db.dialect == "sqlite":
        size = Path(url.split("sqlite:///", 1)[1]).stat().st_size
        print(f"  {db.dialect:>10}: database file {size / 2**20:,.0f} MiB -> {size / stories:,.0f} bytes/story")
    else:
        size = int(db.query("SELECT pg_database_size(current_database())")[0][0])
        print(f"  {db.dialect:>10}: database {size / 2**20:,.0f} MiB -> {size / stories:,.0f} bytes/story")
    db.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", help="also run the store on this (empty, disposable) PostgreSQL database")
    parser.add_argument("--stories", type=int, default=100_000, help="stories bulk-loaded for the store runs")
    parser.add_argument("--skip-store", action="store_true", help="CPU and in-memory parts only")
    args = parser.parse_args()
    started = time.perf_counter()
    bench_cpu()
    bench_lookups()
    if args.skip_store:
        return 0
    print(f"\n== 3. DedupStore.decide() end to end (one connection, one transaction per article), "
          f"{args.stories:,} stories indexed vs none")
    with tempfile.TemporaryDirectory() as tmp:
        bench_store(f"sqlite:///{Path(tmp) / 'bench.db'}", args.stories)
    if args.postgres or os.environ.get("WIREFEED_BENCH_POSTGRES_URL"):
        bench_store(args.postgres or os.environ["WIREFEED_BENCH_POSTGRES_URL"], args.stories)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
