"""The sink's read API over a real HTTP server on 127.0.0.1, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator, FormatChecker  # type: ignore[import-untyped]
from kafka.consumer.fetcher import ConsumerRecord
from prometheus_client import REGISTRY

from schemas import PubStatus, Source
from services.core.config import SessionOptions, Topics
from services.core.db import Database
from services.core.http import Health, ServiceHTTPServer
from services.sink.api import ReadApi
from services.sink.api_limits import ANSWERS_FULL_RETRY_AFTER_SECONDS
from services.sink.reads import Reader
from services.sink.service import SinkBatch, StoredOffsets
from services.sink.store import SqlStore
from tests.factories import T0, article
from tests.helpers import RecordingProducer, wait_for

TOPIC = "wirefeed.articles.v1"
TOKEN = "s3cret-token"


@pytest.fixture
def store(database_url: str) -> Iterator[SqlStore]:
    store = SqlStore(Database(database_url))
    store.migrate()
    store.write([article(1, story="s", body="ferry strike in the harbour"),
                 article(2, story="s", version=2, feed_id="feed-b", body="ferry strike ends"),
                 article(3, story="s", version=2, feed_id="feed-c", body="ferry strike over"),
                 *[article(n, body=f"market report {n}") for n in range(10, 70)]],
                {(TOPIC, 0): 63}, datetime.now(UTC))
    yield store
    store.close()


def _serve(store: SqlStore, token: str | None) -> Iterator[httpx.Client]:
    reads = Database(store.db.url, read_only=True)  # as the sink serves it: beside the writer, unable to write
    api = ReadApi(Reader(reads), token)
    server = ServiceHTTPServer("127.0.0.1", 0, Health({"database": store.ping}), routes=api.routes()).start()
    with httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=10) as client:
        yield client
    server.stop()
    reads.close()


@pytest.fixture
def client(store: SqlStore) -> Iterator[httpx.Client]:
    yield from _serve(store, None)


@pytest.fixture
def guarded(store: SqlStore) -> Iterator[httpx.Client]:
    yield from _serve(store, TOKEN)


def _validator(client: httpx.Client, schema: str) -> Draft202012Validator:
    # Responses are checked against the document the server itself publishes.
    document = client.get("/openapi.json").json()
    return Draft202012Validator({"$ref": f"#/components/schemas/{schema}", "components": document["components"]})


def test_articles_are_listed_newest_first_with_a_default_and_a_maximum_limit(client: httpx.Client) -> None:
    response = client.get("/articles")
    assert response.status_code == 200
    body = response.json()
    assert (body["count"], body["limit"]) == (50, 50)
    assert body["articles"][0]["id"] == "article-000069"
    published = [a["published_at"] for a in body["articles"]]
    assert published == sorted(published, reverse=True)
    _validator(client, "ArticleList").validate(body)
    assert client.get("/articles", params={"limit": 500}).json()["count"] == 63


def test_articles_can_be_filtered_by_language(store: SqlStore, client: httpx.Client) -> None:
    german = article(80, body="Fährstreik im Hafen beendet").model_copy(update={"language": "de"})
    store.write([german], {(TOPIC, 0): 64}, datetime.now(UTC))
    found = client.get("/articles", params={"language": "DE"}).json()["articles"]
    assert [a["id"] for a in found] == ["article-000080"]
    assert client.get("/articles", params={"language": "de", "q": "ferry"}).json()["articles"] == []
    refused = client.get("/articles", params={"language": "german"})
    assert (refused.status_code, refused.json()["error"]) == (
        400, "language must be a two-letter ISO 639-1 code, such as en or de")


def test_articles_and_stories_can_be_filtered_by_agency(store: SqlStore, client: httpx.Client) -> None:
    store.write([article(80, body="ferry strike, wire copy").model_copy(update={"agency": "Reuters"}),
                 article(81, body="ferry strike, other wire").model_copy(update={"agency": "ANA"}),
                 # a story whose first version was Reuters' and whose latest names no agency
                 article(82, story="r", body="ferry").model_copy(update={"agency": "Reuters"}),
                 article(83, story="r", version=2, body="ferry, later")],
                {(TOPIC, 0): 67}, datetime.now(UTC))
    for name, ids in [("reuters", ["article-000082", "article-000080"]), ("Thomson Reuters", ["article-000082",
                      "article-000080"]), ("رويترز", ["article-000082", "article-000080"]),
                      ("ロイター", ["article-000082", "article-000080"]), ("新华社", []), ("ТАСС", []),
                      ("ANA", ["article-000081"]), ("Athens News Agency", ["article-000081"]),
                      ("ana-mpa", ["article-000081"]), ("AFP", []), ("Agência Brasil", []), ("ČTK", [])]:
        found = client.get("/articles", params={"agency": name}).json()["articles"]
        assert [a["id"] for a in found] == ids
    assert client.get("/articles", params={"agency": "Reuters", "q": "other"}).json()["articles"] == []
    stories = client.get("/stories", params={"agency": "REUTERS"}).json()
    _validator(client, "StoryList").validate(stories)
    assert [s["story_id"] for s in stories["stories"]] == ["story-000080"]  # by the latest version's agency
    for path in ("/articles", "/stories"):
        refused = client.get(path, params={"agency": "Reuters'; --"})
        assert (refused.status_code, refused.json()["error"]) == (
            400, "agency must be a news agency's name, such as Reuters, AP or Associated Press")


def test_articles_can_be_searched_and_filtered(client: httpx.Client) -> None:
    found = client.get("/articles", params={"q": "ferry strike"}).json()["articles"]
    assert [a["id"] for a in found] == ["article-000003", "article-000002", "article-000001"]
    found = client.get("/articles", params={"q": "ferry", "source": "feed-b"}).json()["articles"]
    assert [a["id"] for a in found] == ["article-000002"]
    since = (T0 + timedelta(minutes=65)).isoformat()
    found = client.get("/articles", params={"since": since}).json()["articles"]
    assert [a["id"] for a in found] == [f"article-{n:06d}" for n in range(69, 64, -1)]
    found = client.get("/articles", params={"since": "2024-01-11T15:09:00", "limit": 2}).json()["articles"]
    assert [a["id"] for a in found] == ["article-000069", "article-000068"]  # no offset means UTC
    window = {"since": (T0 + timedelta(minutes=60)).isoformat(), "until": (T0 + timedelta(minutes=63)).isoformat()}
    found = client.get("/articles", params=window).json()["articles"]
    assert [a["id"] for a in found] == ["article-000062", "article-000061", "article-000060"]  # until excluded
    assert client.get("/articles", params={"q": '" OR 1=1; DROP TABLE articles; --'}).status_code == 200
    assert client.get("/articles", params={"limit": 500}).json()["count"] == 63  # still all there


def test_publishable_articles_leave_out_killed_withheld_and_embargoed_ones(store: SqlStore,
                                                                            client: httpx.Client) -> None:
    now = datetime.now(UTC)
    store.write([article(81, story="k", body="ferry timetable"),  # usable, but its story is killed below
                 article(82, story="k", version=2).model_copy(update={"pubstatus": PubStatus.CANCELED}),
                 article(83).model_copy(update={"embargoed_until": now + timedelta(days=1)}),
                 article(84).model_copy(update={"embargoed_until": now - timedelta(days=1)}),  # embargo over
                 article(85).model_copy(update={"pubstatus": PubStatus.WITHHELD})], {(TOPIC, 0): 68}, now)

    def ids(**params: str) -> list[str]:
        return [a["id"] for a in client.get("/articles", params={"limit": 500, **params}).json()["articles"]]

    everything, publishable = ids(), ids(publishable="true")
    assert len(everything) == 68
    assert set(everything) - set(publishable) == {f"article-{n:06d}" for n in (81, 82, 83, 85)}
    assert publishable == [i for i in everything if i in publishable]  # same order, newest first
    assert ids(publishable="false") == everything
    assert ids(q="ferry", publishable="true") == ["article-000003", "article-000002", "article-000001"]


def _all_pages(client: httpx.Client, path: str = "/articles", **params: Any) -> list[list[str]]:
    """The ids on each page of ``path``, following ``next`` to the end."""
    listed, key = {"/articles": ("articles", "id"), "/stories": ("stories", "story_id"),
                   "/sources": ("sources", "feed_id")}[path]
    pages: list[list[str]] = []
    after: str | None = None
    while True:
        body = client.get(path, params={**params, **({"after": after} if after else {})}).json()
        pages.append([a[key] for a in body[listed]])
        after = body["next"]
        if after is None:
            return pages
        assert len(pages) < 100, "paging does not end"


def test_pages_follow_each_other_without_gaps_or_repeats(client: httpx.Client) -> None:
    every = [a["id"] for a in client.get("/articles", params={"limit": 500}).json()["articles"]]
    pages = _all_pages(client, limit=10)
    assert [len(p) for p in pages] == [10] * 6 + [3]
    assert [i for page in pages for i in page] == every
    assert _all_pages(client, limit=63) == [every]  # an exactly full page is the last: next is null
    assert _all_pages(client, q="ferry strike", limit=2) == [["article-000003", "article-000002"],
                                                              ["article-000001"]]
    _validator(client, "ArticleList").validate(client.get("/articles", params={"limit": 10}).json())


def test_articles_published_at_the_same_time_are_paged_by_id(store: SqlStore, client: httpx.Client) -> None:
    tied = [article(n).model_copy(update={"published_at": T0 + timedelta(days=1)}) for n in range(100, 105)]
    store.write(tied, {(TOPIC, 0): 70}, datetime.now(UTC))
    pages = _all_pages(client, limit=2, since=(T0 + timedelta(hours=20)).isoformat())
    assert pages == [["article-000104", "article-000103"], ["article-000102", "article-000101"],
                     ["article-000100"]]


def test_a_page_does_not_shift_when_newer_articles_arrive(store: SqlStore, client: httpx.Client) -> None:
    first = client.get("/articles", params={"limit": 5}).json()
    store.write([article(n) for n in range(200, 210)], {(TOPIC, 0): 80}, datetime.now(UTC))
    second = client.get("/articles", params={"limit": 5, "after": first["next"]}).json()
    assert [a["id"] for a in second["articles"]] == [f"article-{n:06d}" for n in range(64, 59, -1)]


BAD_ARTICLE_PARAMS: list[Any] = [
    {"limit": "0"}, {"limit": "501"}, {"limit": "-1"}, {"limit": "ten"}, {"limit": "+5"}, {"limit": "5 "},
    {"since": "yesterday"}, {"since": "2024-13-01"}, {"since": "0001-01-01T00:00:00+01:00"}, {"until": "soon"},
    {"source": "feed a"}, {"source": "x" * 201}, {"source": "feed-a\n"}, {"q": "x" * 501},
    {"q": "a\x00b"}, {"colour": "red"}, [("limit", "1"), ("limit", "2")],
    {"after": "not a cursor!"}, {"after": "Z2FyYmFnZQ"}, {"after": "MjAyNC0wMS0xMVQxNDowNTowMFoK"},
    {"after": "A" * 1001}, {"publishable": "yes"}, {"publishable": "1"}, {"language": "german"},
    {"language": "e1"}, {"language": "en\n"}, {"agency": "x" * 51}, {"agency": "AP\n"},
]


_MARKETS = list(range(69, 9, -1))  # the market reports, newest first
_FERRIES = [3, 2, 1]


@pytest.mark.parametrize(("q", "expected"), [
    pytest.param("-" * 33, [], id="33 dashes"),  # was a 500 on PostgreSQL: "tsquery stack too small"
    pytest.param("a " + "-" * 41 + "b", [], id="a 41 dashes b"),
    pytest.param("-" * 33 + "market", _FERRIES, id="33 dashes market"),
    pytest.param("market " + "-" * 40 + "report", _MARKETS, id="market 40 dashes report"),
    pytest.param("- ferry", _MARKETS, id="dash space ferry"),
    pytest.param("ferry or - market", _FERRIES, id="ferry or dash market"),
    pytest.param("ferry or, market", _MARKETS + _FERRIES, id="ferry or comma market"),
    pytest.param(" ".join(["market"] * 32) + " nosuchword", _MARKETS, id="33rd word ignored"),
    pytest.param(" ".join(["market"] * 31) + " nosuchword", [], id="32nd word counts"),
    pytest.param(" ".join(["report"] * 70), _MARKETS, id="70 words in 500 characters"),
])
def test_a_search_is_answered_alike_on_both_engines_whatever_its_dashes_and_length(
        client: httpx.Client, q: str, expected: list[int]) -> None:
    response = client.get("/articles", params={"q": q, "limit": 500})
    assert response.status_code == 200, response.text
    assert [a["id"] for a in response.json()["articles"]] == [f"article-{n:06d}" for n in expected]
    response = client.get("/stories", params={"q": q, "limit": 500})
    assert response.status_code == 200, response.text
    assert len(response.json()["stories"]) == len({"s" if n in _FERRIES else n for n in expected})


@pytest.mark.parametrize(("words", "status"), [(580, 400), (9000, 414)])  # 414: past the query string's 4 KiB
def test_a_query_of_thousands_of_words_is_refused_not_a_500(client: httpx.Client, words: int, status: int) -> None:
    for path in ("/articles", "/stories"):
        assert client.get(path, params={"q": " ".join(["market"] * words)}).status_code == status


def test_bad_input_is_a_400_with_a_json_error(client: httpx.Client) -> None:
    # One server for all cases: each case is a request, not a fixture set-up.
    error = _validator(client, "Error")
    for params in BAD_ARTICLE_PARAMS:
        response = client.get("/articles", params=params)
        assert response.status_code == 400, params
        assert response.headers["content-type"] == "application/json"
        error.validate(response.json())


def test_a_story_comes_with_every_version_and_every_copy(client: httpx.Client) -> None:
    response = client.get("/stories/s")
    assert response.status_code == 200
    body = response.json()
    _validator(client, "Story").validate(body)
    assert (body["latest_version"], body["latest_article_id"], body["outlets"], body["truncated"]) == (
        2, "article-000002", 3, False)
    assert [(v["version"], [a["feed_id"] for a in v["copies"]]) for v in body["versions"]] == [
        (1, ["feed-a"]), (2, ["feed-b", "feed-c"])]


def test_stories_are_listed_newest_first_each_once_with_its_outlets(client: httpx.Client) -> None:
    body = client.get("/stories").json()
    _validator(client, "StoryList").validate(body)
    assert (body["count"], body["limit"], body["stories"][0]["story_id"]) == (50, 50, "story-000069")
    every = client.get("/stories", params={"limit": 500}).json()["stories"]
    assert [s["story_id"] for s in every] == [f"story-{n:06d}" for n in range(69, 9, -1)] + ["s"]
    assert every[-1] == {"story_id": "s", "title": "Headline 2", "latest_version": 2, "outlets": 3,
                         "published_at": "2024-01-11T14:07:00Z", "pubstatus": "usable",
                         "embargoed_until": None}  # its latest version's first copy
    since = (T0 + timedelta(minutes=65)).isoformat()
    assert [s["story_id"] for s in client.get("/stories", params={"since": since}).json()["stories"]] == [
        f"story-{n:06d}" for n in range(69, 64, -1)]
    assert [s["story_id"] for s in client.get("/stories", params={"since": since, "until": (
        T0 + timedelta(minutes=67)).isoformat()}).json()["stories"]] == ["story-000066", "story-000065"]


def test_stories_can_be_searched_through_any_version_or_copy(client: httpx.Client) -> None:
    # "harbour" is only in outlet A's first version; the story's latest version says "ends" or "over".
    for query in ("harbour", "ferry strike", "ferry -harbour"):
        body = client.get("/stories", params={"q": query}).json()
        _validator(client, "StoryList").validate(body)
        assert [(s["story_id"], s["latest_version"], s["outlets"]) for s in body["stories"]] == [("s", 2, 3)]
    assert client.get("/stories", params={"q": "market report"}).json()["count"] == 50  # one line per story
    assert client.get("/stories", params={"q": "volcano"}).json()["stories"] == []
    assert client.get("/stories", params={"q": '"(*'}).json()["stories"] == []  # nothing to search for
    since = (T0 + timedelta(minutes=65)).isoformat()
    assert [s["story_id"] for s in client.get("/stories", params={"q": "market", "since": since}).json()[
        "stories"]] == [f"story-{n:06d}" for n in range(69, 64, -1)]


def test_the_story_list_carries_the_latest_version_s_status_and_embargo(store: SqlStore,
                                                                          client: httpx.Client) -> None:
    embargo = datetime(2030, 1, 1, 6, 0, tzinfo=UTC)
    store.write([article(4, story="s", version=3).model_copy(update={"pubstatus": PubStatus.CANCELED}),
                 article(80).model_copy(update={"embargoed_until": embargo})], {(TOPIC, 0): 65}, datetime.now(UTC))
    body = client.get("/stories", params={"limit": 500}).json()
    _validator(client, "StoryList").validate(body)
    by_id = {s["story_id"]: s for s in body["stories"]}
    assert (by_id["s"]["pubstatus"], by_id["s"]["latest_version"]) == ("canceled", 3)  # the story was killed
    assert (by_id["story-000080"]["pubstatus"], by_id["story-000080"]["embargoed_until"]) == (
        "usable", "2030-01-01T06:00:00Z")
    publishable = client.get("/stories", params={"limit": 500, "publishable": "true"}).json()["stories"]
    assert {s["story_id"] for s in body["stories"]} - {s["story_id"] for s in publishable} == {"s", "story-000080"}


def test_story_pages_follow_each_other_without_gaps_or_repeats(store: SqlStore, client: httpx.Client) -> None:
    every = [s["story_id"] for s in client.get("/stories", params={"limit": 500}).json()["stories"]]
    pages = _all_pages(client, "/stories", limit=7)
    assert [len(p) for p in pages] == [7] * 8 + [5]
    assert [i for page in pages for i in page] == every
    first = client.get("/stories", params={"limit": 5}).json()
    store.write([article(n) for n in range(200, 210)], {(TOPIC, 0): 80}, datetime.now(UTC))  # newer stories
    second = client.get("/stories", params={"limit": 5, "after": first["next"]}).json()
    assert [s["story_id"] for s in second["stories"]] == [f"story-{n:06d}" for n in range(64, 59, -1)]


def test_bad_story_list_input_is_a_400(client: httpx.Client) -> None:
    error = _validator(client, "Error")
    # Bad values of the parameters both lists take, and the articles list's own (the stories list has no
    # source or language).
    for params in [*BAD_ARTICLE_PARAMS, {"source": "feed-a"}, {"language": "en"}]:
        response = client.get("/stories", params=params)
        assert response.status_code == 400, params
        error.validate(response.json())


def test_sources_list_each_feed_with_its_stored_articles_in_pages(store: SqlStore, client: httpx.Client) -> None:
    named = article(90, feed_id="feed-b").model_copy(
        update={"source": Source(name="Feed B", url="https://b.example/feed.xml")})
    store.write([named], {(TOPIC, 0): 64}, datetime.now(UTC))
    body = client.get("/sources").json()
    _validator(client, "SourceList").validate(body)
    assert [(s["feed_id"], s["articles"]) for s in body["sources"]] == [("feed-a", 61), ("feed-b", 2), ("feed-c", 1)]
    feed_b = body["sources"][1]
    assert (feed_b["name"], feed_b["url"]) == ("Feed B", "https://b.example/feed.xml")
    assert feed_b["first_stored_at"] < feed_b["last_stored_at"]  # two writes, the second one later
    assert _all_pages(client, "/sources", limit=2) == [["feed-a", "feed-b"], ["feed-c"]]
    for params in ({"after": "a b"}, {"limit": "0"}, {"q": "x"}):
        assert client.get("/sources", params=params).status_code == 400, params


def test_times_are_given_in_utc_whatever_the_database_session_s_time_zone(store: SqlStore) -> None:
    # A server or role whose TimeZone is not UTC (or a URL setting one) made PostgreSQL answer in local time:
    # 2024-01-11T09:07:00-05:00 where SQLite says 2024-01-11T14:07:00Z.
    url = store.db.url
    if store.db.dialect == "postgresql":
        url += ("&" if "?" in url else "?") + "options=-c%20TimeZone%3DAmerica/New_York"
    reads = Database(url, read_only=True)
    try:
        api = ReadApi(Reader(reads))
        server = ServiceHTTPServer("127.0.0.1", 0, Health(), routes=api.routes()).start()
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=10) as client:
                stories = client.get("/stories", params={"limit": 500}).json()["stories"]
                sources = client.get("/sources").json()["sources"]
        finally:
            server.stop()
        assert {s["story_id"]: s["published_at"] for s in stories}["s"] == "2024-01-11T14:07:00Z"
        stored_at = [source[key] for source in sources for key in ("first_stored_at", "last_stored_at")]
        assert stored_at and all(moment.endswith("Z") for moment in stored_at), stored_at
    finally:
        reads.close()


STORY_PATHS = [
    ("/stories/nope", 404), ("/stories/", 400), ("/stories/a/b", 400), ("/stories/%FF", 400),
    ("/stories/a%20b", 400), ("/stories/" + "x" * 201, 400), ("/stories/s?x=1", 400), ("/nothing", 404),
]
ARTICLE_PATHS = [
    ("/articles/nope", 404), ("/articles/", 400), ("/articles/a/b", 400), ("/articles/%FF", 400),
    ("/articles/a%20b", 400), ("/articles/" + "x" * 201, 400), ("/articles/article-000001?x=1", 400),
]


def test_an_article_is_served_by_its_id_as_the_topic_carried_it(store: SqlStore, client: httpx.Client) -> None:
    response = client.get("/articles/article-000002")
    assert response.status_code == 200
    _validator(client, "Article").validate(response.json())
    stored = next(a for a in store.export() if a.id == "article-000002")
    assert response.json() == stored.model_dump(mode="json")
    assert (response.json()["story_id"], response.json()["feed_id"]) == ("s", "feed-b")


def test_an_article_with_fields_added_within_v1_is_served_with_them(store: SqlStore, client: httpx.Client) -> None:
    # What a newer normalizer may send (adding optional fields is compatible): stored and served as it came
    sent = {**article(91, story="newer").model_dump(mode="json"), "topics": ["ferries"], "urgency": "3"}
    sent["source"]["homepage"] = "https://example.com/"
    sent["enclosures"] = [{"url": "https://example.com/a.mp3", "type": None, "length": None, "width": None,
                           "height": None, "codec": "opus"}]
    value = json.dumps(sent).encode()
    record = ConsumerRecord(topic=TOPIC, partition=0, leader_epoch=None, offset=63, timestamp=0, timestamp_type=0,
                            key=b"newer", value=value, headers=[], checksum=None, serialized_key_size=5,
                            serialized_value_size=len(value), serialized_header_size=-1)
    SinkBatch(store, RecordingProducer(), Topics("wirefeed"), StoredOffsets(None, store, TOPIC))([record])
    served = client.get("/articles/article-000091").json()
    assert served == {**sent, "urgency": 3}  # a field it knows as the model reads it: what the API describes
    _validator(client, "Article").validate(served)
    assert client.get("/stories/newer").json()["versions"][0]["copies"] == [served]


def test_story_and_article_paths_are_validated(client: httpx.Client) -> None:
    error = _validator(client, "Error")
    for path, status in STORY_PATHS + ARTICLE_PATHS:
        response = client.get(path)
        assert response.status_code == status, path
        error.validate(response.json())


def test_story_ids_are_percent_decoded(store: SqlStore, client: httpx.Client) -> None:
    store.write([article(90, story="wire:abc")], {(TOPIC, 0): 64}, datetime.now(UTC))
    assert client.get("/stories/wire%3Aabc").json()["story_id"] == "wire:abc"


@pytest.mark.parametrize(("path", "params"), [
    ("/articles", {"q": "ferry"}), ("/articles/article-000001", {}), ("/articles/no-such-article", {}),
    ("/stories", {}), ("/stories/s", {}), ("/sources", {}), ("/openapi.json", {}), ("/articles", {"limit": "0"}),
])
def test_head_answers_as_get_does_without_the_body(client: httpx.Client, path: str, params: dict[str, str]) -> None:
    # HEAD was answered 501 with an HTML page by the stdlib, whatever the route.
    got, head = client.get(path, params=params), client.head(path, params=params)
    assert head.status_code == got.status_code
    assert head.content == b""
    for name in ("Content-Type", "Content-Length", "X-Content-Type-Options"):
        assert head.headers[name] == got.headers[name], name


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "OPTIONS"])
@pytest.mark.parametrize("path", ["/articles", "/stories/s", "/openapi.json"])
def test_methods_other_than_get_and_head_are_405_as_a_json_error(client: httpx.Client, method: str,
                                                                 path: str) -> None:
    answer = client.request(method, path, content=b"{}" if method in ("POST", "PUT") else None)
    assert (answer.status_code, answer.headers["Allow"]) == (405, "GET, HEAD")
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    _validator(client, "Error").validate(answer.json())


def test_the_openapi_document_describes_what_is_served(client: httpx.Client) -> None:
    document = client.get("/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    assert set(document["paths"]) == {"/articles", "/articles/{article_id}", "/stories", "/stories/{story_id}",
                                      "/sources", "/openapi.json"}
    parameters = {p["name"]: p["schema"] for p in document["paths"]["/articles"]["get"]["parameters"]}
    assert parameters["limit"] == {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}
    assert set(parameters) == {"q", "since", "until", "source", "language", "agency", "publishable", "limit", "after"}
    assert "security" not in document


# RFC 3339's date-time, as JSON Schema's "date-time" format means it (jsonschema checks it only with a
# package wirefeed does not install): seconds and an offset required.
_RFC3339 = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?"
                      r"([Zz]|[+-][0-9]{2}:[0-9]{2})")


@pytest.mark.parametrize("path", ["/articles", "/stories"])
def test_the_openapi_document_admits_every_time_the_api_takes(client: httpx.Client, path: str) -> None:
    # since and until were "format": "date-time", which refuses the plain dates the README's examples use.
    checker = FormatChecker()
    checker.checks("date-time")(lambda value: not isinstance(value, str) or bool(_RFC3339.fullmatch(value)))
    document = client.get("/openapi.json").json()
    schemas = {p["name"]: p["schema"] for p in document["paths"][path]["get"]["parameters"]}
    for name in ("since", "until"):
        validator = Draft202012Validator(schemas[name], format_checker=checker)
        for value in ("2024-01-11", "2024-01-11T14:05", "2024-01-11T14:05Z", "2024-01-11T16:05:00+02:00",
                      *schemas[name].get("examples", [])):
            assert client.get(path, params={name: value}).status_code == 200, value
            assert validator.is_valid(value), (name, value)


def test_with_a_token_the_api_needs_it_and_health_and_metrics_do_not(guarded: httpx.Client) -> None:
    for path in ("/articles", "/articles/article-000001", "/stories", "/stories/s", "/sources", "/openapi.json"):
        assert guarded.get(path).status_code == 401
        assert guarded.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert guarded.get(path, headers={"Authorization": f"Basic {TOKEN}"}).status_code == 401
        assert guarded.get(path, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert guarded.get("/articles", headers={"Authorization": f"bearer {TOKEN}"}).status_code == 200
    assert guarded.get("/articles", params={"limit": "0"}).status_code == 401  # no probing without the token
    document = guarded.get("/openapi.json", headers={"Authorization": f"Bearer {TOKEN}"}).json()
    assert document["security"] == [{"bearer": []}]
    for path in ("/metrics", "/healthz", "/readyz"):
        assert guarded.get(path).status_code == 200


def test_a_query_past_the_statement_timeout_is_cancelled_and_answered_504(store: SqlStore) -> None:
    store.write([article(n, body=f"market report {n} on shares and bonds") for n in range(100, 3100)],
                {(TOPIC, 0): 3063}, datetime.now(UTC))
    # A limit already past when SQLite first looks at the clock (every 10,000 steps of its virtual machine;
    # the search below, of words in every article, takes more), and PostgreSQL's shortest, 1 ms: the
    # query's speed on the day must not decide (a faster plan answered this page within a millisecond on a
    # quick machine).
    hurried = Database(store.db.url, read_only=True, session=SessionOptions(statement_timeout=1e-6))
    server = ServiceHTTPServer("127.0.0.1", 0, Health(), routes=ReadApi(Reader(hurried), None).routes()).start()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=10) as client:
            response = client.get("/articles", params={"q": "report shares", "limit": 100})
    finally:
        server.stop()
        hurried.close()
    assert response.status_code == 504
    assert "WIREFEED_READ_API_STATEMENT_TIMEOUT_SECONDS" in response.json()["error"]
    patient = Database(store.db.url, read_only=True)  # the same query without the limit is answered
    try:
        assert len(Reader(patient).page(query="report", limit=100).articles) == 100
    finally:
        patient.close()


def _answered(route: str, status: int) -> float:
    labels = {"route": route, "status": str(status)}
    return REGISTRY.get_sample_value("wirefeed_read_api_requests_total", labels) or 0.0


def test_each_answer_is_counted_by_route_and_status(client: httpx.Client) -> None:
    before = {key: _answered(*key) for key in (("/articles", 200), ("/articles", 400), ("/stories/{story_id}", 404))}
    assert client.get("/articles").status_code == 200
    assert client.get("/articles", params={"limit": "many"}).status_code == 400
    assert client.get("/stories/no-such-story").status_code == 404
    assert {key: _answered(*key) - count for key, count in before.items()} == dict.fromkeys(before, 1.0)
    durations = REGISTRY.get_sample_value("wirefeed_read_api_request_duration_seconds_count", {"route": "/articles"})
    assert durations is not None and durations >= 2


def test_an_answer_holds_at_most_its_byte_budget_of_articles(store: SqlStore, client: httpx.Client) -> None:
    # Articles of about 2 MB of JSON each (a 1 MB body as text and as HTML): 500 of them would be a gigabyte.
    large = [article(n, story="big", feed_id=f"outlet-{n}", body=f"Word {n} " * 110_000) for n in range(100, 106)]
    store.write(large, {(TOPIC, 0): 69}, datetime.now(UTC))
    page = client.get("/articles", params={"limit": 500})
    assert page.status_code == 200 and len(page.content) <= 8 * 2**20 + 100_000
    assert page.json()["count"] == 4 and page.json()["next"]  # the fifth would pass 8 MiB
    rest = client.get("/articles", params={"limit": 500, "after": page.json()["next"]}).json()
    assert [a["id"] for a in rest["articles"]][:2] == ["article-000101", "article-000100"]
    story = client.get("/stories/big").json()
    assert sum(len(v["copies"]) for v in story["versions"]) == 4 and story["truncated"] is True


def test_answers_held_for_slow_clients_are_bounded_and_past_the_bound_a_503(store: SqlStore) -> None:
    large = [article(n, story="big", feed_id=f"outlet-{n}", body=f"Word {n} " * 110_000) for n in range(100, 106)]
    store.write(large, {(TOPIC, 0): 69}, datetime.now(UTC))
    reads = Database(store.db.url, read_only=True)
    api = ReadApi(Reader(reads), answers_bytes_in_flight=10 * 2**20)
    server = ServiceHTTPServer("127.0.0.1", 0, Health({}), routes=api.routes()).start()
    slow = socket.create_connection(("127.0.0.1", server.port))
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=10) as client:
            slow.sendall(b"GET /articles?limit=500 HTTP/1.0\r\n\r\n")  # ~8 MiB, and then not read
            wait_for(lambda: held_answers() >= 7 * 2**20, timeout=10, message="the slow client's answer held")
            busy = client.get("/articles", params={"limit": 500})
            assert busy.status_code == 503 and "retry" in busy.json()["error"]
            assert busy.headers["Retry-After"] == str(ANSWERS_FULL_RETRY_AFTER_SECONDS)
            assert client.get("/articles", params={"limit": 1}).status_code == 200  # a small one still fits
            answer = b""
            while chunk := slow.recv(1 << 20):  # the slow client takes its answer at last
                answer += chunk
            assert answer.startswith(b"HTTP/1.0 200") and len(answer) > 7 * 2**20
            wait_for(lambda: held_answers() == 0, timeout=10, message="the answer given back")
            assert client.get("/articles", params={"limit": 500}).status_code == 200
    finally:
        slow.close()
        server.stop()
        reads.close()


def held_answers() -> float:
    return REGISTRY.get_sample_value("wirefeed_read_api_answer_bytes_in_flight") or 0.0
