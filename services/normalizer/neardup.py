"""Near-duplicate stories: is this article another outlet's copy (or an edit) of a story already seen?

Pure: text -> word shingles -> MinHash signature -> LSH band keys; candidates (found by the store through
shared band keys) -> the best match above the threshold. No I/O and no clock.

How the numbers were chosen (``python -m eval.dedup`` prints every sweep; 1,239 labelled documents in 402
stories, 1,884 same-story pairs, built from the shared corpus: natural duplicate groups plus seeded
syndication variants of real articles):

* Shingles of 3 words over the normalised headline and body (NFKC, casefold, punctuation dropped; wire
  slugs such as ``UPDATE 2-`` removed from the headline; CJK/Thai split per character). At pairwise
  precision >= 0.999, k = 2..5 all reach recall 0.993-0.995; 3 is the common choice for news and keeps
  short texts (a 60-word item still has ~60 shingles) comparable.
* 128 permutations: the Jaccard estimate's standard error is at most 0.044, for 15 µs of MinHash (rensa).
* Same story when the estimated Jaccard similarity is at least ``THRESHOLD`` = 0.35. Verification alone
  (every pair compared): precision 0.9995 / recall 0.9894 at 0.35; 0.25 would give 0.9995 / 0.9947 but
  leaves less room above different stories that share boilerplate (one outlet's notices on short
  stories, a sponsor's blurb: up to 0.36 in the set). From 0.40 up precision is 1.0 and recall falls
  (0.978 at 0.40, 0.943 at 0.50). The misses are excerpts of longer texts (a ninjs summary of a Business
  Wire release, Jaccard 0.11; a truncated feed variant, 0.34): Jaccard cannot see containment.
* ``SAME_FEED_THRESHOLD`` = 0.5: a match from the article's own feed is an edit (a new version) only this
  close; below it, similarity from one outlet is as likely its boilerplate, so the article is a new story.
* LSH with 42 bands of 3 rows (126 of the 128 values): candidate recall 0.9995 on true pairs at or above
  0.35 (32x4: 0.988, 25x5: 0.960, 16x8: 0.854), 0.004 false candidates per document here; a pair at
  Jaccard 0.35 is a candidate with probability 1 - (1 - 0.35^3)^42 = 0.85, at 0.5 with 0.996. A lookup
  reads at most 42 band rows (a band key has one owner) whatever the index size.
* Texts under ``MIN_SHINGLES`` = 12 shingles (a headline and a sentence) are not matched: one edited word
  moves their estimate by 0.25, and captions of different photos are often word-for-word alike.
* rensa vs datasketch: same precision (0.9995) and recall (0.9889 vs 0.9867) on the set; rensa's whole
  fingerprint is ~3x faster (its MinHash alone ~40x), so it is the default.
* Excerpts: below the threshold, an article found through a shared anchor (an 8-word run of the body's
  first 100 words, one in four picked by a CRC of the shingle it starts with, so two texts sharing a
  passage pick the same runs) from another outlet is a copy when the smaller lead lies mostly inside the
  larger. Leads (the bodies' first 100 words) get a MinHash of their own (64 permutations): against a
  whole long text an excerpt is too small a share for 128 permutations to see (Jaccard 0.00-0.02 for
  30-50 shingles against 1,000-2,600). Estimated containment
  |A ∩ B| / min(|A|, |B|) = J (|A| + |B|) / ((1 + J) min(|A|, |B|)) of at least
  ``CONTAINMENT_THRESHOLD`` = 0.55. The labelled set has 80 synthetic excerpts (a story's
  first 25-60 words cut off with an ellipsis, from another outlet) besides the natural ones (a ninjs
  abstract of a Business Wire release). Of the pairs that share an anchor below Jaccard 0.35, same-story
  pairs estimate 0.34-1.0 (all but five at 0.58 or more; those five join their story through its other
  copies), different stories from other outlets at most 0.42 (two outlets' own reports of one court case),
  and one outlet's own different stories up to 0.84, which is why containment is not asked of them.
  Anchors picked one in ten missed 15 pairs (excerpts with no anchor picked), one in six 25, one in five
  and one in eight none: the set is small and the count is luck. One in four is chosen on the odds: a
  25-word excerpt (18 runs) is left without an anchor with probability 0.75^18 = 0.6% (one in eight:
  9%). Threshold 0.6 missed 6. End to end: recall 1.0, precision 0.9995 (the one false merge is an
  unchanged LSH match). Costs per article: ~23 more band rows and a 256-byte lead signature (the
  dedup database grows ~45% per story; a new story's decide_batch takes ~55-80% longer, bench_dedup
  section 3), 50-70 µs of CPU.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

from schemas import Article
from services.normalizer import minhash
from services.normalizer.wire import announces_version, numbers_version, strip_prefixes

THRESHOLD = 0.35
SAME_FEED_THRESHOLD = 0.5
BANDS = 42
ROWS = 3
NUM_PERM = 128
SHINGLE_SIZE = 3
MIN_SHINGLES = 12
# Excerpts (a summary-only feed's first paragraphs, a ninjs abstract) share few shingles with the full
# text, so their Jaccard similarity is low. Anchors find them: 8-word runs of the body's first 100 words
# picked by content (one in four), so a passage two texts share yields the same anchors in both, wherever
# it starts. They are stored as band keys of their own band index.
ANCHOR_WORDS = 8
ANCHOR_WINDOW = 100
ANCHOR_ONE_IN = 4
ANCHOR_BAND = 1000
LEAD_PERM = 64  # the lead's own MinHash: enough for a ~100-shingle lead, half the bytes
CONTAINMENT_THRESHOLD = 0.55

@dataclass(frozen=True)
class NearDupConfig:
    threshold: float = THRESHOLD
    same_feed_threshold: float = SAME_FEED_THRESHOLD
    bands: int = BANDS
    rows: int = ROWS
    num_perm: int = NUM_PERM
    shingle_size: int = SHINGLE_SIZE
    min_shingles: int = MIN_SHINGLES
    backend: str = "rensa"
    excerpts: bool = True  # anchors and lead signatures, which find excerpts (and cost rows and time)

    def __post_init__(self) -> None:
        if self.bands * self.rows > self.num_perm:
            raise ValueError("bands * rows must not exceed num_perm")
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError("threshold must be in (0, 1]")


@dataclass(frozen=True)
class Lead:
    """The MinHash of the body's first ANCHOR_WINDOW words, where an excerpt's text is looked for: against
    a whole long text the share of an excerpt is too small for 128 permutations to measure."""

    signature: bytes
    shingles: int


@dataclass(frozen=True)
class Fingerprint:
    """An article's near-duplicate fingerprint; ``signature`` is None for texts too short to match."""

    signature: bytes | None
    bands: tuple[tuple[int, int], ...]
    shingles: int
    lead: Lead | None = None


@dataclass(frozen=True)
class Candidate:
    """An indexed article sharing a band key with the one being decided, and its story's state."""

    story_id: str
    article_id: str
    signature: bytes
    version: int
    same_feed: bool
    lead: Lead | None = None  # None for articles indexed before leads were
    anchored: bool = False  # found through an anchor, not an LSH band


@dataclass(frozen=True)
class Match:
    story_id: str
    article_id: str
    similarity: float
    version: int
    same_feed: bool
    contained: bool = False  # one text is mostly inside the other (an excerpt), though not similar overall


class NearDup:
    """Fingerprints articles and picks matches, with one configuration and one MinHash backend."""

    def __init__(self, config: NearDupConfig | None = None, hasher: minhash.MinHasher | None = None) -> None:
        self.config = config or NearDupConfig()
        self.hasher = hasher or minhash.make_hasher(self.config.backend, self.config.num_perm)
        self.lead_hasher = minhash.make_hasher(self.config.backend, LEAD_PERM)

    @cached_property
    def salt(self) -> str:
        """What a band key depends on besides the text; keys of incompatible settings never meet."""
        c = self.config
        return f"{self.hasher.name}/{minhash.SEED}/k{c.shingle_size}/p{c.num_perm}/r{c.rows}"

    def fingerprint(self, article: Article) -> Fingerprint:
        """The fingerprint of ``article_text(article)``, tokenised in two parts to reuse the body's words."""
        title = minhash.tokens(_bare_title(article.title))
        return self.fingerprint_tokens(title + minhash.tokens(article.body_text),
                                       lead_start=len(title) if self.config.excerpts else None)

    def fingerprint_text(self, text: str) -> Fingerprint:
        return self.fingerprint_tokens(minhash.tokens(text))

    def fingerprint_tokens(self, words: list[str], lead_start: int | None = None) -> Fingerprint:
        """Signature and band keys of ``words``; with ``lead_start`` (where the body begins in ``words``),
        anchor keys and the MinHash of the lead, the body's first ANCHOR_WINDOW words, too."""
        shingled = minhash.shingles(words, self.config.shingle_size)
        grams = set(shingled)
        if len(grams) < self.config.min_shingles:
            return Fingerprint(None, (), len(grams))
        signature = minhash.to_bytes(self.hasher.digest(list(grams)))
        keys = tuple(minhash.band_keys(signature, self.config.bands, self.config.rows, self.salt))
        if lead_start is None:
            return Fingerprint(signature, keys, len(grams))
        lead = words[lead_start:lead_start + ANCHOR_WINDOW]
        # The lead's shingles are a slice of the text's: the ones starting at its words.
        lead_grams = shingled[lead_start:lead_start + max(0, len(lead) - self.config.shingle_size + 1)]
        return Fingerprint(signature, keys + anchor_keys(lead, lead_grams), len(grams), self._lead(lead_grams))

    def _lead(self, shingled: Sequence[str]) -> Lead | None:
        grams = set(shingled)
        if len(grams) < self.config.min_shingles:
            return None
        return Lead(minhash.to_bytes(self.lead_hasher.digest(list(grams))), len(grams))

    def best_match(self, fingerprint: Fingerprint, candidates: Iterable[Candidate]) -> Match | None:
        """The most similar candidate at or above the threshold (ties: the earliest story id wins)."""
        if fingerprint.signature is None:
            return None
        best: Match | None = None
        for candidate in candidates:
            similarity = minhash.jaccard(fingerprint.signature, candidate.signature)
            contained = similarity < self.config.threshold
            if contained and not self._contains(fingerprint, candidate):
                continue
            # Similar texts before excerpts, then the most similar (ties: the earliest story id).
            rank = (not contained, similarity, candidate.story_id)
            if best is None or rank > (not best.contained, best.similarity, best.story_id):
                best = Match(candidate.story_id, candidate.article_id, similarity, candidate.version,
                             candidate.same_feed, contained)
        return best

    @staticmethod
    def _contains(fingerprint: Fingerprint, candidate: Candidate) -> bool:
        """An excerpt: found by an anchor, from another outlet, and the shorter lead mostly inside the
        longer. One outlet's own texts share its boilerplate, so containment is not asked of them."""
        mine, theirs = fingerprint.lead, candidate.lead
        if not candidate.anchored or candidate.same_feed or mine is None or theirs is None:
            return False
        similarity = minhash.jaccard(mine.signature, theirs.signature)
        return containment(similarity, mine.shingles, theirs.shingles) >= CONTAINMENT_THRESHOLD


def anchor_keys(lead: Sequence[str], shingled: Sequence[str]) -> tuple[tuple[int, int], ...]:
    """(ANCHOR_BAND, key) for the 8-word runs of ``lead`` picked by their content: one in four, by a CRC
    of the shingle they start with (``shingled[i]`` starts at ``lead[i]``), so the same runs are picked in
    every text that has them. The key is a hash of the whole run."""
    keys = set()
    for start in range(len(lead) - ANCHOR_WORDS + 1):
        if zlib.crc32(shingled[start].encode()) % ANCHOR_ONE_IN == 0:
            digest = _ANCHOR_HASH.copy()  # copying a keyed state is cheaper than keying a new one
            digest.update(" ".join(lead[start:start + ANCHOR_WORDS]).encode())
            keys.add((ANCHOR_BAND, int.from_bytes(digest.digest(), "little", signed=True)))
    return tuple(sorted(keys))


_ANCHOR_HASH = hashlib.blake2b(digest_size=8, person=b"wirefeed-anchor")


def containment(similarity: float, shingles: int, other_shingles: int) -> float:
    """The estimated share of the smaller shingle set inside the larger, from their Jaccard estimate:
    |A ∩ B| = J (|A| + |B|) / (1 + J)."""
    smaller = min(shingles, other_shingles)
    return similarity * (shingles + other_shingles) / ((1 + similarity) * smaller)


def article_text(article: Article) -> str:
    """Headline without wire prefixes, then the body: what outlets keep when they carry a story."""
    return f"{_bare_title(article.title)}\n{article.body_text}"


def _bare_title(title: str) -> str:
    # The normalizer has stripped its articles' titles already; an article made elsewhere may still have them.
    return strip_prefixes(title)[0]


def is_wire_update(article: Article) -> bool:
    """An update, refile or correction announced by a headline prefix, as the normalizer read it or still in
    the title."""
    return announces_version(article.wire_prefixes) or announces_version(strip_prefixes(article.title)[1])


def is_numbered_update(article: Article) -> bool:
    """An update whose headline prefix numbers it (Reuters' ``UPDATE 1-``), as the normalizer read it or
    still in the title: its wire sends a story's original unprefixed."""
    return numbers_version(article.wire_prefixes) or numbers_version(strip_prefixes(article.title)[1])
