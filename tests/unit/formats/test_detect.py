"""Format detection by content, and the per-feed format override."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from schemas import FeedFormat
from services.poller import formats
from services.poller.formats import FeedParseError, ParsedFeed, UnsupportedFormatError, detect_format
from services.poller.formats.safexml import decode_for_sniffing, thread_strict_parser

Parse = Callable[..., ParsedFeed]
NAR = "http://iptc.org/std/nar/2006-10-01/"


@pytest.mark.parametrize(("body", "expected"), [
    ('<?xml version="1.0"?><rss version="2.0"><channel/></rss>', FeedFormat.RSS),
    ('\ufeff  <!-- c --><rss version="0.91"/>', FeedFormat.RSS),
    ('<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>', FeedFormat.RDF),
    ('<feed xmlns="http://www.w3.org/2005/Atom"/>', FeedFormat.ATOM),
    ('<entry xmlns="http://www.w3.org/2005/Atom"/>', FeedFormat.ATOM),
    (f'<newsMessage xmlns="{NAR}"/>', FeedFormat.NEWSML_G2),
    (f'<?xml version="1.0"?>\n<newsItem guid="x" xmlns="{NAR}"/>', FeedFormat.NEWSML_G2),
    (f'<ns0:newsMessage xmlns:ns0="{NAR}"/>', FeedFormat.NEWSML_G2),
    (f'<packageItem xmlns="{NAR}"/>', FeedFormat.NEWSML_G2),
    (f'<conceptItem xmlns="{NAR}"/>', FeedFormat.NEWSML_G2),
    ('<!DOCTYPE nitf SYSTEM "nitf.dtd"><nitf version="-//IPTC//DTD NITF 3.4//EN"/>', FeedFormat.NITF),
    ('<NewsML Version="1.2"/>', FeedFormat.NEWSML_1),
    ('{"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": []}', FeedFormat.JSON_FEED),
    ('{"version": "1.0", "home_page_url": "https://x", "items": []}', FeedFormat.JSON_FEED),
    ('{"uri": "urn:x", "headline": "h"}', FeedFormat.NINJS),
    ('{"uri": "urn:x"}', FeedFormat.NINJS),
    ('{"guid": "x", "body_html": "<p>b</p>"}', FeedFormat.NINJS),
    ('[{"uri": "urn:a"}, {"uri": "urn:b"}]', FeedFormat.NINJS),
    ('{"total": 1, "item": [{"uri": "urn:a"}]}', FeedFormat.NINJS),
    ('{"data": {"item": {"uri": "urn:a"}}}', FeedFormat.NINJS),
    ('{"data": {"items": [{"item": {"uri": "urn:a"}}]}}', FeedFormat.NINJS),
])
def test_detects_format_from_content(body: str, expected: FeedFormat) -> None:
    assert detect_format(body.encode()) is expected


def test_detects_utf16_documents() -> None:
    assert detect_format('<?xml version="1.0" encoding="utf-16"?><rss/>'.encode("utf-16")) is FeedFormat.RSS
    assert detect_format('<nitf/>'.encode("utf-16-le")) is FeedFormat.NITF


def test_content_type_is_only_a_hint() -> None:
    assert detect_format(b'{"uri": "urn:x"}', "application/rss+xml") is FeedFormat.NINJS


@pytest.mark.parametrize("body", [
    "", "plain text", "<html><body>not a feed</body></html>", "<opml/>", '<catalog xmlns="urn:other"/>',
    "{}", '{"rss": {"channel": {}}}', "[1, 2]", "[]", '{"broken": ', "<newsItem/>",
])
def test_unknown_documents_are_unsupported(body: str) -> None:
    with pytest.raises(UnsupportedFormatError):
        detect_format(body.encode())


def test_a_json_document_is_parsed_once(parse: Parse, monkeypatch: pytest.MonkeyPatch) -> None:
    # Detection parsed it to tell a JSON Feed from ninjs, and the format's parser parsed it again.
    loads: list[object] = []
    real_loads = json.loads
    monkeypatch.setattr(json, "loads", lambda *args, **kwargs: loads.append(args[0]) or real_loads(*args, **kwargs))
    feed = parse('{"version": "https://jsonfeed.org/version/1.1", "title": "T", "items": '
                 '[{"id": "1", "content_text": "Text\\u0000."}]}')
    assert (feed.format, [item.guid for item in feed.items], len(loads)) == (FeedFormat.JSON_FEED, ["1"], 1)
    assert feed.items[0].content_html == "<p>Text.</p>"  # loaded as the parsers load it: NUL left out
    ninjs = parse('[{"uri": "urn:a", "headline": "A"}, {"uri": "urn:b", "headline": "B"}]')
    assert (ninjs.format, [item.guid for item in ninjs.items], len(loads)) == (FeedFormat.NINJS, ["urn:a", "urn:b"], 2)


def test_json_that_does_not_parse_says_so(parse: Parse) -> None:
    with pytest.raises(UnsupportedFormatError, match=r"looks like JSON but does not parse: Expecting value"):
        parse('{"items": [')


def test_configured_format_overrides_detection(parse: Parse) -> None:
    # Detection would call this RSS; a feed configured as NITF is parsed as NITF, and fails as NITF.
    with pytest.raises(FeedParseError, match="nitf"):
        parse(b'<rss version="2.0"><channel/></rss>', fmt=FeedFormat.NITF)
    feed = parse(b'<nitf><body><body.head><hedline><hl1>h</hl1></hedline></body.head></body></nitf>',
                 fmt=FeedFormat.NITF)
    assert feed.format is FeedFormat.NITF


@pytest.mark.parametrize("codec", ["utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"])
def test_sniffing_reads_byte_order_marks_and_wide_encodings(codec: str) -> None:
    text = '<?xml version="1.0"?><rss version="2.0"/>'
    assert decode_for_sniffing(text.encode(codec)) == text


def test_sniffing_reads_anything_else_as_latin1() -> None:
    body = '<?xml version="1.0" encoding="utf-8"?><rss><title>Größe</title></rss>'.encode()
    assert decode_for_sniffing(body) == body.decode("latin-1")
    assert decode_for_sniffing(b"") == ""


def test_each_thread_reuses_its_own_strict_parser() -> None:
    with ThreadPoolExecutor(max_workers=1) as pool:
        other = pool.submit(thread_strict_parser).result()
    assert thread_strict_parser() is thread_strict_parser()
    assert other is not thread_strict_parser()


def test_whatever_a_parser_raises_reaches_the_poller_as_a_parse_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # Stands in for a parser bug some document exposes: the poller must see a parse error (backed off and
    # counted per feed), not an exception its poll task dies of.
    def broken(*_: object) -> ParsedFeed:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setitem(formats.PARSERS, FeedFormat.NITF, broken)
    ctx = formats.FeedContext("f", "https://f.example/", datetime.now(UTC))
    with pytest.raises(FeedParseError, match="nitf document could not be read: RecursionError"):
        formats.parse_document(b'<nitf version="-//IPTC//DTD NITF 3.4//EN"/>', ctx)
