"""Oversized input: refused with a clear error, in bounded memory, before it can exhaust anything."""

from __future__ import annotations

import contextlib
import json
import tracemalloc
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from prometheus_client import REGISTRY

from services.normalizer.clean import parse_body
from services.poller.fetch import Fetcher, FetchLimits, ResponseTooLargeError
from services.poller.formats import FeedContext, FeedParseError, TooManyItemsError, parse_document
from services.poller.formats.base import MAX_LIST_ENTRIES
from services.poller.formats.rss_atom import parse_reference, parse_rss_atom, prepared
from services.poller.formats.safexml import MAX_ATTRIBUTES, TooManyAttributesError

CTX = FeedContext(feed_id="big", feed_url="http://big.example/feed", fetched_at=datetime(2024, 1, 1, tzinfo=UTC))
MiB = 1024 * 1024


def test_a_feed_of_100000_items_is_refused_before_parsing_in_bounded_memory() -> None:
    items = b"".join(b"<item><title>t%d</title><guid>g%d</guid></item>" % (n, n) for n in range(100_000))
    body = b"<?xml version='1.0'?><rss version='2.0'><channel><title>big</title>" + items + b"</channel></rss>"
    tracemalloc.start()
    try:
        with pytest.raises(TooManyItemsError, match="100000 items, more than the limit"):
            parse_document(body, CTX)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * MiB  # counting tags allocates nothing like a parse of 100,000 entries would


async def test_a_50_mb_item_is_cut_off_at_the_body_limit_while_streaming() -> None:
    sent = []

    async def fifty_megabytes() -> AsyncIterator[bytes]:
        yield b"<?xml version='1.0'?><rss version='2.0'><channel><item><description>"
        for _ in range(50):
            sent.append(MiB)
            yield b"x" * MiB

    def handler(_: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=fifty_megabytes())

    fetcher = Fetcher(FetchLimits(max_body_bytes=16 * MiB, allow_private_networks=True),
                      transport=httpx.MockTransport(handler))
    tracemalloc.start()
    try:
        with pytest.raises(ResponseTooLargeError, match="exceeds"):
            await fetcher.fetch("http://big.example/feed")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        await fetcher.aclose()
    assert sum(sent) <= 18 * MiB  # reading stopped at the limit, not at the end of the 50 MB
    assert peak < 40 * MiB


# Lines a regular expression takes quadratic time over, each before it was bounded: 20,000 characters
# cost 32 s in an IPTC 7901 header line, 12 s in a notebook credit line or an ANPA version field.
# These are ten or fifty times longer: such a regression runs into the test timeout instead of passing.
LONG = 200_000


@pytest.mark.parametrize("body", [
    b"\x01eca062 4 i 211 " + b"a" * LONG + b"\n\x02Headline =\n\nText.\x03",  # IPTC 7901 header line
    b"\x01eca062 4 i 211 ccccb   dpa 061\n\x02Headline =\n\nText.\n# Notebook\n- Reporting by: x"
    + b" in A" * LONG + b"!\n\x03",  # a notebook credit line
    b"\x16\x16\x01W2870\x1fasian\nr a\x13\x11 BC-US--Story " + b"1" * LONG + b"  11-13 1049\n\x02^Head<\n\x03",
], ids=["iptc7901-header", "iptc7901-credit", "anpa-version"])
def test_a_wire_text_transmission_with_an_endless_line_is_read_in_one_pass(body: bytes) -> None:
    with contextlib.suppress(FeedParseError):  # refused is fine: what matters is that it comes back
        parse_document(body, CTX)


@pytest.mark.parametrize(("element", "field"), [("<media:content url='https://x.example/p{n}.jpg'/>", "enclosures"),
                                                 ("<category>c{n}</category>", "categories")])
def test_an_items_lists_are_bounded_so_its_message_stays_sendable(element: str, field: str) -> None:
    # thousands of media or tags in one item (a hostile feed can send far more, within its body limit)
    filler = "".join(element.format(n=n) for n in range(5_000))
    body = ("<?xml version='1.0'?><rss version='2.0' xmlns:media='http://search.yahoo.com/mrss/'><channel>"
            f"<title>t</title><item><title>Item</title><guid>g</guid>{filler}</item></channel></rss>").encode()
    labels = {"feed": CTX.feed_id, "field": field}
    before = REGISTRY.get_sample_value("wirefeed_poller_item_entries_dropped_total", labels) or 0
    (item,) = parse_document(body, CTX).items
    assert len(getattr(item, field)) == MAX_LIST_ENTRIES
    assert len(item.to_bytes()) < 100_000 + len(item.original or "")
    dropped = REGISTRY.get_sample_value("wirefeed_poller_item_entries_dropped_total", labels)
    assert dropped == before + 5_000 - MAX_LIST_ENTRIES  # what was left out is counted, not silently lost


def test_an_item_with_150000_categories_is_read_both_ways_in_linear_time() -> None:
    # Keeping each tag once used to scan every tag before it, in feedparser and in the fast reading alike:
    # 50,000 categories took 20 s, these 150,000 (3.6 MB) several minutes, past the test timeout. Now seconds.
    filler = "".join(f"<category>c{n}</category>" for n in range(150_000))
    body = prepared((f"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title><item><title>Item</title>"
                     f"<guid>g</guid>{filler}<category>c7</category></item></channel></rss>").encode(), None)
    fast, reference = parse_rss_atom(body, CTX), parse_reference(body, CTX)
    assert fast.items[0].categories == reference.items[0].categories == [f"c{n}" for n in range(MAX_LIST_ENTRIES)]


def _described_with_attributes(count: int, encoding: str = "utf-8") -> bytes:
    # A ">" in the first value does not end the tag: every attribute after it counts.
    attributes = " ".join(['q=">"', *(f'a{n}="1"' for n in range(count - 1))])
    return (f"<?xml version='1.0' encoding='{encoding}'?><rss version='2.0'><channel><title>t</title><item>"
            f"<title>Item</title><guid>g</guid><description {attributes}>Body.</description></item></channel></rss>"
            ).encode(encoding)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_an_element_of_more_attributes_than_the_bound_is_refused_before_feedparser_reads_it(encoding: str) -> None:
    # feedparser's SAX parser looks each attribute up among all the element's others: 10,000 on one
    # element took 1.75 s, 40,000 40 s, 200,000 more than two minutes. Counted in feedparser's own
    # reading of the text, whatever the document's encoding.
    body = _described_with_attributes(MAX_ATTRIBUTES + 1, encoding)
    with pytest.raises(TooManyAttributesError, match=f"more than {MAX_ATTRIBUTES} attributes"):
        parse_document(body, CTX)
    with pytest.raises(TooManyAttributesError):
        parse_reference(body, CTX)


def test_an_element_of_as_many_attributes_as_the_bound_is_read() -> None:
    (item,) = parse_document(_described_with_attributes(MAX_ATTRIBUTES), CTX).items
    assert (item.guid, item.summary_html) == ("g", "Body.")


def test_a_wire_item_with_150000_subjects_authors_and_places_is_read_in_linear_time() -> None:
    # The wire formats kept each name once by scanning all before it, as the feeds' tags did: 40,000
    # subjects took 7 s, these several minutes, past the test timeout. Now about a second.
    many = range(150_000)
    document = {"uri": "urn:x", "type": "text", "headline": "h", "body_text": "b",
                "subject": [{"name": f"s{n}"} for n in many], "authors": [{"name": f"A{n}", "role": "writer"}
                                                                         for n in many],
                "infosources": [{"name": f"I{n}"} for n in many]}
    (item,) = parse_document(json.dumps(document).encode(), CTX).items
    assert (len(item.categories), item.authors[:2], len(item.providers)) == (MAX_LIST_ENTRIES, ["A0", "A1"],
                                                                             MAX_LIST_ENTRIES)


def test_a_body_nested_two_thousand_levels_deep_around_many_paragraphs_is_flattened_in_linear_time() -> None:
    # Flattening moved each nested element with all it held, and walked the holder's children to find
    # its last: these 50,000 paragraphs took 12 s, and ten times as many would take about twenty minutes.
    body = parse_body("<div>" * 2_000 + "".join(f"<p>Paragraph {n}.</p>" for n in range(50_000)))
    paragraphs = body.text().split("\n\n")
    assert (len(paragraphs), paragraphs[0], paragraphs[-1]) == (50_000, "Paragraph 0.", "Paragraph 49999.")


HUGE_INTEGER = "7" * 5_000  # past the 4,300 digits Python converts to an int


@pytest.mark.parametrize("document", [
    {"version": "https://jsonfeed.org/version/1.1", "title": "t", "_extension": "HUGE",
     "items": [{"id": "1", "content_text": "Body.", "title": "Kept"}]},
    {"uri": "urn:x:1", "headline": "Kept", "body_text": "Body.", "urgency": "HUGE"},
])
def test_a_number_of_thousands_of_digits_fails_its_field_not_the_document(document: dict[str, object]) -> None:
    # json.loads raised ValueError for the whole feed: "Exceeds the limit (4300 digits) for integer string
    # conversion". Read as a float, such a number is as meaningless as 1e999 already was.
    body = json.dumps(document).replace('"HUGE"', HUGE_INTEGER).encode()
    (item,) = parse_document(body, CTX).items
    assert item.title == "Kept"
    assert item.urgency is None
