"""Times given on the command line and in API queries: ISO 8601, read as UTC; and times the CLI and the
read API write: ISO 8601 in UTC, with ``Z``; and IANA time zones by name, as the feeds file gives them.
Light to import (the CLI parses arguments before loading anything heavy)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def parse_timestamp(text: str) -> datetime:
    """ISO 8601 to an aware UTC datetime; a time without offset is taken as UTC.

    Normalising to UTC matters beyond tidiness: SQLite compares the stored ISO text, which is UTC.
    """
    parsed = datetime.fromisoformat(text.strip())
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+01:00 has no UTC equivalent
        raise ValueError(f"{text!r} is out of range") from None


def timestamp_argument(text: str) -> datetime:
    """``parse_timestamp`` as an argparse type: a bad value is a usage error, not a traceback."""
    try:
        return parse_timestamp(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date or time: {text!r}") from None


def utc_timestamp(moment: datetime, timespec: Literal["auto", "seconds"] = "auto") -> str:
    """``moment`` as every machine-readable time wirefeed writes: ISO 8601 in UTC with ``Z``
    (2024-01-11T14:05:00Z), as the read API's and ``export``'s JSON has it, so that the CLI's lines and the
    JSON beside them compare as text. A time without offset is taken as UTC, as ``parse_timestamp`` does."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


def zone_named(name: str) -> ZoneInfo | None:
    """The IANA zone ``name`` names ("Europe/Berlin"), or None when this machine's zone data does not know it.
    The poller checks a feed's zone with it and the normalizer reads the feed's dates in it, each on its own
    machine, so each asks its own zone data."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder of zones ("Europe"), a name too long
        return None
