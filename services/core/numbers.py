"""Whole numbers read from untrusted text: HTTP headers, feed attributes, markup.

``str.isdigit`` is true of "²" and of "٣", which ``int`` refuses or reads as a number no protocol means,
and ``int`` refuses more than 4,300 digits: a check with ``isdigit`` before ``int`` turns one odd header
or attribute into an exception that fails a whole feed or article.
"""

from __future__ import annotations

import re

# Up to 18 digits: every such number fits a signed 64-bit integer, as databases and other consumers expect.
_WHOLE_NUMBER = re.compile(r"[0-9]{1,18}")
MAX_WHOLE_NUMBER = 10**18 - 1


def whole_number(text: str | None) -> int | None:
    """The number ``text`` writes in ASCII digits (surrounding whitespace allowed), or None."""
    if text is None:
        return None
    digits = text.strip()
    return int(digits) if _WHOLE_NUMBER.fullmatch(digits) else None
