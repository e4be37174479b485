"""Oversized input: refused with a clear error, in bounded memory, before it can exhaust anything."""

from __future__ import annotations

import tracemalloc
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from services.poller.fetch import Fetcher, FetchLimits, ResponseTooLargeError
from services.poller.formats import FeedContext, TooManyItemsError, parse_document

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
