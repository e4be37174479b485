"""feedparser is never handed an entity declaration: it is refused in the text feedparser itself reads.

safexml refuses entity declarations before the root element in the body as received, read as Latin-1
or UTF-16/32. feedparser decodes first, by the HTTP charset or the declared encoding, with any codec
Python has: in UTF-7, "+ADwAIQ-ENTITY" is "<!ENTITY", which only feedparser's reading shows. Its
replace_doctype then keeps the declarations it finds before the first element, and its parsers expand
them, as they did those in a comment (75 KB of such a feed became a 300 MB summary).
Wrapped, replace_doctype first applies safexml's check to the UTF-8 text feedparser has made.
"""

from __future__ import annotations

from typing import Any

import feedparser.api

from services.poller.formats.safexml import reject_entity_declarations

_WRAPPED = "wirefeed_refuses_entities"  # marks the wrapper, so that it is never wrapped twice


def refuse_entities_in_feedparser() -> None:
    original = feedparser.api.replace_doctype
    if hasattr(original, _WRAPPED):
        return

    def replace_doctype(data: bytes) -> Any:
        reject_entity_declarations(data)  # raises UnsafeXMLError, which feedparser.parse lets through
        return original(data)

    setattr(replace_doctype, _WRAPPED, True)
    feedparser.api.replace_doctype = replace_doctype
