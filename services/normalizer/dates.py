"""Dates from feeds, as timezone-aware UTC."""

from __future__ import annotations

import calendar
import functools
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from dateutil import parser as dateutil_parser
from feedparser.datetimes import _parse_date as _feedparser_parse_date

from services.core.timestamps import zone_named

MAX_FUTURE = timedelta(days=1)
# Broken feeds write the Unix epoch (or zero) for "no date"; nothing real was published that early.
MIN_PLAUSIBLE = datetime(1971, 1, 1, tzinfo=UTC)
# fromisoformat takes at most six fractional digits; wire formats send up to nine.
_LONG_FRACTION = re.compile(r"(\.\d{6})\d+")
_NUMERIC_DATE = re.compile(r"(?P<year>\d{4})-?(?P<month>\d{2})-?(?P<day>\d{2})")
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
# Names that mean different zones in different countries, read as the zone of the item's country (from
# its language tag or its site's domain; see ``regions_of``). Elsewhere, or with no country known, an
# ambiguous name keeps its reading above (AST and CST: Atlantic and US Central, as email.utils reads them)
# or, for the names not listed there, none: the time is read as UTC rather than shifted by a guess.
_ARABIA, _CHINA = ("sa", "kw", "iq", "bh", "qa", "ye"), ("cn", "tw", "mo")
REGIONAL_ZONE_NAMES: dict[str, dict[str, str]] = {
    "IST": {"in": "+0530", "il": "+0200", "ie": "+0100"},  # India, Israel, Irish Standard (summer) Time
    "IDT": {"il": "+0300"},
    "BST": {"gb": "+0100", "bd": "+0600"},  # British Summer Time, Bangladesh
    "AST": dict.fromkeys(_ARABIA, "+0300"),
    "CST": {**dict.fromkeys(_CHINA, "+0800"), "au": "+0930"},
    # Australian sites still print the names without the A (Eastern, Central, Western Standard Time).
    "EST": {"au": "+1000"},
    "EDT": {"au": "+1100"},
    "CDT": {"au": "+1030"},
    "WST": {"au": "+0800"},
}
# Languages spoken mostly in one country that reads one of those names its own way.
_LANGUAGE_REGIONS = {"he": "il", "hi": "in", "mr": "in", "ta": "in", "te": "in", "gu": "in", "kn": "in",
                     "ml": "in", "ar": "sa", "zh": "cn"}
_TLD_REGIONS = {"uk": "gb"}
# The names email.utils reads itself; any other zone name makes it return a time without offset.
_EMAIL_ZONES = frozenset({"UT", "UTC", "GMT", "Z", "AST", "ADT", "EST", "EDT", "CST", "CDT", "MST", "MDT",
                          "PST", "PDT"})
_OFFSET_SUFFIX = re.compile(r"\s[+-]\d{2}(?P<colon>:?)\d{2}\s*$")  # "12:02 PM +0100", not "2024-01-05"
# RFC 5322's "-0000": a time in UTC whose sender's own zone is unknown.
_UNKNOWN_LOCAL_ZONE = re.compile(r"\s-0000\s*$")
_ZONE_SUFFIX = re.compile(r"(?<![A-Za-z])(?P<zone>[A-Za-z]{1,4})\)?\s*$")
# Real dates are short; a feed's "date" of many kilobytes is not worth dateutil's lenient tokenizer.
_MAX_ZONED_CHARS = 80
_SLASHED_DATE = re.compile(r"(?<!\d)\d{1,2}/\d{1,2}/\d{2,4}(?!\d)")
_SLASHED_PARTS = re.compile(r"(?<![\d/])(?P<first>\d{1,2})/(?P<second>\d{1,2})/(?P<year>\d{4}|\d{2})(?![\d/])")
# Where dates are written month first; everywhere else a slashed date is day first.
_MONTH_FIRST_REGIONS = frozenset({"us", "ph"})
_US_ZONE_NAMES = frozenset({"EST", "EDT", "CST", "CDT", "MST", "MDT", "PST", "PDT", "AKST", "AKDT", "HST", "ET",
                            "CT", "MT", "PT"})
_WORLD_ZONE_NAMES = frozenset({"UTC", "UT", "GMT", "Z"})  # written anywhere: no hint of a country
_DOTTED_DATE = re.compile(r"(?<!\d)\d{1,2}\.\s?\d{1,2}\.\s?\d{2,4}(?!\d)")  # Czech spaces them: "5. 3. 2024"
# Dashes with the year last ("31-03-2024", "31-03-24"), as Dutch, Indian and Portuguese sites write it, day
# first, and US ones, month first; not ISO's "2024-03-31", whose year comes first. Two digits in front of two
# more pairs ("24-03-05") are read so too: ISO 8601 dropped its two-digit year in 2004 and no feed standard
# allows one, while feedparser's reading of them as year first made "31-03-24" a date in 2031.
_DASHED_DATE = re.compile(r"(?<!\d)\d{1,2}-\d{1,2}-(?:\d{4}|\d{2})(?!\d)")
_DASHED_PARTS = re.compile(r"(?<![\d-])(?P<first>\d{1,2})-(?P<second>\d{1,2})-(?P<year>\d{4}|\d{2})(?!\d)")
# The end of a day ("2024-03-31 24:00"), which ISO 8601 allows: midnight at the start of the next. Any other
# time in hour 24 ("24:01", "24:00 PM") is none; parsers read it as midnight at the start of the same day.
_END_OF_DAY = re.compile(r"(?<![\d:])24:00(?P<seconds>:00(?:[.,]0+)?)?(?![\d:]|[.,]\d)")
_HOUR_24 = re.compile(r"(?<![\d:])24:\d{2}")
_GMT_OFFSET = re.compile(r"GMT[+-]\d{4}")
# An offset after a time: "10:00:00 +0100", "10:00:00.5+01:00". Real zones lie within -12 and +14 hours;
# ±18 is the widest any date library takes (Java's ZoneOffset), so a wider one is no offset but a mistake.
_TIME_AND_OFFSET = re.compile(r"\d:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*[+-](?P<hours>\d{2}):?(?P<minutes>\d{2})\s*$")
MAX_OFFSET = timedelta(hours=18)
# A time of day with no date ("10:00", "10:00 AM EST"): feedparser would date it today, in UTC.
_TIME_ONLY = re.compile(r"\d{1,2}:\d{2}(?::\d{2})?(?:\s*[ap]\.?m\.?)?(?:\s*[A-Za-z]{1,5})?", re.IGNORECASE)
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")
# A day of the month: a number of one or two digits that is no part of a time ("10:05") or a year. A date
# without one ("Dec 2023 2:02 PM", "Monday 2024 10:00 GMT") would have dateutil and feedparser fill in
# today's day and month: a date that changed with the clock.
_DAY_NUMBER = re.compile(r"(?<![\d:])\d{1,2}(?![\d:])")
# "2020/1/10 14:16:00": year first, so unambiguous; feedparser read it as 1 November.
_YEAR_FIRST = re.compile(r"(?P<year>\d{4})/(?P<month>\d{1,2})/(?P<day>\d{1,2})(?P<rest>(?:[ T]\d.*)?)")
# Numeric dates as local sites write them, the time with their words around it: day first with dots, as
# German, Nordic, Slavic and Turkish ones do ("31.03.2024 03:30", "31.03.2024, 03:30 Uhr", "31.3.2024 kl.
# 03.30", "31.3.2024 klo 3.30", "31. 3. 2024 3:30", "31.03.2024 г. 03:30"), or with dashes, as Dutch,
# Indian and Portuguese ones do ("31-03-2024 03:30"); year first, as Hungarian and Korean sites and NTB's
# metadata do ("2024.03.31. 03:30", "2024. 03. 31. 3:30"), or in ISO's dashes with a one-digit hour
# fromisoformat refuses ("2024-03-31 3:30"); the time first, as RIA does ("21:17 18.11.2019"). Each part
# is of bounded length and a pattern must match the whole date from its start, so a hostile string costs
# no more than a real date.
# A year may be followed by Russian "г." or Polish "r." (for "year").
_DAY_FIRST = r"(?P<day>\d{1,2})\.\s?(?P<month>\d{1,2})\.\s?(?P<year>\d{4}|\d{2})(?:\s?[гr]\.)?"
# With dashes, by then day first with a four-digit year: ``_dashed_day_first`` rewrote it so.
_DAY_FIRST_DASHED = r"(?P<day>\d{1,2})-(?P<month>\d{1,2})-(?P<year>\d{4})"
_YEAR_FIRST_NUMERIC = r"(?P<year>\d{4})(?P<sep>[-./])\s?(?P<month>\d{1,2})(?P=sep)\s?(?P<day>\d{1,2})\.?"
# Between the date and the time: a comma, a dash or bar, ISO's T, then maybe a word for "at": Nordic
# "kl.", Finnish "klo", German "um", Polish "godz.", Turkish "saat", Russian "в".
_DATE_TIME_JOIN = r"(?:,?\s{1,3}|\s?[-–|,]\s?|T)(?:(?:kl\.?|klo|um|godz\.|saat|в)\s{1,3})?"
_CLOCK_AND_ZONE = (r"(?P<hour>\d{1,2})[:.](?P<minute>\d{2})(?:[:.](?P<second>\d{2}))?(?:\s?Uhr)?"
                   r"(?:\s{0,3}(?P<zone>[+-]\d{2}:?\d{2}|[A-Za-z]{1,5}))?")
_LOCAL_NUMERIC = (
    *(re.compile(rf"{day_first}(?:{_DATE_TIME_JOIN}{_CLOCK_AND_ZONE})?")
      for day_first in (_DAY_FIRST, _DAY_FIRST_DASHED)),
    re.compile(rf"{_YEAR_FIRST_NUMERIC}(?:{_DATE_TIME_JOIN}{_CLOCK_AND_ZONE})?"),
    *(re.compile(rf"(?P<hour>\d{{1,2}}):(?P<minute>\d{{2}})(?::(?P<second>\d{{2}}))?,?\s{{1,3}}{day_first}")
      for day_first in (_DAY_FIRST, _DAY_FIRST_DASHED)),
)
# A two-digit year as POSIX strptime's %y reads it: 69 to 99 the 1900s, 00 to 68 the 2000s ("31.12.99" is
# 1999, not 2099, which was refused as in the future and its item dead-lettered). A fixed pivot rather than
# one moved by today's date, so a date reads the same whenever it is parsed (a replay, a test).
_CENTURY_PIVOT = 69
# Numbers with dots between them, a date in either order: feedparser knows no such date, and read
# "2020.09.07 14:45:26" as 1 December and "21:17 18.11.2019" as today at 21:17.
_DOTTED_NUMBERS = re.compile(r"\d\.\s?\d{1,2}\.\s?\d")
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


#: Country codes, the likeliest first, or a function giving them when a date needs them (most never do).
Regions = Sequence[str] | Callable[[], Sequence[str]]
#: The zone a date written without one is read in, or a function giving it (most dates carry their own).
Zone = tzinfo | Callable[[], tzinfo]


def parse_date(raw: str | None, regions: Regions = (), unzoned: Zone = UTC) -> datetime | None:
    """Parse RFC 822, ISO 8601/W3CDTF and the other forms feedparser knows; None when unparseable.

    A date without an offset is read in ``unzoned`` (UTC unless the feeds file names the feed's zone, see
    ``named_zone``, or the feed's own dates say otherwise, see ``feed_zone``). Dates before 1971 are taken
    as placeholders: None. ``regions`` (country codes, the likeliest first) settle zone names that differ
    by country ("IST").
    """
    value = _as_written(raw, regions)
    if value is None:
        return None
    try:
        value = (value if value.tzinfo is not None else value.replace(tzinfo=_zone_of(unzoned))).astimezone(UTC)
    except OverflowError:  # "0001-01-01T00:00:00" an hour east of UTC has no UTC equivalent
        return None
    return value if value >= MIN_PLAUSIBLE else None


def written_offset(raw: str | None, regions: Regions = ()) -> timedelta | None:
    """The offset from UTC a date is written in ("-0500", "EST"); None when it has none or is no date."""
    value = _as_written(raw, regions)
    if value is None or value.tzinfo is None or value < MIN_PLAUSIBLE:
        return None  # "Thu, 01 Jan 1970 00:00:00 +0000" is a placeholder, not a date in UTC
    return value.utcoffset()


def feed_zone(feed_dates: Iterable[str], regions: Regions = ()) -> tzinfo:
    """The zone an item's date written without one is read in: the offset the feed's own dates are written
    in when they all carry one and agree (NBC New York's channel dates end in -0500, its items' in "02:02:33
    PM", local time), else UTC. A fixed offset, as the feed gives no zone: across a change to or from summer
    time it is an hour off, against the hours of reading local time as UTC. A zone the feeds file names for
    the feed (``named_zone``) is read instead, summer time and all."""
    offsets = {written_offset(date, regions) for date in feed_dates}
    if len(offsets) != 1 or None in offsets:
        return UTC
    (offset,) = offsets
    return timezone(offset) if offset else UTC


@functools.lru_cache(maxsize=256)
def named_zone(name: str | None) -> ZoneInfo | None:
    """The IANA zone the feeds file says a feed writes its local times in (``RawItem.feed_timezone``): a date
    written without a zone is read in it, with the offset it has on that date. None when no zone is named, or
    when this machine's zone data does not know the name (a poller with newer data): the date is then read as
    if none were named, not refused.

    At a change of the clocks a local time may be missing or happen twice; it is read as PEP 495's fold=0
    reads it, with the offset in force before the change: in Europe/Berlin 02:30 on the last Sunday of March,
    which the clocks skip, is 01:30 UTC (as if they had not gone forward yet), and 02:30 on the last Sunday of
    October, which they show twice, is the first of the two, 00:30 UTC."""
    return zone_named(name) if name else None


def _zone_of(unzoned: Zone) -> tzinfo:
    return unzoned() if callable(unzoned) else unzoned


def _as_written(raw: str | None, regions: Regions) -> datetime | None:
    """The date in the offset it is written in, or without one (naive) when it has none."""
    if not raw or not raw.strip():
        return None
    raw = _regional_zone(raw.strip(), regions)
    if _impossible_offset(raw):
        return None  # "+99:99": feedparser would apply it, dateutil raise
    if "/" in raw:
        raw = _slashed_as_iso(raw, regions)
    if "-" in raw:
        raw = _dashed_day_first(raw, regions)
    end_of_day = 0  # read as the next day's 00:00, which every parser knows, then the day added back
    if "24:" in raw:  # both patterns need it: most dates skip the scans
        if not _TWELVE_HOUR.search(raw):
            raw, end_of_day = _END_OF_DAY.subn(lambda match: f"00:00{match['seconds'] or ''}", raw, count=1)
        if _HOUR_24.search(raw):
            return None
    value = _parsed(raw)
    if value is None or not end_of_day:
        return value
    try:
        return value + timedelta(days=1)
    except OverflowError:  # "9999-12-31 24:00"
        return None


def _parsed(raw: str) -> datetime | None:
    for parse in (_iso, _rfc822, _zoned, _year_first, _local_numeric, _epoch, _localized, _feedparser,
                  _prose):
        value = parse(raw)
        if value is not None:
            return value
    return None


def regions_of(language_tags: Iterable[str | None], urls: Iterable[str | None]) -> list[str]:
    """Country codes an item's dates are likely written in, likeliest first: a language tag's region
    ("en-IN"), a site's country domain (".ie"), then a language spoken mostly in one country ("he")."""
    tags = [tag.replace("_", "-").lower().split("-") for tag in language_tags if tag]
    regions = [parts[1] for parts in tags if len(parts) > 1 and len(parts[1]) == 2]
    regions += [country for url in urls if (country := _country_domain(url))]
    regions += [_LANGUAGE_REGIONS[parts[0]] for parts in tags if parts[0] in _LANGUAGE_REGIONS]
    return regions


def _country_domain(url: str | None) -> str | None:
    try:
        host = urlsplit(url).hostname if url else None
    except ValueError:  # "http://[::1" and the like
        return None
    tld = host.rsplit(".", 1)[-1] if host and "." in host else ""
    return _TLD_REGIONS.get(tld, tld) if len(tld) == 2 and tld.isalpha() else None


def _regional_zone(raw: str, regions: Regions) -> str:
    """The date with a trailing zone name that differs by country replaced by the offset it has in the
    first of ``regions`` that reads it its own way ("11:02 IST" in India: "11:02 +0530")."""
    match = _ZONE_SUFFIX.search(raw)
    readings = REGIONAL_ZONE_NAMES.get(match["zone"].upper()) if match else None
    if match is None or readings is None or raw[match.start() - 1:match.start()] == "(":
        return raw  # "GMT+0530 (IST)" is read by its offset
    offset = next((readings[region] for region in _listed(regions) if region in readings), None)
    return raw if offset is None else f"{raw[:match.start()]}{offset}"


def _listed(regions: Regions) -> Sequence[str]:
    return regions() if callable(regions) else regions


def _slashed_as_iso(raw: str, regions: Regions) -> str:
    """The date with "05/01/2024" written as ISO "2024-01-05" once its order is known: from numbers above
    12, else from the item's country (month first in the United States), else from the zone name after
    it (a US one, "10:00 EST": month first; another, "CET": day first). Unknown, it stays as it is, and
    no parser guesses."""
    match = _SLASHED_PARTS.search(raw)
    if match is None or (month_day := _month_and_day(match, raw, regions, unknown_day_first=False)) is None:
        return raw
    (month, day), year = month_day, _full_year(match["year"])
    return f"{raw[:match.start()]}{year:04d}-{month:02d}-{day:02d}{raw[match.end():]}"


def _dashed_day_first(raw: str, regions: Regions) -> str:
    """The date with "03-05-2024" or "03-05-24" written day first with its year in full, "05-03-2024", once
    its order is known as for a slashed date (``_month_first``), but day first when nothing tells: dashes
    are how Dutch, Indian and Portuguese sites write it. Every parser after reads a dashed date day first."""
    match = _DASHED_PARTS.search(raw)
    if match is None or (month_day := _month_and_day(match, raw, regions, unknown_day_first=True)) is None:
        return raw
    (month, day), year = month_day, _full_year(match["year"])
    return f"{raw[:match.start()]}{day:02d}-{month:02d}-{year:04d}{raw[match.end():]}"


def _month_and_day(parts: re.Match[str], raw: str, regions: Regions, *,
                   unknown_day_first: bool) -> tuple[int, int] | None:
    """The month and day of a date's two leading numbers (``parts``' first and second), in the order
    ``_month_first`` finds, or day first when it cannot tell and ``unknown_day_first``. None when the order
    stays unknown, or the numbers are no month and day."""
    first, second = int(parts["first"]), int(parts["second"])
    month_first = _month_first(first, second, raw, regions)
    if month_first is None and not unknown_day_first:
        return None
    month, day = (first, second) if month_first else (second, first)
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    return month, day


def _month_first(first: int, second: int, raw: str, regions: Regions) -> bool | None:
    if first == second or second > 12:
        return True
    if first > 12:
        return False
    if countries := _listed(regions):
        return countries[0] in _MONTH_FIRST_REGIONS
    zone = _zone_name(raw)
    return None if zone is None or zone in _WORLD_ZONE_NAMES else zone in _US_ZONE_NAMES


def _impossible_offset(raw: str) -> bool:
    offset = _TIME_AND_OFFSET.search(raw)
    return offset is not None and (timedelta(hours=int(offset["hours"])) > MAX_OFFSET or int(offset["minutes"]) > 59)


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
    return _as_given(value)


def _rfc822(raw: str) -> datetime | None:
    if _TWELVE_HOUR.search(raw):
        return None  # parsedate would silently drop the AM/PM and be 12 hours off
    if (zone := _zone_name(raw)) is not None and zone not in _EMAIL_ZONES:
        return None  # parsedate would drop "CET" and read the time as UTC; _zoned knows it
    if _GMT_OFFSET.search(raw):
        return None  # JavaScript's "GMT-0500 (EST)": parsedate takes the GMT and drops the offset
    if (offset := _OFFSET_SUFFIX.search(raw)) and offset["colon"]:
        return None  # "12:02:00 +01:00": parsedate drops an offset with a colon and reads the time as UTC
    try:
        value = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError, OverflowError):  # OverflowError: "99999999999" as a year
        return None
    if value.tzinfo is None and _UNKNOWN_LOCAL_ZONE.search(raw):
        value = value.replace(tzinfo=UTC)  # parsedate gives "-0000" no zone, yet the time is in UTC
    return _as_given(value)


def _zoned(raw: str) -> datetime | None:
    """Dates in any layout that end in a zone name or an offset: "January 5, 2024 10:00 AM EST",
    "2024-01-05 10:00 CET", "June 5, 2024 12:02 PM +0100"; and those on a 12-hour clock without one,
    "Sat, Dec 16 2023 02:02:33 PM", left without one like any time written so (feedparser drops the PM).

    Only these go to dateutil: its lenient parser fills in what is missing, so the year and the day must be
    written.
    """
    zoned = _zone_name(raw) is not None or _OFFSET_SUFFIX.search(raw) is not None
    twelve_hour = _TWELVE_HOUR.search(raw) is not None
    if len(raw) > _MAX_ZONED_CHARS or not (zoned or twelve_hour) or not _YEAR.search(raw) \
            or not _DAY_NUMBER.search(raw):
        return None
    if _SLASHED_DATE.search(raw):
        return None  # "05/01/2024" is May or January depending on who wrote it: not guessed
    try:
        value = dateutil_parser.parse(raw, tzinfos=_zone, dayfirst=_reads_day_first(raw))
    except (ValueError, OverflowError):
        return None
    return _as_given(value) if value.tzinfo is not None or not zoned else None


def _reads_day_first(raw: str) -> bool:
    """Whether dateutil is to read a numeric date day first: "05.01.2024" wherever dots are written, and
    "05-01-2024", which ``_dashed_day_first`` wrote day first whatever its order was (month first on US
    sites and after a US zone name: "01-05-2024 10:00 EST")."""
    return _DOTTED_DATE.search(raw) is not None or _DASHED_DATE.search(raw) is not None


def _zone_name(raw: str) -> str | None:
    match = _ZONE_SUFFIX.search(raw)
    zone = match["zone"].upper() if match else None
    return zone if zone in ZONE_NAMES else None


def _zone(name: str | None, offset: int | None) -> tzinfo | int | None:
    """dateutil's tzinfos hook: the zone for a name it found (or the offset written without a name)."""
    if name is None:
        return offset
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


def _local_numeric(raw: str) -> datetime | None:
    """A numeric date in one of the local forms of ``_LOCAL_NUMERIC``, in the zone written after its time,
    else without one (read in the feed's zone, like any date written without one)."""
    match = next((found for pattern in _LOCAL_NUMERIC if (found := pattern.fullmatch(raw))), None)
    if match is None:
        return None
    year = _full_year(match["year"])
    month, day = int(match["month"]), int(match["day"])
    if match.start("day") < match.start("month") and month > 12 >= day:
        month, day = day, month  # "11.14.2019": only month first is a date (US sites write dots too)
    iso = f"{year:04d}-{month:02d}-{day:02d}"
    if match["hour"] is not None:
        iso += f"T{int(match['hour']):02d}:{match['minute']}:{match['second'] or '00'}"
    zone = match.groupdict().get("zone")
    if zone is None:
        return _iso(iso)
    return _iso(iso + zone) if zone[0] in "+-" else _zoned(f"{iso} {zone}")


def _full_year(written: str) -> int:
    """A date's year in full: two digits pivoted at ``_CENTURY_PIVOT`` ("24": 2024, "99": 1999), four as
    written ("0001" stays year 1, a placeholder refused as such, not 2001)."""
    year = int(written)
    if len(written) > 2:
        return year
    return year + (1900 if year >= _CENTURY_PIVOT else 2000)


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
    # Written with its number, the month's date takes the local words for the time ("31. mars 2024 kl. 03.30").
    return _rfc822(english) or _zoned(english) or _local_numeric(f"{match['day']}.{month}.{match['rest']}")


def _feedparser(raw: str) -> datetime | None:
    numeric = _NUMERIC_DATE.match(raw)
    if numeric and not _is_calendar_day(*(int(part) for part in numeric.groups())):
        return None  # feedparser would roll "2024-13-45" over into 2025, "2023-02-29" into March
    if _YEAR_FIRST.fullmatch(raw) or _DOTTED_NUMBERS.search(raw) or _DASHED_DATE.search(raw):
        # Refused by _year_first or _local_numeric: feedparser would make "2020/13/45" 1 November, and
        # misread any dotted date (``_DOTTED_NUMBERS``) or dashed one with the year last ("31-03-2024": 20
        # March 2031; "31-03-24": 24 March 2031).
        return None
    if _TIME_ONLY.fullmatch(raw) or not _DAY_NUMBER.search(raw):
        return None  # no date, or no day: the caller's fallback (the fetch time, flagged) is nearer the truth
    parsed = _feedparser_parse_date(raw)  # the same date handlers feedparser applies to feeds
    if parsed is None:
        return None
    try:
        year, month, day, hour, minute, second = parsed[:6]
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except (ValueError, OverflowError):
        return None


def _is_calendar_day(year: int, month: int, day: int) -> bool:
    return 1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1]


def _prose(raw: str) -> datetime | None:
    text = " ".join(raw.replace(".", "").split())
    for form in _PROSE_FORMATS:
        try:
            return datetime.strptime(text, form)
        except ValueError:
            continue
    return None


def _as_given(value: datetime) -> datetime | None:
    """The value in its own offset, or naive (no zone written; parse_date settles it); None when its offset
    is none a zone has, or the time has no UTC equivalent."""
    if value.tzinfo is None:
        return value
    try:
        offset = value.utcoffset()
        if offset is None or abs(offset) > MAX_OFFSET:
            return None
        value.astimezone(UTC)
    except (OverflowError, ValueError):  # "0001-01-01T00:00:00+14:00" has no UTC equivalent; "+9999" no offset
        return None
    return value
