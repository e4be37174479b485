"""IPTC 7901: the text format of European agencies' wires (dpa's English and German services among
them), one story per transmission, like ANPA-1312 usually delivered as files.

    SOH <service><number> <priority> <category> <words> <keywords> <source> <number>
    <keyword>/<keyword>/                                      the slug
    STX [REFILE|EXTRA|1ST LEAD …]                            markers, then the headline, then
    Headline =                                               "By NAME, OUTLET =": "=" ends the heading
    Berlin (dpa) - First paragraph, wrapped at              paragraphs: lines wrapped, blank between
    70 characters.
    # Notebook                                               notes and contacts, not for publication
    ## Editorial contacts
    - Reporting by: NAME
    - Editing by: NAME
    dpa wsz jln                                              the editors' initials
    ETX <day><hour><minute> GMT <month> <yy>                 when it was sent

There is no story id: the slug names a topic ("Germany-politics"), not a story, so an item is known
by its content; a "1ST LEAD" is the story's second version.
"""

from __future__ import annotations

import re

from schemas import FeedFormat
from services.core.numbers import whole_number
from services.poller.formats.base import (
    FeedContext,
    InvalidDocumentError,
    ParsedFeed,
    bounded_original,
    make_raw_item,
)
from services.poller.formats.values import paragraphs_as_html

START = b"\x01"
# The header line's first token: SOH, the service and its number ("eca062").
_SERVICE = re.compile(r"\x01[a-z]+\d+", re.IGNORECASE)
MAX_HEADER_CHARS = 200
MAX_CREDIT_CHARS = 500  # a notebook line; a longer one is not a credit (and would cost a search per name)
_SENT = re.compile(r"\x03(?P<day>\d\d)(?P<hour>\d\d)(?P<minute>\d\d)(?: GMT)? (?P<month>[A-Za-zä]{3})[a-z]* "
                   r"(?P<year>\d\d)")
# English and German month names, as the sent line abbreviates them.
MONTHS = {"jan": 1, "feb": 2, "mar": 3, "mär": 3, "apr": 4, "may": 5, "mai": 5, "jun": 6, "jul": 7, "aug": 8,
          "sep": 9, "oct": 10, "okt": 10, "nov": 11, "dec": 12, "dez": 12}
_LEAD = re.compile(r"(?P<count>\d{1,4})(?:ST|ND|RD|TH) LEAD", re.IGNORECASE)
# Lines of the heading that mark the transmission rather than name the story.
_MARKER = re.compile(r"(?:REFILE|EXTRA|CORRECTION|CORRECTED|URGENT|\d+(?:ST|ND|RD|TH) LEAD|\(Achtung\))$",
                     re.IGNORECASE)
_INITIALS = re.compile(r"dpa(?:-\w+)?(?: [a-z]{2,4})+$")
_CREDIT = re.compile(r"-\s*(?P<role>Reporting|Editing|Writing) by:\s*(?P<names>.+)", re.IGNORECASE)
_NAME_SPLIT = re.compile(r"\s*[,;]\s*|\s+and\s+")
_PLACE = re.compile(r"\s+in\s+[A-Z][\w .'-]*$")
# A person's name: no telephone number or address (the desk's contacts), no outlet ("The Tribune").
_PERSON = re.compile(r"(?!The\s)[^\d@<>+]+")


def parse_iptc7901(body: bytes, ctx: FeedContext, content_type: str | None = None) -> ParsedFeed:
    document = _decoded(body).replace("\r\n", "\n").replace("\r", "\n")
    header = _header(document)
    after_header = document.find("\n") + 1
    start = document.find("\x02", after_header) if header else -1
    if header is None or start < 0:
        raise InvalidDocumentError("IPTC 7901 transmission without its header line or its text (no STX)")
    sent = _SENT.search(document, start)
    end = sent.start() if sent else document.find("\x03", start)
    text = document[start + 1:end if end >= 0 else None]
    heading, story = _split_heading(text)
    markers = [line for line in heading if _MARKER.match(line)]
    named = [line for line in heading if not _MARKER.match(line)]
    byline = named.pop() if len(named) > 1 and named[-1].startswith("By ") else None
    paragraphs, notes = _story(story)
    priority, source = header
    item = make_raw_item(
        ctx, FeedFormat.IPTC_7901, None, original=bounded_original(document),
        title=" ".join(named) or None, byline=byline, slugline=_slug(document[after_header:start]),
        version=next((int(m["count"]) + 1 for m in map(_LEAD.match, markers) if m), None),
        urgency=priority or None, published_raw=_sent(sent),  # a priority digit is an IPTC urgency (1 flash)
        providers=[source], credits=_credits(notes), content_html=paragraphs_as_html(paragraphs))
    return ParsedFeed(format=FeedFormat.IPTC_7901, items=[item])


def _header(document: str) -> tuple[int, str] | None:
    """(priority, source) of the header line, "SOH eca062 4 i 211 ccccb   dpa 061": tokens, not a pattern
    over the line, so a hostile line costs one pass."""
    end = document.find("\n", 0, MAX_HEADER_CHARS)
    tokens = document[:end].split() if end > 0 else []
    if len(tokens) < 6 or not _SERVICE.fullmatch(tokens[0]) or len(tokens[1]) != 1:
        return None
    priority = whole_number(tokens[1])
    if priority is None or whole_number(tokens[3]) is None or whole_number(tokens[-1]) is None:
        return None
    return priority, tokens[-2]


def _decoded(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return body.decode("windows-1252", errors="replace")  # the 8-bit Latin text of older services


def _split_heading(text: str) -> tuple[list[str], list[str]]:
    """The heading's lines (up to the one ending in "="), and the lines after it."""
    lines = text.split("\n")
    end = next((n for n, line in enumerate(lines) if line.rstrip().endswith("=")), 0)
    heading = [line.strip().rstrip("=").strip() for line in lines[:end + 1]]
    return [line for line in heading if line], lines[end + 1:]


def _story(lines: list[str]) -> tuple[list[str], list[str]]:
    """The story's paragraphs (wrapped lines joined), and the notebook's lines after "# Notebook"."""
    paragraphs: list[str] = []
    current: list[str] = []
    for n, line in enumerate(lines):
        if line.startswith("# "):
            return _closed(paragraphs, current), [note.strip() for note in lines[n:]]
        if line.strip():
            current.append(line.strip())
        elif current:
            paragraphs, current = _closed(paragraphs, current), []
    return _closed(paragraphs, current), []


def _closed(paragraphs: list[str], current: list[str]) -> list[str]:
    paragraph = " ".join(current)
    if not paragraph or _INITIALS.fullmatch(paragraph):
        return paragraphs
    return [*paragraphs, paragraph]


def _slug(between: str) -> str | None:
    """"Germany-football/Munich/Mueller/" between the header and STX, without its trailing slash."""
    slug = " ".join(between.split()).strip("/ ")
    return slug or None


def _credits(notes: list[str]) -> dict[str, list[str]]:
    """"- Reporting by: A in Vienna, B in Geneva" -> {"reporting": ["A", "B"]}, from the notebook."""
    credits: dict[str, list[str]] = {}
    for line in notes:
        found = _CREDIT.match(line) if len(line) <= MAX_CREDIT_CHARS else None
        if found:
            names = [_PLACE.sub("", part).strip() for part in _NAME_SPLIT.split(found["names"])]
            credits.setdefault(found["role"].lower(), []).extend(name for name in names if _PERSON.fullmatch(name))
    return {role: names for role, names in credits.items() if names}


def _sent(sent: re.Match[str] | None) -> str | None:
    month = MONTHS.get(sent["month"].lower()) if sent else None
    if sent is None or month is None:
        return None
    return f"20{sent['year']}-{month:02d}-{sent['day']}T{sent['hour']}:{sent['minute']}:00Z"
