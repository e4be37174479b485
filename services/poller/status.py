"""``wirefeed feeds status``: every feed's health from the state database, as a terminal table, or as
tab-separated lines when the output is a pipe or a file (``| grep backing``, ``> status.tsv``); and
``wirefeed feeds failed``: the spooled files set aside, with why, the same two ways."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from rich.console import Console
from rich.table import Table
from rich.text import Text

from services.core.config import DEFAULT_SESSION, SessionOptions
from services.core.db import Database, run_command
from services.core.timestamps import utc_timestamp
from services.poller.leases import holders
from services.poller.service import feed_health
from services.poller.state import FailedFile, FeedState, PollerStore

_LABELS = {"ok": "ok", "backing_off": "backing off", "gone": "gone"}
_STYLES = {"ok": "green", "backing off": "yellow", "gone": "red", "never polled": "dim"}


@dataclass(frozen=True)
class FeedStatus:
    feed_id: str
    state: str  # ok, backing off, gone, never polled
    last_success_at: datetime | None = None
    consecutive_failures: int = 0
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    polling_by: str | None = None  # the poller holding the feed's lease right now
    missed_pages: int = 0  # older pages that failed, waiting to be read again


def feed_statuses(states: list[FeedState], leases: dict[str, tuple[str, datetime | None]],
                  configured: list[str] | None, now: datetime) -> list[FeedStatus]:
    """Pure: one row per feed in the state database, plus configured feeds never polled yet."""
    by_id = {state.feed_id: state for state in states}
    ids = sorted(set(by_id) | set(configured or ()))
    if configured is not None:  # a feeds file narrows the table to the feeds it configures
        ids = [fid for fid in ids if fid in set(configured)]
    return [_status(fid, by_id.get(fid), leases.get(fid), now) for fid in ids]


def _status(feed_id: str, state: FeedState | None, lease: tuple[str, datetime | None] | None,
            now: datetime) -> FeedStatus:
    owner, expires_at = lease or ("", None)
    polling_by = owner if owner and expires_at and expires_at > now else None
    if state is None:
        return FeedStatus(feed_id, "never polled", polling_by=polling_by)
    return FeedStatus(feed_id, _LABELS[feed_health(state)], state.last_success_at, state.consecutive_failures,
                      state.next_attempt_at, state.last_error, polling_by, len(state.missed_pages))


_COLUMNS = ("feed", "state", "last success", "failures", "next attempt", "last error", "polling", "missed pages")


def render(statuses: list[FeedStatus], console: Console, now: datetime) -> None:
    if not console.is_terminal:
        _render_lines(statuses, console)
        return
    table = Table(title=f"wirefeed poller: {len(statuses)} feed(s)")
    for column in _COLUMNS:
        table.add_column(column, overflow="fold")
    for row in statuses:
        error = Text((row.last_error or "")[:120])  # not markup: an error may quote "[/b]" from a document
        table.add_row(row.feed_id, f"[{_STYLES[row.state]}]{row.state}[/]", _when(row.last_success_at, now),
                      str(row.consecutive_failures), _when(row.next_attempt_at, now), error,
                      row.polling_by or "", str(row.missed_pages or ""))
    console.print(table)


def _render_lines(statuses: list[FeedStatus], console: Console) -> None:
    """One line per feed, whole values, times in ISO 8601: for grep, cut and spreadsheets."""
    lines = ["\t".join(_COLUMNS)]
    for row in statuses:
        values = (row.feed_id, row.state, _iso(row.last_success_at), str(row.consecutive_failures),
                  _iso(row.next_attempt_at), " ".join((row.last_error or "").split()), row.polling_by or "",
                  str(row.missed_pages))
        lines.append("\t".join(values))
    console.file.write("\n".join(lines) + "\n")  # as written: Console.out would expand the tabs


def _iso(moment: datetime | None) -> str:
    return utc_timestamp(moment) if moment else ""


def show_status(db_url: str, configured: list[str] | None, console: Console,
                session: SessionOptions = DEFAULT_SESSION) -> int:
    def show(db: Database) -> None:
        states, leases = PollerStore(db).all_feed_states(), holders(db)
        now = datetime.now(UTC)
        render(feed_statuses(states, leases, configured, now), console, now)

    return run_command(db_url, show, creator="the poller", session=session)


def show_failed(db_url: str, feed_id: str | None, limit: int, console: Console,
                session: SessionOptions = DEFAULT_SESSION) -> int:
    def show(db: Database) -> None:
        render_failed(PollerStore(db).failed_files(feed_id, limit), console, datetime.now(UTC))

    return run_command(db_url, show, creator="the poller", session=session)


def render_failed(files: list[FailedFile], console: Console, now: datetime) -> None:
    if not console.is_terminal:
        rows = [(_iso(f.failed_at), f.feed_id, f.name, " ".join(f.reason.split())) for f in files]
        lines = ["\t".join(_FAILED_COLUMNS)] + ["\t".join(row) for row in rows]
        console.file.write("\n".join(lines) + "\n")
        return
    table = Table(title=f"wirefeed poller: {len(files)} file(s) set aside, newest first")
    for column in _FAILED_COLUMNS:
        table.add_column(column, overflow="fold")
    for file in files:
        # Text, not markup: a name or reason such as "[URGENT] story.xml" or "[/b]" is the agency's, shown as is
        table.add_row(_when(file.failed_at, now), file.feed_id, Text(file.name), Text(file.reason[:300]))
    console.print(table)


_FAILED_COLUMNS = ("failed", "feed", "file", "reason")


def _when(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "-"
    seconds = (moment - now).total_seconds()
    text = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    return f"{text} ({'in ' if seconds >= 0 else ''}{_span(abs(seconds))}{'' if seconds >= 0 else ' ago'})"


def _span(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"
