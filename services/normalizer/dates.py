"""Dates from feeds, as timezone-aware UTC."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from feedparser.datetimes import _parse_date as _feedparser_parse_date

MAX_FUTURE = timedelta(days=1)
# Broken feeds write the Unix epoch (or zero) for "no date"; nothing real was published that early.
MIN_PLAUSIBLE = datetime(1971, 1, 1, tzinfo=UTC)
# fromisoformat takes at most six fractional digits; wire formats send up to nine.
_LONG_FRACTION = re.compile(r"(\.\d{6})\d+")
_NUMERIC_DATE = re.compile(r"\d{4}-?(?P<month>\d{2})-?(?P<day>\d{2})")
_TWELVE_HOUR = re.compile(r"\d\s*[ap]\.?m\b", re.IGNORECASE)
# Dates as news sites print them, which no feed standard allows but scraped feeds carry anyway.
_PROSE_FORMATS = ("%B %d, %Y %I:%M %p", "%B %d, %Y %H:%M", "%B %d, %Y", "%b %d, %Y", "%d %B %Y %H:%M",
                  "%d %B %Y", "%d %b %Y")


class FutureDateError(ValueError):
    """A date too far in the future to be a publication date."""


def parse_date(raw: str | None) -> datetime | None:
    """Parse RFC 822, ISO 8601/W3CDTF and the other forms feedparser knows; None when unparseable.

    A date without an offset is taken as UTC. Dates before 1971 are taken as placeholders: None.
    """
    if not raw or not raw.strip():
        return None
    raw = raw.strip()
    for parse in (_iso, _rfc822, _feedparser, _prose):
        value = parse(raw)
        if value is not None:
            return value if value >= MIN_PLAUSIBLE else None
    return None


def ensure_plausible(value: datetime, now: datetime) -> datetime:
    if value - now > MAX_FUTURE:
        raise FutureDateError(f"date {value.isoformat()} is more than {MAX_FUTURE} in the future")
    return value


def _iso(raw: str) -> datetime | None:
    try:
        value = datetime.fromisoformat(_LONG_FRACTION.sub(r"\1", raw.replace("Z", "+00:00")))
    except ValueError:
        return None
    return _utc(value)


def _rfc822(raw: str) -> datetime | None:
    if _TWELVE_HOUR.search(raw):
        return None  # parsedate would silently drop the AM/PM and be 12 hours off
    try:
        value = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    return _utc(value)


def _feedparser(raw: str) -> datetime | None:
    numeric = _NUMERIC_DATE.match(raw)
    if numeric and not (1 <= int(numeric["month"]) <= 12 and 1 <= int(numeric["day"]) <= 31):
        return None  # feedparser would roll "2024-13-45" over into 2025 rather than refuse it
    parsed = _feedparser_parse_date(raw)  # the same date handlers feedparser applies to feeds
    if parsed is None:
        return None
    try:
        year, month, day, hour, minute, second = parsed[:6]
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        return None


def _prose(raw: str) -> datetime | None:
    text = " ".join(raw.replace(".", "").split())
    for form in _PROSE_FORMATS:
        try:
            parsed = datetime.strptime(text, form)
            return parsed.replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)  # a feed date without an offset is taken as UTC
    return value.astimezone(UTC)
