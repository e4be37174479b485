"""ANPA-1312: the wire's oldest text format, one story per transmission, still how AP's wire reaches
many newsrooms (as files in a spool directory).

    SYN SYN SOH <service><sequence> US <selectors>          "W2870" (AP's channel and sequence number)
    <priority> <category><format> <keyword> <version>  <month>-<day> <words>
    STX
    ^<keyword line><                                         "^" lines: the header of the text
    ^<headline><
    ^AP Photo …< ^Eds: …<                                  notes to editors, not copy
    ^By NAME= ^TITLE=                                        the byline and the reporter's title
    <TAB>   NEW YORK (AP) _ First paragraph.<                TAB-indented lines: the story
    ETX <agency>-<desk>-<mm>-<dd>-<yy> <hhmm>GMT<            when it was filed
    EOT

"<" ends a paragraph and "=" a header line. There is no id: the keyword and the filing date name a
story, and "1st Ld-Writethru" in the version field numbers its rewrites. The text keeps the typewriter's
conventions, which are set right: "_" for a dash, ``double'' backquotes for quotation marks (tables,
sent "preserved", are kept as they were set).
"""

from __future__ import annotations

import html
import re
from typing import Any

from schemas import FeedFormat
from services.poller.formats.base import (
    FeedContext,
    InvalidDocumentError,
    ParsedFeed,
    bounded_original,
    make_raw_item,
)
from services.poller.formats.values import paragraphs_as_html

START = b"\x16\x16\x01"
_HEADER = re.compile(
    r"\x16\x16\x01(?P<service>[a-z])(?P<sequence>\d{4})\x1f[^\n]*\n"
    r"(?P<priority>[a-z]) (?P<category>[a-z])[\x13\x14](?P<format>[\x11\x12]) (?P<keyword>\S+)"
    r"(?: +(?P<version>[^\s]+))? +(?P<month>\d{1,2})-(?P<day>\d{1,2})(?: +(?P<words>\d{1,4}))? *\n",
    re.IGNORECASE)
_SIGN_OFF = re.compile(r"\x03\s*(?P<agency>[A-Z]{2,5})-[A-Z]{2,5}-(?P<month>\d\d)-(?P<day>\d\d)-(?P<year>\d\d) "
                       r"(?P<hour>\d\d)(?P<minute>\d\d)GMT")
_WRITETHRU = re.compile(r"(?P<count>\d+)(?:st|nd|rd|th)\s*Ld|Writethru", re.IGNORECASE)
# ANPA's priorities, as IPTC urgencies (1 most urgent): flash, bulletin, urgent, regular, deferred.
URGENCY = {"f": 1, "b": 2, "u": 3, "r": 4, "d": 6}
_EDITORS_NOTE = re.compile(r"\(?(?:AP Photos?\b|AP Video\b|Eds:|EDITOR'S NOTE\b)")
_KEYWORD_LINE = re.compile(r"(?:\*\d+<\s*\^)?(?P<keyword>[A-Z]{2,3}-[^,<]+)")
_SLUG = re.compile(r"[A-Z]{2,3}-(?:[A-Z]{2,4}--)?(?P<slug>.+)")
# The line under a byline names the reporter's job, or the listing starts there ("AMERICAN LEAGUE=").
_JOB_TITLE = re.compile(r"\b(?:Associated Press|Writer|Correspondent|Editor|Reporter|Columnist|Photographer)\b")
_ALERT = "APNewsAlert"
# "3rdLd-Writethru"; a longer field is no version (and searching it would cost a pass per digit)
MAX_VERSION_CHARS = 40
_BODY = ("\t", " ")  # the story's own lines are indented
PRESERVED = "\x12"  # the format code of tabular matter, which keeps its line breaks
# Typesetting codes inside the text (TTS space bands, tab line indicators): no reader wants them.
_CONTROLS = dict.fromkeys([*range(0x09), *range(0x0b, 0x20), 0x7f])


def parse_anpa(body: bytes, ctx: FeedContext, content_type: str | None = None) -> ParsedFeed:
    # ANPA is 7-bit; what an agency puts above it is Latin text in practice.
    document = body.decode("windows-1252", errors="replace").replace("\r\n", "\n").replace("\r", "\n")
    header = _HEADER.match(document)
    if header is None:
        raise InvalidDocumentError("ANPA-1312 transmission without its two header lines")
    start = document.find("\x02", header.end())
    if start < 0:
        raise InvalidDocumentError("ANPA-1312 transmission without its text (no STX)")
    sign_off = _SIGN_OFF.search(document, start)
    end = sign_off.start() if sign_off else document.find("\x03", start)
    text = document[start + 1:end if end >= 0 else None]
    fields = _text_fields(text.split("\n"), preserved=header["format"] == PRESERVED)
    item = make_raw_item(
        ctx, FeedFormat.ANPA_1312, None, original=bounded_original(document),
        guid=_guid(header, sign_off), version=_version(header["version"]),
        urgency=URGENCY.get(header["priority"].lower()), published_raw=_filed(sign_off),
        providers=[sign_off["agency"]] if sign_off else [], **fields)
    return ParsedFeed(format=FeedFormat.ANPA_1312, items=[item])


def _guid(header: re.Match[str], sign_off: re.Match[str] | None) -> str:
    """The keyword on its filing day: a story's rewrites keep both. A news alert's keyword is the same for
    every alert, so each alert is its own story, by its transmission number."""
    day = (f"20{sign_off['year']}-{sign_off['month']}-{sign_off['day']}" if sign_off
           else f"{int(header['month']):02d}-{int(header['day']):02d}")
    alert = f"/{header['service']}{header['sequence']}" if header["keyword"].endswith(_ALERT) else ""
    return f"{header['keyword']}/{day}{alert}"


def _version(field: str | None) -> int | None:
    """"1stLd-Writethru" is the story's second version; a bare "Writethru" its second too."""
    found = _WRITETHRU.search(field) if field and len(field) <= MAX_VERSION_CHARS else None
    if found is None:
        return None
    return int(found["count"]) + 1 if found["count"] else 2


def _filed(sign_off: re.Match[str] | None) -> str | None:
    if sign_off is None:
        return None
    return (f"20{sign_off['year']}-{sign_off['month']}-{sign_off['day']}T"
            f"{sign_off['hour']}:{sign_off['minute']}:00Z")


def _text_fields(lines: list[str], *, preserved: bool) -> dict[str, Any]:
    """Headline, byline, slugline and body from the lines between STX and the sign-off."""
    lines = [line.translate(_CONTROLS).rstrip() for line in lines]
    body_at = next((n for n, line in enumerate(lines) if line.startswith(_BODY) and line.strip()), len(lines))
    # "^" lines after the story has begun are notes to the desk ("^END"), not its header.
    heads = [(n, _cleaned(line[1:])) for n, line in enumerate(lines[:body_at]) if line.startswith("^")]
    keyword = _KEYWORD_LINE.match(heads[0][1]) if heads else None
    story_at = heads[0][0] + 1 if keyword else 0
    if keyword:
        heads = heads[1:]
    byline, named_until = _byline(heads)
    if named_until is not None:
        story_at = heads[named_until][0] + 1
    if preserved:  # a table or listing, "^" lines and all, kept as it was set
        rows = [_cleaned(line.lstrip("^")) for line in lines[story_at:] if line.strip()]
        rows = [row for row in rows if row != "END"]
        content = "<pre>" + html.escape("\n".join(rows), quote=False) + "</pre>" if rows else None
    else:
        paragraphs = [_typeset(_cleaned(line)) for line in lines[body_at:]
                      if line.startswith(_BODY) and line.strip() and not _EDITORS_NOTE.match(line.strip())]
        # A listing sent as header lines only (top headlines) has no indented lines.
        content = paragraphs_as_html(paragraphs or [text for n, text in heads if n >= story_at])
    slug = _SLUG.match(keyword["keyword"].strip()) if keyword else None
    return {
        "title": heads[0][1] if heads else None,
        "slugline": slug["slug"].strip() if slug else None,
        "byline": byline,
        "content_html": content,
    }


def _byline(heads: list[tuple[int, str]]) -> tuple[str | None, int | None]:
    """The byline with the reporter's job title, and the index of the last header line that names the story
    (headline, notes to editors, byline): the story's own text starts after it."""
    named_until = 0 if heads else None
    byline = None
    for k, (_, text) in enumerate(heads):
        if byline is None and text.startswith("By "):
            byline, named_until = text, k
            title = heads[k + 1][1] if k + 1 < len(heads) else ""
            if _JOB_TITLE.search(title):
                byline, named_until = f"{text}, {title}", k + 1
        elif byline is None and _EDITORS_NOTE.match(text):
            named_until = k
    return byline, named_until


def _cleaned(line: str) -> str:
    return line.strip().rstrip("<=").strip()


def _typeset(text: str) -> str:
    return text.replace(" _ ", " — ").replace("``", "“").replace("''", "”")
