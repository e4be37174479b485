"""``normalize(raw) -> Article``: the pure heart of the normalizer (no I/O, no clock of its own).

Dedup fields (``story_id``, ``version``, ``duplicate_of``) get their first values here; the stateful
dedup step decides the final ones against what it has seen.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime

from schemas import Article, RawItem, Source
from services.normalizer.clean import html_to_paragraphs, html_to_text, sanitize_html
from services.normalizer.dates import MAX_FUTURE, ensure_plausible, parse_date
from services.normalizer.urls import canonical_url


class NormalizeError(ValueError):
    """A raw item that cannot become an article (no text, impossible date, ...)."""


_WORDS = re.compile(r"\w+", re.UNICODE)


def normalize(raw: RawItem, now: datetime) -> Article:
    body_source = raw.content_html or raw.summary_html or ""
    base = raw.link or raw.feed_url
    paragraphs = html_to_paragraphs(body_source)
    title = html_to_text(raw.title or "").replace("\n\n", " ").strip()
    if not title and not paragraphs:
        raise NormalizeError("item has neither a title nor any body text")
    published, estimated = _published_at(raw, now)
    body_text = "\n\n".join(paragraphs)
    fingerprint = content_fingerprint(title, body_text)
    article_id = _hash(raw.item_id, fingerprint)
    summary = html_to_text(raw.summary_html or "") if raw.content_html else None
    return Article(
        id=article_id,
        story_id=_hash(raw.item_id),
        item_id=raw.item_id,
        feed_id=raw.feed_id,
        source=Source(name=raw.feed_title, url=raw.feed_url),
        url=raw.link,
        canonical_url=canonical_url(raw.canonical_link or raw.link),
        title=title or paragraphs[0][:200],
        summary=summary or None,
        body_text=body_text,
        body_html=sanitize_html(body_source, base_url=base),
        language=raw.language,
        published_at=published,
        published_at_estimated=estimated,
        updated_at=_optional_date(raw.updated_raw, now),
        fetched_at=raw.fetched_at,
        byline=list(raw.authors),
        categories=list(raw.categories),
        content_hash=fingerprint,
    )


def content_fingerprint(title: str, body_text: str) -> str:
    """Equal for copies that differ only in case, punctuation and whitespace."""
    words = _WORDS.findall(f"{title}\n{body_text}".casefold())
    return hashlib.sha256(" ".join(words).encode()).hexdigest()


def _published_at(raw: RawItem, now: datetime) -> tuple[datetime, bool]:
    published = parse_date(raw.published_raw) or parse_date(raw.updated_raw)
    if published is None:
        return raw.fetched_at, True
    try:
        return ensure_plausible(published, now), False
    except ValueError as error:
        raise NormalizeError(str(error)) from error


def _optional_date(raw: str | None, now: datetime) -> datetime | None:
    value = parse_date(raw)
    if value is None or value - now > MAX_FUTURE:
        return None
    return value


def _hash(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]
