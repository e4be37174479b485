"""The sink's read side without a database: query building, input parsing, API guards, OpenAPI."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import psycopg
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from services.core.http import Request
from services.core.timestamps import parse_timestamp, utc_timestamp
from services.sink import openapi
from services.sink.api import ReadApi
from services.sink.api_limits import MAX_ANSWER_BYTES, MAX_ANSWERS_BYTES_IN_FLIGHT
from services.sink.reads import ArticleKey, ArticlePage
from services.sink.search import MAX_QUERY_TERMS, Fts5Search, fts5_query, parse_query
from services.sink.settings import SinkSettings


@pytest.mark.parametrize(("query", "expression"), [
    ("ferry strike", '("ferry" "strike")'),
    ('"ferry strike" harbour', '("ferry strike" "harbour")'),
    ("ferry or strike", '("ferry") OR ("strike")'),
    ("ferry OR strike -harbour", '("ferry") OR ("strike" NOT "harbour")'),
    ('x -"fire alarm"', '("x" NOT "fire alarm")'),
    ("ferry-strike", '("ferry strike")'),
    ('"ferry', '("ferry")'),  # an unclosed quote runs to the end
    ("ferry or", '("ferry" "or")'),  # "or" is an operator only between two terms
    # "(" and ":" end a bare term, as websearch_to_tsquery reads them
    ('ferry "strike" AND NEAR(x*, 3) col:y', '("ferry" "strike" "AND" "NEAR" "x" "3" "col" "y")'),
    ("Zürich 東京", '("Zürich" "東京")'),
    (' "*" () -- ', None),
    ("", None),
])
def test_fts5_query_reads_web_search_syntax(query: str, expression: str | None) -> None:
    search = fts5_query(query)
    assert (search.match if search else None) == expression
    assert not search or not search.excluding


@pytest.mark.parametrize(("query", "search"), [
    ("-harbour", Fts5Search(None, ('"harbour"',))),
    ('-harbour -"fire alarm"', Fts5Search(None, ('"harbour" OR "fire alarm"',))),
    ("ferry or -harbour", Fts5Search('("ferry")', ('"harbour"',))),
    ("-strike OR -harbour", Fts5Search(None, ('"strike"', '"harbour"'))),
])
def test_an_alternative_of_exclusions_alone_finds_what_has_none_of_them(query: str, search: Fts5Search) -> None:
    assert fts5_query(query) == search


_TERM = r'"[^"]+"'
_ALTERNATIVE = rf"\({_TERM}(?: {_TERM})*(?: NOT {_TERM})*\)"
_EXPRESSION = re.compile(rf"{_ALTERNATIVE}(?: OR {_ALTERNATIVE})*")
_TERMS = re.compile(rf"{_TERM}(?: OR {_TERM})*")


@given(st.text(max_size=200))
def test_fts5_query_is_only_quoted_terms_and_operators_fts5_accepts(text: str) -> None:
    search = fts5_query(text)
    if search is None:
        return
    assert search.match is None or _EXPRESSION.fullmatch(search.match)
    assert all(_TERMS.fullmatch(terms) for terms in search.excluding)
    with sqlite3.connect(":memory:") as conn:
        conn.execute("CREATE VIRTUAL TABLE t USING fts5(body)")
        for expression in filter(None, (search.match, *search.excluding)):
            conn.execute("SELECT * FROM t WHERE t MATCH ?", (expression,)).fetchall()  # no syntax error


def test_fts5_query_caps_the_number_of_terms() -> None:
    assert fts5_query(" ".join(f"w{n}" for n in range(100))).match.count('"') == 2 * 32  # type: ignore[union-attr]


# Each "-" negates once (as websearch_to_tsquery reads a run of them); "or" is an operator after a term
# with something after it, whatever punctuation or empty phrase comes between.
@pytest.mark.parametrize(("query", "websearch", "search"), [
    ("- ferry", '-"ferry"', Fts5Search(None, ('"ferry"',))),
    ("--ferry", '"ferry"', Fts5Search('("ferry")')),
    ("ferry ----strike", '"ferry" "strike"', Fts5Search('("ferry" "strike")')),
    ("ferry - strike", '"ferry" -"strike"', Fts5Search('("ferry" NOT "strike")')),
    ('- "ferry strike"', '-"ferry strike"', Fts5Search(None, ('"ferry strike"',))),
    ("ferry or, strike", '"ferry" or "strike"', Fts5Search('("ferry") OR ("strike")')),
    ('ferry or "" strike', '"ferry" or "strike"', Fts5Search('("ferry") OR ("strike")')),
    ("ferry or - strike", '"ferry" or -"strike"', Fts5Search('("ferry")', ('"strike"',))),
    ("ferry -or strike", '"ferry" -"or" "strike"', Fts5Search('("ferry" "strike" NOT "or")')),
    ("ferry or or strike", '"ferry" or "or" "strike"', Fts5Search('("ferry") OR ("or" "strike")')),
    ("a " + "-" * 41 + "b", '"a" -"b"', Fts5Search('("a" NOT "b")')),
    ("-" * 33, None, None),
    ("-" * 33 + "harbour", '-"harbour"', Fts5Search(None, ('"harbour"',))),
    ("harbour.example.com -3.14", '"harbour.example.com" -"3.14"', Fts5Search('("harbour example com" NOT "3 14")')),
])
def test_one_parse_gives_both_engines_the_same_query(query: str, websearch: str | None,
                                                     search: Fts5Search | None) -> None:
    parsed = parse_query(query)
    assert (parsed.websearch() if parsed else None) == websearch
    assert fts5_query(query) == search


def test_the_term_cap_applies_to_both_engines_and_to_any_length_of_query() -> None:
    parsed = parse_query(" ".join(["market"] * 60_000) + " nosuchword")
    assert parsed is not None
    assert parsed.websearch() == " ".join(['"market"'] * MAX_QUERY_TERMS)
    # a phrase crossing the cap keeps its first words, written out as words
    cut = parse_query('x "' + "w, " * 40 + '" y')
    assert cut is not None and cut.websearch() == '"x" "' + " ".join(["w"] * (MAX_QUERY_TERMS - 1)) + '"'


_QUERY_CHARACTERS = st.sampled_from(['a', 'b', 'or', 'OR', ' ', '\t', '-', '"', '!', '(', ':', ',', '\\', '\x00', 'é'])


@given(st.lists(_QUERY_CHARACTERS, max_size=30).map("".join) | st.text(max_size=60))
def test_the_websearch_string_reads_back_as_the_query_it_was_written_from(text: str) -> None:
    parsed = parse_query(text)
    if parsed is not None:
        assert parse_query(parsed.websearch()) == parsed
        assert "--" not in parsed.websearch().replace('"', " ").split()


@pytest.mark.parametrize(("text", "expected"), [
    ("2024-01-11", datetime(2024, 1, 11, tzinfo=UTC)),
    ("2024-01-11T14:05:00", datetime(2024, 1, 11, 14, 5, tzinfo=UTC)),
    ("2024-01-11T14:05:00Z", datetime(2024, 1, 11, 14, 5, tzinfo=UTC)),
    ("2024-01-11T16:05:00+02:00", datetime(2024, 1, 11, 14, 5, tzinfo=UTC)),
])
def test_timestamps_become_utc(text: str, expected: datetime) -> None:
    parsed = parse_timestamp(text)
    assert parsed == expected and parsed.utcoffset() == timedelta(0) and parsed.tzinfo is UTC


@pytest.mark.parametrize(("moment", "written"), [
    (datetime(2024, 1, 11, 14, 5, tzinfo=UTC), "2024-01-11T14:05:00Z"),
    (datetime(2024, 1, 11, 16, 5, 0, 250000, tzinfo=timezone(timedelta(hours=2))), "2024-01-11T14:05:00.250000Z"),
    (datetime(2024, 1, 11, 14, 5), "2024-01-11T14:05:00Z"),  # no offset: UTC, as parse_timestamp reads it
])
def test_times_are_written_in_utc_with_z_and_read_back_as_written(moment: datetime, written: str) -> None:
    assert utc_timestamp(moment) == written
    assert parse_timestamp(written) == parse_timestamp(moment.isoformat())
    assert utc_timestamp(moment, "seconds") == "2024-01-11T14:05:00Z"  # each, to the second


@pytest.mark.parametrize("text", ["yesterday", "", "2024-02-30", "0001-01-01T00:00:00+01:00"])
def test_bad_timestamps_are_value_errors(text: str) -> None:
    with pytest.raises(ValueError):
        parse_timestamp(text)


class FailingReader:
    def __init__(self, error: Exception) -> None:
        self.error = error

    def page(self, **_: Any) -> ArticlePage:
        raise self.error

    def story(self, *_: Any, **__: Any) -> None:
        raise self.error


def _get(api: ReadApi, path: str, query: dict[str, list[str]] | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    prefix = "/stories/" if path.startswith("/stories/") else path
    response = api.routes()[prefix](Request(path, query or {}, headers or {}))
    return response.status, response.body


@pytest.mark.parametrize("error", [psycopg.OperationalError("server closed"), sqlite3.OperationalError("locked")])
def test_an_unavailable_database_is_a_503(error: Exception) -> None:
    api = ReadApi(FailingReader(error))  # type: ignore[arg-type]
    assert _get(api, "/articles") == (503, b'{"error": "database unavailable"}')
    assert _get(api, "/stories/s") == (503, b'{"error": "database unavailable"}')


def test_an_unexpected_failure_is_a_500_without_details() -> None:
    api = ReadApi(FailingReader(KeyError("secret detail")))  # type: ignore[arg-type]
    assert _get(api, "/articles") == (500, b'{"error": "internal error"}')


def test_the_token_is_checked_before_anything_else() -> None:
    api = ReadApi(FailingReader(AssertionError("must not be reached")), token="t")  # type: ignore[arg-type]
    assert _get(api, "/articles", {"limit": ["0"]})[0] == 401
    assert _get(api, "/articles", headers={"authorization": "Bearer"})[0] == 401
    assert _get(api, "/articles", headers={"authorization": "Bearer t "})[0] == 500  # the token was right


def test_the_openapi_document_lists_every_error_a_route_can_return() -> None:
    document = openapi.document(token_required=False)
    articles = document["paths"]["/articles"]["get"]["responses"]
    assert set(articles) == {"200", "400", "401", "500", "503", "504"}
    story = document["paths"]["/stories/{story_id}"]["get"]["responses"]
    assert set(story) == {"200", "400", "401", "404", "500", "503", "504"}
    assert "Article" in document["components"]["schemas"]
    # Open as the articles topic's schema: an article is served with the fields added to it within v1
    assert not any("additionalProperties" in document["components"]["schemas"][name]
                   for name in ("Article", "Source", "Dateline", "Enclosure"))
    refs = _refs(document)
    assert refs and all(ref.split("/")[-1] in document["components"]["schemas"] for ref in refs)


def _refs(node: object) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


@given(st.datetimes(min_value=datetime(1971, 1, 1), timezones=st.just(UTC)), st.text(min_size=1, max_size=300))
def test_a_cursor_names_the_key_it_was_made_from(published_at: datetime, article_id: str) -> None:
    key = ArticleKey(published_at, article_id)
    if "\x00" in article_id:
        with pytest.raises(ValueError):
            ArticleKey.from_cursor(key.cursor())
    else:
        assert ArticleKey.from_cursor(key.cursor()) == key


def test_a_time_zone_east_of_utc_is_converted_not_dropped() -> None:
    tokyo = timezone(timedelta(hours=9))
    assert parse_timestamp(datetime(2024, 1, 12, 0, 30, tzinfo=tokyo).isoformat()) == datetime(
        2024, 1, 11, 15, 30, tzinfo=UTC)


def test_a_read_that_meets_a_dead_pooled_connection_is_retried_once() -> None:
    class FlakyReader:
        calls = 0

        def page(self, **_: Any) -> ArticlePage:
            self.calls += 1
            if self.calls == 1:
                raise psycopg.OperationalError("terminating connection due to administrator command")
            return ArticlePage([], None)

    reader = FlakyReader()
    assert _get(ReadApi(reader), "/articles")[0] == 200  # type: ignore[arg-type]
    assert reader.calls == 2


def test_answers_in_flight_are_a_setting_of_at_least_two_answers_at_their_largest(
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert SinkSettings().read_api_max_answer_bytes_in_flight == MAX_ANSWERS_BYTES_IN_FLIGHT
    monkeypatch.setenv("WIREFEED_READ_API_MAX_ANSWER_BYTES_IN_FLIGHT", str(256 * 2**20))
    assert SinkSettings().read_api_max_answer_bytes_in_flight == 256 * 2**20
    monkeypatch.setenv("WIREFEED_READ_API_MAX_ANSWER_BYTES_IN_FLIGHT", str(2 * MAX_ANSWER_BYTES - 1))
    with pytest.raises(ValidationError, match="read_api_max_answer_bytes_in_flight"):
        SinkSettings()
