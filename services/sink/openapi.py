"""The OpenAPI 3.1 description of the sink's read API (``GET /openapi.json``).

Paths and envelopes are written by hand next to the code that serves them (``api.py``); the article
schema is generated from the ``Article`` model, open to fields it does not list as the topic's schema is
(the API returns the stored payload: the article as the topic carried it), so the two cannot drift apart.
A test validates live responses against this document.
"""

from __future__ import annotations

from typing import Any

from schemas import Article, PubStatus
from schemas.generate import open_objects
from services.sink.api_limits import (
    AGENCY_PATTERN,
    DEFAULT_LIMIT,
    LANGUAGE_PATTERN,
    MAX_ANSWER_BYTES,
    MAX_CURSOR_CHARS,
    MAX_LIMIT,
    MAX_QUERY_CHARS,
    STORY_MAX_ARTICLES,
)
from services.sink.search import MAX_QUERY_TERMS

_REF = "#/components/schemas/{model}"
# Not "format": "date-time": that is RFC 3339, which wants seconds and an offset, and the API takes any ISO 8601
# date or time (services.core.timestamps.parse_timestamp), a plain date as the README's examples give it too.
_TIME = {"type": "string", "examples": ["2024-03-31", "2024-03-31T14:05Z", "2024-03-31T16:05:00+02:00"]}
_TIME_FORMS = ("an ISO 8601 date (2024-03-31: its start, 00:00 UTC) or date and time (2024-03-31T14:05Z, "
               "2024-03-31T16:05:00+02:00), UTC when no offset is given")
_PUBLISHABLE_ARTICLES = ("Only articles one may publish now: not withheld and out of embargo, in a story whose "
                         "latest version is not canceled (killed) or withheld")


def document(*, token_required: bool) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "wirefeed read API",
            "version": "1.0.0",
            "description": "Read-only access to the articles and stories the sink stored. Results are bounded; "
                           "errors are JSON objects with an `error` message.",
        },
        "paths": {
            "/articles": {"get": _articles_operation()},
            "/stories": {"get": _stories_operation()},
            "/sources": {"get": _sources_operation()},
            "/articles/{article_id}": {"get": _article_operation()},
            "/stories/{story_id}": {"get": _story_operation()},
            "/openapi.json": {"get": {
                "operationId": "openapi",
                "summary": "This document",
                "responses": {"200": {"description": "OpenAPI 3.1 document",
                                      "content": {"application/json": {"schema": {"type": "object"}}}},
                              **_errors("401")},
            }},
        },
        "components": {"schemas": _schemas(), "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }
    if token_required:
        doc["security"] = [{"bearer": []}]
    return doc


def _articles_operation() -> dict[str, Any]:
    return _operation(
        "listArticles", "Stored articles, newest first (by published_at), optionally full-text searched", [
            _query("q", {"type": "string", "minLength": 1, "maxLength": MAX_QUERY_CHARS},
                   "Full-text query in web-search syntax (as PostgreSQL's websearch_to_tsquery reads it, on "
                   "either engine): every word must occur, quoted phrases, OR between alternatives, -word to "
                   "exclude (alone, every article without it; each '-' negates once, so --word does not); "
                   f"only the first {MAX_QUERY_TERMS} words count."),
            _query("since", _TIME, f"Only articles published at or after this time: {_TIME_FORMS}"),
            _query("until", _TIME, f"Only articles published before this time: {_TIME_FORMS}"),
            _query("source", {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,200}$"}, "Only this feed id"),
            _query("language", {"type": "string", "pattern": f"^{LANGUAGE_PATTERN}$"},
                   "Only articles in this language (ISO 639-1, as the article's `language` field has it; Norwegian "
                   "is `no`, and `nb` asks for it too)"),
            _agency_parameter("articles", "article's"),
            _query("publishable", {"type": "boolean", "default": False}, _PUBLISHABLE_ARTICLES),
            _limit("articles"),
            _query("after", {"type": "string", "minLength": 1, "maxLength": MAX_CURSOR_CHARS},
                   "The `next` value of the previous page's answer, with the same q, since, until, source, "
                   "language and agency: this page starts where that one ended"),
        ], ("Matching articles", "ArticleList"), _LIST_ERRORS)


def _stories_operation() -> dict[str, Any]:
    return _operation(
        "listStories", "Stories, newest first by their latest version's published_at: one line each, with how "
                       "many outlets carried it", [
            _query("q", {"type": "string", "minLength": 1, "maxLength": MAX_QUERY_CHARS},
                   "Full-text query as for /articles: stories of which some version or outlet's copy matches"),
            _query("since", _TIME, f"Only stories whose latest version was published at or after this time: "
                                   f"{_TIME_FORMS}"),
            _query("until", _TIME, f"Only stories whose latest version was published before this time: "
                                   f"{_TIME_FORMS}"),
            _agency_parameter("stories", "latest version's"),
            _query("publishable", {"type": "boolean", "default": False},
                   "Only stories whose latest version one may publish now: not canceled (killed), not withheld, "
                   "out of embargo"),
            _limit("stories"),
            _query("after", {"type": "string", "minLength": 1, "maxLength": MAX_CURSOR_CHARS},
                   "The `next` value of the previous page's answer, with the same q, since, until and agency"),
        ], ("Stories", "StoryList"), _LIST_ERRORS)


def _agency_parameter(what: str, whose: str) -> dict[str, Any]:
    return _query("agency", {"type": "string", "pattern": f"^{AGENCY_PATTERN}$"},
                  f"Only {what} of this news agency: the {whose} `agency` field (Reuters, AP, AFP, dpa, ...), or "
                  "another name of it (Associated Press); any case")


def _sources_operation() -> dict[str, Any]:
    return _operation(
        "listSources", "Feeds that stored articles, by feed id: how many articles, when the first and the last "
                       "were stored (the feed ids are what `source` filters on)", [
            _limit("sources"),
            _query("after", {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,200}$"},
                   "The `next` value of the previous page's answer: this page starts where that one ended"),
        ], ("Sources", "SourceList"), _LIST_ERRORS)


def _article_operation() -> dict[str, Any]:
    return _operation(
        "getArticle", "One stored article, as the articles topic carried it (its id is the topic's article id)",
        [_path_id("article_id")], ("The article", "Article"), _ONE_ERRORS)


def _story_operation() -> dict[str, Any]:
    return _operation("getStory", "Every stored version of a story and every outlet's copy",
                      [_path_id("story_id")], ("The story", "Story"), _ONE_ERRORS)


_LIST_ERRORS = ("400", "401", "500", "503", "504")
_ONE_ERRORS = ("400", "401", "404", "500", "503", "504")


def _operation(operation_id: str, summary: str, parameters: list[dict[str, Any]], answer: tuple[str, str],
               errors: tuple[str, ...]) -> dict[str, Any]:
    """A GET operation answering 200 with the ``answer`` (description, schema name), or one of ``errors``."""
    description, schema = answer
    return {"operationId": operation_id, "summary": summary, "parameters": parameters,
            "responses": {"200": _json(description, {"$ref": _REF.format(model=schema)}), **_errors(*errors)}}


def _limit(listed: str) -> dict[str, Any]:
    fewer = (f" (fewer when they hold more than {MAX_ANSWER_BYTES // 2**20} MiB of JSON, at least one: follow "
             "`next`)") if listed == "articles" else ""
    return _query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
                  f"How many {listed} at most{fewer}")


def _path_id(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True,
            "schema": {"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,200}$"}}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ERROR_TEXT = {"400": "Invalid input", "401": "Missing or wrong bearer token", "404": "No such story or article",
               "500": "Unexpected failure (logged by the sink)",
               "503": "The database is unavailable, or the sink is sending as many answers as it may hold; retry later",
               "504": "The query ran past WIREFEED_READ_API_STATEMENT_TIMEOUT_SECONDS and was cancelled; narrow it"}


_RETRY_AFTER = {"Retry-After": {
    "description": "Seconds to wait before trying again; sent when answers in flight are full",
    "schema": {"type": "integer", "minimum": 1}}}


def _errors(*statuses: str) -> dict[str, Any]:
    errors = {status: _json(_ERROR_TEXT[status], {"$ref": "#/components/schemas/Error"}) for status in statuses}
    if "503" in errors:
        errors["503"]["headers"] = _RETRY_AFTER
    return errors


def _page(listed: str, item: str) -> dict[str, Any]:
    """The envelope of one page of a list: its items under ``listed``, and where the next page starts."""
    return {
        "type": "object", "additionalProperties": False, "required": [listed, "count", "limit", "next"],
        "properties": {
            listed: {"type": "array", "items": {"$ref": _REF.format(model=item)}, "maxItems": MAX_LIMIT},
            "count": {"type": "integer", "minimum": 0},
            "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
            "next": {"type": ["string", "null"],
                     "description": "Pass as `after` for the next page; null when this page is the last"},
        },
    }


def _schemas() -> dict[str, Any]:
    # Open as the topic's schema is: the API serves an article as the topic carried it, with the fields a
    # later producer added within v1.
    article = open_objects(Article.model_json_schema(ref_template=_REF, mode="serialization"))
    schemas: dict[str, Any] = article.pop("$defs", {})
    schemas["Article"] = article
    schemas["ArticleList"] = _page("articles", "Article")
    schemas["StoryLine"] = {
        "type": "object", "additionalProperties": False,
        "required": ["story_id", "title", "latest_version", "outlets", "published_at", "pubstatus",
                     "embargoed_until"],
        "properties": {
            "story_id": {"type": "string"},
            "title": {"type": "string", "description": "The latest version's title"},
            "latest_version": {"type": "integer"},
            "outlets": {"type": "integer", "minimum": 1, "description": "Distinct feeds that carried the story"},
            "published_at": {"type": "string", "format": "date-time",
                             "description": "When the latest version was published"},
            "pubstatus": {"enum": [status.value for status in PubStatus],
                          "description": "The latest version's: `canceled` when the story was killed, `withheld` "
                                         "when it was held back"},
            "embargoed_until": {"type": ["string", "null"], "format": "date-time",
                                "description": "The latest version's embargo: not to be published before"},
        },
    }
    schemas["StoryList"] = _page("stories", "StoryLine")
    schemas["SourceLine"] = {
        "type": "object", "additionalProperties": False,
        "required": ["feed_id", "name", "url", "articles", "first_stored_at", "last_stored_at"],
        "properties": {
            "feed_id": {"type": "string"},
            "name": {"type": ["string", "null"], "description": "The feed's title, as its latest article gave it"},
            "url": {"type": ["string", "null"], "description": "The feed's URL, as its latest article gave it"},
            "articles": {"type": "integer", "minimum": 0, "description": "Articles of this feed in storage now"},
            "first_stored_at": {"type": "string", "format": "date-time"},
            "last_stored_at": {"type": "string", "format": "date-time"},
        },
    }
    schemas["SourceList"] = _page("sources", "SourceLine")
    schemas["StoryVersion"] = {
        "type": "object", "additionalProperties": False, "required": ["version", "copies"],
        "properties": {"version": {"type": "integer"},
                       "copies": {"type": "array", "items": {"$ref": "#/components/schemas/Article"},
                                  "description": "This version as each outlet carried it"}},
    }
    schemas["Story"] = {
        "type": "object", "additionalProperties": False,
        "required": ["story_id", "latest_version", "latest_article_id", "outlets", "versions", "truncated"],
        "properties": {
            "story_id": {"type": "string"},
            "latest_version": {"type": "integer"},
            "latest_article_id": {"type": "string"},
            "outlets": {"type": "integer", "minimum": 0, "description": "Distinct feeds among the articles listed"},
            "versions": {"type": "array", "items": {"$ref": "#/components/schemas/StoryVersion"}},
            "truncated": {"type": "boolean",
                          "description": f"True when the story has more than {STORY_MAX_ARTICLES} articles, "
                                         f"or more than {MAX_ANSWER_BYTES // 2**20} MiB of them"},
        },
    }
    schemas["Error"] = {"type": "object", "required": ["error"], "additionalProperties": False,
                        "properties": {"error": {"type": "string"}}}
    return schemas
