"""Oversized input: refused with a clear error, in bounded memory, before it can exhaust anything."""

from __future__ import annotations

import contextlib
import tracemalloc
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from services.poller.fetch import Fetcher, FetchLimits, ResponseTooLargeError
from services.poller.formats import FeedContext, FeedParseError, TooManyItemsError, parse_document

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
