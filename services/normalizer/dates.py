"""Dates from feeds, as timezone-aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import feedparser

MAX_FUTURE = timedelta(days=1)


class FutureDateError(ValueError):
    """A date too far in the future to be a publication date."""


def parse_date(raw: str | None) -> datetime | None:
    """Parse RFC 822, ISO 8601/W3CDTF and the other forms feedparser knows; None when unparseable."""
    if not raw or not raw.strip():
        return None
    raw = raw.strip()
    for parse in (_iso, _rfc822, _feedparser):
        value = parse(raw)
        if value is not None:
            return value
    return None


def ensure_plausible(value: datetime, now: datetime) -> datetime:
    if value - now > MAX_FUTURE:
        raise FutureDateError(f"date {value.isoformat()} is more than {MAX_FUTURE} in the future")
    return value


def _iso(raw: str) -> datetime | None:
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return _utc(value)


def _rfc822(raw: str) -> datetime | None:
    try:
        value = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    return _utc(value)


def _feedparser(raw: str) -> datetime | None:
    parsed = feedparser._parse_date(raw)  # the same date handlers feedparser applies to feeds
    if parsed is None:
        return None
    year, month, day, hour, minute, second = parsed[:6]
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        return None


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)  # a feed date without an offset is taken as UTC
    return value.astimezone(UTC)
