"""E-mail (RFC 822/5322 with MIME): press releases, agencies' alert services and contributors' copy
reach many desks as mail, which a mail server or fetchmail delivers as one file per message into a
directory (a Maildir's ``new/``, say) that a spool feed reads.

One message is one item: Message-ID the id, Subject the headline, Date the publication time, the
sender the provider, the HTML part (its body, not its head) or else the plain text the body. A plain text
that is a form's answers as JSON (AAP's reporters file copy through a Google Form) gives their fields.
Attachments are left out. Python's own ``email`` package reads the message (headers in any charset,
quoted-printable and base64 parts).
"""

from __future__ import annotations

import re
from email import policy
from email.headerregistry import BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage, MIMEPart
from email.parser import BytesParser
from typing import Any

from lxml import etree  # type: ignore[import-untyped, unused-ignore]
from lxml import html as lxml_html

from schemas import FeedFormat
from services.poller.formats.anpa import URGENCY as ANPA_URGENCY
from services.poller.formats.base import (
    FeedContext,
    InvalidDocumentError,
    ParsedFeed,
    bounded_original,
    make_raw_item,
)
from services.poller.formats.safexml import SNIFF_BYTES
from services.poller.formats.values import paragraphs_as_html, parse_json, strings, wrapped_text_as_html
from services.poller.formats.xmltree import inner_html

# "Field-Name: value" (RFC 5322: printable ASCII but the colon), or an mbox "From " line before them.
_FIRST_LINE = re.compile(rb"(?:From [^\r\n]*\r?\n)?[\x21-\x39\x3b-\x7e]+:[ \t]")
_HEADS = re.compile(rb"^(?:from|subject|date|message-id):", re.IGNORECASE | re.MULTILINE)
# Python's parser descends into nested parts by recursion: a message of a thousand nested multiparts
# costs seconds before it fails. No real message needs more than a few.
MAX_MULTIPARTS = 100
_MULTIPART = re.compile(rb"content-type:\s*multipart/", re.IGNORECASE)
# Python's parser reads a header slowly, and some shapes in time quadratic in their length: 8,000 RFC 2231
# sections ("a*0*=x;") in a Content-Type took 28 s, 2 KB of quotes in a From 0.6 s, 246 KB of encoded words
# ("=?x?q?=FF?=") in a Subject 18 s and gigabytes. Each field is bounded as the parser comes to parse it: in
# length (and a structured one in parameters), and all together, which bounds their cost across a message's
# parts. A real structured one is a line (RFC 5322's limit is 998 characters) with a handful of parameters;
# a Subject may be folded over several lines, and 8,000 bytes of encoded words cost 20 ms.
MAX_HEADER_FIELD_BYTES = 1_000
MAX_UNSTRUCTURED_FIELD_BYTES = 8_000
MAX_HEADER_PARAMETERS = 50
# All together: a press office's package of a hundred photos, each part's fields with file name, size and
# dates (~420 bytes), is a real message and stays under it; 16,000 refused one of 55 photos.
MAX_PARSED_HEADER_BYTES = 64_000
# A form's named priorities, ranked as ANPA's codes, their initials (flash 1, bulletin 2, urgent 3, ...).
_URGENCY = {name: ANPA_URGENCY[name[0]] for name in ("flash", "bulletin", "urgent", "routine", "deferred")}
_DIGITS = frozenset("123456789")


def is_email(body: bytes) -> bool:
    """A message: a header line first, and among the headers at least two of From, Subject, Date, Message-ID."""
    head = body[:SNIFF_BYTES].lstrip()
    if not _FIRST_LINE.match(head):
        return False
    end = next((at for at in (head.find(b"\n\n"), head.find(b"\r\n\r\n")) if at >= 0), len(head))
    headers = head[:end]
    return len({found.lower() for found in _HEADS.findall(headers)}) >= 2


def parse_email(body: bytes, ctx: FeedContext, content_type: str | None = None) -> ParsedFeed:
    if len(_MULTIPART.findall(body)) > MAX_MULTIPARTS:
        raise InvalidDocumentError(f"an e-mail of more than {MAX_MULTIPARTS} multipart parts is refused")
    message = BytesParser(policy=_bounded_parsing_once()).parsebytes(body.lstrip())
    assert isinstance(message, EmailMessage)  # what policy.default builds
    copy = _copy(message)
    title = copy.pop("title", None) or _header(message, "subject")
    if not title and not copy.get("content_html"):
        raise InvalidDocumentError("an e-mail without a subject or a text part")
    item = make_raw_item(
        ctx, FeedFormat.EMAIL, None, original=bounded_original(body.decode("utf-8", errors="replace")),
        guid=(_header(message, "message-id") or "").strip("<> ") or None, title=title,
        published_raw=_header(message, "date"), providers=_sender(message),
        language=_header(message, "content-language"), **copy)
    return ParsedFeed(format=FeedFormat.EMAIL, items=[item])


class _BoundedParsedOnce(HeaderRegistry):
    """Python's registry, bounding the fields it parses and remembering what it parsed.

    Every field Python's parser reads comes here to be parsed, the headers of each nested part too, and only
    header fields do: bounding them here bounds what the parser reads, whichever lines it takes for a part's
    headers, and leaves bodies alone. Remembered, because the parser and get_body read a part's Content-Type
    again at each question (six times a part), and each reading parses the field anew."""

    def __init__(self) -> None:
        super().__init__()
        self._parsed: dict[tuple[str, str], BaseHeader] = {}
        self._parsed_bytes = 0

    def __call__(self, name: str, value: str) -> BaseHeader:
        key = (name.lower(), value)
        if key not in self._parsed:
            self._count(name, value)
            self._parsed[key] = super().__call__(name, value)
        return self._parsed[key]

    def _count(self, name: str, value: str) -> None:
        """Refuse the message if this field, unfolded, or all fields parsed so far are too long. The parser
        reads bytes as ASCII with surrogate escapes: a character here is a byte of the message."""
        structured = not issubclass(self.registry.get(name.lower(), self.default_class), UnstructuredHeader)
        most = MAX_HEADER_FIELD_BYTES if structured else MAX_UNSTRUCTURED_FIELD_BYTES
        if len(value) > most:
            raise InvalidDocumentError(f"an e-mail header {name} of more than {most} bytes is refused")
        if structured and value.count(";") > MAX_HEADER_PARAMETERS:
            raise InvalidDocumentError(f"an e-mail header {name} of more than {MAX_HEADER_PARAMETERS} "
                                       "parameters is refused")
        self._parsed_bytes += len(value)
        if self._parsed_bytes > MAX_PARSED_HEADER_BYTES:
            raise InvalidDocumentError(f"an e-mail whose parsed headers hold more than {MAX_PARSED_HEADER_BYTES} "
                                       "bytes is refused")


def _bounded_parsing_once() -> policy.EmailPolicy[EmailMessage]:
    """policy.default with a registry of its own, which lives as long as the one message it reads."""
    return policy.default.clone(header_factory=_BoundedParsedOnce())


def _copy(message: EmailMessage) -> dict[str, Any]:
    """The story's fields: the HTML part's body, else a form's answers, else the plain text's paragraphs."""
    html = _html(message.get_body(preferencelist=("html",)))
    if html:
        return {"content_html": html}
    text = _decoded(message.get_body(preferencelist=("plain",)))
    if answers := _form_answers(text):
        return _form_copy(answers)
    return {"content_html": wrapped_text_as_html(text) if text else None}


def _form_answers(text: str | None) -> dict[str, str] | None:
    """A form response mailed as JSON, each field a list of answers ({"Headline": ["…"], "Body": ["…"]}), as
    AAP's reporters file copy through a Google Form: each field's first answer by lower-case name. None for
    any other text, and for a form without a headline or a body."""
    if text is None or not text.lstrip().startswith("{"):
        return None
    try:
        fields = parse_json(text, strict=False)  # a mailer's line wrapping leaves raw newlines in strings
    except (ValueError, RecursionError):  # RecursionError: arrays nested thousands deep
        return None
    if not isinstance(fields, dict):
        return None
    answers = {}
    for name, values in fields.items():
        if given := strings(values if isinstance(values, list) else [values]):
            answers[name.strip().lower()] = given[0]
    return answers if {"headline", "body"} & answers.keys() else None


def _form_copy(answers: dict[str, str]) -> dict[str, Any]:
    """The item's fields from a form's answers. A form's text box keeps the reporter's line breaks, so each
    line is a paragraph."""
    priority = answers.get("priority", "").lower()
    return {
        "title": answers.get("headline"),
        "content_html": paragraphs_as_html(line.strip() for line in answers.get("body", "").splitlines()),
        "summary_html": paragraphs_as_html([answers.get("abstract", "")]),
        "dateline": answers.get("dateline"),
        "slugline": answers.get("slugline"),
        "categories": [answers["category"]] if "category" in answers else None,
        "urgency": int(priority) if priority in _DIGITS else _URGENCY.get(priority),
    }


def _header(message: EmailMessage, name: str) -> str | None:
    try:
        value = message.get(name)
    except (ValueError, IndexError, TypeError):  # a header the policy cannot parse
        return None
    text = " ".join(str(value).split()) if value is not None else ""
    return text or None


def _sender(message: EmailMessage) -> list[str]:
    """The sender's name, or address when it gives none: an agency or press office, for the provider."""
    try:
        addresses = message["from"].addresses if message["from"] is not None else ()
    except (AttributeError, ValueError, IndexError, TypeError):
        addresses = ()
    return [address.display_name or address.addr_spec for address in addresses[:1] if address.addr_spec]


def _decoded(part: MIMEPart | None) -> str | None:
    if part is None:
        return None
    try:
        content = part.get_content()
    except (LookupError, UnicodeError, ValueError):  # an unknown or lying charset: read it as Latin-1
        payload = part.get_payload(decode=True)
        content = payload.decode("latin-1") if isinstance(payload, bytes) else None
    return content if isinstance(content, str) and content.strip() else None


def _html(part: MIMEPart | None) -> str | None:
    """The HTML part's body: its head (title, styles) is the mail client's, not the story's."""
    markup = _decoded(part)
    if markup is None:
        return None
    try:
        return inner_html(lxml_html.document_fromstring(markup).body)
    except (etree.ParserError, ValueError):
        return None
