"""Loosely typed values from feed documents: JSON parsed with a typed error, coercion, and text as HTML."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urljoin

from schemas.models import map_strings
from services.core.numbers import MAX_WHOLE_NUMBER, whole_number
from services.core.text import CONTROL_CHARACTERS
from services.poller.formats.base import InvalidDocumentError

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n|\r\n\s*\r\n")
_UNWANTED_ESCAPE = re.compile(rb"\\u(?:[dD][89a-fA-F]|00[01][0-9a-fA-F])")
_UNWANTED = re.compile(f"[{CONTROL_CHARACTERS}]|(?P<surrogate>[\ud800-\udfff])")
# An e-mail address in an RSS author field, with its "mailto:" and brackets: "jo@example.com (Jo Bloggs)",
# "Jo Bloggs <jo@example.com>", "Jo Bloggs (mailto:jo@example.com)".
_AUTHOR_EMAIL = re.compile(r"[(<]?\s*(?:mailto:)?[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+(?:\?subject=\S+)?\s*[)>]?")


def parse_json(text: bytes | str, *, strict: bool = True) -> Any:
    """``json.loads``, but an integer of more digits than Python converts (4,300 by default) is read as a float
    (infinite), as a number written in exponent form already is: one such value fails its field, not the
    whole document."""
    try:
        return json.loads(text, strict=strict)
    except ValueError as exc:
        if "integer string conversion" not in str(exc):
            raise
        return json.loads(text, strict=strict, parse_int=_integer)


def _integer(digits: str) -> int | float:
    try:
        return int(digits)
    except ValueError:  # past sys.get_int_max_str_digits()
        return float(digits)


def load_json(body: bytes) -> Any:
    """The document, its strings without control characters (but tab and line breaks) and with half a
    character (a lone surrogate) as U+FFFD: JSON can carry both, escaped ("\u0000", "\ud83d" alone), and
    neither has a place in text; PostgreSQL refuses NUL, and UTF-8 cannot hold a surrogate."""
    try:
        document = parse_json(body)
        return map_strings(document, _clean_text) if _UNWANTED_ESCAPE.search(body) else document
    except RecursionError as exc:  # deeply nested arrays exhaust the decoder's stack
        raise InvalidDocumentError("JSON nested too deeply") from exc
    except ValueError as exc:  # includes UnicodeDecodeError and json.JSONDecodeError
        raise InvalidDocumentError(f"not valid JSON: {exc}") from exc


def _clean_text(text: str) -> str:
    return text if text.isascii() and text.isprintable() else _UNWANTED.sub(_replacement, text)


def _replacement(unwanted: re.Match[str]) -> str:
    return "\ufffd" if unwanted["surrogate"] else ""


def string(value: Any) -> str | None:
    """A non-empty stripped string, or None for anything else (numbers, objects, blanks)."""
    if not isinstance(value, str):
        return None
    return value.strip() or None


def strings(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    return [text for text in map(string, value) if text]


def unique_texts(values: Iterable[str | None]) -> list[str]:
    """The non-blank values, stripped, each once, in order."""
    found: dict[str, None] = {}  # ordered, and a lookup, not a scan, per value: lists can be hostile-long
    for value in values:
        if stripped := (value or "").strip():
            found.setdefault(stripped)
    return list(found)


def integer(value: Any) -> int | None:
    """A whole number given as a JSON number or as text, in the range whole_number reads; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= MAX_WHOLE_NUMBER else None
    return whole_number(value) if isinstance(value, str) else None


def text_as_html(value: Any) -> str | None:
    """Plain text as HTML: escaped, one <p> per paragraph (blank-line separated), line breaks kept."""
    text = string(value)
    if text is None:
        return None
    paragraphs = [p.strip() for p in _PARAGRAPH_BREAK.split(text) if p.strip()]
    return "".join(
        "<p>" + "<br>".join(html.escape(line.strip(), quote=False) for line in p.splitlines()) + "</p>"
        for p in paragraphs
    )


def paragraphs_as_html(paragraphs: Iterable[str]) -> str | None:
    """Plain-text paragraphs as HTML, escaped, one <p> each (empty ones left out); None when none is left."""
    return "".join(f"<p>{html.escape(p, quote=False)}</p>" for p in paragraphs if p) or None


def wrapped_text_as_html(text: str) -> str | None:
    """Text wrapped at a fixed width (mail, wire copy) as HTML: blank lines part the paragraphs, and the
    lines of each are joined again."""
    return paragraphs_as_html(" ".join(block.split()) for block in _PARAGRAPH_BREAK.split(text))


def looks_like_markup(value: str) -> bool:
    """Whether untyped (or mislabelled "text/plain") content is really HTML: it opens with a tag."""
    stripped = value.lstrip()
    return stripped.startswith("<") and ">" in stripped


def text_or_markup_as_html(value: str | None, is_markup: bool | None = None) -> str | None:
    """HTML for content whose type is known (is_markup) or, when None, guessed from the value."""
    text = string(value)
    if text is None:
        return None
    if is_markup is None:
        is_markup = looks_like_markup(text)
    return text if is_markup else text_as_html(text)


def join_url(base: str, url: str) -> str | None:
    """``url`` resolved against ``base``; None when urllib cannot take either apart ("http://[::1")."""
    try:
        return urljoin(base, url)
    except ValueError:
        return None


def author_name(text: str) -> str:
    """The name in an RSS author field without its e-mail address ("" when there is only an address).

    feedparser's pattern takes top-level domains of 2-4 letters, so "jo@insanity.industries (Jo Bloggs)"
    gave the name "stries (Jo Bloggs"; any domain is cut whole here.
    """
    if "@" not in text:
        return text.strip()
    name = _AUTHOR_EMAIL.sub("", text, count=1).strip()
    if name.startswith("(") and name.endswith(")"):
        name = name[1:-1].strip()
    return name


# Roles that credit someone other than a writer of the story, as credit-line roles. Wire formats name
# them freely ("editor", "Photographer") or as codes ("ctrol:editor", ".../contributorrole/editor").
_CREDIT_ROLES = {"editor": "editing", "subeditor": "editing", "sub-editor": "editing", "copy editor": "editing",
                 "copyeditor": "editing", "photographer": "photos", "translator": "translation",
                 "producer": "production", "researcher": "research", "videographer": "video", "designer": "design"}
Person = tuple[str | None, str | None, bool]  # name, role (codes allowed, space-separated), author if no credit


def authors_and_credits(people: Iterable[Person]) -> tuple[list[str], dict[str, list[str]]]:
    """The story's authors, and the people credited in another role (an editor, a photographer) by role.

    A person whose role is a credit role is credited; the others are authors when marked so (a writer, no
    role, a role not known here), else left out (a wire's supplier organisation).
    """
    names: dict[str, None] = {}  # ordered sets: a lookup, not a scan, per person
    credits: dict[str, dict[str, None]] = {}
    for name, role, authored in people:
        if not name:
            continue
        credit = _credit_role(role)
        if credit is not None:
            credits.setdefault(credit, {}).setdefault(name)
        elif authored:
            names.setdefault(name)
    return list(names), {role: list(credited) for role, credited in credits.items()}


def _credit_role(role: str | None) -> str | None:
    value = (role or "").strip().lower()
    for code in (value, *value.split()):  # "copy editor" whole, or each of "ctrol:writer ctrol:editor"
        credit = _CREDIT_ROLES.get(re.split(r"[:/]", code.rstrip("/"))[-1])
        if credit is not None:
            return credit
    return None

