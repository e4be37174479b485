"""What feedparser is handed is checked in feedparser's own reading of it, the UTF-8 text it parses.

safexml refuses entity declarations before the root element in the body as received, read as Latin-1
or UTF-16/32. feedparser decodes first, by the HTTP charset or the declared encoding, with any codec
Python has: in UTF-7, "+ADwAIQ-ENTITY" is "<!ENTITY", which only feedparser's reading shows. Its
replace_doctype then keeps the declarations it finds before the first element, and its parsers expand
them, as they did those in a comment (75 KB of such a feed became a 300 MB summary).

Its strict parser (xml.sax over expat) also reads an element's attributes in time quadratic in their
number: 10,000 on one element took 1.75 s, 40,000 40 s. Such an element is refused too, in the same
text (whatever the encoding) and only on this path: lxml, the fast reading's parser, is linear.
Wrapped, replace_doctype applies both of safexml's checks first.
"""

from __future__ import annotations

from typing import Any

import feedparser.api

from services.poller.formats.safexml import check_attribute_counts, reject_entity_declarations

_WRAPPED = "wirefeed_checks_input"  # marks the wrapper, so that it is never wrapped twice


def check_feedparser_input() -> None:
    original = feedparser.api.replace_doctype
    if hasattr(original, _WRAPPED):
        return

    def replace_doctype(data: bytes) -> Any:
        # Each raises a FeedParseError, which feedparser.parse lets through.
        reject_entity_declarations(data)
        check_attribute_counts(data)
        return original(data)

    setattr(replace_doctype, _WRAPPED, True)
    feedparser.api.replace_doctype = replace_doctype
