"""NITF 3.x and NewsML 1.x field mapping: identity, version, status, embargo, urgency, byline, dateline."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from schemas import FeedFormat, PubStatus
from services.poller.formats import InvalidDocumentError, ParsedFeed
from tests.helpers import corpus_items

Parse = Callable[..., ParsedFeed]

NITF = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE nitf SYSTEM "nitf-3-4.dtd">
<nitf version="-//IPTC//DTD NITF 3.4//EN" baselang="en-US">
  <head>
    <title>Head title</title>
    <tobject tobject.type="News">
      <tobject.subject tobject.subject.refnum="11000000" tobject.subject.matter="Politics"/>
    </tobject>
    <docdata management-status="{status}">
      <doc-id id-string="EX-2024-0001"/>
      <urgency ed-urg="2"/>
      <date.issue norm="20240501T100500Z"/>
      <date.release norm="20240502T060000Z"/>
      <du-key key="story-key" version="4"/>
      <key-list><keyword key="talks"/></key-list>
    </docdata>
  </head>
  <body>
    <body.head>
      <hedline><hl1>The headline</hl1><hl2>A subhead</hl2></hedline>
      <byline>By <person>Ann Writer</person><byttl>Staff Writer</byttl></byline>
      <dateline><location>GENEVA</location>, <story.date norm="20240501">May 1</story.date></dateline>
      <abstract><p>Short summary</p></abstract>
    </body.head>
    <body.content>
      <p>GENEVA (EX) &#8212; First&nbsp;paragraph with <org>Org</org>.</p>
      <block><p>In a block</p></block>
    </body.content>
  </body>
</nitf>"""

NEWSML1 = """<?xml version="1.0" encoding="UTF-8"?>
<NewsML Version="1.2">
  <NewsEnvelope><DateAndTime>20240501T100600Z</DateAndTime></NewsEnvelope>
  <NewsItem xml:lang="fr">
    <Identification><NewsIdentifier>
      <ProviderId>example.com</ProviderId><DateId>20240501</DateId><NewsItemId>N1</NewsItemId>
      <RevisionId PreviousRevision="1" Update="N">2</RevisionId>
      {public_id}
    </NewsIdentifier></Identification>
    <NewsManagement>
      <NewsItemType FormalName="News"/>
      <FirstCreated>20240501T090000Z</FirstCreated>
      <ThisRevisionCreated>20240501T100500Z</ThisRevisionCreated>
      <Status FormalName="{status}"/>
      <StatusWillChange><FutureStatus FormalName="Usable"/><DateAndTime>20240502T060000Z</DateAndTime>
      </StatusWillChange>
      <Urgency FormalName="3"/>
    </NewsManagement>
    <NewsComponent>
      <NewsLines>
        <HeadLine>Le titre</HeadLine><SubHeadLine>Le chapeau</SubHeadLine>
        <ByLine>Par Anne</ByLine><DateLine>GENEVE, 1 mai (EX) -</DateLine>
      </NewsLines>
      <AdministrativeMetadata><Creator><Party FormalName="Anne Auteur"/></Creator></AdministrativeMetadata>
      <DescriptiveMetadata>
        <Language FormalName="fr"/>
        <SubjectCode><Subject FormalName="11000000"/></SubjectCode>
        <Property FormalName="Keyword" Value="diplomatie"/>
      </DescriptiveMetadata>
      <NewsComponent><Role FormalName="Caption"/>
        <ContentItem><MediaType FormalName="Text"/><DataContent>Not the body</DataContent></ContentItem>
      </NewsComponent>
      <NewsComponent><Role FormalName="Photo"/>
        <ContentItem Href="https://example.com/p.jpg"><MediaType FormalName="Photo"/></ContentItem>
      </NewsComponent>
      <NewsComponent><Role FormalName="Main"/>
        <ContentItem><MediaType FormalName="Text"/><Format FormalName="{fmt}"/>
          <DataContent>{body}</DataContent></ContentItem>
      </NewsComponent>
    </NewsComponent>
  </NewsItem>
</NewsML>"""


def _nitf(status: str = "usable") -> str:
    return NITF.replace("{status}", status)


def _newsml1(status: str = "Usable", body: str = "<nitf><body><body.content><p>Corps</p></body.content></body>"
             "</nitf>", fmt: str = "NITF3.1", public_id: str = "<PublicIdentifier>urn:newsml:example.com:"
             "20240501:N1:2</PublicIdentifier>") -> str:
    return NEWSML1.format(status=status, body=body, fmt=fmt, public_id=public_id)


def test_nitf_fields(parse: Parse) -> None:
    feed = parse(_nitf())
    assert feed.format is FeedFormat.NITF
    [item] = feed.items
    assert item.guid == "EX-2024-0001"
    assert item.version == 4
    assert item.pubstatus is PubStatus.USABLE
    assert item.embargoed_until_raw == "20240502T060000Z"
    assert item.urgency == 2
    assert item.title == "The headline"
    assert item.byline == "By Ann Writer, Staff Writer"
    assert item.authors == ["Ann Writer"]
    assert item.dateline == "GENEVA"
    assert item.published_raw == "20240501T100500Z"
    assert item.summary_html == "<p>Short summary</p>"
    assert item.content_html is not None
    assert item.content_html.startswith("<p>GENEVA (EX) \u2014 First&nbsp;paragraph with <org>Org</org>.</p>")
    assert "<div><p>In a block</p></div>" in item.content_html
    assert item.categories == ["Politics", "talks"]
    assert item.language == "en-US"


@pytest.mark.parametrize(("status", "expected"), [
    ("usable", PubStatus.USABLE), ("withheld", PubStatus.WITHHELD), ("canceled", PubStatus.CANCELED),
    ("embargoed", PubStatus.WITHHELD), ("", None),
])
def test_nitf_management_status(status: str, expected: PubStatus | None, parse: Parse) -> None:
    assert parse(_nitf(status)).items[0].pubstatus is expected


def test_nitf_dateline_without_location_markup(parse: Parse) -> None:
    body = _nitf().replace('<location>GENEVA</location>, <story.date norm="20240501">May 1</story.date>',
                           'Oslo <story.date norm="20240501">20240501</story.date>')
    assert parse(body).items[0].dateline == "Oslo"


def test_nitf_falls_back_to_head_title_and_du_key(parse: Parse) -> None:
    body = _nitf().replace("<hl1>The headline</hl1>", "").replace('<doc-id id-string="EX-2024-0001"/>', "")
    item = parse(body).items[0]
    assert (item.title, item.guid) == ("Head title", "story-key")


def test_newsml1_fields(parse: Parse) -> None:
    feed = parse(_newsml1())
    assert feed.format is FeedFormat.NEWSML_1
    [item] = feed.items
    assert item.guid == "urn:newsml:example.com:20240501:N1:2"
    assert item.version == 2
    assert item.pubstatus is PubStatus.USABLE
    assert item.urgency == 3
    assert item.title == "Le titre"
    assert item.summary_html == "<p>Le chapeau</p>"
    assert (item.byline, item.dateline) == ("Par Anne", "GENEVE, 1 mai (EX) -")
    assert (item.published_raw, item.updated_raw) == ("20240501T090000Z", "20240501T100500Z")
    assert item.content_html == "<p>Corps</p>"  # the Main component, not the caption
    assert item.authors == ["Anne Auteur"]
    assert item.categories == ["11000000", "diplomatie"]
    assert item.language == "fr"


def test_newsml1_embargo_and_statuses(parse: Parse) -> None:
    embargoed = parse(_newsml1("Embargoed")).items[0]
    assert (embargoed.pubstatus, embargoed.embargoed_until_raw) == (PubStatus.WITHHELD, "20240502T060000Z")
    assert parse(_newsml1("Canceled")).items[0].pubstatus is PubStatus.CANCELED
    assert parse(_newsml1("Withheld")).items[0].pubstatus is PubStatus.WITHHELD


@pytest.mark.parametrize(("fmt", "body", "expected"), [
    ("XHTML", '<html xmlns="http://www.w3.org/1999/xhtml"><body><p>X</p></body></html>', "<p>X</p>"),
    ("bcNITF2.5", "<p>Bare</p><p>markup</p>", "<p>Bare</p><p>markup</p>"),
    ("HTML", "<![CDATA[<P>Escaped</P>]]>", "<P>Escaped</P>"),
    ("Text", "Plain &amp; simple", "<p>Plain &amp; simple</p>"),
])
def test_newsml1_data_content_variants(fmt: str, body: str, expected: str, parse: Parse) -> None:
    assert parse(_newsml1(body=body, fmt=fmt)).items[0].content_html == expected


def test_newsml1_builds_an_id_without_public_identifier(parse: Parse) -> None:
    assert parse(_newsml1(public_id="")).items[0].guid == "urn:newsml:example.com:20240501:N1"


def test_newsml1_item_without_identification_is_a_typed_error(parse: Parse) -> None:
    with pytest.raises(InvalidDocumentError):
        parse("<NewsML><NewsItem><NewsComponent/></NewsItem></NewsML>")


def test_nitf_media_referred_to_by_url_are_enclosures(parse: Parse) -> None:
    media = ('<media media-type="image"><media-reference mime-type="image/jpeg" source="https://wire.example/p.jpg" '
             'width="1200" height="800"/>'
             "<media-caption>The tides, captured on film.</media-caption></media>"
             '<media media-type="image"><media-reference mime-type="image/jpeg" source="high-tide.jpg"/></media>')
    body = _nitf().replace("</body.content>", f"{media}</body.content>")
    assert [(e.url, e.type, e.width, e.height) for e in parse(body).items[0].enclosures] == [
        ("https://wire.example/p.jpg", "image/jpeg", 1200, 800)]


def test_newsml1_media_linked_by_href_are_enclosures_but_the_issuers_logo_is_not() -> None:
    # Business Wire's release: a video component with three stills and three encodings, and a logo
    # component (the issuer's, on every release) in three sizes
    (item,) = corpus_items("iptc-ninjs/examples/NewsML/businesswire-newsml-20130731006140.xml",
                           datetime(2024, 1, 1, tzinfo=UTC))
    assert [(e.url.rsplit("/", 1)[1], e.type, e.length, e.width, e.height) for e in item.enclosures] == [
        ("Applebees-72.jpg", "image/jpeg", 28094, 72, 41), ("Applebees-144.jpg", "image/jpeg", 42098, 144, 81),
        ("Applebees-640.jpg", "image/jpeg", 197827, 640, 360),
        ("1730461_Lunch_Decoy_Extended_WMV+1Mbps.wmv", "video/x-ms-wmv", 14390033, None, None),
        ("1730461_Lunch_Decoy_Extended_QT+360p+%2816x9%29.mov", "video/quicktime", 13462929, None, None),
        ("1730461_Lunch_Decoy_Extended_MP4+1Mbps+import.mp4", "video/mp4", 12673045, None, None)]


def test_newsml1_media_without_a_url_or_in_text_are_not_enclosures(parse: Parse) -> None:
    media = ('<NewsComponent><Role FormalName="Photo"/><ContentItem Href="photo.jpg">'
             '<MimeType FormalName="image/jpeg"/></ContentItem>'
             '<ContentItem Href="https://afp.example/p.jpg"><MimeType FormalName="image/jpeg"/>'
             '<Characteristics><SizeInBytes>2048</SizeInBytes><Property FormalName="Width" Value="512"/>'
             '<Property FormalName="Height" Value="341"/></Characteristics></ContentItem></NewsComponent>')
    main = '<NewsComponent><Role FormalName="Main"/>'
    body = _newsml1().replace(main, media + main)
    assert [(e.url, e.type, e.length, e.width, e.height) for e in parse(body).items[0].enclosures] == [
        ("https://example.com/p.jpg", None, None, None, None),
        ("https://afp.example/p.jpg", "image/jpeg", 2048, 512, 341)]
