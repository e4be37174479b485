"""Dates from feeds, as timezone-aware UTC."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

from dateutil import parser as dateutil_parser
from feedparser.datetimes import _parse_date as _feedparser_parse_date

MAX_FUTURE = timedelta(days=1)
# Broken feeds write the Unix epoch (or zero) for "no date"; nothing real was published that early.
MIN_PLAUSIBLE = datetime(1971, 1, 1, tzinfo=UTC)
# fromisoformat takes at most six fractional digits; wire formats send up to nine.
_LONG_FRACTION = re.compile(r"(\.\d{6})\d+")
_NUMERIC_DATE = re.compile(r"\d{4}-?(?P<month>\d{2})-?(?P<day>\d{2})")
_TWELVE_HOUR = re.compile(r"\d\s*[ap]\.?m\b", re.IGNORECASE)
# Time-zone names sites print after a time, as offsets (hours) or, for the US generic names, as the zone
# whose rules give the offset on that date. Ambiguous names (IST, BST, AST as Arabia or Atlantic, ...) are
# left out: unknown, the date is read as UTC as before, rather than shifted by the wrong offset.
_EASTERN, _CENTRAL = ZoneInfo("America/New_York"), ZoneInfo("America/Chicago")
_MOUNTAIN, _PACIFIC = ZoneInfo("America/Denver"), ZoneInfo("America/Los_Angeles")
ZONE_NAMES: dict[str, float | ZoneInfo] = {
    "UTC": 0, "UT": 0, "GMT": 0, "Z": 0, "WET": 0, "WEST": 1, "CET": 1, "CEST": 2, "MEZ": 1, "MESZ": 2,
    "EET": 2, "EEST": 3, "MSK": 3, "EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6,
    "PST": -8, "PDT": -7, "AKST": -9, "AKDT": -8, "HST": -10, "ET": _EASTERN, "CT": _CENTRAL,
    "MT": _MOUNTAIN, "PT": _PACIFIC, "JST": 9, "KST": 9, "HKT": 8, "SGT": 8, "AWST": 8, "ACST": 9.5,
    "ACDT": 10.5, "AEST": 10, "AEDT": 11, "NZST": 12, "NZDT": 13, "BRT": -3, "ART": -3,
}
# The names email.utils reads itself; any other zone name makes it return a time without offset.
_EMAIL_ZONES = frozenset({"UT", "UTC", "GMT", "Z", "AST", "ADT", "EST", "EDT", "CST", "CDT", "MST", "MDT",
                          "PST", "PDT"})
_ZONE_SUFFIX = re.compile(r"(?<![A-Za-z])(?P<zone>[A-Za-z]{1,4})\)?\s*$")
# Real dates are short; a feed's "date" of many kilobytes is not worth dateutil's lenient tokenizer.
_MAX_ZONED_CHARS = 80
_SLASHED_DATE = re.compile(r"(?<!\d)\d{1,2}/\d{1,2}/\d{2,4}(?!\d)")
_DOTTED_DATE = re.compile(r"(?<!\d)\d{1,2}\.\d{1,2}\.\d{2,4}(?!\d)")
_GMT_OFFSET = re.compile(r"GMT[+-]\d{4}")
# A time of day with no date ("10:00", "10:00 AM EST"): feedparser would date it today, in UTC.
_TIME_ONLY = re.compile(r"\d{1,2}:\d{2}(?::\d{2})?(?:\s*[ap]\.?m\.?)?(?:\s*[A-Za-z]{1,5})?", re.IGNORECASE)
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")
# "2020/1/10 14:16:00": year first, so unambiguous; feedparser read it as 1 November.
_YEAR_FIRST = re.compile(r"(?P<year>\d{4})/(?P<month>\d{1,2})/(?P<day>\d{1,2})(?P<rest>(?:[ T]\d.*)?)")
# Seconds (or milliseconds) since the epoch, which some feeds write instead of a date.
_EPOCH = re.compile(r"\d{9,10}|\d{12,13}")
# RFC 822 with the names in the feed's language ("Seg, 24 Set 2018 19:42:40 -0300", "lun., 5 févr. 2024
# 10:00 +0100"): the weekday is dropped and the month translated, by its first four or three letters.
_LOCAL_RFC822 = re.compile(
    r"(?:[^\W\d_]{2,12}\.?,?\s+)?(?P<day>\d{1,2})\.?\s+(?P<month>[^\W\d_]{3,10})\.?,?\s+(?P<rest>\d{4}\b.*)")
_MONTH_PREFIXES = {
    "jan": 1, "jän": 1, "ene": 1, "gen": 1, "feb": 2, "fev": 2, "fév": 2, "mar": 3, "mär": 3, "mrz": 3,
    "mrt": 3, "apr": 4, "abr": 4, "avr": 4, "may": 5, "mai": 5, "mag": 5, "mei": 5, "maj": 5, "jun": 6,
    "juin": 6, "giu": 6, "jul": 7, "juil": 7, "lug": 7, "aug": 8, "ago": 8, "aoû": 8, "aou": 8, "sep": 9,
    "set": 9, "oct": 10, "okt": 10, "out": 10, "ott": 10, "nov": 11, "dec": 12, "déc": 12, "dez": 12,
    "dic": 12, "des": 12,
}
_ENGLISH_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
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
    for parse in (_iso, _rfc822, _zoned, _year_first, _epoch, _localized, _feedparser, _prose):
        value = parse(raw)
        if value is not None:
            return value if value >= MIN_PLAUSIBLE else None
    return None


def ensure_plausible(value: datetime, now: datetime) -> datetime:
    if value - now > MAX_FUTURE:
        hours = MAX_FUTURE.total_seconds() / 3600
        raise FutureDateError(f"date {value.isoformat()} is more than {hours:g} hours in the future")
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
    if (zone := _zone_name(raw)) is not None and zone not in _EMAIL_ZONES:
        return None  # parsedate would drop "CET" and read the time as UTC; _zoned knows it
    if _GMT_OFFSET.search(raw):
        return None  # JavaScript's "GMT-0500 (EST)": parsedate takes the GMT and drops the offset
    try:
        value = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError, OverflowError):  # OverflowError: "99999999999" as a year
        return None
    return _utc(value)


def _zoned(raw: str) -> datetime | None:
    """Dates in any layout that end in a zone name: "January 5, 2024 10:00 AM EST", "2024-01-05 10:00 CET".

    Only these go to dateutil: its lenient parser fills in what is missing, so the year must be written.
    """
    if len(raw) > _MAX_ZONED_CHARS or _zone_name(raw) is None or not _YEAR.search(raw):
        return None
    if _SLASHED_DATE.search(raw):
        return None  # "05/01/2024" is May or January depending on who wrote it: not guessed
    try:
        # "05.01.2024" is day first wherever dots are written.
        value = dateutil_parser.parse(raw, tzinfos=_zone, dayfirst=_DOTTED_DATE.search(raw) is not None)
    except (ValueError, OverflowError):
        return None
    return _utc(value) if value.tzinfo is not None else None


def _zone_name(raw: str) -> str | None:
    match = _ZONE_SUFFIX.search(raw)
    zone = match["zone"].upper() if match else None
    return zone if zone in ZONE_NAMES else None


def _zone(name: str, offset: int | None) -> tzinfo | int | None:
    """dateutil's tzinfos hook: the zone for a name it found, or None to let it decide."""
    zone = ZONE_NAMES.get(name.upper())
    if isinstance(zone, ZoneInfo):
        return zone
    return int(zone * 3600) if zone is not None else None


def _year_first(raw: str) -> datetime | None:
    match = _YEAR_FIRST.fullmatch(raw)
    if match is None:
        return None
    iso = f"{match['year']}-{int(match['month']):02d}-{int(match['day']):02d}{match['rest']}"
    return _iso(iso) or _zoned(iso)


def _epoch(raw: str) -> datetime | None:
    if not _EPOCH.fullmatch(raw):
        return None
    seconds, millis = divmod(int(raw), 1000) if len(raw) > 10 else (int(raw), 0)
    return datetime.fromtimestamp(seconds, UTC) + timedelta(milliseconds=millis)


def _localized(raw: str) -> datetime | None:
    match = _LOCAL_RFC822.fullmatch(raw)
    if match is None:
        return None
    name = match["month"].casefold()
    month = _MONTH_PREFIXES.get(name[:4]) or _MONTH_PREFIXES.get(name[:3])
    if month is None:
        return None
    english = f"{match['day']} {_ENGLISH_MONTHS[month - 1]} {match['rest']}"
    return _rfc822(english) or _zoned(english)


def _feedparser(raw: str) -> datetime | None:
    numeric = _NUMERIC_DATE.match(raw)
    if numeric and not (1 <= int(numeric["month"]) <= 12 and 1 <= int(numeric["day"]) <= 31):
        return None  # feedparser would roll "2024-13-45" over into 2025 rather than refuse it
    if _YEAR_FIRST.fullmatch(raw):
        return None  # _year_first refused it: feedparser would make "2020/13/45" 1 November
    if _TIME_ONLY.fullmatch(raw):
        return None  # no date: the caller's fallback (the fetch time, flagged) is nearer the truth
    parsed = _feedparser_parse_date(raw)  # the same date handlers feedparser applies to feeds
    if parsed is None:
        return None
    try:
        year, month, day, hour, minute, second = parsed[:6]
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except (ValueError, OverflowError):
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


def _utc(value: datetime) -> datetime | None:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)  # a feed date without an offset is taken as UTC
    try:
        return value.astimezone(UTC)
    except OverflowError:  # "0001-01-01T00:00:00+14:00" has no UTC equivalent
        return None
