"""Small builders of valid messages for tests."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from schemas import Article, RawItem

T0 = datetime(2024, 1, 11, 14, 5, tzinfo=UTC)


def article(n: int, *, story: str | None = None, version: int = 1, feed_id: str = "feed-a",
            body: str | None = None) -> Article:
    body = body or f"Body of article {n}. " * 20
    return Article(
        id=f"article-{n:06d}",
        story_id=story or f"story-{n:06d}",
        version=version,
        item_id=f"{feed_id}:item-{n}",
        feed_id=feed_id,
        url=f"https://example.com/{n}",
        canonical_url=f"https://example.com/{n}",
        title=f"Headline {n}",
        body_text=body,
        body_html=f"<p>{body}</p>",
        published_at=T0 + timedelta(minutes=n),
        fetched_at=datetime.now(UTC),
        content_hash=hashlib.sha256(body.encode()).hexdigest(),
    )


def raw_item(n: int, *, feed_id: str = "feed-a", body: str | None = None, title: str | None = None) -> RawItem:
    body = body or f"<p>Paragraph one of story {n}.</p><p>Paragraph two of story {n}.</p>"
    return RawItem(
        item_id=f"{feed_id}:guid-{n}",
        feed_id=feed_id,
        feed_url=f"https://{feed_id}.example/feed.xml",
        format="rss",
        fetched_at=datetime.now(UTC),
        content_hash=hashlib.sha256(body.encode()).hexdigest(),
        guid=f"guid-{n}",
        link=f"https://{feed_id}.example/{n}",
        title=title or f"Story number {n}",
        content_html=body,
        published_raw="Thu, 11 Jan 2024 14:05:00 GMT",
    )
