"""NewsML-G2 field mapping: identity, version, status, embargo, urgency, byline, dateline, bodies."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from schemas import FeedFormat, PubStatus
from services.poller.formats import FeedContext, InvalidDocumentError, ParsedFeed
from services.poller.formats.newsml_g2 import parse_newsml_g2

Parse = Callable[..., ParsedFeed]
NAR = "http://iptc.org/std/nar/2006-10-01/"

ITEM = """
<newsItem xmlns="{nar}" guid="urn:newsml:example.com:20240501:story" version="5" xml:lang="en">
  <catalogRef href="http://www.iptc.org/std/catalog/catalog.IPTC-G2-Standards_36.xml"/>
  <itemMeta>
    <itemClass qcode="ninat:text"/>
    <provider qcode="nprov:EX"/>
    <versionCreated>2024-05-01T10:05:00Z</versionCreated>
    <firstCreated>2024-05-01T09:00:00Z</firstCreated>
    <embargoed>2024-05-02T06:00:00Z</embargoed>
    <pubStatus qcode="{status}"/>
  </itemMeta>
  <contentMeta>
    <urgency>3</urgency>
    <located qcode="geo:1"><name>Geneva</name></located>
    <creator><name>Ann Writer</name></creator>
    <language tag="en-GB"/>
    <subject qcode="medtop:11000000"><name>politics</name></subject>
    <subject qcode="medtop:04000000"/>
    <keyword>talks</keyword>
    <headline role="hld:sub">Sub headline</headline>
    <headline>Main headline</headline>
    <by>By Ann Writer</by>
    <dateline>GENEVA, May 1</dateline>
    <description role="drol:summary">Talks &amp; more</description>
  </contentMeta>
  <contentSet>{content}</contentSet>
</newsItem>
"""
XHTML = ('<inlineXML contenttype="application/xhtml+xml"><html xmlns="http://www.w3.org/1999/xhtml">'
         "<head><title/></head><body><p>First &amp; <b>bold</b></p><p>Second</p></body></html></inlineXML>")
NITF = ('<inlineXML contenttype="application/nitf+xml"><nitf xmlns="http://iptc.org/std/NITF/2006-10-18/">'
        "<body><body.head><hedline><hl1>NITF headline</hl1></hedline></body.head>"
        "<body.content><p>NITF para</p><hl2>Crosshead</hl2></body.content></body></nitf></inlineXML>")
INLINE_TEXT = '<inlineData contenttype="text/plain">Para one.\n\nPara &lt;two&gt;.</inlineData>'
REMOTE = ('<remoteContent href="https://example.com/p.jpg" contenttype="image/jpeg" size="2048" width="800" '
          'height="600"/>')


def _item(status: str = "stat:usable", content: str = XHTML) -> str:
    return ITEM.format(nar=NAR, status=status, content=content)


def _message(*items: str) -> str:
    return f'<newsMessage xmlns="{NAR}"><header><sent>2024-05-01T10:06:00Z</sent></header>' \
           f"<itemSet>{''.join(items)}</itemSet></newsMessage>"


def test_news_item_fields(parse: Parse) -> None:
    feed = parse(_item())
    assert feed.format is FeedFormat.NEWSML_G2
    [item] = feed.items
    assert item.guid == "urn:newsml:example.com:20240501:story"
    assert item.version == 5
    assert item.pubstatus is PubStatus.USABLE
    assert item.embargoed_until_raw == "2024-05-02T06:00:00Z"
    assert item.urgency == 3
    assert item.title == "Main headline"
    assert item.byline == "By Ann Writer"
    assert item.dateline == "GENEVA, May 1"
    assert (item.published_raw, item.updated_raw) == ("2024-05-01T09:00:00Z", "2024-05-01T10:05:00Z")
    assert (item.authors, item.credits) == (["Ann Writer"], {})
    assert item.categories == ["politics", "medtop:04000000", "talks"]
    assert item.language == "en-GB"
    assert item.summary_html == "<p>Talks &amp; more</p>"
    assert item.content_html == "<p>First &amp; <b>bold</b></p><p>Second</p>"
    assert item.original is not None and item.original.startswith("<newsItem")


def test_creators_and_contributors_in_a_credit_role_are_credits(parse: Parse) -> None:
    people = ('<creator qcode="staff:1"><name>Ann Writer</name></creator>'
              '<creator role="crol:photographer"><name>Pat Photo</name></creator>'
              '<creator literal="Reuters" role="cRole:source"/>'
              '<contributor role="ctrol:supplier"><name>ANSA</name></contributor>'
              '<contributor><name>Ann Writer</name></contributor>'
              '<contributor role="ctrol:contributor ctrol:editor"><name>Ed Itor</name></contributor>'
              '<contributor role="http://cv.example.com/contributorrole/translator/"><name>Tra Ns</name></contributor>')
    [item] = parse(_item().replace("<creator><name>Ann Writer</name></creator>", people)).items
    assert item.authors == ["Ann Writer"]  # an organisation by literal, a supplier, a plain contributor: not
    assert item.credits == {"photos": ["Pat Photo"], "editing": ["Ed Itor"], "translation": ["Tra Ns"]}


@pytest.mark.parametrize(("located", "dateline"), [
    ('<located qcode="geo:1"><name>Geneva</name></located>', "Geneva"),
    ('<located type="cptype:city" literal="Rome"/>', "Rome"),  # ANSA's: a literal in place of a concept
    ('<located qcode="geo:1"/>', None),
])
def test_without_a_dateline_the_place_is_where_it_was_located(located: str, dateline: str | None,
                                                              parse: Parse) -> None:
    body = _item().replace("<dateline>GENEVA, May 1</dateline>", "")
    body = body.replace('<located qcode="geo:1"><name>Geneva</name></located>', located)
    assert parse(body).items[0].dateline == dateline


@pytest.mark.parametrize(("qcode", "status"), [
    ("stat:usable", PubStatus.USABLE), ("stat:withheld", PubStatus.WITHHELD),
    ("stat:canceled", PubStatus.CANCELED), ("stat:something-else", None),
])
def test_pubstatus(qcode: str, status: PubStatus | None, parse: Parse) -> None:
    assert parse(_item(qcode)).items[0].pubstatus is status


def test_pubstatus_as_uri(parse: Parse) -> None:
    body = _item().replace('qcode="stat:usable"', 'uri="http://cv.iptc.org/newscodes/pubstatusg2/canceled"')
    assert parse(body).items[0].pubstatus is PubStatus.CANCELED


def test_inline_nitf_body(parse: Parse) -> None:
    item = parse(_item(content=NITF)).items[0]
    assert item.content_html == "<p>NITF para</p><h2>Crosshead</h2>"
    assert item.title == "Main headline"  # G2 metadata wins over the NITF hedline


def test_inline_nitf_supplies_a_missing_headline(parse: Parse) -> None:
    body = _item(content=NITF).replace("<headline>Main headline</headline>", "").replace(
        '<headline role="hld:sub">Sub headline</headline>', "")
    assert parse(body).items[0].title == "NITF headline"


def test_inline_text_and_remote_content(parse: Parse) -> None:
    item = parse(_item(content=REMOTE + INLINE_TEXT)).items[0]
    assert item.content_html == "<p>Para one.</p><p>Para &lt;two&gt;.</p>"
    assert [(e.url, e.type, e.length, e.width, e.height) for e in item.enclosures] == [
        ("https://example.com/p.jpg", "image/jpeg", 2048, 800, 600)]


def test_news_message_with_several_items(parse: Parse) -> None:
    second = _item().replace("20240501:story", "20240501:other")
    stub_package = "<packageItem><itemRef residref='x'/></packageItem>"
    feed = parse(_message(_item(), stub_package, second))
    assert [i.guid for i in feed.items] == ["urn:newsml:example.com:20240501:story",
                                            "urn:newsml:example.com:20240501:other"]


def test_prefixed_namespace(parse: Parse) -> None:
    body = (f'<ns0:newsItem xmlns:ns0="{NAR}" guid="g" version="2"><ns0:itemMeta>'
            "<ns0:pubStatus qcode='stat:withheld'/></ns0:itemMeta><ns0:contentMeta>"
            "<ns0:headline>Prefixed</ns0:headline></ns0:contentMeta></ns0:newsItem>")
    item = parse(body).items[0]
    assert (item.guid, item.version, item.pubstatus, item.title) == ("g", 2, PubStatus.WITHHELD, "Prefixed")


def test_non_news_items_parse_to_nothing(parse: Parse) -> None:
    assert parse(f'<conceptItem xmlns="{NAR}" guid="c"><itemMeta/></conceptItem>').items == []


@pytest.mark.parametrize("body", [
    f'<newsItem xmlns="{NAR}" guid="g"></newsItem>',  # no itemMeta
    f'<newsItem xmlns="{NAR}"><itemMeta/></newsItem>',  # no guid
])
def test_items_without_identity_are_typed_errors(body: str, parse: Parse) -> None:
    with pytest.raises(InvalidDocumentError):
        parse(body)


def test_wrong_namespace_is_a_typed_error(parse: Parse) -> None:
    with pytest.raises(InvalidDocumentError):
        parse('<newsItem xmlns="urn:not-g2" guid="g"><itemMeta/></newsItem>', fmt=FeedFormat.NEWSML_G2)


def test_mislabelled_utf8_and_html_entities(parse: Parse) -> None:
    body = ('<?xml version="1.0" encoding="ISO-8859-1"?>' + _item().replace("Main headline", "Zürich&nbsp;talks"))
    assert parse(body.encode("utf-8")).items[0].title == "Zürich talks"  # whitespace, NBSP included, collapses


def test_validator_plug_in(ctx: FeedContext) -> None:
    with pytest.raises(InvalidDocumentError, match="nope"):
        parse_newsml_g2(_item().encode(), ctx, validator=lambda root: ["nope"])
