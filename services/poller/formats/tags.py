"""An item's tags (categories, dc:subject, keywords), each kept once, in both readings, in linear time.

feedparser keeps an equal tag once by looking through every tag before it, and the fast reading did the
same to match it: an item with 50,000 categories, 1.25 MB that a hostile feed can send, took 20 seconds
to read, and a feed's whole body limit of them an hour. Both readings now count the tags they keep (the
fast one past its first few), so that the test costs one lookup, with the same result: the same tags in
the same order.

One step of feedparser's makes this more than a set: a category's text, read after its attributes made a
tag without a term, becomes that tag's term, changing a tag already kept. Only the last tag is ever
changed so, which is what the index below checks before each new tag.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import feedparser.mixin
from feedparser.util import FeedParserDict

Tag = tuple[Any, Any, Any]  # term, scheme, label
SCANNED_TAGS = 32


class Tags:
    """The fast reading's tags: [term, scheme, label] lists, in order, each kept once. A few are compared
    one by one, as feedparser does (cheaper than hashing for the handful most items carry); past
    SCANNED_TAGS they are counted instead."""

    def __init__(self) -> None:
        self.entries: list[list[Any]] = []
        self._counts: dict[Tag, int] | None = None  # a plain dict: Counter looks a missing key up in Python

    def add(self, tag: list[Any]) -> None:
        if not any(tag):
            return
        if self._counts is None:
            if tag not in self.entries:
                self.entries.append(tag)
                if len(self.entries) > SCANNED_TAGS:
                    self._counts = dict(Counter(map(tuple, self.entries)))
        elif not self._counts.get(key := (tag[0], tag[1], tag[2])):
            self.entries.append(tag)
            self._counts[key] = 1

    def name_last(self, term: str) -> None:
        """feedparser's: a category's text is the term of the tag its attributes made."""
        last = self.entries[-1]
        if self._counts is not None:
            self._counts[(last[0], last[1], last[2])] -= 1
            key = (term, last[1], last[2])
            self._counts[key] = self._counts.get(key, 0) + 1
        last[0] = term


class _Index:
    """The tags of one feedparser context, counted; in step with its list but for a change to the last."""

    def __init__(self, tags: list[Any]) -> None:
        self.counts: Counter[Tag] = Counter()
        self.length = 0
        self.last: Tag | None = None
        self._recount(tags)

    def catch_up(self, tags: list[Any]) -> None:
        if len(tags) != self.length:  # appended to by something other than _add_tag
            self._recount(tags)
        elif self.last is not None and (last := _key(tags[-1])) != self.last:
            self.counts[self.last] -= 1
            self.counts[last] += 1
            self.last = last

    def _recount(self, tags: list[Any]) -> None:
        self.counts = Counter(map(_key, tags))
        self.length = len(tags)
        self.last = _key(tags[-1]) if tags else None

    def record(self, key: Tag) -> None:
        self.counts[key] += 1
        self.length += 1
        self.last = key


def _key(tag: Any) -> Tag:
    return tag.get("term"), tag.get("scheme"), tag.get("label")


_INDEX_KEY = "wirefeed_tag_index"


def _add_tag(parser: Any, term: Any, scheme: Any, label: Any) -> None:
    # feedparser's own, with the index in place of "value not in tags"
    context = parser._get_context()
    tags = context.setdefault("tags", [])
    if not term and not scheme and not label:
        return
    index = context.get(_INDEX_KEY)
    if index is None:
        index = context[_INDEX_KEY] = _Index(tags)
    else:
        index.catch_up(tags)
    key = (term, scheme, label)
    if not index.counts[key]:
        tags.append(FeedParserDict(term=term, scheme=scheme, label=label))
        index.record(key)


def count_tags_in_feedparser() -> None:
    """Replace feedparser's _add_tag (its own mixin, shared by every parse)."""
    feedparser.mixin._FeedParserMixin._add_tag = _add_tag
