"""E-mail messages as items: superdesk-core's fixtures, and messages made here for what they lack."""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import UTC, datetime
from email import policy
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage

import pytest

from schemas import FeedFormat, RawItem
from services.normalizer.normalize import normalize
from services.poller.formats import InvalidDocumentError, ParsedFeed, UnsupportedFormatError, detect_format, rfc822

Parse = Callable[..., ParsedFeed]

PLAIN = b"""From: AAP Newsroom <news@aap.example>
To: desk@paper.example
Subject: =?utf-8?q?Caf=C3=A9_owners_fined?=
Date: Thu, 05 May 2016 04:11:45 +0000
Message-ID: <release-42@aap.example>
Content-Language: en
Content-Type: text/plain; charset=utf-8

SYDNEY - Three cafe owners were fined on Thursday
for breaching food safety rules.

The council said more inspections would follow.
"""


@pytest.fixture
def mail(superdesk_item: Callable[[str, FeedFormat], RawItem]) -> Callable[[str], RawItem]:
    return lambda name: superdesk_item(name, FeedFormat.EMAIL)


def test_a_message_gives_its_id_subject_date_sender_and_html_body(mail: Callable[[str], RawItem]) -> None:
    item = mail("simple_email.txt")
    assert (item.guid, item.title, item.published_raw, item.providers) == (
        "CAHU3GgVHd6C_RSMQXvOhr6V-Ya0LwdBkqpbZ_qUwGF8JvhrQVg@mail.gmail.com", "Test message 1234",
        "Thu, 19 Feb 2015 17:18:40 +1100", ["a sender"])
    assert item.content_html == '<div dir="ltr">body text<br clear="all"><div>\n</div></div>'  # the HTML part


def test_attachments_are_left_out(mail: Callable[[str], RawItem]) -> None:
    item = mail("composite_email.txt")  # text, HTML and a JPEG
    assert item.content_html == '<div dir="ltr">this is a test of a single image<br clear="all"><div>\n</div></div>'
    assert "/9j/" not in (item.content_html or "")  # the JPEG's base64 ("/9j/4AAQ…") is not in the body


def test_a_part_in_windows_1252_reads_and_the_normalizer_mends_a_mojibake_subject(
        mail: Callable[[str], RawItem]) -> None:
    item = mail("odd_charset_email.txt")
    article = normalize(item, datetime(2015, 3, 11, tzinfo=UTC))
    assert article.title == "TravTalk’s Special for TAAI convention"
    assert article.body_text.startswith("LOS ANGELES, March 10 AAP – Adam Scott")  # the copy's header left out
    assert article.summary == ("John Senden defends his Valspar Championship this week but countryman Adam Scott "
                               "is getting the headlines.")  # its "Abstract:"
    assert article.byline == ["Ben Everill"]
    assert "OfficeDocumentSettings" not in article.body_text  # the mail client's markup is gone


def test_a_google_form_response_gives_its_headline_abstract_body_and_wire_fields(
        mail: Callable[[str], RawItem]) -> None:
    item = mail("googleform1.txt")  # AAP's reporters file copy through a form that mails its answers as JSON
    assert (item.title, item.dateline, item.slugline, item.categories) == (
        "Arnold 'worried' about maroon-clad Roar", "BRISBANE", "Soc AL Roar", ["DOMESTIC SPORT"])
    assert item.summary_html == ('<p>Sydney FC coach Graham Arnold is "worried" Brisbane Roar will end their '
                                 'unblemished A-League run this weekend, John Aloisi says.</p>')
    assert item.content_html is not None
    assert item.content_html.startswith('<p>John Aloisi reckons Sydney FC coach Graham Arnold is "worried" a '
                                        'maroon-clad Brisbane Roar will end their unbeaten A-League run on Saturday.'
                                        '</p><p>Arnold attempted')  # each line of the form's text box a paragraph
    assert item.urgency is None  # its Priority answers are all empty
    article = normalize(item, datetime(2016, 11, 18, tzinfo=UTC))
    assert (article.title, article.dateline.place) == ("Arnold 'worried' about maroon-clad Roar", "BRISBANE")
    assert article.summary is not None and article.summary.startswith("Sydney FC coach")
    assert "{" not in article.body_text and "Timestamp" not in article.body_text


@pytest.mark.parametrize(("fixture", "title", "urgency"), [
    ("googleform.txt", "TEST NZ HEADER", 3),  # Priority "Urgent", as ANPA ranks it
    ("json-email.txt", "Headline-2", 5),  # Priority "5"; a wrapped line leaves a raw newline in a string
])
def test_a_form_responses_priority_is_its_urgency(mail: Callable[[str], RawItem], fixture: str, title: str,
                                                  urgency: int) -> None:
    item = mail(fixture)
    assert (item.title, item.urgency) == (title, urgency)


@pytest.mark.parametrize("text", [
    b'{"Title": ["a notification"], "Status": ["ok"]}',  # JSON, but no headline or body: text as before
    b'{"Headline": ["cut off',  # not JSON
    b'["Headline", "Body"]',  # not an object
    b'{"Headline": ' + b"[" * 100_000,  # nested too deep for the JSON parser
])
def test_other_json_text_stays_the_messages_text(parse: Parse, text: bytes) -> None:
    [item] = parse(PLAIN.replace(PLAIN.split(b"\n\n", 1)[1], text)).items
    assert item.title == "Café owners fined"
    assert item.content_html == f"<p>{html.escape(text.decode(), quote=False)}</p>"


def test_a_plain_text_message_becomes_paragraphs(parse: Parse) -> None:
    assert detect_format(PLAIN) is FeedFormat.EMAIL
    [item] = parse(PLAIN).items
    assert (item.guid, item.title, item.providers, item.language) == (
        "release-42@aap.example", "Café owners fined", ["AAP Newsroom"], "en")
    assert item.content_html == ("<p>SYDNEY - Three cafe owners were fined on Thursday for breaching food safety "
                                 "rules.</p><p>The council said more inspections would follow.</p>")


def test_a_nul_in_the_message_id_stays_out_of_the_item_id(parse: Parse) -> None:
    # the poller's state database (PostgreSQL) cannot store it: every poll of the mailbox failed
    [item] = parse(PLAIN.replace(b"release-42@aap.example", b"release-42\x00@aap.example")).items
    assert item.item_id == "feed:release-42@aap.example"


def test_the_html_head_is_not_the_story(parse: Parse) -> None:
    message = PLAIN.replace(b"text/plain", b"text/html").replace(
        b"SYDNEY", b"<html><head><title>Newsletter</title><style>p{color:red}</style></head><body><p>SYDNEY")
    [item] = parse(message + b"</p></body></html>").items
    body = item.content_html or ""
    assert body.startswith("<p>SYDNEY") and "Newsletter" not in body and "color" not in body


def test_an_mbox_from_line_before_the_headers_is_a_message() -> None:
    assert detect_format(b"From news@aap.example Thu May  5 04:11:45 2016\n" + PLAIN) is FeedFormat.EMAIL


@pytest.mark.parametrize("text", [b"Note: this is not mail\nJust prose.\n", b"Subject only: no\n\nbody",
                                  b"Hello world, from: someone\nSubject: x\n"])
def test_prose_with_a_colon_is_not_mail(text: bytes) -> None:
    with pytest.raises(UnsupportedFormatError):
        detect_format(text)


def test_a_message_with_neither_subject_nor_text_is_refused(parse: Parse) -> None:
    empty = b"From: a@b.example\nDate: Thu, 05 May 2016 04:11:45 +0000\nContent-Type: image/png\n\niVBORw0KGgo=\n"
    with pytest.raises(InvalidDocumentError, match="e-mail"):
        parse(empty)


def test_a_message_of_parts_nested_a_thousand_deep_is_refused_before_parsing(parse: Parse) -> None:
    """Python's parser recurses into each nested part: such a message would cost seconds, then fail."""
    body = b"Content-Type: text/plain\n\nhello\n"
    for n in range(1000):
        body = b'Content-Type: multipart/mixed; boundary="b%d"\n\n--b%d\n' % (n, n) + body + b"\n--b%d--\n" % n
    with pytest.raises(InvalidDocumentError, match="more than 100 multipart parts"):
        parse(b"From: a@b.example\nSubject: nested\nMIME-Version: 1.0\n" + body)


def _with_content_type(value: bytes, line_break: bytes = b"\n") -> bytes:
    return PLAIN.replace(b"Content-Type: text/plain; charset=utf-8", b"Content-Type: " + value).replace(
        b"\n", line_break)


@pytest.mark.parametrize("line_break", [b"\n", b"\r\n", b"\r"])
def test_a_header_of_many_rfc2231_sections_is_refused_before_parsing(parse: Parse, line_break: bytes) -> None:
    """Python's parser reads RFC 2231 sections in quadratic time: 8,000 of them took 28 s."""
    sections = b"text/plain; charset=utf-8;" + b" a*0*=x;" * (rfc822.MAX_HEADER_PARAMETERS + 1)
    with pytest.raises(InvalidDocumentError, match="Content-Type of more than 50 parameters"):
        parse(_with_content_type(sections, line_break), fmt=FeedFormat.EMAIL)


@pytest.mark.parametrize("line_break", [b"\n", b"\r\n", b"\r"])
def test_a_structured_header_longer_than_the_bound_is_refused_even_when_folded(
        parse: Parse, line_break: bytes) -> None:
    quotes = b'"' * 500
    with pytest.raises(InvalidDocumentError, match="From of more than 1000 bytes"):
        parse(PLAIN.replace(b"From: AAP Newsroom", b"From: " + quotes + b"\n " + quotes).replace(b"\n", line_break),
              fmt=FeedFormat.EMAIL)


def test_structured_headers_of_many_parts_are_bounded_together(parse: Parse) -> None:
    """Each field under its bound, but one per part: their cost is bounded all together."""
    part = b'--b\nContent-Type: text/plain; name="%s"\n\nx\n'
    parts = b"".join(part % (b"n%d" % n).ljust(900, b"n") for n in range(80))
    message = PLAIN.replace(b"text/plain; charset=utf-8", b"multipart/mixed; boundary=b").split(b"\n\n")[0]
    with pytest.raises(InvalidDocumentError, match="parsed headers hold more than 64000 bytes"):
        parse(message + b"\n\n" + parts + b"--b--\n")


# Lines of a body that look like long or many-parametered structured fields: a forwarded message's raw
# source, a mail server's log quoted in a story.
_HEADER_LIKE_BODY_LINES = [
    b"Content-Type: text/plain; name=\"" + b"n" * 1_200 + b"\"",
    b"Content-Type: text/plain;" + b" a*0*=x;" * (rfc822.MAX_HEADER_PARAMETERS + 1),
    b"From: " + b'"' * 1_200,
]


@pytest.mark.parametrize("line", _HEADER_LIKE_BODY_LINES)
def test_a_plain_text_body_line_that_looks_like_a_long_header_is_read(parse: Parse, line: bytes) -> None:
    [item] = parse(PLAIN.replace(b"The council said", line + b"\n\nThe council said")).items
    assert item.title == "Café owners fined"
    assert item.content_html is not None and item.content_html.endswith(
        "<p>The council said more inspections would follow.</p>")
    assert line[:20].decode() in html.unescape(item.content_html)


@pytest.mark.parametrize("line", _HEADER_LIKE_BODY_LINES)
def test_a_parts_body_line_that_looks_like_a_long_header_is_read(parse: Parse, line: bytes) -> None:
    text = b"--b\nContent-Type: text/plain; charset=utf-8\n\nSYDNEY - Cafe owners were fined.\n" + line + b"\n"
    head = PLAIN.replace(b"text/plain; charset=utf-8", b"multipart/mixed; boundary=b").split(b"\n\n")[0]
    [item] = parse(head + b"\n\n" + text + b"--b--\n").items
    assert item.content_html is not None and item.content_html.startswith("<p>SYDNEY - Cafe owners were fined.")
    assert line[:20].decode() in html.unescape(item.content_html)


_HUGE_CONTENT_TYPE = b"Content-Type: text/plain; name=\"" + b"n" * 1_200 + b"\""
_TEXT_PART = b"Content-Type: text/plain\n\nSYDNEY - Cafe owners were fined.\n"


@pytest.mark.parametrize("body", [
    # a part's own headers
    b"--b\n" + _HUGE_CONTENT_TYPE + b"\n\nx\n--b--\n",
    # a part's headers folded over lines
    b"--b\nContent-Type: text/plain;\n name=\"" + b"n" * 600 + b"\";\n x=\"" + b"x" * 600 + b"\"\n\nx\n--b--\n",
    # a part of a multipart inside the message's multipart
    b"--b\nContent-Type: multipart/alternative; boundary=c\n\n--c\n" + _TEXT_PART + b"--c\n"
    + _HUGE_CONTENT_TYPE + b"\n\nx\n--c--\n--b--\n",
    # a forwarded message's own headers (message/rfc822 is parsed as a message)
    b"--b\n" + _TEXT_PART + b"--b\nContent-Type: message/rfc822\n\nFrom: a@b.example\nSubject: fwd\n"
    + _HUGE_CONTENT_TYPE + b"\n\nx\n--b--\n",
    # a part with no blank line after its headers
    b"--b\n" + _TEXT_PART + b"--b\n" + _HUGE_CONTENT_TYPE + b"\n--b--\n",
    # a boundary line with trailing white space, which Python's parser takes as a boundary
    b"--b\n" + _TEXT_PART + b"--b \t\n" + _HUGE_CONTENT_TYPE + b"\n\nx\n--b--\n",
])
def test_a_long_header_in_a_nested_parts_headers_is_refused_before_it_is_parsed(
        parse: Parse, monkeypatch: pytest.MonkeyPatch, body: bytes) -> None:
    """The bound follows the parser into every part it reads headers of, so none can carry past it the
    fields it reads in quadratic time."""
    parsed: list[str] = []
    original = HeaderRegistry.__call__

    def recording(self: HeaderRegistry, name: str, value: str) -> BaseHeader:
        parsed.append(value)
        return original(self, name, value)

    monkeypatch.setattr(HeaderRegistry, "__call__", recording)
    head = PLAIN.replace(b"text/plain; charset=utf-8", b"multipart/mixed; boundary=b").split(b"\n\n")[0]
    with pytest.raises(InvalidDocumentError, match="Content-Type of more than 1000 bytes"):
        parse(head + b"\n\n" + body, fmt=FeedFormat.EMAIL)
    assert max(map(len, parsed), default=0) <= rfc822.MAX_HEADER_FIELD_BYTES


def test_a_long_attachment_name_in_rfc2231_sections_is_read(parse: Parse) -> None:
    """The bounds leave a real message alone: a long file name folded into sections, on both its fields."""
    name = b"".join(b'\n name*%d*=utf-8\'\'%s;' % (n, b"%E2%80%93" * 8) for n in range(10))
    attachment = (b'--b\nContent-Type: application/pdf;' + name + b'\nContent-Disposition: attachment;'
                  + name.replace(b"name*", b"filename*") + b"\nContent-Transfer-Encoding: base64\n\nJVBERg==\n")
    text = b"--b\nContent-Type: text/plain; charset=utf-8\n\nSYDNEY - Cafe owners were fined.\n"
    head = PLAIN.replace(b"text/plain; charset=utf-8", b"multipart/mixed; boundary=b").split(b"\n\n")[0]
    [item] = parse(head + b"\n\n" + text + attachment + b"--b--\n").items
    assert item.content_html == "<p>SYDNEY - Cafe owners were fined.</p>"


def test_a_press_offices_package_of_a_hundred_photos_is_read(parse: Parse) -> None:
    """The bound all together leaves a real package alone: each photo's fields name it, its size and dates."""
    message = EmailMessage()
    message["From"], message["Subject"] = "Press Office <press@ministry.example>", "Flood relief: photos of the day"
    message["Date"], message["Message-ID"] = "Tue, 05 Mar 2024 10:00:00 +0000", "<photos-42@ministry.example>"
    message.set_content("KYIV - Rescue teams worked through the night.\n")
    for n in range(100):
        message.add_attachment(b"\xff\xd8\xff", maintype="image", subtype="jpeg",
                               filename=f"20240305_flood_relief_Kharkiv_region_photo_{n:03d}.jpg",
                               params={"size": "523412", "creation-date": "Tue, 05 Mar 2024 10:00:00 GMT",
                                       "modification-date": "Tue, 05 Mar 2024 10:00:00 GMT"})
    [item] = parse(message.as_bytes(policy=policy.SMTP)).items
    assert item.title == "Flood relief: photos of the day"
    assert item.content_html == "<p>KYIV - Rescue teams worked through the night.</p>"


def test_each_header_field_is_parsed_once(parse: Parse, monkeypatch: pytest.MonkeyPatch) -> None:
    """Python's parser asks for a part's Content-Type six times; each answer parsed it anew."""
    parsed: list[str] = []
    original = HeaderRegistry.__call__

    def counting(self: HeaderRegistry, name: str, value: str) -> BaseHeader:
        parsed.append(name.lower())
        return original(self, name, value)

    monkeypatch.setattr(HeaderRegistry, "__call__", counting)
    parts = b"".join(b"--b\nContent-Type: text/plain; charset=utf-8; n=%d\n\nx\n" % n for n in range(10))
    head = PLAIN.replace(b"text/plain; charset=utf-8", b"multipart/mixed; boundary=b").split(b"\n\n")[0]
    parse(head + b"\n\n" + parts + b"--b--\n")
    assert parsed.count("content-type") == 11  # the message's and its ten parts'


def test_a_subject_of_too_many_encoded_words_is_refused_before_it_is_parsed(parse: Parse) -> None:
    # Python reads encoded words in time and memory quadratic in their number: 246 KB of them took 18 s,
    # and about 490 KB ran the process out of memory. A Subject is no structured field, but it is parsed.
    subject = b"=?x?q?\xff?= " * 20_000
    with pytest.raises(InvalidDocumentError, match="Subject of more than 8000 bytes"):
        parse(PLAIN.replace(b"=?utf-8?q?Caf=C3=A9_owners_fined?=", subject))


def test_a_long_subject_folded_over_lines_is_read(parse: Parse) -> None:
    """The bound leaves a real long Subject alone: encoded words folded over a dozen lines."""
    subject = b"\n ".join([b"=?utf-8?q?Caf=C3=A9_owners_fined_again_and_again?="] * 12)
    [item] = parse(PLAIN.replace(b"=?utf-8?q?Caf=C3=A9_owners_fined?=", subject)).items
    assert item.title is not None and item.title.startswith("Café owners fined again and again")
