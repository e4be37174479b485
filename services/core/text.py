"""Text from outside the documents (file names, error messages) made fit for the databases, logs and terminals.

Python keeps each byte of a file name that is not UTF-8 (a Latin-1 "é" from an agency's Windows upload)
as a lone surrogate, which UTF-8, and so no database, can hold; PostgreSQL also refuses NUL. One such
name among a spool's files would fail every poll of its feed.
"""

from __future__ import annotations

import re

#: A character class's body: the control characters no text means, C0 but tab and line breaks (PostgreSQL
#: refuses NUL among them). JSON escapes them, and e-mail headers and wire transmissions carry them raw.
CONTROL_CHARACTERS = "\x00-\x08\x0b\x0c\x0e-\x1f"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_ESCAPED_BYTES = range(0xDC80, 0xDD00)  # how Python's "surrogateescape" keeps bytes 0x80-0xff


def storable(text: str) -> str:
    """``text`` with each byte of a name that was not UTF-8 written as ``\\xff`` (as an operator would look
    for it), any other lone surrogate as U+FFFD and NUL as ``\\x00``; the same text always gives the same."""
    return _UNSTORABLE.sub(_replacement, text)


def _replacement(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code in _ESCAPED_BYTES:
        return f"\\x{code - 0xDC00:02x}"
    return "\\x00" if code == 0 else "\ufffd"


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
# Unicode's directional embeddings, overrides and isolates (and their ends): one left open in a title
# reorders the rest of the line as a terminal shows it, the fields after it included ("Trojan Source").
# The marks (LRM, RLM, ALM) reach no further than a letter and stay.
_DIRECTIONAL = re.compile("[\u202a-\u202e\u2066-\u2069]")


def one_line(text: str) -> str:
    """``text`` as one line of a command's output: whitespace runs as one space, control characters (an
    escape sequence in a poison message's reason could drive the operator's terminal) as spaces, and
    directional embeddings, overrides and isolates left out."""
    return " ".join(_CONTROL.sub(" ", _DIRECTIONAL.sub("", text)).split())
