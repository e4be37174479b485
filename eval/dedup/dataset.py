"""The labelled set: natural documents, their syndication variants, in a seeded arrival order, as Articles.

Documents go through the real ``normalize()`` (the step before dedup in the pipeline), so the texts the
detector sees are the ones it would see in production.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from eval.dedup import corpus, variants
from eval.dedup.corpus import Doc
from schemas import Article, PubStatus, RawItem
from services.normalizer.normalize import normalize

NOW = datetime(2024, 1, 11, 12, 0, tzinfo=UTC)
MIN_BODY_WORDS = 8   # headline-only items (photo captions, alerts) carry no text to compare
COPIES_PER_BASE = 2
BASE_MIN_WORDS = 60  # a base for synthetic copies is a real article, not a one-line note


@dataclass(frozen=True)
class Labelled:
    docs: list[Doc]
    articles: list[Article]       # same order as docs: the arrival order
    excluded: int                 # natural documents left out as headline-only

    def groups(self) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        for i, doc in enumerate(self.docs):
            out.setdefault(doc.group, []).append(i)
        return out


def build(seed: int = 7) -> Labelled:
    corpus.ensure_corpus()
    natural = corpus.natural()
    # A kill notice has no body but belongs to its story by item id, so it stays.
    kept = [d for d in natural if _body_words(d) >= MIN_BODY_WORDS or d.pubstatus == "canceled"]
    bases = [d for d in kept if _body_words(d) >= BASE_MIN_WORDS and not d.group.startswith(("feed", "daring"))]
    bases += _benchmark_docs()
    synthetic: list[Doc] = []
    for base in bases:
        synthetic += [variants.syndicated(base, n) for n in range(COPIES_PER_BASE)]
        bucket = int(hashlib.sha256(base.doc_id.encode()).hexdigest(), 16) % 4
        if bucket == 0:
            synthetic.append(variants.wire_update(base))
        elif bucket == 1:
            synthetic.append(variants.excerpt(base))
    docs = _arrival_order([*kept, *[b for b in bases if b.source == "benchmark"], *synthetic], seed)
    return Labelled(docs, [to_article(d, i) for i, d in enumerate(docs)], len(natural) - len(kept))


def _benchmark_docs() -> list[Doc]:
    """article-extraction-benchmark's ground-truth bodies: 181 real articles from many publishers."""
    docs = []
    for key, title, paragraphs in corpus.benchmark_articles():
        docs.append(Doc(f"aeb:{key}", f"aeb:{key}", f"publisher-{key[:6]}", f"aeb:{key}", title,
                        corpus.paragraphs_html(paragraphs), "benchmark"))
    return docs


def _arrival_order(docs: list[Doc], seed: int) -> list[Doc]:
    """Shuffled, except that a refile arrives after what it updates (as a wire sends them)."""
    rng = random.Random(seed)
    order = sorted(docs, key=lambda d: d.doc_id)
    rng.shuffle(order)
    late = [d for d in order if d.doc_id.endswith("~update1") or d.pubstatus == "canceled"]
    return [d for d in order if d not in late] + late


def _body_words(doc: Doc) -> int:
    return len(re.sub(r"<[^>]+>", " ", doc.html).split())


def to_article(doc: Doc, n: int) -> Article:
    raw = RawItem(
        item_id=doc.item_id, feed_id=doc.feed_id, feed_url=f"https://{doc.feed_id}.example/feed",
        format="rss", fetched_at=NOW + timedelta(seconds=n),
        content_hash=hashlib.sha256(doc.html.encode()).hexdigest(), title=doc.title or None,
        content_html=doc.html or None, published_raw=(NOW + timedelta(seconds=n)).isoformat(),
    )
    article = normalize(raw, NOW + timedelta(seconds=n))
    return article.model_copy(update={"pubstatus": PubStatus(doc.pubstatus)})


def describe(labelled: Labelled) -> str:
    sizes = Counter(len(v) for v in labelled.groups().values())
    pairs = sum(k * (k - 1) // 2 * v for k, v in sizes.items())
    sources = Counter(d.source.split(":")[0] for d in labelled.docs)
    return (f"{len(labelled.docs)} documents in {len(labelled.groups())} stories, {pairs} same-story pairs; "
            f"{labelled.excluded} headline-only natural documents left out; by source: {dict(sources)}")
