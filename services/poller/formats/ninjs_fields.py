"""Picking one headline, body and description out of ninjs's many spellings of each.

1.x: "headline", "headline_<role>", "body_html", "body_text", "body_<role>" (1.3+ extensions).
2.x/3.x: "headlines"/"bodies"/"descriptions" lists of {role, contenttype|contentType, value}.
The role (or the suffix) is free text: "caption", "summary", "text", but also a picture's credit line
("creditline": "ASSOCIATED PRESS") and who wrote its caption ("writer"), which name people, not the content.
"""

from __future__ import annotations

import re
from typing import Any

from services.poller.formats.nitf import nitf_fields
from services.poller.formats.safexml import MalformedXMLError, parse_xml
from services.poller.formats.values import (
    authors_and_credits,
    string,
    strings,
    text_or_markup_as_html,
    unique_texts,
)

_HTML_TYPES = ("text/html", "application/xhtml+xml", "application/xhtml")
# IPTC's two names for NITF (ADDB sends "text/vnd.IPTC.NITF"), lower-cased.
_NITF_TYPES = ("application/nitf+xml", "text/vnd.iptc.nitf")
_MARKUP_TYPES = _HTML_TYPES + _NITF_TYPES
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_HTML_SUFFIXES = ("html", "xhtml", "richtext")
# Roles of entries that credit someone rather than carry text: AP's "creditline" and SIPA's "writer"
# (IPTC photo metadata's caption writer) come before the caption in their descriptions lists. Compared with
# the role's last part, so a code ("drol:creditline") or a 1.x suffix ("description_creditline_text") counts.
_CREDIT_ROLES = frozenset({"creditline", "credit", "writer", "captionwriter", "author", "by", "byline",
                           "photographer", "copyright", "copyrightnotice"})
_ROLE_PARTS = re.compile(r"[:/#_\s]+")


def first(entry: dict[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = string(entry.get(key))
        if value:
            return value
    return None


def headline(entry: dict[str, Any]) -> str | None:
    simple = first(entry, "headline", "headline_main") or _suffixed(entry, "headline_")
    if simple:
        return simple
    chosen = _by_role(entry.get("headlines"))
    return string(chosen.get("value")) if chosen else None


def body_html(entry: dict[str, Any]) -> str | None:
    return _html_of(entry, "body", "bodies")


def description_html(entry: dict[str, Any]) -> str | None:
    return _html_of(entry, "description", "descriptions")


def _html_of(entry: dict[str, Any], prefix: str, list_key: str) -> str | None:
    for suffix in _HTML_SUFFIXES:
        markup = first(entry, f"{prefix}_{suffix}")
        if markup:
            return markup
    text = first(entry, f"{prefix}_text", f"{prefix}_main") or _suffixed(entry, f"{prefix}_")
    if text:
        return _as_html(text, None)
    chosen = _by_role(entry.get(list_key), prefer_html=True)
    if chosen is None:
        return None
    return _as_html(string(chosen.get("value")), first(chosen, "contenttype", "contentType"))


def _as_html(value: str | None, content_type: str | None) -> str | None:
    kind = (content_type or "").lower()
    if value and _is_nitf_document(value):
        return _nitf_body(value)
    # Untyped: providers put both plain text and markup here, so the value itself decides. NITF that is
    # not a whole document is body.content markup alone: its <p> and <hl2> read as HTML.
    return text_or_markup_as_html(value, kind.startswith(_MARKUP_TYPES) if kind else None)


def _is_nitf_document(value: str) -> bool:
    head = value.lstrip()[:512]
    return head.startswith(("<?xml", "<nitf", "<!DOCTYPE nitf")) and "<nitf" in head


def _nitf_body(document: str) -> str | None:
    """The body.content of a whole NITF document.

    Read as untrusted XML like any wire document (an entity declaration fails the whole document); NITF's
    head (title, subjects) is metadata, not text.
    """
    # A declared encoding no longer applies to text already decoded from JSON.
    encoded = _XML_DECLARATION.sub("", document, count=1).encode("utf-8")
    try:
        body = nitf_fields(parse_xml(encoded))["content_html"]
    except MalformedXMLError:
        return text_or_markup_as_html(document, True)  # ill-formed: its markup is still the best text there is
    return body if isinstance(body, str) else None


def _suffixed(entry: dict[str, Any], prefix: str) -> str | None:
    """The first (by name) "<prefix><role>" value whose role is not a credit ("description_creditline")."""
    for key in sorted(k for k in entry if k.startswith(prefix)):
        value = string(entry.get(key))
        if value and not _is_credit(key[len(prefix):]):
            return value
    return None


def _is_credit(role: Any) -> bool:
    return not _CREDIT_ROLES.isdisjoint(_role_words(role))


def _role_words(role: Any) -> list[str]:
    return _ROLE_PARTS.split(role.lower()) if isinstance(role, str) else []


def _by_role(values: Any, prefer_html: bool = False) -> dict[str, Any] | None:
    """The role "main" entry if any, else (optionally the first HTML one, else) the first with a value;
    never one whose role credits someone (a credit line is no description of the content)."""
    if not isinstance(values, list):
        return None
    candidates = [v for v in values if isinstance(v, dict) and string(v.get("value")) and not _is_credit(v.get("role"))]
    for candidate in candidates:
        if candidate.get("role") == "main":
            return candidate
    if prefer_html:
        for candidate in candidates:
            if (first(candidate, "contenttype", "contentType") or "").lower().startswith(_MARKUP_TYPES):
                return candidate
    return candidates[0] if candidates else None


def authors(entry: dict[str, Any]) -> tuple[list[str], dict[str, list[str]]]:
    """Superdesk's "authors" objects: the story's authors, and the people credited in another role (an
    editor, a photographer) by role; ninjs "people" are people the story is about, not its authors."""
    values = entry.get("authors")
    return authors_and_credits(
        (string(v.get("name")), string(v.get("role")), True) if isinstance(v, dict) else (string(v), None, True)
        for v in (values if isinstance(values, list) else []))


def providers(entry: dict[str, Any]) -> list[str]:
    """The credit line (a description in that role, as NewsML-G2's creditline comes first), the info sources
    ("infosource" 1.2+, "infosources" 2.x, "infoSources" 3.x), Superdesk's "source" (where the copy came from),
    then the copyright holder (often the distributor: AAP holds Reuters copy it sends)."""
    sources = [source for key in ("infoSources", "infosources", "infosource") for source in _objects(entry.get(key))]
    return unique_texts([*_credit_lines(entry), *(first(source, "name") for source in sources), first(entry, "source"),
                         first(entry, "copyrightholder", "copyrightHolder")])


def _credit_lines(entry: dict[str, Any]) -> list[str | None]:
    """2.x/3.x descriptions in the role "creditline", and 1.x "description_creditline" (1.5's example)."""
    listed = [d.get("value") for d in _objects(entry.get("descriptions")) if "creditline" in _role_words(d.get("role"))]
    suffixed = [entry[key] for key in sorted(entry)
                if key.startswith("description_") and "creditline" in _role_words(key[len("description_"):])]
    return [string(value) for value in (*listed, *suffixed)]


def _objects(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def categories(entry: dict[str, Any]) -> list[str]:
    return unique_texts([
        *(first(subject, "name", "code", "qcode", "uri") for key in ("subjects", "subject")
          for subject in _objects(entry.get(key))),
        *strings(entry.get("keywords")),
    ])
