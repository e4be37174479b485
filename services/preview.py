"""``wirefeed feeds preview``: what wirefeed makes of one feed, without publishing or storing anything.

The document is fetched under the poller's own rules (address checks, size caps, proxy), or read from a
file (a wire document on disk), parsed as the poller parses it and cleaned as the normalizer cleans it,
before deduplication. It answers "does this feed read right?" before the feed is added, and "why does
this article look like that?" after.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from schemas import Article, FeedFormat, PubStatus, RawItem
from services.core.db import Database
from services.normalizer.clean import parse_body
from services.normalizer.normalize import NoTextError, normalize
from services.poller import archive
from services.poller.feeds import FeedConfig
from services.poller.fetch import FetchError, make_fetcher
from services.poller.formats import FeedContext, FeedParseError, parse_document
from services.poller.oauth import authorization
from services.poller.remote import RemoteError
from services.poller.settings import PollerSettings
from services.poller.spool import MAX_FILES_PER_POLL, SpoolError, UnusableFileError, open_spool
from services.poller.state import PollerStore

FEED_ID = "preview"
#: How much of each article's text, and of each part cleaning removed, the summary shows.
LEAD_CHARS = 160
REMOVED_CHARS = 100


class FileTooLargeError(Exception):
    """A file to preview is larger than the poller would fetch."""


@dataclass(frozen=True)
class Previewed:
    article: Article
    removed: list[str]  # what cleaning took out of the item's text (boilerplate, credit and byline lines)


@dataclass
class Preview:
    source: str
    format: FeedFormat
    title: str | None
    articles: list[Previewed] = field(default_factory=list)
    skipped: int = 0  # items with neither a title nor any text, which the normalizer skips too
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (item id, why), dead letters in the pipeline
    refused: list[str] = field(default_factory=list)  # titles (or ids) of items the feed's item rules refuse


def run_preview(source: str | FeedConfig, fmt: FeedFormat | None, *, as_json: bool, now: datetime,
                file_name: str | None = None) -> int:
    """The command: the articles as a summary or JSON lines on stdout, problems on stderr; the exit status."""
    if isinstance(source, FeedConfig):
        fmt = fmt or source.format
    settings = PollerSettings()
    try:
        body, content_type, url = read_source(source, settings, file_name=file_name)
        documents = _documents(body, url, settings)
        if archive.is_archive(body):
            content_type = None  # the archive's media type says nothing of its documents', as in the poller
    except (FetchError, SpoolError, RemoteError) as error:
        print(f"wirefeed feeds preview: {error.kind}: {error}", file=sys.stderr)
        return 1
    except UnusableFileError as error:  # a spooled file the poller would set aside as failed
        print(f"wirefeed feeds preview: {error}", file=sys.stderr)
        return 1
    except (OSError, FileTooLargeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        print(f"wirefeed feeds preview: {source}: {reason}", file=sys.stderr)  # a file: no FeedConfig
        return 1
    status = 0
    for document in documents:
        try:
            result = preview(document, url, now, content_type=content_type, fmt=fmt,
                             feed=source if isinstance(source, FeedConfig) else None)
        except FeedParseError as error:
            html = b"<html" in document[:4096].lower()
            hint = "; a web page? `wirefeed feeds discover URL` finds its feeds" if html else ""
            print(f"wirefeed feeds preview: not a feed wirefeed reads: {error}{hint}", file=sys.stderr)
            return 1
        for line in ([p.article.model_dump_json() for p in result.articles] if as_json else summary_lines(result)):
            print(line)
        status = status or (1 if result.rejected else 0)
    return status


def _documents(body: bytes, url: str, settings: PollerSettings) -> list[bytes]:
    """The body, or the documents of an archive (a spool's zip, tar or compressed file) as the poller reads them."""
    if not archive.is_archive(body):
        return [body]
    limits = archive.Limits(settings.max_body_bytes, settings.max_decompressed_bytes)
    return [document for _, document in archive.documents(body, url.rstrip("/").rpartition("/")[2], limits)]


def read_source(source: str | FeedConfig, settings: PollerSettings, *,
                file_name: str | None = None) -> tuple[bytes, str | None, str]:
    """The document's bytes, its content type and its URL: fetched when ``source`` is a configured feed
    (with its headers and credentials) or a URL, else read from the file of that name. A spool feed's
    (a directory's, a server's, a mailbox's) is its newest file waiting, or the one named."""
    if isinstance(source, FeedConfig) and source.is_spool:
        return asyncio.run(_spooled(source, settings, file_name))
    if isinstance(source, FeedConfig):
        return asyncio.run(_fetch(str(source.url), settings, source))
    if "://" in source:
        return asyncio.run(_fetch(source, settings))
    path = Path(source)
    with path.open("rb") as file:  # no bigger than a fetched body may be: /dev/zero is a file too
        body = file.read(settings.max_body_bytes + 1)
    if len(body) > settings.max_body_bytes:
        raise FileTooLargeError(f"larger than WIREFEED_MAX_BODY_BYTES ({settings.max_body_bytes:,} bytes)")
    return body, None, path.resolve().as_uri()


async def _fetch(url: str, settings: PollerSettings, feed: FeedConfig | None = None) -> tuple[bytes, str | None, str]:
    """The document at ``url``; a configured ``feed``'s as the poller fetches it: with its headers and
    credentials, and allowed the private networks it lists."""
    fetcher = make_fetcher(settings)
    try:
        if feed is None:
            result = await fetcher.fetch(url)
        else:
            feed_fetcher = fetcher.allowing(feed.private_networks)
            result = await feed_fetcher.fetch(url, headers=feed.headers,
                                              authorization=await authorization(feed.auth, feed_fetcher))
    finally:
        await fetcher.aclose()
    return result.body, result.content_type, result.final_url


async def _spooled(feed: FeedConfig, settings: PollerSettings, name: str | None) -> tuple[bytes, str | None, str]:
    """Read as the poller reads a spooled file, but nothing is moved, marked or remembered: the poller's
    memory of the feed's files is a scratch database's, thrown away."""
    fetcher = make_fetcher(settings)
    with tempfile.TemporaryDirectory(prefix="wirefeed-preview-") as scratch:
        db = Database(f"sqlite:///{Path(scratch) / 'state.db'}", session=settings.database_session)
        store = PollerStore(db)
        store.migrate()
        try:
            async with open_spool(feed, fetcher.allowing(feed.private_networks), store,
                                  settle_seconds=settings.spool_settle_seconds, off_loop=asyncio.to_thread,
                                  clock=lambda: datetime.now(UTC), known_hosts=settings.sftp_known_hosts) as spool:
                files = (await spool.waiting()).files
                file = _chosen(feed, files, name)
                print(f"wirefeed feeds preview: {file.name}, of {len(files)} waiting", file=sys.stderr)
                body = await spool.read(file, settings.max_body_bytes)
        finally:
            await fetcher.aclose()
            db.close()
    return body, None, f"{str(feed.url).rstrip('/')}/{file.name}"


def _chosen(feed: FeedConfig, files: list[Any], name: str | None) -> Any:
    """The file named, or the newest (files are listed oldest first)."""
    chosen = next((file for file in files if file.name == name), None) if name else files[-1] if files else None
    if chosen is None:
        what = f"no file {name!r}" if name else "no file"
        raise SpoolError(f"{what} waiting in {feed.url} (settled for WIREFEED_SPOOL_SETTLE_SECONDS, first "
                         f"{MAX_FILES_PER_POLL} oldest)")
    return chosen


def preview(body: bytes, url: str, now: datetime, *, content_type: str | None = None,
            fmt: FeedFormat | None = None, feed: FeedConfig | None = None) -> Preview:
    """Parse and normalize ``body`` (of a configured ``feed``, as the poller would publish its items: under
    its id, title and agency mark, their local times read in its time zone, those its item rules let
    through); raises FeedParseError when it is not a feed wirefeed reads."""
    context = (FeedContext.for_feed(feed, url, now) if feed is not None
               else FeedContext(feed_id=FEED_ID, feed_url=url, fetched_at=now))
    parsed = parse_document(body, context, content_type, fmt)
    result = Preview(url, parsed.format, context.feed_title or parsed.title)
    for raw in parsed.items:
        if feed is not None and not feed.wants(raw):
            result.refused.append(raw.title or raw.item_id.removeprefix(f"{context.feed_id}:"))
            continue
        try:
            article = normalize(raw, now)
            result.articles.append(Previewed(article, removed_parts(raw, article)))
        except NoTextError:
            result.skipped += 1
        except Exception as error:  # normalize() is pure: what it raises is this item's fault, as in the service
            item = raw.item_id.removeprefix(f"{context.feed_id}:")
            result.rejected.append((item, f"{type(error).__name__}: {error}"))
    return result


def removed_parts(raw: RawItem, article: Article) -> list[str]:
    """What cleaning took out of the item's text: whole paragraphs, and the ends cut off kept ones."""
    kept = article.body_text.split("\n\n") if article.body_text else []
    removed = []
    for paragraph in parse_body(raw.content_html or raw.summary_html or "", raw.link or raw.feed_url).paragraphs:
        if paragraph in kept:
            continue
        shortened = next((k for k in kept if paragraph.startswith(k)), None)
        removed.append(paragraph[len(shortened):].strip() if shortened else paragraph)
    return removed


def summary_lines(result: Preview) -> list[str]:
    """A few lines per article: title; date, language, agency, place, people; link; the text's start."""
    lines = [f"{result.format.value}: {result.title or '(untitled feed)'} — {len(result.articles)} article(s)"
             f" from {result.source}"]
    for number, (article, removed) in enumerate(((p.article, p.removed) for p in result.articles), 1):
        lines += [f"{number:>3}  {article.title}", f"     {_facts(article)}"]
        if article.canonical_url or article.url:
            lines.append(f"     {article.canonical_url or article.url}")
        if lead := " ".join(article.body_text.split()):
            lines.append(f"     {_cut(lead, LEAD_CHARS)}")
        lines += [f"     removed: {_cut(part, REMOVED_CHARS)}" for part in removed]
    if result.skipped:
        lines.append(f"skipped {result.skipped} item(s) with neither a title nor any text")
    lines += [f"rejected item {item}: {why}" for item, why in result.rejected]
    lines += [f"not published (the feed's skip_items/keep_items): {title}" for title in result.refused]
    return lines


def _cut(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[:chars - 1] + "…"


def _facts(article: Article) -> str:
    published = article.published_at.strftime("%Y-%m-%d %H:%M UTC")
    facts = [f"{published} (no date given: fetch time)" if article.published_at_estimated else published,
             article.language or "language unknown"]
    facts += [fact for fact in (article.agency, article.dateline.place) if fact]
    if article.byline:
        facts.append("by " + ", ".join(article.byline))
    facts += [f"{role}: {', '.join(names)}" for role, names in article.credits.items() if names != article.byline]
    if article.enclosures:
        count = len(article.enclosures)
        facts.append(f"{count} attachment{'s' if count > 1 else ''}")  # audio, pictures: what a desk can use
    if article.version > 1 or article.wire_prefixes:
        facts.append(f"version {article.version} {' '.join(article.wire_prefixes)}".rstrip())
    if article.urgency is not None:
        facts.append(f"urgency {article.urgency}")  # 1 is a flash: what a desk filters on
    if article.pubstatus is not PubStatus.USABLE:
        facts.append(article.pubstatus.value.upper())  # a kill or a hold must not read like any other item
    if article.embargoed_until:
        facts.append(f"embargoed until {article.embargoed_until.strftime('%Y-%m-%d %H:%M UTC')}")
    return " · ".join(facts)
