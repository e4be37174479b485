"""The sink's CLI commands: the service and the read side."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeVar

from services.core import arguments
from services.core.commands import add_positions_arguments, positions_command
from services.core.config import MAX_DAYS  # the settings' bound on ages, the same for purge
from services.core.text import one_line
from services.core.timestamps import timestamp_argument
from services.sink.api_limits import LANGUAGE_PATTERN, MAX_QUERY_CHARS

if TYPE_CHECKING:
    from services.core.db import Database
    from services.sink.reads import StoryVersions

T = TypeVar("T")

#: The CLI may ask for more than the HTTP API's 500, but not for an unbounded result by accident.
MAX_SEARCH_LIMIT = 10_000
_LIMIT = arguments.count(MAX_SEARCH_LIMIT)


def _as_the_read_api_takes(parameter: str) -> Callable[[str], str]:
    """An argparse type: the value as the read API takes its ``parameter`` (services.sink.api.CHECKS), so
    that what it answers 400 is a usage error here, not a query (or a traceback from the database driver:
    text that is not UTF-8, which the API never receives, is refused first)."""
    def parse(value: str) -> str:
        from services.sink import api  # the read side's imports, only when the argument is given

        try:
            return api.CHECKS[parameter](arguments.utf8(value)) or value
        except api.ApiError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return parse


_SOURCE, _STORY = (_as_the_read_api_takes(parameter) for parameter in ("source", "story"))
_AS_Q = _as_the_read_api_takes("q")


def _query(value: str) -> str:
    """An argparse type: a query as the read API takes its ``q``, with something to search for. One of no
    words ("", "---", '"(*') found nothing, silently, with status 0: a mistake (an empty variable in a
    script) then looked like a store without matches. The API reads an empty ``q=`` as no filter, but a
    search named on the command line is meant to filter."""
    from services.sink.search import parse_query

    query = _AS_Q(value)
    if parse_query(query) is None:
        raise argparse.ArgumentTypeError("the query has no words to search for (letters or digits)")
    return query
# Not checked as the API checks its agency: the API's pattern is written for OpenAPI clients' regular
# expressions (letters of the main scripts as ranges); the CLI takes any spelling the normalizer knows.
_LANGUAGE_HELP = "only articles in this language (ISO 639-1: en, de; Norwegian is no, and nb asks for it too)"
_AGENCY_HELP = "only articles of this news agency, by any of its names (Reuters, AP, Associated Press; any case)"


def register(commands: argparse._SubParsersAction, positions: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    commands.add_parser("sink", help="store articles exactly once").set_defaults(handler=_sink)
    stage = positions.add_parser("sink", help="the sink's stored offsets on the articles topic (in its database)")
    add_positions_arguments(stage)
    stage.set_defaults(handler=_positions)
    export = commands.add_parser("export", help="stored articles as JSON lines on stdout")
    export.add_argument("--since", type=timestamp_argument, help="published at or after (ISO 8601; UTC if no offset)")
    export.add_argument("--until", type=timestamp_argument, help="published before (ISO 8601; UTC if no offset)")
    export.add_argument("--source", type=_SOURCE, help="only this feed id")
    export.add_argument("--story", type=_STORY, help="only this story id")
    export.add_argument("--language", type=_language, help=_LANGUAGE_HELP)
    export.add_argument("--agency", type=arguments.utf8, help=_AGENCY_HELP)
    export.add_argument("--publishable", action="store_true",
                        help="only articles one may publish now (usable, out of embargo, story not killed or withheld)")
    _add_timeout(export, "each page of the export is one")
    export.set_defaults(handler=_export)
    search = commands.add_parser("search", help="full-text search of stored articles, newest first")
    search.add_argument("query", type=_query,
                        help=f'web-search syntax: words, "a phrase", or, -word (at most {MAX_QUERY_CHARS} characters)')
    search.add_argument("--since", type=timestamp_argument, help="published at or after (ISO 8601; UTC if no offset)")
    search.add_argument("--until", type=timestamp_argument, help="published before (ISO 8601; UTC if no offset)")
    search.add_argument("--source", type=_SOURCE, help="only this feed id")
    search.add_argument("--language", type=_language, help=_LANGUAGE_HELP)
    search.add_argument("--agency", type=arguments.utf8, help=_AGENCY_HELP)
    search.add_argument("--limit", type=_LIMIT, default=20, metavar="N",
                        help=f"at most N results (default 20, max {MAX_SEARCH_LIMIT})")
    search.add_argument("--publishable", action="store_true",
                        help="only articles one may publish now (usable, out of embargo, story not killed or withheld)")
    search.add_argument("--json", action="store_true", help="one article as JSON per line instead of a summary")
    _add_timeout(search)
    search.set_defaults(handler=_search)
    stories = commands.add_parser("stories", help="stories with their latest version and how many outlets carried them")
    stories.add_argument("--query", type=_query, metavar="QUERY",
                         help="only stories of which some version or copy matches (full text, as for search)")
    stories.add_argument("--since", type=timestamp_argument, help="latest version published at or after (ISO 8601)")
    stories.add_argument("--until", type=timestamp_argument, help="latest version published before (ISO 8601)")
    stories.add_argument("--agency", type=arguments.utf8,
                         help="only stories whose latest version is this agency's (as for export)")
    stories.add_argument("--limit", type=_LIMIT, metavar="N",
                         help=f"at most N stories (default: every one; max {MAX_SEARCH_LIMIT})")
    stories.add_argument("--publishable", action="store_true",
                         help="only stories whose latest version may run now (not killed, withheld or embargoed)")
    stories.add_argument("--json", action="store_true", help="one story as JSON per line (as GET /stories lists it)")
    _add_timeout(stories)
    stories.set_defaults(handler=_stories)
    story = commands.add_parser("story", help="one story: every version and every outlet's copy, oldest first")
    story.add_argument("story_id", type=_STORY, help="a story id, as `wirefeed stories` lists it")
    story.add_argument("--json", action="store_true", help="the story as JSON (as GET /stories/{id} gives it)")
    _add_timeout(story)
    story.set_defaults(handler=_story)
    sources = commands.add_parser("sources", help="feeds that stored articles: how many, first and last stored")
    sources.add_argument("--json", action="store_true", help="one source as JSON per line (as GET /sources lists it)")
    _add_timeout(sources)
    sources.set_defaults(handler=_sources)
    purge = commands.add_parser("purge", help="delete stored articles older than an age now, with progress")
    purge.add_argument("--older-than-days", type=arguments.amount("days", MAX_DAYS), required=True,
                       help=f"the age in days (more than 0, at most {MAX_DAYS:,}; 0.5 is twelve hours)")
    purge.add_argument("--batch", type=_LIMIT, default=1000, help="articles per transaction")
    purge.set_defaults(handler=_purge)


def _sink(_: argparse.Namespace) -> int:
    from services.sink.__main__ import main

    return main()


def _export(args: argparse.Namespace) -> int:
    from services.sink.store import SqlStore

    def run(db: Database) -> None:
        publishable_at = datetime.now(UTC) if args.publishable else None
        for article in SqlStore(db).export_json(since=args.since, until=args.until, feed_id=args.source,
                                                story_id=args.story, language=args.language, agency=args.agency,
                                                publishable_at=publishable_at):
            sys.stdout.write(article + "\n")

    return _with_database(run, timeout=args.timeout)


def _search(args: argparse.Namespace) -> int:
    import json

    from services.sink.reads import Reader

    def run(db: Database) -> None:
        publishable_at = datetime.now(UTC) if args.publishable else None
        for article in Reader(db).articles(query=args.query, since=args.since, until=args.until, feed_id=args.source,
                                           language=args.language, agency=args.agency,
                                           publishable_at=publishable_at, limit=args.limit):
            if args.json:
                sys.stdout.write(json.dumps(article) + "\n")
            else:
                sys.stdout.write(f"{article['published_at']}\t{article['feed_id']}\t{one_line(article['title'])}"
                                 f"\t{article['id']}\n")

    return _with_database(run, timeout=args.timeout)


def _stories(args: argparse.Namespace) -> int:
    import json

    from services.sink.reads import Reader

    def run(db: Database) -> None:
        now = datetime.now(UTC)
        for story in Reader(db).stories(query=args.query, since=args.since, until=args.until, agency=args.agency,
                                        publishable_at=now if args.publishable else None, limit=args.limit):
            if args.json:
                sys.stdout.write(json.dumps(story.as_json()) + "\n")
                continue
            outlets = f"{story.outlets} outlet" + ("s" if story.outlets != 1 else "")
            sys.stdout.write(f"{one_line(story.title)}\tv{story.version}\t{outlets}\t{story.story_id}"
                             f"\t{story.status(now)}\n")

    return _with_database(run, timeout=args.timeout)


def _story(args: argparse.Namespace) -> int:
    from services.sink.reads import Reader

    missing = []

    def run(db: Database) -> None:
        story = Reader(db).story(args.story_id, limit=MAX_SEARCH_LIMIT)
        if story is None:
            missing.append(args.story_id)
        else:
            _print_story(story, as_json=args.json)

    status = _with_database(run, timeout=args.timeout)
    if missing:
        print(f"wirefeed: no story {args.story_id}", file=sys.stderr)
        return 1
    return status


def _print_story(story: StoryVersions, *, as_json: bool) -> None:
    import json

    if as_json:
        sys.stdout.write(json.dumps(story.as_json()) + "\n")
        return
    for article in story.articles:
        copy = "copy" if article.get("duplicate_of") else "own"
        sys.stdout.write(f"v{article['version']}\t{article['published_at']}\t{article['feed_id']}\t{copy}"
                         f"\t{one_line(article['title'])}\t{article['id']}\t{article.get('pubstatus', 'usable')}\n")
    if story.truncated:
        print(f"wirefeed: only the story's first {MAX_SEARCH_LIMIT} articles are listed", file=sys.stderr)


def _sources(args: argparse.Namespace) -> int:
    import json

    from services.sink.reads import Reader

    def run(db: Database) -> None:
        for source in Reader(db).sources():
            if args.json:
                sys.stdout.write(json.dumps(source.as_json()) + "\n")
                continue
            line = source.as_json()
            articles = f"{source.articles} article" + ("s" if source.articles != 1 else "")
            sys.stdout.write(f"{source.feed_id}\t{one_line(source.name or '')}\t{articles}"
                             f"\t{line['first_stored_at']}\t{line['last_stored_at']}\t{source.url or ''}\n")

    return _with_database(run, timeout=args.timeout)


def _positions(args: argparse.Namespace) -> int:
    from services.core.db import run_command
    from services.sink.settings import SinkSettings
    from services.sink.store import SqlStore, StoredPositions

    settings = SinkSettings()
    status = 0

    def run(db: Database) -> None:
        nonlocal status
        status = positions_command(settings, settings.consumer_group, settings.topics.articles,
                                   lambda _: StoredPositions(SqlStore(db)), args.moves)

    return run_command(settings.database_url.get_secret_value(), run, creator="the sink",
                       read_only=not args.moves, session=settings.database_session) or status


def _purge(args: argparse.Namespace) -> int:
    from services.sink.purge import purge_with_progress

    return _with_database(lambda db: purge_with_progress(db, args.older_than_days, args.batch), read_only=False)


def _with_database(run: Callable[[Database], None], *, read_only: bool = True, timeout: float = 0.0) -> int:
    from services.core.config import CommonSettings
    from services.core.db import run_command

    settings = CommonSettings()
    session = replace(settings.database_session, statement_timeout=timeout)
    return run_command(settings.database_url.get_secret_value(), run, creator="the sink", read_only=read_only,
                       session=session)


def _add_timeout(command: argparse.ArgumentParser, what_is_a_query: str = "") -> None:
    # A script or cron job reading the store should fail rather than hang on a query that reads it all.
    said = f" ({what_is_a_query})" if what_is_a_query else ""
    command.add_argument("--timeout", type=arguments.amount("seconds"), default=0.0, metavar="SECONDS",
                         help=f"cancel a query running longer{said}; default: no limit")


def _language(text: str) -> str:
    if not re.fullmatch(LANGUAGE_PATTERN, text):
        raise argparse.ArgumentTypeError("must be a two-letter ISO 639-1 code, such as en or de")
    return text.lower()
