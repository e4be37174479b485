"""A second summary-like element in an item, which feedparser takes for the item's content.

feedparser reads a description, dc:description, itunes:summary or Atom summary that follows the item's
summary (before any content element) as content. Sites put one there that is not the story: Google's
Cloud blog nests an Open Graph block with its one-line description inside each item, after the full text
in the item's own description, and podcasts follow their show notes with a shorter itunes:summary. Taken
as content, that line became the article's body, and a real content:encoded after it was passed over.

Both readings keep such an element apart. An item's content is its first content element; without one,
the second summary only when it holds more than the summary (a podcast's fuller itunes:summary), and
otherwise none, so that the summary is the body.
"""

from __future__ import annotations

from typing import Any

import feedparser.namespaces._base

# Where the parser records, in each item, the positions in its content list that second summaries took.
SECOND_SUMMARY_KEY = "wirefeed_second_summaries"

_Namespace = feedparser.namespaces._base.Namespace
_START_DESCRIPTION = _Namespace._start_description
_START_SUMMARY = _Namespace._start_summary


def item_content(content: str | None, second_summary: str | None, summary: str | None) -> str | None:
    """The item's content: its content element's, else a second summary longer than the summary."""
    if content is not None:
        return content
    if second_summary is not None and len(second_summary) > len(summary or ""):
        return second_summary
    return None


def feedparser_content(entry: Any, summary: str | None) -> str | None:
    """:func:`item_content` of a feedparser entry, whose content list holds both kinds."""
    values = [content.get("value") for content in entry.get("content") or []]
    second = set(entry.get(SECOND_SUMMARY_KEY) or ())
    own = [value for index, value in enumerate(values) if index not in second]
    seconds = [value for index, value in enumerate(values) if index in second]
    return item_content(own[0] if own else None, seconds[0] if seconds else None, summary)


def _mark_second_summary(parser: Any) -> None:
    # feedparser's own test for "this summary-like element becomes content", made just before it does
    context = parser._get_context()
    if "summary" in context and not parser.hasContent:
        context[SECOND_SUMMARY_KEY] = [*(context.get(SECOND_SUMMARY_KEY) or ()), len(context.get("content") or ())]


def _start_description(parser: Any, attrs_d: dict[str, str]) -> None:
    _mark_second_summary(parser)
    _START_DESCRIPTION(parser, attrs_d)


def _start_summary(parser: Any, attrs_d: dict[str, str]) -> None:
    _mark_second_summary(parser)
    _START_SUMMARY(parser, attrs_d)


def keep_second_summaries_apart_in_feedparser() -> None:
    """Wrap feedparser's description and summary handlers (dc:description and itunes:summary call them)."""
    _Namespace._start_description = _start_description
    _Namespace._start_summary = _start_summary
