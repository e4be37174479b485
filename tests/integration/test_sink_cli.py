"""`wirefeed search`, `stories`, `story`, `sources` and `export` against both engines."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from schemas import PubStatus
from services.cli import main
from services.core.db import Database, display_url
from services.sink.store import SqlStore
from tests.factories import article
from tests.helpers import free_port

TOPIC = "wirefeed.articles.v1"


@pytest.fixture
def stored(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    store = SqlStore(Database(database_url))
    store.migrate()
    store.write([article(1, story="s", body="ferry strike in the harbour"),
                 article(2, story="s", version=2, feed_id="feed-b", body="ferry strike ends"),
                 article(3, story="s", version=2, feed_id="feed-c", body="ferry strike over"),
                 article(20, body="council votes on the budget")], {(TOPIC, 0): 4}, datetime.now(UTC))
    store.close()
    monkeypatch.setenv("WIREFEED_DATABASE_URL", database_url)
    return database_url


def test_search_prints_one_line_per_article_newest_first(stored: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "ferry strike", "--limit", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[1:] for line in lines] == [["feed-c", "Headline 3", "article-000003"],
                                                        ["feed-b", "Headline 2", "article-000002"]]
    assert datetime.fromisoformat(lines[0].split("\t")[0]) == datetime(2024, 1, 11, 14, 8, tzinfo=UTC)


def test_search_filters_by_time_and_source(stored: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "ferry", "--since", "2024-01-11T14:07:00Z"]) == 0
    assert [line.split("\t")[3] for line in capsys.readouterr().out.splitlines()] == [
        "article-000003", "article-000002"]
    assert main(["search", "ferry", "--source", "feed-b"]) == 0
    assert [line.split("\t")[3] for line in capsys.readouterr().out.splitlines()] == ["article-000002"]
    assert main(["search", "ferry", "--since", "2024-01-11T14:07:00Z", "--until", "2024-01-11T14:08:00Z"]) == 0
    assert [line.split("\t")[3] for line in capsys.readouterr().out.splitlines()] == ["article-000002"]


def test_search_export_and_stories_filter_by_language_and_agency(database_url: str, monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    store = SqlStore(Database(database_url))
    store.migrate()
    store.write([article(1, body="ferry strike").model_copy(update={"language": "en", "agency": "AP"}),
                 article(2, body="Fährstreik, ferry").model_copy(update={"language": "de", "agency": "Reuters"}),
                 article(3, body="ferry").model_copy(update={"language": "en"})],
                {(TOPIC, 0): 3}, datetime.now(UTC))
    store.close()
    monkeypatch.setenv("WIREFEED_DATABASE_URL", database_url)
    capsys.readouterr()  # the set-up's log lines
    for command, ids in [(["search", "ferry", "--language", "de"], ["article-000002"]),
                         (["search", "ferry", "--agency", "reuters"], ["article-000002"]),
                         (["search", "ferry", "--language", "en", "--agency", "Reuters"], [])]:
        assert main(command) == 0
        assert [line.split("\t")[3] for line in capsys.readouterr().out.splitlines()] == ids, command
    for command, ids in [(["export", "--language", "EN"], ["article-000001", "article-000003"]),
                         (["export", "--agency", "AP"], ["article-000001"]),
                         (["export", "--agency", "the Associated Press"], ["article-000001"])]:
        assert main(command) == 0
        assert [json.loads(line)["id"] for line in capsys.readouterr().out.splitlines()] == ids, command
    assert main(["stories", "--agency", "ap"]) == 0
    assert [line.split("\t")[3] for line in capsys.readouterr().out.splitlines()] == ["story-000001"]
    with pytest.raises(SystemExit):
        main(["export", "--language", "english"])
    assert "two-letter ISO 639-1 code" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["search", ""], ["search", "--", "---"], ["search", '"(*'],
                                  ["search", "--", "-" * 33], ["stories", "--query", ""],
                                  ["stories", "--query=--- !"]])
def test_a_query_without_words_is_a_usage_error(stored: str, capsys: pytest.CaptureFixture[str],
                                                argv: list[str]) -> None:
    # It printed nothing with status 0, as if nothing matched: an empty variable in a script went unnoticed.
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines()[-1].endswith(": the query has no words to search for (letters or digits)")


def test_search_can_print_json(stored: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "budget", "--json"]) == 0
    assert [json.loads(line)["id"] for line in capsys.readouterr().out.splitlines()] == ["article-000020"]


def test_stories_prints_title_version_outlets_id_and_status(stored: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stories", "--since", "2024-01-11T14:00:00Z"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "Headline 20\tv1\t1 outlet\tstory-000020\tusable",
        "Headline 2\tv2\t3 outlets\ts\tusable",
    ]
    assert main(["stories", "--since", "2024-01-11T14:10:00+00:00"]) == 0
    assert capsys.readouterr().out.splitlines() == ["Headline 20\tv1\t1 outlet\tstory-000020\tusable"]
    assert main(["stories", "--until", "2024-01-11T14:10:00+00:00"]) == 0
    assert capsys.readouterr().out.splitlines() == ["Headline 2\tv2\t3 outlets\ts\tusable"]


def test_stories_can_be_searched(stored: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stories", "--query", "harbour"]) == 0  # in an older version of story s only
    assert capsys.readouterr().out.splitlines() == ["Headline 2\tv2\t3 outlets\ts\tusable"]


def test_search_can_leave_out_what_may_not_be_published(stored: str, capsys: pytest.CaptureFixture[str]) -> None:
    store = SqlStore(Database(stored))
    store.write([article(21, story="k", body="budget leak").model_copy(update={"pubstatus": PubStatus.CANCELED})],
                {(TOPIC, 0): 5}, datetime.now(UTC))
    store.close()
    assert main(["search", "budget"]) == 0
    assert [line.split("\t")[-1] for line in capsys.readouterr().out.splitlines()] == [
        "article-000021", "article-000020"]
    assert main(["search", "budget", "--publishable"]) == 0
    assert [line.split("\t")[-1] for line in capsys.readouterr().out.splitlines()] == ["article-000020"]


def test_stories_can_print_json_lines_as_the_api_lists_them(stored: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stories", "--json", "--limit", "1"]) == 0
    assert [json.loads(line) for line in capsys.readouterr().out.splitlines()] == [{
        "story_id": "story-000020", "title": "Headline 20", "latest_version": 1, "outlets": 1,
        "published_at": "2024-01-11T14:25:00Z", "pubstatus": "usable", "embargoed_until": None}]


def test_stories_say_which_were_killed_and_which_are_under_embargo(stored: str,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    store = SqlStore(Database(stored))
    future = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    store.write([article(4, story="s", version=3).model_copy(update={"pubstatus": PubStatus.CANCELED}),
                 article(30).model_copy(update={"embargoed_until": future}),
                 article(31).model_copy(update={"embargoed_until": datetime(2024, 1, 1, tzinfo=UTC)})],
                {(TOPIC, 0): 7}, datetime.now(UTC))
    store.close()
    assert main(["stories"]) == 0
    status = {line.split("\t")[3]: line.split("\t")[4] for line in capsys.readouterr().out.splitlines()}
    assert status == {"s": "canceled", "story-000030": f"embargoed until {future.isoformat().replace('+00:00', 'Z')}",
                      "story-000031": "usable", "story-000020": "usable"}  # an embargo passed is no longer shown
    assert main(["stories", "--publishable"]) == 0
    assert [line.split("\t")[3] for line in capsys.readouterr().out.splitlines()] == ["story-000031", "story-000020"]


def test_export_can_leave_out_what_may_not_be_published(stored: str, capsys: pytest.CaptureFixture[str]) -> None:
    store = SqlStore(Database(stored))
    future = datetime.now(UTC) + timedelta(days=1)
    store.write([article(4, story="s", version=3).model_copy(update={"pubstatus": PubStatus.CANCELED}),
                 article(30).model_copy(update={"embargoed_until": future}),
                 article(31).model_copy(update={"pubstatus": PubStatus.WITHHELD})], {(TOPIC, 0): 7}, datetime.now(UTC))
    store.close()
    assert main(["export"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 7
    assert main(["export", "--publishable"]) == 0
    # The killed story's every version and copy, the embargoed and the withheld article are left out.
    assert [json.loads(line)["id"] for line in capsys.readouterr().out.splitlines()] == ["article-000020"]


def test_story_prints_every_version_and_copy_oldest_first(stored: str, capsys: pytest.CaptureFixture[str]) -> None:
    store = SqlStore(Database(stored))
    copy = article(5, story="s", version=2, feed_id="feed-d").model_copy(update={"duplicate_of": "article-000001"})
    store.write([copy, article(6, story="s", version=3).model_copy(update={"pubstatus": PubStatus.CANCELED})],
                {(TOPIC, 0): 6}, datetime.now(UTC))
    store.close()
    assert main(["story", "s"]) == 0
    lines = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    assert [(v, feed, copy, article_id, status) for v, _, feed, copy, _, article_id, status in lines] == [
        ("v1", "feed-a", "own", "article-000001", "usable"), ("v2", "feed-b", "own", "article-000002", "usable"),
        ("v2", "feed-c", "own", "article-000003", "usable"), ("v2", "feed-d", "copy", "article-000005", "usable"),
        ("v3", "feed-a", "own", "article-000006", "canceled")]
    assert main(["story", "s", "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert (body["latest_version"], body["outlets"], [v["version"] for v in body["versions"]]) == (3, 4, [1, 2, 3])


def test_an_unknown_story_is_one_line_and_status_1(stored: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["story", "nope"]) == 1
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", "wirefeed: no story nope\n")


def test_sources_prints_each_feed_with_its_stored_articles(stored: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sources"]) == 0
    lines = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    assert [(fid, count) for fid, _, count, *_ in lines] == [
        ("feed-a", "2 articles"), ("feed-b", "1 article"), ("feed-c", "1 article")]
    assert all(datetime.fromisoformat(first) <= datetime.fromisoformat(last) for *_, first, last, _ in lines)
    assert main(["sources", "--json"]) == 0
    assert [json.loads(line)["articles"] for line in capsys.readouterr().out.splitlines()] == [2, 1, 1]


def test_export_writes_each_article_as_the_topic_carried_it(stored: str, capsys: pytest.CaptureFixture[str]) -> None:
    # As GET /articles/{id} serves it: with the fields a newer normalizer added within v1
    newer = article(30, story="newer")
    sent = {**newer.model_dump(mode="json"), "topics": ["ferries"], "title": "Fähre fährt"}
    store = SqlStore(Database(stored))
    store.write([newer.model_copy(update={"title": "Fähre fährt"})], {(TOPIC, 0): 5}, datetime.now(UTC),
                {newer.id: json.dumps(sent, ensure_ascii=False)})
    store.close()
    assert main(["export", "--story", "newer"]) == 0
    [line] = capsys.readouterr().out.splitlines()
    assert json.loads(line) == sent and "Fähre fährt" in line  # UTF-8 as the topic has it, not escaped


def test_export_takes_a_since_without_offset_as_utc(stored: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "--since", "2024-01-11T14:07:00"]) == 0
    assert [json.loads(line)["id"] for line in capsys.readouterr().out.splitlines()] == [
        "article-000002", "article-000003", "article-000020"]


def test_export_takes_a_window_of_publication_times(stored: str, capsys: pytest.CaptureFixture[str]) -> None:
    # A day's slice, as a nightly job asks for it: the end is excluded, so consecutive windows never overlap.
    assert main(["export", "--since", "2024-01-11T14:06:00Z", "--until", "2024-01-11T14:08:00Z"]) == 0
    assert [json.loads(line)["id"] for line in capsys.readouterr().out.splitlines()] == [
        "article-000001", "article-000002"]
    assert main(["export", "--since", "2024-01-11T14:08:00Z", "--until", "2024-01-11T14:10:00Z"]) == 0
    assert [json.loads(line)["id"] for line in capsys.readouterr().out.splitlines()] == ["article-000003"]


@pytest.mark.parametrize(("argv", "found"), [
    (["search", "ferry " + "-" * 41 + "budget"], ["article-000003", "article-000002", "article-000001"]),
    (["search", "-" * 33 + " ferry"], ["article-000020"]),
    (["search", " ".join(["budget"] * 32) + " nosuchword"], ["article-000020"]),  # the 33rd word is ignored
    (["stories", "--query", "- ferry", "--json"], ["story-000020"]),
])
def test_a_search_is_answered_alike_on_both_engines_whatever_its_dashes(
        stored: str, capsys: pytest.CaptureFixture[str], argv: list[str], found: list[str]) -> None:
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["story_id"] if "--json" in argv else line.split("\t")[3] for line in lines] == found


@pytest.mark.parametrize("argv", [["search", " ".join(["budget"] * 60_000)],
                                  ["stories", "--query", " ".join(["budget"] * 60_000)]])
def test_a_query_longer_than_the_read_api_takes_is_a_usage_error(stored: str, capsys: pytest.CaptureFixture[str],
                                                                 argv: list[str]) -> None:
    # On PostgreSQL it was "cannot use postgresql://…: stack depth limit exceeded", as if the database were down.
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert "longer than 500 characters" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["search", "x", "--limit", "0"], ["stories", "--since", "soon"],
                                  ["export", "--until", "later"],
                                  # "-5" deleted every article stored until five days from now: all of them
                                  *(["purge", f"--older-than-days={days}"] for days in ("-5", "0", "nan", "1e11"))])
def test_bad_arguments_are_usage_errors(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2


# A shell passes bytes that are not UTF-8 ($'\xff') as surrogate escapes, which no database driver encodes:
# each of these was a UnicodeEncodeError traceback and status 1 (the query ones on PostgreSQL only).
@pytest.mark.parametrize("argv", [["search", "ferry", "--source", "\udcff"], ["search", "ferry\udcff"],
                                  ["search", "ferry", "--agency", "\udcff"], ["export", "--story", "\udcff"],
                                  ["export", "--source", "\udcff"], ["export", "--agency", "\udcff"],
                                  ["story", "\udcff"], ["stories", "--agency", "\udcff"],
                                  ["stories", "--query", "ferry\udcff"]])
def test_arguments_that_are_not_utf_8_are_usage_errors(stored: str, argv: list[str],
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    error = capsys.readouterr().err.splitlines()[-1]
    assert error.startswith(f"wirefeed {argv[0]}: error: argument ") and error.endswith(": not valid UTF-8")


@pytest.mark.parametrize(("argv", "message"), [
    (["search", "ferry", "--source", "feed b"], "source must be a feed id"),
    (["export", "--story", "a/b"], "story id must be"),
    (["story", "a b"], "story id must be"),
    (["search", "ferry " * 100], "q is longer than 500 characters"),
])
def test_read_arguments_are_checked_as_the_read_api_checks_them(stored: str, argv: list[str], message: str,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err.splitlines()[-1]


@pytest.mark.parametrize("argv", [["search", "x"], ["stories"], ["story", "s"], ["sources"], ["export"],
                                  ["purge", "--older-than-days", "1"]])
def test_a_missing_sqlite_file_is_named_and_not_created(argv: list[str], sqlite_url: str,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("WIREFEED_DATABASE_URL", sqlite_url)
    path = sqlite_url.removeprefix("sqlite:///")
    assert main(argv) == 1
    assert capsys.readouterr().err == (f"wirefeed: no SQLite database at {path}: nothing has been stored there yet, "
                                       "or the database URL names another file\n")
    assert not os.path.exists(path)


def test_a_database_the_sink_never_used_is_one_line(database_url: str, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    Database(database_url).close()  # SQLite: an empty file; PostgreSQL: the fixture's database is empty
    monkeypatch.setenv("WIREFEED_DATABASE_URL", database_url)
    assert main(["stories"]) == 1
    error = capsys.readouterr().err
    assert error.startswith(f"wirefeed: {display_url(database_url)} holds none of wirefeed's tables yet (")
    assert error.endswith("); the sink creates them when it first starts\n")
    assert "articles" in error and error.count("\n") == 1  # the table the database said it lacks


def test_an_unreachable_postgresql_is_one_line_without_the_password(monkeypatch: pytest.MonkeyPatch,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    monkeypatch.setenv("WIREFEED_DATABASE_URL", f"postgresql://reader:s3cret@127.0.0.1:{port}/news")
    started = time.monotonic()
    assert main(["search", "strike"]) == 1
    error = capsys.readouterr().err
    assert error.startswith(f"wirefeed: cannot use postgresql://reader:***@127.0.0.1:{port}/news: ")
    assert "refused" in error and "s3cret" not in error and error.count("\n") == 1
    assert time.monotonic() - started < 8  # said at once, not after the pool's 10-second wait


def test_a_read_past_its_timeout_is_cancelled_and_says_so(database_url: str, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    store = SqlStore(Database(database_url))
    store.migrate()
    store.write([article(n, body=f"market report {n} on shares and bonds. " * 100) for n in range(100, 2100)],
                {(TOPIC, 0): 2000}, datetime.now(UTC))
    store.close()
    monkeypatch.setenv("WIREFEED_DATABASE_URL", database_url)
    # reads each far longer than a millisecond: a search and a story list over every article, and an
    # export's pages of a thousand 8 KB articles
    for command, lines in [(["search", "report", "--limit", "1000"], 1000), (["export"], 2000),
                           (["stories", "--query", "report"], 2000)]:
        assert main([*command, "--timeout", "0.001"]) == 1
        assert capsys.readouterr().err == "wirefeed: the query ran past its 0.001 s and was cancelled\n"
        assert main([*command, "--timeout", "60"]) == 0  # the same read, given time, is answered
        assert len(capsys.readouterr().out.splitlines()) == lines
    for bad in ("0", "-1", "nan", "soon"):
        with pytest.raises(SystemExit):
            main(["export", "--timeout", bad])


def test_the_read_commands_cannot_write(stored: str) -> None:
    reader = Database(stored, read_only=True)
    refused = (sqlite3.OperationalError, psycopg.errors.ReadOnlySqlTransaction)
    with pytest.raises(refused, match=r"read-?only"), reader.transaction() as tx:
        tx.execute("DELETE FROM articles")
    reader.close()
    assert len(list(SqlStore(Database(stored)).export())) == 4


def test_an_export_to_a_full_disk_says_so_in_one_line(stored: str) -> None:
    # ENOSPC came back as a traceback (only a closed pipe was handled).
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "services.cli", "export"], stdout=full, stderr=subprocess.PIPE,
                              text=True, timeout=120, check=False)
    assert done.returncode == 1
    assert done.stderr.strip() == "wirefeed: cannot write output: No space left on device"


def test_a_file_that_is_no_sqlite_database_is_named_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    junk = tmp_path / "junk.db"
    junk.write_text("not sqlite, but a database URL names it")
    monkeypatch.setenv("WIREFEED_DATABASE_URL", f"sqlite:///{junk}")
    assert main(["sources"]) == 1
    assert capsys.readouterr().err.strip().endswith("the file is not an SQLite database")


def test_a_failed_files_feed_that_is_not_utf_8_is_a_usage_error(stored: str,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["feeds", "failed", "--feed", "\udcff"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == "wirefeed feeds failed: error: argument --feed: not valid UTF-8"
