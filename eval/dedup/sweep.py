"""Pairwise sweeps over the labelled set: similarity threshold, shingle size, LSH bands, MinHash backend.

A pair is predicted "same story" when the LSH makes it a candidate (shares a band key) and its estimated
Jaccard similarity reaches the threshold, which is exactly the store's rule before grouping.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from eval.dedup.dataset import Labelled
from services.normalizer import minhash
from services.normalizer.neardup import NearDup, NearDupConfig, article_text

Matrix = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Scores:
    similarity: Matrix       # estimated Jaccard, upper triangle meaningful
    matchable: Mask          # both texts have enough shingles
    signatures: npt.NDArray[np.uint32]
    seconds_per_doc: float


def gold_mask(labelled: Labelled) -> Mask:
    groups = np.array([d.group for d in labelled.docs])
    return np.triu(groups[:, None] == groups[None, :], k=1)


def score(labelled: Labelled, config: NearDupConfig) -> Scores:
    near = NearDup(config)
    texts = [article_text(a) for a in labelled.articles]
    started = time.perf_counter()
    prints = [near.fingerprint_text(t) for t in texts]
    elapsed = (time.perf_counter() - started) / len(texts)
    ok = np.array([p.signature is not None for p in prints])
    sigs = np.stack([minhash.from_bytes(p.signature) if p.signature else np.zeros(config.num_perm, np.uint32)
                     for p in prints])
    similarity = np.zeros((len(texts), len(texts)))
    for start in range(0, len(texts), 128):  # chunks keep the comparison cube small
        block = sigs[start:start + 128, None, :] == sigs[None, :, :]
        similarity[start:start + 128] = block.mean(axis=2)
    return Scores(similarity, np.triu(ok[:, None] & ok[None, :], k=1), sigs, elapsed)


def candidates(signatures: npt.NDArray[np.uint32], bands: int, rows: int) -> Mask:
    """Pairs sharing at least one band: equal rows within a band."""
    n = len(signatures)
    out = np.zeros((n, n), dtype=bool)
    for band in range(bands):
        chunk = np.ascontiguousarray(signatures[:, band * rows:(band + 1) * rows])
        keys = chunk.view(np.dtype((np.void, chunk.dtype.itemsize * rows))).ravel()
        _, inverse = np.unique(keys, return_inverse=True)
        out |= inverse[:, None] == inverse[None, :]
    return np.triu(out, k=1)


def prf(predicted: Mask, gold: Mask) -> tuple[int, int, int, float, float]:
    tp = int(np.count_nonzero(predicted & gold))
    fp = int(np.count_nonzero(predicted & ~gold))
    fn = int(np.count_nonzero(~predicted & gold))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return tp, fp, fn, precision, recall


def threshold_table(scores: Scores, cand: Mask, gold: Mask, thresholds: Sequence[float]) -> list[str]:
    lines = [f"{'threshold':>9} {'TP':>6} {'FP':>5} {'FN':>5} {'precision':>9} {'recall':>7}"]
    for t in thresholds:
        tp, fp, fn, p, r = prf(cand & scores.matchable & (scores.similarity >= t), gold)
        lines.append(f"{t:>9.2f} {tp:>6} {fp:>5} {fn:>5} {p:>9.4f} {r:>7.4f}")
    return lines


def best_threshold(scores: Scores, cand: Mask, gold: Mask, floor: float = 0.99) -> tuple[float, float, float]:
    """The threshold with the most recall whose precision stays at or above ``floor``."""
    best = (1.0, 1.0, 0.0)
    for t in np.arange(0.10, 0.91, 0.05):
        _, _, _, p, r = prf(cand & scores.matchable & (scores.similarity >= t), gold)
        if p >= floor and r > best[2]:
            best = (float(t), p, r)
    return best


def hard_negatives(labelled: Labelled, gold: Mask, count: int = 40) -> list[tuple[int, int, float]]:
    """Different stories sharing the most topic words (content-word Jaccard of their vocabularies)."""
    vocab = [{w for w in re.findall(r"[a-z]{5,}", a.body_text.lower())} for a in labelled.articles]
    scored = []
    groups = [d.group for d in labelled.docs]
    for i in range(len(vocab)):
        for j in range(i + 1, len(vocab)):
            if groups[i] == groups[j] or not vocab[i] or not vocab[j] or gold[i, j]:
                continue
            if labelled.docs[i].synthetic or labelled.docs[j].synthetic:
                continue  # real pairs only: two different articles by real authors
            overlap = len(vocab[i] & vocab[j]) / len(vocab[i] | vocab[j])
            scored.append((i, j, overlap))
    scored.sort(key=lambda x: -x[2])
    return scored[:count]
