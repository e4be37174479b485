"""`wirefeed search`, `wirefeed stories` and `wirefeed export` against both engines."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from services.cli import main
from services.core.db import Database
from services.sink.store import SqlStore
from tests.factories import article

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


def test_search_quietly_finds_nothing_for_syntax_only_input(stored: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", '"(*']) == 0
    assert capsys.readouterr().out == ""


def test_search_can_print_json(stored: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "budget", "--json"]) == 0
    assert [json.loads(line)["id"] for line in capsys.readouterr().out.splitlines()] == ["article-000020"]


def test_stories_prints_title_version_outlets_and_id(stored: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stories", "--since", "2024-01-11T14:00:00Z"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "Headline 20\tv1\t1 outlet\tstory-000020",
        "Headline 2\tv2\t3 outlets\ts",
    ]
    assert main(["stories", "--since", "2024-01-11T14:10:00+00:00"]) == 0
    assert capsys.readouterr().out.splitlines() == ["Headline 20\tv1\t1 outlet\tstory-000020"]


def test_export_takes_a_since_without_offset_as_utc(stored: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "--since", "2024-01-11T14:07:00"]) == 0
    assert [json.loads(line)["id"] for line in capsys.readouterr().out.splitlines()] == [
        "article-000002", "article-000003", "article-000020"]


@pytest.mark.parametrize("argv", [["search", "x", "--limit", "0"], ["stories", "--since", "soon"]])
def test_bad_arguments_are_usage_errors(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
