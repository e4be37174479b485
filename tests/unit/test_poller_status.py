"""``wirefeed feeds status``: feed health read from the state database, shown as a table."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rich.console import Console

from services.cli import main as cli
from services.core.db import Database
from services.poller.leases import LeaseStore
from services.poller.state import FailedFile, FeedState, MissedPage, PollerStore
from services.poller.status import feed_statuses, render, render_failed

NOW = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)


def states() -> list[FeedState]:
    return [
        FeedState("fine", "http://a.example/", last_success_at=NOW - timedelta(minutes=3),
                  next_attempt_at=NOW + timedelta(minutes=2)),
        FeedState("flaky", "http://b.example/", consecutive_failures=3, last_error="http_status: HTTP 503",
                  next_attempt_at=NOW + timedelta(hours=1),
                  missed_pages=(MissedPage("http://b.example/?page=2", NOW),)),
        FeedState("closed", "http://c.example/", gone=True, last_error="HTTP 410 Gone"),
    ]


def test_each_feed_gets_its_state_and_configured_feeds_never_polled_are_listed() -> None:
    leases = {"fine": ("poller-a", NOW + timedelta(seconds=20)), "flaky": ("poller-b", NOW - timedelta(seconds=5))}
    rows = feed_statuses(states(), leases, None, NOW)
    assert [(r.feed_id, r.state, r.polling_by) for r in rows] == [
        ("closed", "gone", None), ("fine", "ok", "poller-a"), ("flaky", "backing off", None)]  # b's lease ran out
    narrowed = feed_statuses(states(), {}, ["fine", "brand-new"], NOW)
    assert [(r.feed_id, r.state) for r in narrowed] == [("brand-new", "never polled"), ("fine", "ok")]


def test_the_table_shows_times_failures_and_errors() -> None:
    console = Console(file=io.StringIO(), width=200, color_system=None, force_terminal=True)
    render(feed_statuses(states(), {}, None, NOW), console, NOW)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "2024-01-01 11:57:00Z (3m ago)" in text and "2024-01-01 12:02:00Z (in 2m)" in text
    assert "backing off" in text and "http_status: HTTP 503" in text and "HTTP 410 Gone" in text
    assert "│ 3 " in text  # consecutive failures
    flaky = next(line for line in text.splitlines() if "flaky" in line)
    assert "missed pages" in text and flaky.split("│")[-2].strip() == "1"  # one page to read again


def test_errors_and_file_names_are_shown_as_written_not_read_as_markup() -> None:
    # Rich reads "[...]" in a string as a style: "[/b]" in an error raised MarkupError (the command failed)
    # and an agency's "[URGENT] story.xml" lost its first word.
    console = Console(file=io.StringIO(), width=300, color_system=None, force_terminal=True)
    render([*feed_statuses([FeedState("odd", "http://d.example/", consecutive_failures=1,
                                      last_error="parse_error: a tag [/b] out of place")], {}, None, NOW)],
           console, NOW)
    render_failed([FailedFile("wire", "[URGENT] story.xml", "FeedParseError: [/b] [link=http://x/]", NOW)],
                  console, NOW)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "a tag [/b] out of place" in text
    assert "[URGENT] story.xml" in text and "FeedParseError: [/b] [link=http://x/]" in text


def test_piped_output_is_one_tab_separated_line_per_feed() -> None:
    console = Console(file=io.StringIO(), width=80)  # not a terminal: a pipe or a file
    long_error = "parse_error: JSON, but neither a JSON Feed nor ninjs\n(and a second line of detail)"
    rows = feed_statuses([*states(), FeedState("long", "http://d.example/", consecutive_failures=1,
                                               last_error=long_error)], {}, None, NOW)
    render(rows, console, NOW)
    lines = console.file.getvalue().splitlines()  # type: ignore[attr-defined]
    assert lines[0].split("\t") == ["feed", "state", "last success", "failures", "next attempt", "last error",
                                    "polling", "missed pages"]
    by_feed = {line.split("\t")[0]: line.split("\t") for line in lines[1:]}
    assert len(lines) == 5 and all(len(fields) == 8 for fields in by_feed.values())
    assert by_feed["flaky"][1:5] == ["backing off", "", "3", "2024-01-01T13:00:00Z"]
    assert (by_feed["flaky"][7], by_feed["fine"][7]) == ("1", "0")
    assert by_feed["fine"][2] == "2024-01-01T11:57:00Z"
    assert by_feed["long"][5] == "parse_error: JSON, but neither a JSON Feed nor ninjs (and a second line of detail)"


def test_the_status_command_reads_the_state_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    db = Database(url)
    store = PollerStore(db)
    store.migrate()
    for state in states():
        store.save_feed_state(state)
    LeaseStore(db, "poller-a").ensure(["fine", "flaky", "closed"])
    db.close()
    monkeypatch.setenv("WIREFEED_STATE_DATABASE_URL", url)
    assert cli(["feeds", "status"]) == 0
    out = capsys.readouterr().out  # captured: not a terminal
    rows = [line.split("\t")[:2] for line in out[out.index("feed\tstate"):].splitlines()]  # after setup's logs
    assert rows == [["feed", "state"], ["closed", "gone"], ["fine", "ok"], ["flaky", "backing off"]]


def test_the_status_command_says_when_there_is_no_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "state.db"
    monkeypatch.setenv("WIREFEED_STATE_DATABASE_URL", f"sqlite:///{missing}")
    assert cli(["feeds", "status"]) == 1
    assert capsys.readouterr().err.startswith(f"wirefeed: no SQLite database at {missing}: ")
    assert not missing.exists()  # not created by looking
    Database(f"sqlite:///{missing}").close()  # now a file without tables
    assert cli(["feeds", "status"]) == 1
    assert capsys.readouterr().err == (f"wirefeed: sqlite:///{missing} holds none of wirefeed's tables yet (no such "
                                       "table: poller_feeds); the poller creates them when it first starts\n")
