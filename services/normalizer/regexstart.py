"""What character a regular expression's match can begin with, so that a long alternation of rules can be
cut, per paragraph, to the rules that could match its first character.

Python's engine tries every branch of an alternation in turn even when the branch's first letter cannot
be the text's, and with IGNORECASE it cannot skip one by a quick look at its first letter: a paragraph
checked against a hundred rules pays for a hundred tries. The answer here is a small pattern for one
character, built from the rule's own parse and tested with the engine itself, so case folding (the Kelvin
sign for "k", "ſ" for "s") is the engine's and never guessed. What this module does not understand it
answers with "any character", which only costs speed, never a match.
"""

from __future__ import annotations

import re

# The engine's own parser and opcodes: private modules (sre_parse and sre_constants before 3.11, with no
# type stubs today), but their shape has not changed since Python 2.
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

_CATEGORIES = {
    sre.CATEGORY_WORD: r"\w", sre.CATEGORY_NOT_WORD: r"\W", sre.CATEGORY_SPACE: r"\s",
    sre.CATEGORY_NOT_SPACE: r"\S", sre.CATEGORY_DIGIT: r"\d", sre.CATEGORY_NOT_DIGIT: r"\D",
}
_ZERO_WIDTH = (sre.AT, sre.ASSERT, sre.ASSERT_NOT)
_REPEATS = (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT)
# Flags that change what a character class means beyond case: then any character may start the match.
_UNUSUAL_FLAGS = re.ASCII | re.LOCALE | re.VERBOSE


class _AnyCharacterError(Exception):
    """Raised inside the walk when a match could begin with any character."""


def first_character(pattern: str, flags: int = 0) -> re.Pattern[str] | None:
    """A pattern that fully matches every single character a (non-empty) match of ``pattern`` compiled
    with ``flags`` can begin with, and maybe more; None when it may begin with any character."""
    if flags & _UNUSUAL_FLAGS:
        return None
    try:
        pieces, _ = _sequence(sre_parse.parse(pattern, flags), bool(flags & re.IGNORECASE))
    except _AnyCharacterError:
        return None
    return re.compile("|".join(pieces)) if pieces else None


def _sequence(items: Any, ignorecase: bool) -> tuple[list[str], bool]:
    """(pieces, nullable) of items matched one after the other: the first items' starts up to the first
    item that has to consume a character."""
    pieces: list[str] = []
    for op, av in items:
        more, nullable = _item(op, av, ignorecase)
        pieces += more
        if not nullable:
            return pieces, False
    return pieces, True


def _item(op: Any, av: Any, ignorecase: bool) -> tuple[list[str], bool]:
    if op in _ZERO_WIDTH:
        return [], True  # consumes nothing: the next item's character comes first
    if (character := _character(op, av)) is not None:
        return [_one(character, ignorecase)], False
    if op is sre.BRANCH:
        starts = [_sequence(branch, ignorecase) for branch in av[1]]
        return [piece for pieces, _ in starts for piece in pieces], any(nullable for _, nullable in starts)
    if op is sre.SUBPATTERN:
        _group, add_flags, del_flags, items = av
        return _sequence(items, _case_ignored(ignorecase, add_flags, del_flags))
    if op is sre.ATOMIC_GROUP:
        return _sequence(av, ignorecase)
    if op in _REPEATS:
        low, high, items = av
        pieces, nullable = _sequence(items, ignorecase) if high else ([], True)
        return pieces, nullable or low == 0
    raise _AnyCharacterError  # ".", back references, conditionals: anything may come first


def _character(op: Any, av: Any) -> str | None:
    """The pattern of an item that matches one character, else None."""
    if op is sre.LITERAL:
        return re.escape(chr(av))
    if op is sre.NOT_LITERAL:
        return f"[^{re.escape(chr(av))}]"
    if op is sre.IN:
        return _char_class(av)
    return None


def _case_ignored(ignorecase: bool, add_flags: int, del_flags: int) -> bool:
    """Whether a group ignores case. A case-sensitive part of a case-insensitive rule ("(?-i:[A-Z])")
    keeps its own flags, since a negated class matches fewer characters when case is ignored."""
    if (add_flags | del_flags) & _UNUSUAL_FLAGS:
        raise _AnyCharacterError
    if add_flags & re.IGNORECASE:
        return True
    return ignorecase and not del_flags & re.IGNORECASE


def _char_class(items: Any) -> str:
    parts: list[str] = []
    for op, av in items:
        if op is sre.NEGATE:
            parts.insert(0, "^")
        elif op is sre.LITERAL:
            parts.append(re.escape(chr(av)))
        elif op is sre.RANGE:
            parts.append(f"{re.escape(chr(av[0]))}-{re.escape(chr(av[1]))}")
        elif op is sre.CATEGORY and av in _CATEGORIES:
            parts.append(_CATEGORIES[av])
        else:
            raise _AnyCharacterError
    return f"[{''.join(parts)}]"


def _one(piece: str, ignorecase: bool) -> str:
    return f"(?{'i' if ignorecase else '-i'}:{piece})"
