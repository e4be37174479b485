"""IPTC ninjs 1.x, 2.x and 3.x field mapping: identity, version, status, embargo, urgency, byline, dateline."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from schemas import FeedFormat, PubStatus
from services.poller.formats import FeedContext, InvalidDocumentError, ParsedFeed
from services.poller.formats.ninjs import parse_ninjs
from services.poller.formats.safexml import UnsafeXMLError
from tests.helpers import corpus_items

Parse = Callable[..., ParsedFeed]

NINJS_1 = {
    "uri": "urn:newsml:example.com:20240501:abc",
    "type": "text",
    "version": "3",
    "versioncreated": "2024-05-01T10:05:00Z",
    "firstcreated": "2024-05-01T09:00:00Z",
    "pubstatus": "withheld",
    "embargoed": "2024-05-02T00:00:00Z",
    "urgency": 2,
    "headline": "Version one headline",
    "byline": "By Ann Writer",
    "located": "Oslo",
    "language": "nb",
    "body_html": "<p>HTML body</p>",
    "body_text": "text body",
    "description_text": "A summary",
    "subject": [{"name": "politics", "code": "11000000"}, {"code": "04000000"}],
}

NINJS_2 = {
    "uri": "http://example.com/item/2",
    "version": "7",
    "versioncreated": "2024-05-01T10:05:00+02:00",
    "pubstatus": "canceled",
    "urgency": "4",
    "headlines": [{"role": "sub", "value": "Sub"}, {"role": "main", "value": "Main headline"}],
    "bodies": [{"role": "text", "contenttype": "text/plain", "value": "plain"},
               {"role": "html", "contenttype": "text/html", "value": "<p>rich</p>"}],
    "descriptions": [{"role": "summary", "contenttype": "text/plain", "value": "Short & sweet"}],
    "by": "Bo Reporter",
    "located": "Stockholm",
    "subjects": [{"name": "sport", "uri": "http://cv.iptc.org/newscodes/mediatopic/15000000"}],
}

NINJS_3 = {
    "uri": "urn:three",
    "version": "1",
    "versionCreated": "2024-05-01T10:05:00Z",
    "firstCreated": "2024-05-01T10:00:00Z",
    "pubStatus": "usable",
    "embargoedUntil": "2024-05-01T12:00:00Z",
    "urgency": 9,
    "headlines": [{"value": "Camel case headline"}],
    "bodies": [{"contentType": "text/plain", "value": "First para.\n\nSecond para."}],
    "by": "C. Author",
    "located": "Helsinki",
}


def _one(parse: Parse, document: Any) -> Any:
    feed = parse(json.dumps(document))
    assert feed.format is FeedFormat.NINJS
    assert len(feed.items) == 1
    return feed.items[0]


def test_ninjs_1_fields(parse: Parse) -> None:
    item = _one(parse, NINJS_1)
    assert item.guid == "urn:newsml:example.com:20240501:abc"
    assert item.version == 3
    assert item.pubstatus is PubStatus.WITHHELD
    assert item.embargoed_until_raw == "2024-05-02T00:00:00Z"
    assert item.urgency == 2
    assert item.title == "Version one headline"
    assert item.byline == "By Ann Writer"
    assert item.dateline == "Oslo"
    assert item.content_html == "<p>HTML body</p>"
    assert item.summary_html == "<p>A summary</p>"
    assert (item.published_raw, item.updated_raw) == ("2024-05-01T09:00:00Z", "2024-05-01T10:05:00Z")
    assert item.categories == ["politics", "04000000"]
    assert item.language == "nb"
    assert json.loads(item.original)["uri"] == item.guid


def test_ninjs_2_fields(parse: Parse) -> None:
    item = _one(parse, NINJS_2)
    assert (item.version, item.pubstatus, item.urgency) == (7, PubStatus.CANCELED, 4)
    assert item.title == "Main headline"
    assert item.content_html == "<p>rich</p>"
    assert item.summary_html == "<p>Short &amp; sweet</p>"
    assert (item.byline, item.dateline) == ("Bo Reporter", "Stockholm")
    assert item.published_raw == item.updated_raw == "2024-05-01T10:05:00+02:00"
    assert item.categories == ["sport"]


def test_ninjs_3_camel_case_fields(parse: Parse) -> None:
    item = _one(parse, NINJS_3)
    assert (item.version, item.pubstatus, item.urgency) == (1, PubStatus.USABLE, 9)
    assert item.embargoed_until_raw == "2024-05-01T12:00:00Z"
    assert item.title == "Camel case headline"
    assert item.content_html == "<p>First para.</p><p>Second para.</p>"
    assert (item.byline, item.dateline) == ("C. Author", "Helsinki")
    assert (item.published_raw, item.updated_raw) == ("2024-05-01T10:00:00Z", "2024-05-01T10:05:00Z")


def test_ninjs_1_3_extension_names(parse: Parse) -> None:
    item = _one(parse, {"uri": "u", "headline_main": "Extended", "body_richtext": "<b>x</b>",
                        "description_caption": "plain caption"})
    assert (item.title, item.content_html, item.summary_html) == ("Extended", "<b>x</b>", "<p>plain caption</p>")


AP_CAPTION = "FILE - In this Monday, Nov. 11, 2019 file photo, a man identified by Turkish media"


@pytest.mark.parametrize("relative", [
    "iptc-ninjs/examples/2.1/ap_image.json", "iptc-ninjs/examples/3.0/ap_image.json",
    "iptc-ninjs/validation/test_suite/2.0/should_pass/010_geojson.json",
    "iptc-ninjs/validation/test_suite/2.1/should_pass/010_geojson.json",
    "iptc-ninjs/validation/test_suite/3.0/should_pass/010_geojson.json",
    "iptc-ninjs/validation/test_suite/2.1/should_pass/011_contactinfo.json",
])
def test_a_pictures_caption_is_its_description_and_its_credit_line_a_provider(relative: str) -> None:
    # AP lists {"role": "creditline", "value": "ASSOCIATED PRESS"} before {"role": "caption", ...}
    (item,) = corpus_items(relative, datetime(2024, 1, 1, tzinfo=UTC))
    assert item.summary_html is not None and item.summary_html.startswith(f"<p>{AP_CAPTION}")
    assert item.providers[0] == "ASSOCIATED PRESS"


@pytest.mark.parametrize("relative", ["iptc-ninjs/examples/2.1/SIPA_image_2.json",
                                      "iptc-ninjs/examples/3.0/SIPA_image_3.json"])
def test_the_caption_writer_is_not_the_description(relative: str) -> None:
    # SIPA's first description is {"role": "writer", "value": "www.insidefoto.com"}; the caption ("text") follows
    (item,) = corpus_items(relative, datetime(2024, 1, 1, tzinfo=UTC))
    assert item.summary_html is not None and item.summary_html.startswith("<p>Demonstration of the workers")
    assert "insidefoto.com" not in item.summary_html


def test_a_credit_is_no_description_in_any_ninjs_version(parse: Parse) -> None:
    credit_first = [{"role": "drol:creditline", "value": "AP Photo"}, {"role": "writer", "value": "Cap Writer"},
                    {"role": "summary", "value": "What the picture shows"}]
    assert _one(parse, {"uri": "u2", "descriptions": credit_first}).summary_html == "<p>What the picture shows</p>"
    only_credit = _one(parse, {"uri": "u3", "descriptions": [{"role": "creditline", "value": "AP Photo"}]})
    assert (only_credit.summary_html, only_credit.providers) == (None, ["AP Photo"])
    # 1.x: the role is the name's suffix, and "creditline" sorts before "summary"
    one = _one(parse, {"uri": "u1", "description_creditline": "AP Photo", "description_summary": "Shows",
                       "copyrightholder": "AP"})
    assert (one.summary_html, one.providers) == ("<p>Shows</p>", ["AP Photo", "AP"])


def test_superdesk_flavour_uses_guid_and_authors(parse: Parse) -> None:
    item = _one(parse, {"guid": "tag:x", "headline": "h", "body_html": "<p>b</p>", "pubstatus": "cancelled",
                        "authors": [{"name": "Jo", "role": "writer"}], "keywords": ["k1"]})
    assert (item.guid, item.authors, item.categories) == ("tag:x", ["Jo"], ["k1"])
    assert item.pubstatus is PubStatus.CANCELED  # British spelling of a kill is still a kill


def test_superdesk_authors_in_another_role_are_credits_not_authors(parse: Parse) -> None:
    item = _one(parse, {"guid": "tag:y", "headline": "h", "body_html": "<p>b</p>", "authors": [
        {"name": "Jo Writer", "role": "writer"}, {"name": "Ed Itor", "role": "editor"},
        {"name": "Pat Photo", "role": "Photographer"}, {"name": "Al Columnist", "role": "columnist"},
        {"name": "Ed Itor", "role": "subeditor"}, {"role": "editor"}]})
    assert item.authors == ["Jo Writer", "Al Columnist"]  # a role not known here stays an author
    assert item.credits == {"editing": ["Ed Itor"], "photos": ["Pat Photo"]}


def test_a_real_superdesk_item_credits_its_editor_and_is_dated_when_it_went_out() -> None:
    raw = corpus_items("superdesk-core/tests/io/fixtures/ninjs_embargoed.json", datetime(2024, 1, 1, tzinfo=UTC))[0]
    assert (raw.authors, raw.credits) == (["Aaron Staples"], {"editing": ["Josh Pitt"]})
    # firstpublished, not firstcreated (2022-06-20, when the draft was started)
    assert raw.published_raw == "2022-06-26T23:54:25+0000"


def test_lists_and_envelopes(parse: Parse) -> None:
    assert [i.guid for i in parse(json.dumps([NINJS_1, NINJS_2])).items] == [NINJS_1["uri"], NINJS_2["uri"]]
    bbc = parse(json.dumps({"total": 1, "offset": 0, "item": [NINJS_3]}))
    assert [i.guid for i in bbc.items] == ["urn:three"]
    ap = parse(json.dumps({"data": {"next_page": "https://api.example/next",
                                    "items": [{"item": NINJS_2}, {"meta": {}}]}}))
    assert [i.guid for i in ap.items] == [NINJS_2["uri"]]
    assert ap.next_page_url == "https://api.example/next"
    ap_item = parse(json.dumps({"data": {"item": {"uri": "u", "datelinelocation": {"city": "New York"}}}}))
    assert ap_item.items[0].dateline == "New York"
    assert parse(json.dumps({"data": {"current_item_count": 0, "items": []}})).items == []


def test_text_associations_become_items_media_do_not(parse: Parse) -> None:
    document = dict(NINJS_1, associations={
        "photo": {"uri": "urn:pic", "type": "picture", "renditions": {"main": {"href": "https://x/p.jpg"}}},
        "sidebar": {"uri": "urn:side", "type": "text", "headline": "Sidebar", "body_text": "More."},
    })
    assert [i.guid for i in parse(json.dumps(document)).items] == [NINJS_1["uri"], "urn:side"]


@pytest.mark.parametrize("kind", [{"name": "picture"}, ["picture"], 5, None])
def test_a_type_that_is_no_string_is_no_media_type(parse: Parse, kind: object) -> None:
    # {"type": {...}} raised TypeError (unhashable) and failed the whole document
    item = _one(parse, {"uri": "urn:p", "type": kind, "headline": "A photo", "body_text": "Text.",
                        "renditions": {"main": {"href": "https://x/p.jpg"}},
                        "associations": {"a": {"type": {"x": 1}, "renditions": {"m": {"href": "https://x/q.jpg"}}}}})
    assert (item.title, item.enclosures) == ("A photo", [])


def test_picture_renditions_are_enclosures(parse: Parse) -> None:
    item = _one(parse, {"uri": "urn:p", "type": "picture", "headline": "A photo",
                        "renditions": {"main": {"href": "https://x/p.jpg", "mimetype": "image/jpeg"}}})
    assert [(e.url, e.type) for e in item.enclosures] == [("https://x/p.jpg", "image/jpeg")]


@pytest.mark.parametrize(("size", "length"), [(2048, 2048), ("2048", 2048), ("²", None), ("9" * 5_000, None),
                                             (10**30, None), (-5, None), (True, None)])
def test_a_renditions_size_is_its_length_when_it_is_a_number(parse: Parse, size: object, length: int | None) -> None:
    item = _one(parse, {"uri": "urn:p", "type": "picture", "headline": "A photo",
                        "renditions": {"main": {"href": "https://x/p.jpg", "size": size}}})
    assert [e.length for e in item.enclosures] == [length]  # "²" failed the document


def test_a_storys_packaged_pictures_are_its_enclosures() -> None:
    # TT's text item carries its picture as an association with four renditions (ninjs 3, camelCase sizes)
    (story,) = corpus_items("iptc-ninjs/examples/3.0/tt_text_image_3.json", datetime(2024, 1, 1, tzinfo=UTC))
    assert [(e.url.rsplit("/", 1)[1], e.type, e.length, e.width, e.height) for e in story.enclosures] == [
        ("a001_NormalHires.jpg", "image/jpeg", 10326191, 4724, 3149),
        ("a001_NormalPreview.jpg", "image/jpeg", 398957, 1024, 683),
        ("a001_WatermarkPreview.jpg", "image/jpeg", 398957, 1024, 683),
        ("a001_NormalThumbnail.jpg", "image/jpeg", 32491, 256, 171)]


def test_a_packaged_story_is_not_an_enclosure(parse: Parse) -> None:
    item = _one(parse, {"uri": "urn:s", "type": "text", "headline": "Story", "body_text": "Text.", "associations": {
        "sidebar": {"uri": "urn:side", "type": "text", "renditions": [{"href": "https://x/side.html"}]},
        "photo": {"type": "picture", "renditions": [{"href": "https://x/p.jpg"}]}}})
    assert [e.url for e in item.enclosures] == ["https://x/p.jpg"]


def test_lenient_about_fields_it_cannot_use(parse: Parse) -> None:
    item = _one(parse, {"uri": "urn:x", "urgency": "high", "pubstatus": "commissioned", "headline": 42,
                        "version": "v2"})
    assert (item.urgency, item.pubstatus, item.title, item.version) == (None, None, None, None)


@pytest.mark.parametrize("document", [
    {}, {"uri": ""}, {"uri": 5}, {"uri": "urn:x", "version": 1.5}, {"uri": "urn:x", "version": {"v": 1}},
    [{"uri": "urn:a"}, {"headline": "no uri"}],
])
def test_invalid_items_are_typed_errors(document: Any, parse: Parse) -> None:
    with pytest.raises(InvalidDocumentError):
        parse(json.dumps(document), fmt=FeedFormat.NINJS)


def test_schema_validator_plug_in(ctx: FeedContext) -> None:
    def validator(document: Any) -> list[str]:
        return ["headline is required"] if "headline" not in document else []

    with pytest.raises(InvalidDocumentError, match="headline is required"):
        parse_ninjs(b'{"uri": "urn:x"}', ctx, validator=validator)
    assert parse_ninjs(b'{"uri": "urn:x", "headline": "h"}', ctx, validator=validator).items


NITF_DOCUMENT = ('<?xml version="1.0" encoding="ISO-8859-1"?>\n<nitf><head><title>Head title</title>'
                 '<tobject tobject.type="news"/></head><body><body.head><hedline><hl1>Hed</hl1></hedline>'
                 '</body.head><body.content><block id="lead"><p>Lead paragraph, café.</p></block>'
                 '<p>Second.</p></body.content></body></nitf>')


@pytest.mark.parametrize("content_type", ["text/vnd.IPTC.NITF", "application/nitf+xml", None])
def test_a_body_holding_an_nitf_document_gives_its_body_content(parse: Parse, content_type: str | None) -> None:
    body = {"role": "nitf", "value": NITF_DOCUMENT} | ({"contentType": content_type} if content_type else {})
    item = _one(parse, {"uri": "urn:nitf", "headlines": [{"value": "Hed"}],
                        "bodies": [body, {"role": "text", "contentType": "text/plain", "value": "Lead paragraph"}]})
    assert item.content_html is not None
    assert "<p>Lead paragraph, café.</p>" in item.content_html and "<p>Second.</p>" in item.content_html
    assert "Head title" not in item.content_html and "nitf" not in item.content_html


def test_an_nitf_body_with_entity_declarations_fails_the_document(parse: Parse) -> None:
    bomb = NITF_DOCUMENT.replace("<nitf>", '<!DOCTYPE nitf [<!ENTITY a "aaaaaaaaaa">]><nitf>').replace("Second.", "&a;")
    with pytest.raises(UnsafeXMLError):
        parse(json.dumps({"uri": "urn:nitf", "bodies": [{"contentType": "text/vnd.IPTC.NITF", "value": bomb}]}))


def test_an_ill_formed_nitf_body_is_kept_as_markup(parse: Parse) -> None:
    broken = NITF_DOCUMENT.replace("</body.content>", "")
    item = _one(parse, {"uri": "urn:nitf", "bodies": [{"contentType": "text/vnd.IPTC.NITF", "value": broken}]})
    assert item.content_html is not None and "Lead paragraph" in item.content_html


def test_addb_ninjs_with_an_nitf_body() -> None:
    relative = "iptc-ninjs/examples/3.0/20231016-addb-example-press-conference.json"
    (item,) = corpus_items(relative, datetime(2026, 11, 29, tzinfo=UTC))
    assert item.content_html is not None
    assert item.content_html.lstrip().startswith('<div id="lead">')
    assert "Anti-Doping Authority (ASADA) today announced" in item.content_html
    assert "tobject" not in item.content_html and "<?xml" not in item.content_html
