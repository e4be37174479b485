"""``python -m eval.dedup``: the threshold sweep, then the real DedupStore end to end on the labelled set."""

from __future__ import annotations

import argparse
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

from eval.dedup import dataset, sweep
from eval.dedup.dataset import Labelled
from services.core.db import Database
from services.normalizer.dedup import DedupStore, Verdict
from services.normalizer.neardup import NearDup, NearDupConfig

BAND_CONFIGS = [(16, 8), (21, 6), (25, 5), (32, 4), (42, 3), (64, 2)]


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.dedup", description=__doc__)
    parser.add_argument("--seed", type=int, default=7, help="arrival order and variant generator seed")
    parser.add_argument("--database-url", help="run the store on this database (default: a temporary SQLite)")
    args = parser.parse_args()
    labelled = dataset.build(args.seed)
    print("labelled set:", dataset.describe(labelled))
    config = NearDupConfig()
    gold = sweep.gold_mask(labelled)
    _sweeps(labelled, gold, config)
    precision, recall = _end_to_end(labelled, config, args.database_url)
    return 0 if precision >= 0.99 and recall >= 0.95 else 1


def _sweeps(labelled: Labelled, gold: np.ndarray, config: NearDupConfig) -> None:
    scores = sweep.score(labelled, config)
    cand = sweep.candidates(scores.signatures, config.bands, config.rows)
    thresholds = np.round(np.arange(0.10, 0.81, 0.05), 2)
    print(f"\n== similarity threshold sweep, verification alone (every pair compared; k={config.shingle_size} word "
          f"shingles, {config.num_perm} perms). The threshold is chosen here, because at a million stories the LSH "
          f"step lets through more unrelated candidates than in this set. Chosen: {config.threshold}")
    everything = np.triu(np.ones_like(gold), k=1)
    print("\n".join(sweep.threshold_table(scores, everything, gold, thresholds)))
    print(f"\n== the same with the LSH candidate step ({config.bands} bands x {config.rows} rows) in front")
    print("\n".join(sweep.threshold_table(scores, cand, gold, thresholds)))
    print("\n== shingle size (verification alone: best threshold with pairwise precision >= 0.999)")
    for k in (2, 3, 4, 5):
        other = NearDupConfig(shingle_size=k)
        s = sweep.score(labelled, other)
        t, p, r = sweep.best_threshold(s, everything, gold, floor=0.999)
        print(f"  k={k}: threshold {t:.2f} precision {p:.4f} recall {r:.4f}")
    print(f"\n== LSH bands x rows at threshold {config.threshold}: recall of the candidate step on true pairs "
          "at or above it, and false candidates per document (the verification work a lookup does)")
    above = gold & scores.matchable & (scores.similarity >= config.threshold)
    for bands, rows in BAND_CONFIGS:
        c = sweep.candidates(scores.signatures, bands, rows)
        hit = np.count_nonzero(c & above) / max(1, np.count_nonzero(above))
        false = np.count_nonzero(c & ~gold) / len(labelled.docs)
        print(f"  {bands:>2}x{rows}: candidate recall {hit:.4f}, false candidates/doc {false:.3f}")
    _backends(labelled, gold, config)
    _hardest(labelled, scores, gold)


def _backends(labelled: Labelled, gold: np.ndarray, config: NearDupConfig) -> None:
    print("\n== MinHash backend (same shingles, same thresholds)")
    for backend in ("rensa", "datasketch"):
        other = NearDupConfig(backend=backend)
        s = sweep.score(labelled, other)
        _, _, _, p, r = sweep.prf(sweep.candidates(s.signatures, other.bands, other.rows) & s.matchable
                                  & (s.similarity >= other.threshold), gold)
        print(f"  {backend:>10}: precision {p:.4f} recall {r:.4f}, fingerprint {s.seconds_per_doc * 1e6:.0f} µs/doc "
              "(shingling included; documents average "
              f"{np.mean([len(a.body_text.split()) for a in labelled.articles]):.0f} words)")


def _hardest(labelled: Labelled, scores: sweep.Scores, gold: np.ndarray) -> None:
    neg = np.argwhere(np.triu(~gold, 1) & scores.matchable)
    top = sorted(neg.tolist(), key=lambda ij: -scores.similarity[ij[0], ij[1]])[:5]
    print("\n== most similar different-story pairs")
    for i, j in top:
        print(f"  {scores.similarity[i, j]:.3f}  {labelled.docs[i].doc_id}  <>  {labelled.docs[j].doc_id}")
    hard = sweep.hard_negatives(labelled, gold)
    similarities = [scores.similarity[i, j] for i, j, _ in hard]
    above = sum(s >= NearDupConfig().threshold for s in similarities)
    print(f"\n== hard negatives: the {len(hard)} real different-story pairs sharing the most topic words "
          f"(vocabulary overlap {hard[-1][2]:.2f}-{hard[0][2]:.2f}): max similarity {max(similarities):.3f}, "
          f"{above} at or above the threshold")
    for i, j, overlap in hard[:5]:
        print(f"  topic overlap {overlap:.2f}, similarity {scores.similarity[i, j]:.3f}: "
              f"{labelled.articles[i].title[:50]!r} <> {labelled.articles[j].title[:50]!r}")


def _end_to_end(labelled: Labelled, config: NearDupConfig, url: str | None) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(url or f"sqlite:///{Path(tmp) / 'dedup.db'}")
        store = DedupStore(db, near=NearDup(config))
        store.migrate()
        story_of: dict[str, str] = {}
        predicted: list[str] = []
        verdicts: Counter[str] = Counter()
        for article in labelled.articles:
            decision = store.decide(article, article.fetched_at)
            verdicts[decision.verdict.value] += 1
            story = decision.article.story_id
            if decision.verdict is Verdict.DUPLICATE and decision.duplicate_of:
                story = story_of.get(decision.duplicate_of, story)
            story_of[article.id] = story
            predicted.append(story)
        db.close()
    return _report(labelled, predicted, verdicts)


def _report(labelled: Labelled, predicted: list[str], verdicts: Counter[str]) -> tuple[float, float]:
    groups = np.array([d.group for d in labelled.docs])
    stories = np.array(predicted)
    gold = np.triu(groups[:, None] == groups[None, :], 1)
    same = np.triu(stories[:, None] == stories[None, :], 1)
    tp, fp, fn, precision, recall = sweep.prf(same, gold)
    print(f"\n== end to end: DedupStore over {len(predicted)} articles in arrival order; verdicts {dict(verdicts)}")
    print(f"same-story pairs: TP {tp} FP {fp} FN {fn}  precision {precision:.4f}  recall {recall:.4f}")
    near = NearDup()
    for label, mask in (("missed (same story, different story ids)", gold & ~same),
                        ("merged wrongly (different stories, one story id)", same & ~gold)):
        pairs = np.argwhere(mask)
        print(f"\n{label}: {len(pairs)}")
        for i, j in pairs[:60].tolist():
            a, b = labelled.articles[i], labelled.articles[j]
            fa, fb = near.fingerprint(a), near.fingerprint(b)
            sim = "short" if not (fa.signature and fb.signature) else f"{_sim(fa.signature, fb.signature):.3f}"
            print(f"  sim {sim:>5}  {labelled.docs[i].doc_id} ({fa.shingles} shingles)  <>  "
                  f"{labelled.docs[j].doc_id} ({fb.shingles})")
    return precision, recall


def _sim(a: bytes, b: bytes) -> float:
    from services.normalizer.minhash import jaccard  # noqa: PLC0415

    return jaccard(a, b)


if __name__ == "__main__":
    raise SystemExit(main())
