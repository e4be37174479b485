"""feedparser's element handlers, made to fail alone: one ill-formed element costs that element, not the feed.

feedparser keeps one context per open element (the channel, an item, the channel's image or text input)
and guesses, for ill-formed feeds, where an image or a text input ends. Where the guess and a handler
disagree, the handler looks up a key or an index the context it finds never got, or converts a value
that is not there: an image link holding markup (``<link><b>x</b></link>``), a text input inside an item,
a category or a GML position closed in another context, a ``<height>`` closing after a ``<width>`` it
holds. feedparser passes over an AttributeError from a handler (it handles the element generically)
but no other error: the parse ended, and every item of the feed was lost at every poll. Wrapped, a
handler's lookup, type and value errors end that handler only, and the element's value is dropped; the
parse run inside ``failed_elements()`` learns which elements were.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import feedparser.mixin

#: What a handler raises when the context it finds is not the one it expects.
_CONTEXT_ERRORS = (LookupError, TypeError, ValueError)
_WRAPPED = "wirefeed_fails_alone"  # marks a wrapped handler, so that none is wrapped twice
_FAILED: ContextVar[list[str] | None] = ContextVar("feedparser_failed_elements", default=None)


@contextmanager
def failed_elements() -> Iterator[list[str]]:
    """The names of the elements (as feedparser names them: ``image``, ``georss_where``) whose handlers
    failed in the parse run inside, once per failed start or end."""
    failed: list[str] = []
    token = _FAILED.set(failed)
    try:
        yield failed
    finally:
        _FAILED.reset(token)


def mend_feedparser() -> None:
    """Wrap each handler where its class defines it, wirefeed's own replacements included: called after
    them (a handler put in later replaces the wrapped one)."""
    for cls in feedparser.mixin._FeedParserMixin.__mro__:
        for name, handler in list(vars(cls).items()):
            if name.startswith(("_start_", "_end_")) and inspect.isfunction(handler) \
                    and not hasattr(handler, _WRAPPED):
                setattr(cls, name, _failing_alone(handler, name.split("_", 2)[2]))


def _failing_alone(handler: Callable[..., Any], element: str) -> Callable[..., Any]:
    def handle(parser: Any, *args: Any) -> Any:
        try:
            return handler(parser, *args)
        except _CONTEXT_ERRORS:
            failed = _FAILED.get()
            if failed is not None:
                failed.append(element)
            return None

    setattr(handle, _WRAPPED, True)
    return handle
