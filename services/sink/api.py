"""The sink's read-only HTTP API, served beside ``/metrics`` on the sink's port.

``GET /articles``, ``GET /stories`` and ``GET /sources`` (paged: each answer's ``next`` goes in the
next request's ``after``), ``GET /articles/{article_id}``, ``GET /stories/{story_id}`` and
``GET /openapi.json``. Every input is validated before it reaches a query (400 with a JSON error
otherwise), results are bounded, and user input only ever travels as bound parameters. With a token
configured, these routes (not the health and metrics endpoints) require ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import contextlib
import functools
import hmac
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import unquote

import structlog

from services.core.budget import ByteBudget
from services.core.db import TRANSIENT_ERRORS, QueryTimeoutError
from services.core.http import Request, Response, Route
from services.core.timestamps import parse_timestamp
from services.sink import metrics, openapi
from services.sink.api_limits import (
    AGENCY_PATTERN,
    ANSWERS_FULL_RETRY_AFTER_SECONDS,
    DEFAULT_LIMIT,
    LANGUAGE_PATTERN,
    MAX_ANSWER_BYTES,
    MAX_ANSWERS_BYTES_IN_FLIGHT,
    MAX_CURSOR_CHARS,
    MAX_LIMIT,
    MAX_QUERY_CHARS,
    STORY_MAX_ARTICLES,
)
from services.sink.reads import ArticleKey, Reader

log = structlog.get_logger(__name__)

ARTICLE_PREFIX, STORY_PREFIX = "/articles/", "/stories/"
# Matched with fullmatch: "$" would let a trailing newline through.
_LIMIT = re.compile(r"[0-9]{1,6}")  # int() would also take "+5", " 5" and "5_0"
_FEED_ID = re.compile(r"[A-Za-z0-9._-]{1,200}")
_ID = re.compile(r"[A-Za-z0-9._:-]{1,200}")  # story and article ids
_ARTICLE_PARAMS = frozenset({"q", "since", "until", "source", "language", "agency", "publishable", "limit", "after"})
_LANGUAGE = re.compile(LANGUAGE_PATTERN)
_AGENCY = re.compile(AGENCY_PATTERN)
_STORIES_PARAMS = frozenset({"q", "since", "until", "agency", "publishable", "limit", "after"})
_SOURCES_PARAMS = frozenset({"limit", "after"})


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class ReadApi:
    def __init__(self, reader: Reader, token: str | None = None,
                 answers_bytes_in_flight: int = MAX_ANSWERS_BYTES_IN_FLIGHT) -> None:
        self.reader = reader
        self._token = token.encode() if token else None
        self._document = openapi.document(token_required=self._token is not None)
        self._answers = ByteBudget(answers_bytes_in_flight, metrics.READ_API_ANSWER_BYTES_IN_FLIGHT)

    def routes(self) -> dict[str, Route]:
        return {
            "/articles": self._guarded(self.articles, "/articles"),
            "/stories": self._guarded(self.stories, "/stories"),
            "/sources": self._guarded(self.sources, "/sources"),
            ARTICLE_PREFIX: self._guarded(self.article, "/articles/{article_id}"),
            STORY_PREFIX: self._guarded(self.story, "/stories/{story_id}"),
            "/openapi.json": self._guarded(lambda _: Response.json(self._document), "/openapi.json"),
        }

    def articles(self, request: Request) -> Response:
        _known_parameters(request, _ARTICLE_PARAMS)
        limit = _limit(_single(request, "limit"))
        page = self.reader.page(query=_text(_single(request, "q")), since=_time(request, "since"),
                                until=_time(request, "until"),
                                feed_id=_feed(_single(request, "source")),
                                language=_language(_single(request, "language")),
                                agency=_agency(_single(request, "agency")),
                                publishable_at=_publishable_at(request),
                                after=_after(_single(request, "after")), limit=limit,
                                max_bytes=MAX_ANSWER_BYTES)
        return Response.json({"articles": page.articles, "count": len(page.articles), "limit": limit,
                              "next": page.next.cursor() if page.next else None})

    def stories(self, request: Request) -> Response:
        _known_parameters(request, _STORIES_PARAMS)
        limit = _limit(_single(request, "limit"))
        page = self.reader.story_page(query=_text(_single(request, "q")), since=_time(request, "since"),
                                      until=_time(request, "until"), agency=_agency(_single(request, "agency")),
                                      publishable_at=_publishable_at(request), after=_after(_single(request, "after")),
                                      limit=limit)
        return Response.json({"stories": [story.as_json() for story in page.stories], "count": len(page.stories),
                              "limit": limit, "next": page.next.cursor() if page.next else None})

    def sources(self, request: Request) -> Response:
        _known_parameters(request, _SOURCES_PARAMS)
        limit = _limit(_single(request, "limit"))
        after = _single(request, "after")
        if after is not None and not _FEED_ID.fullmatch(after):
            raise ApiError(400, "after must be the 'next' value of a previous answer of the same endpoint")
        page = self.reader.source_page(after=after, limit=limit)
        return Response.json({"sources": [source.as_json() for source in page.sources], "count": len(page.sources),
                              "limit": limit, "next": page.next})

    def article(self, request: Request) -> Response:
        if request.query:
            raise ApiError(400, "this endpoint takes no parameters")
        article_id = _path_id(request.path[len(ARTICLE_PREFIX):], "article")
        article = self.reader.article(article_id)
        if article is None:
            raise ApiError(404, f"no article {article_id}")
        return Response.json(article)

    def story(self, request: Request) -> Response:
        if request.query:
            raise ApiError(400, "this endpoint takes no parameters")
        story_id = _path_id(request.path[len(STORY_PREFIX):], "story")
        story = self.reader.story(story_id, limit=STORY_MAX_ARTICLES, max_bytes=MAX_ANSWER_BYTES)
        if story is None:
            raise ApiError(404, f"no story {story_id}")
        return Response.json(story.as_json())

    def _guarded(self, handler: Callable[[Request], Response], name: str) -> Route:
        """The route ``name`` (its OpenAPI path) with its token check, its errors as JSON, and its metrics."""
        def route(request: Request) -> Response:
            with metrics.READ_API_DURATION.labels(name).time():
                response = self._held_while_sent(answer(request))
            metrics.READ_API_REQUESTS.labels(name, str(response.status)).inc()
            return response

        def answer(request: Request) -> Response:
            if not self._authorized(request):
                return Response.json({"error": "missing or wrong bearer token"}, 401)
            try:
                return _retrying(handler, request)
            except ApiError as error:
                return Response.json({"error": str(error)}, error.status)
            except QueryTimeoutError:
                log.warning("read_api_query_timeout", path=request.path, query=str(request.query)[:300])
                return Response.json({"error": "the query took longer than the read API allows "
                                               "(WIREFEED_READ_API_STATEMENT_TIMEOUT_SECONDS): narrow it "
                                               "(since, source, a rarer word)"}, 504)
            except TRANSIENT_ERRORS as error:
                log.warning("read_api_database_unavailable", error=str(error)[:300])
                return Response.json({"error": "database unavailable"}, 503)
            except Exception:  # a JSON answer rather than a dropped connection; the details go to the log
                log.exception("read_api_failed", path=request.path)
                return Response.json({"error": "internal error"}, 500)

        return route

    def _held_while_sent(self, response: Response) -> Response:
        """The answer, counted against the bytes all answers being sent may hold; past them, a 503."""
        size = len(response.body)
        if not self._answers.take(size):
            log.warning("read_api_answers_full", answer_bytes=size, held_bytes=self._answers.held_bytes)
            full = Response.json({"error": "the read API is sending as much as it may hold to other clients; "
                                         "retry shortly"}, 503)
            return replace(full, retry_after_seconds=ANSWERS_FULL_RETRY_AFTER_SECONDS)
        return replace(response, sent=functools.partial(self._answers.release, size))

    def _authorized(self, request: Request) -> bool:
        if self._token is None:
            return True
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        # compare_digest: how long the comparison takes says nothing about how much of the token matched.
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), self._token)


def _retrying(handler: Callable[[Request], Response], request: Request) -> Response:
    """Reads are idempotent: after a database restart the pool's first connection is a dead one, and
    one immediate retry turns that into an answer instead of a 503."""
    try:
        return handler(request)
    except TRANSIENT_ERRORS as error:
        log.info("read_api_retry", error=str(error)[:300])
        return handler(request)


def _known_parameters(request: Request, known: frozenset[str]) -> None:
    unknown = set(request.query) - known
    if unknown:
        raise ApiError(400, f"unknown parameter(s): {', '.join(sorted(unknown))}")


def _single(request: Request, name: str) -> str | None:
    values = request.query.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise ApiError(400, f"{name} given more than once")
    return values[0]


def _limit(value: str | None) -> int:
    if value is None:
        return DEFAULT_LIMIT
    if not _LIMIT.fullmatch(value) or not 1 <= int(value) <= MAX_LIMIT:
        raise ApiError(400, f"limit must be an integer from 1 to {MAX_LIMIT}")
    return int(value)


def _publishable_at(request: Request) -> datetime | None:
    """Now, when the request asks for publishable results only."""
    value = _single(request, "publishable")
    if value not in (None, "true", "false"):
        raise ApiError(400, "publishable must be true or false")
    return datetime.now(UTC) if value == "true" else None


def _time(request: Request, name: str) -> datetime | None:
    value = _single(request, name)
    if value is None:
        return None
    try:
        return parse_timestamp(value)
    except ValueError:
        raise ApiError(400, f"{name} must be an ISO 8601 date or time, e.g. 2024-01-11T14:05:00Z") from None


def _after(value: str | None) -> ArticleKey | None:
    if value is None:
        return None
    if len(value) <= MAX_CURSOR_CHARS:
        with contextlib.suppress(ValueError):
            return ArticleKey.from_cursor(value)
    raise ApiError(400, "after must be the 'next' value of a previous answer of the same endpoint")


def _text(value: str | None) -> str | None:
    if value is not None and len(value) > MAX_QUERY_CHARS:
        raise ApiError(400, f"q is longer than {MAX_QUERY_CHARS} characters")
    if value is not None and "\x00" in value:
        raise ApiError(400, "q contains a NUL character")
    return value


def _feed(value: str | None) -> str | None:
    if value is not None and not _FEED_ID.fullmatch(value):
        raise ApiError(400, "source must be a feed id (letters, digits, '.', '_', '-')")
    return value


def _language(value: str | None) -> str | None:
    if value is not None and not _LANGUAGE.fullmatch(value):
        raise ApiError(400, "language must be a two-letter ISO 639-1 code, such as en or de")
    return value.lower() if value is not None else None


def _agency(value: str | None) -> str | None:
    if value is not None and not _AGENCY.fullmatch(value):
        raise ApiError(400, "agency must be a news agency's name, such as Reuters, AP or Associated Press")
    return value


def _path_id(raw: str, what: str) -> str:
    try:
        found = unquote(raw, errors="strict")
    except UnicodeDecodeError:
        raise ApiError(400, f"{what} id is not valid UTF-8") from None
    return _id(found, what)


def _id(value: str, what: str) -> str:
    if not _ID.fullmatch(value):
        raise ApiError(400, f"{what} id must be 1-200 of letters, digits, '.', '_', ':', '-'")
    return value


def _story_id(value: str) -> str:
    return _id(value, "story")


#: The checks of the parameters the CLI's read commands share with the API, by the API's names: what the
#: API answers 400 the CLI refuses as a usage error (services/sink/commands.py).
CHECKS: dict[str, Callable[[str], str | None]] = {"q": _text, "source": _feed, "story": _story_id}
