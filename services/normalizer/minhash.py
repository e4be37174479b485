"""MinHash primitives: normalised word shingles, signatures as compact bytes, LSH band keys.

Pure and deterministic across processes and hosts (signatures are stored in the database and compared
by other replicas later): no ``hash()`` of str, fixed seeds, little-endian bytes.

Two MinHash backends compute the same kind of signature (128 minimum hash values, 32 bits each):
``rensa`` (Rust; the default, about 100x faster than datasketch on a 500-word article) and
``datasketch`` (kept for measurement). Their signatures are not interchangeable, so the backend's name
is part of the band-key salt: a replica on another backend never matches the other's bands.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from functools import cache, lru_cache
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

#: Fixed seed of the permutations; changing it (or the backend) makes stored signatures incomparable.
SEED = 1_729

Digest = npt.NDArray[np.uint32]

# Scripts written without spaces: each CJK, kana, hangul or Thai character is a token of its own, or a
# whole sentence would be one "word" and one shingle. Plain ``\w+`` is the fast path for everything else.
_NO_SPACES = "\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_HAS_NO_SPACES = re.compile(f"[{_NO_SPACES}]")


def _combining_marks() -> str:
    """A character class body of the combining marks ``\\w`` leaves out: Devanagari's vowel signs, Arabic's
    vowel points. Without them "लड़का" (boy) and "लड़की" (girl) were the same words "ल", "ड", "क". Only
    the Basic Multilingual Plane's: a class reaching past it makes every word match several times slower
    (the planes beyond hold the marks of historic and minority scripts only)."""
    return "".join(re.escape(character) for character in map(chr, range(0x10000))
                   if unicodedata.category(character).startswith("M") and not re.match(r"\w", character)
                   and not _HAS_NO_SPACES.match(character))


_MARKS = _combining_marks()
_SPLIT_NO_SPACES = re.compile(f"[{_NO_SPACES}]|(?:[^\\W{_NO_SPACES}]|[{_MARKS}])+")
_WORD = re.compile(f"[\\w{_MARKS}]+")


def tokens(text: str) -> list[str]:
    """Case-, width- and punctuation-insensitive words: "Coalition’s" and "coalition's" agree."""
    if unicodedata.is_normalized("NFKC", text) and not _HAS_NO_SPACES.search(text):
        return list(casefold_words(text))  # the common case: NFKC would change nothing
    text = unicodedata.normalize("NFKC", text).casefold()
    pattern = _SPLIT_NO_SPACES if _HAS_NO_SPACES.search(text) else _WORD
    return pattern.findall(text)


@lru_cache(maxsize=8)
def casefold_words(text: str) -> tuple[str, ...]:
    """The ``\\w+`` words of ``text`` casefolded. Remembered for a few texts because the content hash and
    the near-duplicate fingerprint of an article read the same body one after the other, and finding
    the words is most of the cost of either."""
    return tuple(_WORD.findall(text.casefold()))


def shingles(words: Sequence[str], size: int) -> list[str]:
    """Overlapping word n-grams; a text shorter than one shingle is a single shingle of what it has."""
    if len(words) <= size:
        return [" ".join(words)] if words else []
    return list(map(" ".join, zip(*(words[i:] for i in range(size)), strict=False)))


class MinHasher(Protocol):
    name: str
    num_perm: int

    def digest(self, items: Sequence[str]) -> Digest: ...


class RensaHasher:
    """rensa's RMinHash: the shingles are hashed and permuted in Rust."""

    name = "rensa-r2"

    def __init__(self, num_perm: int = 128, seed: int = SEED) -> None:
        import rensa  # type: ignore[import-untyped]  # noqa: PLC0415  # ships no types; imported only when chosen

        self._cls = rensa.RMinHash
        self.num_perm = num_perm
        self.seed = seed
        # Its algorithm version is part of what a stored signature means.
        self.name = f"rensa-r{rensa.RMinHash.ALGORITHM_VERSION}"

    def digest(self, items: Sequence[str]) -> Digest:
        minhash = self._cls(self.num_perm, self.seed)
        minhash.update(items)
        return np.asarray(minhash.digest(), dtype=np.uint32)


class DatasketchHasher:
    """datasketch's MinHash (SHA-1 of each shingle, numpy permutations): correct but slower."""

    name = "datasketch-sha1"

    def __init__(self, num_perm: int = 128, seed: int = SEED) -> None:
        from datasketch import MinHash  # noqa: PLC0415  # only the comparison runs need it

        self._cls = MinHash
        self.num_perm = num_perm
        self.seed = seed

    def digest(self, items: Sequence[str]) -> Digest:
        minhash = self._cls(num_perm=self.num_perm, seed=self.seed)
        minhash.update_batch([item.encode() for item in items])
        # Values are below 2**32 by construction (datasketch masks them), so 32 bits lose nothing.
        return np.asarray(minhash.hashvalues, dtype=np.uint32)


def make_hasher(backend: str, num_perm: int) -> MinHasher:
    if backend == "rensa":
        return RensaHasher(num_perm)
    if backend == "datasketch":
        return DatasketchHasher(num_perm)
    raise ValueError(f"unknown MinHash backend {backend!r}: use 'rensa' or 'datasketch'")


def to_bytes(digest: Digest) -> bytes:
    """4 bytes per permutation, little-endian: 512 bytes for 128 permutations."""
    return digest.astype("<u4", copy=False).tobytes()


def from_bytes(blob: bytes) -> Digest:
    return np.frombuffer(blob, dtype="<u4").astype(np.uint32, copy=False)


def jaccard(a: bytes, b: bytes) -> float:
    """Estimated Jaccard similarity: the share of permutations whose minimum agrees."""
    if len(a) != len(b) or not a:
        return 0.0
    left, right = from_bytes(a), from_bytes(b)
    return float(np.count_nonzero(left == right)) / len(left)


def band_keys(signature: bytes, bands: int, rows: int, salt: str) -> list[tuple[int, int]]:
    """(band index, signed 64-bit hash of the band's rows): two texts sharing any key are candidates.

    The salt (backend, seed, shingle size) keeps keys of incompatible signatures apart.
    """
    width = 4 * rows
    new_hash = _band_hasher(salt).copy  # copying a keyed state is half the cost of keying a new one
    keys = []
    for band, start in enumerate(range(0, bands * width, width)):
        digest = new_hash()
        digest.update(signature[start:start + width])
        keys.append((band, int.from_bytes(digest.digest(), "little", signed=True)))
    return keys


@cache
def _band_hasher(salt: str) -> Any:
    """A BLAKE2b state personalised by ``salt``, to be copied for every band (few salts per process)."""
    person = hashlib.blake2b(salt.encode(), digest_size=16).digest()
    return hashlib.blake2b(digest_size=8, person=person)
