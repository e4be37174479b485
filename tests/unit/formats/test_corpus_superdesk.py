"""Real agency copy from superdesk-core's fixtures: every document in a format we read parses to items
with an id (guid), a headline (title) and a body (content_html).

Exceptions are listed below by name or by item type, each with its reason; nothing is skipped silently.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from schemas import PubStatus, RawItem
from services.poller.formats import ParsedFeed, UnsupportedFormatError

Parse = Callable[..., ParsedFeed]
SUPPORTED = {"xml:nitf", "xml:newsMessage", "xml:ns0:newsMessage", "xml:newsItem", "xml:packageItem",
             "xml:NewsML", "json", "xml:rss", "xml:feed", "anpa-1312", "text", "email/rfc822"}  # "text": IPTC 7901
NOT_NEWS = {
    "ninjs4_mock.json": "an HTTP mock table for superdesk's tests, not a news document",
    "upload_from_url_mock.json": "an HTTP mock table for superdesk's tests, not a news document",
}
NO_ID = {
    "ap-nitf.xml": "AP's NITF carries no document id (its doc-id has only regsrc)",
    "ap_media_text_nitf.xml": "the AP Media API body rendition has no id; the id is on the JSON item",
    **dict.fromkeys(["IPTC7901.txt", "IPTC7901_odd_charset.txt", "dpa_copyright.txt", "dpa_four_line.txt",
                     "dpa_two_by_line.txt", "dpa_two_line.txt"],
                    "IPTC 7901 has no story id (its slug names a topic): the item is known by its content"),
}
NO_HEADLINE = {
    "stt_newsml_test_no_hl.xml": "fixture written to test a missing headline",
    "stt_newsml_abstract_test.xml": "its <headline/> is empty",
    "stt_newsml_location_test.xml": "its <headline/> is empty",
    "stt_newsml_subject_test.xml": "its <headline/> is empty",
    "aap-finance-lite.xml": "a metadata-only stub: empty <title>, no hedline, no body",
    "anpa-3.tst": "a weather table sent with its keyword line only (the normalizer titles it by its first line)",
    "ap_anpa-5.tst": "an AP news alert: one sentence, no headline (the normalizer titles it by that sentence)",
}
NO_BODY = {
    "aap-finance-lite.xml": "a metadata-only stub: empty <title>, no hedline, no body",
    "LISTING 1 A NewsML-G2 News Item.xml": "the spec's abbreviated example: its inlineXML holds only comments",
    "ap_media_text_item.json": "AP Media API sends a text item's body as a separate NITF rendition",
    "ap_media_text_feed.json": "AP Media API sends a text item's body as a separate NITF rendition",
    "wordpress_wxr.xml": "one WordPress export entry (p=test4) has an empty content:encoded",
}
# Item types that are not text: a picture, video or audio item has a caption at most, a package or
# composite lists other items. Read from the item's own metadata (G2 itemClass, ninjs type).
MEDIA_AND_PACKAGES = {"picture", "photo", "video", "audio", "graphic", "composite", "package"}
_G2_CLASS = re.compile(r'<(?:\w+:)?itemClass qcode="[^":]*:(\w+)"')
_TAG_NAME = re.compile(r"<(?:\w+:)?(\w+)")


def _kind(item: RawItem) -> str | None:
    original = item.original or ""
    if original.startswith("{"):
        kind = json.loads(original).get("type")
        return kind if isinstance(kind, str) else None
    root = _TAG_NAME.match(original)
    if root and root.group(1) == "packageItem":
        return "package"
    found = _G2_CLASS.search(original)
    return found.group(1) if found else None


def test_superdesk_fixture(superdesk_fixture: tuple[str, str], corpus: Path, parse: Parse) -> None:
    name, fmt = superdesk_fixture
    if fmt not in SUPPORTED:
        pytest.skip(f"{fmt} is not a format wirefeed reads (Ritzau, a search API's results, ...)")
    body = (corpus / "superdesk-core" / "tests" / "io" / "fixtures" / name).read_bytes()
    if name in NOT_NEWS:
        with pytest.raises(UnsupportedFormatError):
            parse(body)
        return
    items = parse(body).items
    assert items, f"{name}: no items"
    for item in items:
        where = f"{name} {item.guid}"
        assert item.guid or name in NO_ID, f"{where}: no guid"
        kind = _kind(item)
        if kind in MEDIA_AND_PACKAGES:
            continue  # may lack headline and body, see MEDIA_AND_PACKAGES
        assert item.title or name in NO_HEADLINE, f"{where}: no headline"
        # A kill notice (canceled) withdraws the story; it carries no body to publish.
        if item.pubstatus is not PubStatus.CANCELED:
            assert item.content_html or name in NO_BODY, f"{where}: no body"
