"""The poller's CLI commands (``wirefeed poller``, ``wirefeed feeds …``). Imports stay inside handlers
so that the CLI starts fast and light commands do not load Kafka or lxml."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from services.core import arguments

if TYPE_CHECKING:
    from services.poller.feeds import FeedConfig

#: Pages a backfill reads per feed at most: each is a request to the publisher.
MAX_BACKFILL_PAGES = 10_000
MAX_FAILED_LISTED = 100_000


def register(commands: argparse._SubParsersAction, feeds: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    poller = commands.add_parser("poller", help="fetch feeds and publish raw items")
    poller.add_argument("--once", action="store_true", help="poll every feed once, then exit")
    poller.set_defaults(handler=_poller)
    check = feeds.add_parser("check", help="validate a feeds file")
    check.add_argument("file", help="the feeds file (YAML) to check")
    check.set_defaults(handler=_feeds_check)
    status = feeds.add_parser("status", help="each feed's health, from the poller's state database")
    status.add_argument("--feeds", metavar="FILE", help="only the feeds of this feeds file (and never-polled ones)")
    status.set_defaults(handler=_feeds_status)
    failed = feeds.add_parser("failed", help="spooled files set aside (no document wirefeed reads, or too large), "
                                             "newest first, with why")
    failed.add_argument("--feed", metavar="FEED_ID", type=arguments.utf8, help="only this feed's")
    failed.add_argument("--limit", type=arguments.count(MAX_FAILED_LISTED), default=100, metavar="N",
                        help=f"at most N files (default 100, at most {MAX_FAILED_LISTED:,})")
    failed.set_defaults(handler=_feeds_failed)
    forget = feeds.add_parser("forget", help="delete the poller's state of feeds taken out of the feeds file")
    forget.add_argument("feed_ids", nargs="*", metavar="FEED_ID", help="feeds no longer in the feeds file")
    forget.add_argument("--unconfigured", action="store_true",
                        help="every feed in the state database that the feeds file does not configure")
    forget.add_argument("--dry-run", action="store_true", help="list what would be forgotten, change nothing")
    forget.set_defaults(handler=_feeds_forget)
    discover = feeds.add_parser("discover", help="find the feeds a web page announces or links to")
    discover.add_argument("url", help="a web page (http or https) that announces or links to feeds")
    discover.set_defaults(handler=_feeds_discover)
    preview = feeds.add_parser("preview", help="what wirefeed makes of a feed, publishing and storing nothing")
    preview.add_argument("source", metavar="URL_OR_FILE", nargs="?",
                         help="a feed's URL (fetched as the poller fetches) or a file")
    preview.add_argument("--feed", metavar="FEED_ID",
                         help="a feed of the feeds file instead, fetched with its headers and credentials")
    preview.add_argument("--format", dest="fmt", metavar="FORMAT",
                         help="read as this format instead of the detected one (rss, atom, ninjs, nitf, …)")
    preview.add_argument("--file", metavar="NAME",
                         help="with --feed on a spool feed (a directory, an SFTP or FTP server's, a mailbox): the "
                              "file (a message: UIDVALIDITY.UID) to preview; default the newest waiting")
    preview.add_argument("--json", action="store_true", help="each article as JSON, one per line")
    preview.set_defaults(handler=_feeds_preview)
    import_opml = feeds.add_parser("import-opml", help="an OPML subscription list as a feeds file")
    import_opml.add_argument("file", help="the OPML file to read")
    import_opml.add_argument("--out", metavar="FEEDS_FILE", help="write here (a new file) instead of stdout")
    import_opml.add_argument("--keep-private-networks", action="store_true",
                             help="keep the private networks outlines let their feeds reach "
                                  "(wirefeed:private_networks): for an OPML file of your own only, as they open "
                                  "your network to those feeds")
    import_opml.set_defaults(handler=_feeds_import_opml)
    backfill = feeds.add_parser("backfill", help="read feeds' archive pages now, with progress")
    backfill.add_argument("feed_ids", nargs="*", metavar="FEED_ID", help="default: every feed in the feeds file")
    backfill.add_argument("--max-pages", type=arguments.count(MAX_BACKFILL_PAGES), default=50, metavar="N",
                          help=f"RFC 5005 pages per feed at most (default 50, 1 to {MAX_BACKFILL_PAGES:,})")
    backfill.set_defaults(handler=_feeds_backfill)
    export_opml = feeds.add_parser("export-opml", help="a feeds file as an OPML 2.0 subscription list")
    export_opml.add_argument("feeds_file", help="the feeds file (YAML) to export")
    export_opml.set_defaults(handler=_feeds_export_opml)


def _poller(args: argparse.Namespace) -> int:
    from services.poller.__main__ import main
    from services.poller.feeds import FeedsFileError

    try:
        return main(once=args.once)
    except FeedsFileError as error:
        print(f"wirefeed poller: {error}", file=sys.stderr)
        return 2


def _feeds_backfill(args: argparse.Namespace) -> int:
    from services.poller.backfill import run_backfill
    from services.poller.feeds import FeedsFileError

    try:
        return run_backfill(args.feed_ids, args.max_pages)
    except FeedsFileError as error:
        print(f"wirefeed feeds backfill: {error}", file=sys.stderr)
        return 2


def _feeds_check(args: argparse.Namespace) -> int:
    from services.poller.feeds import FeedsFileError, load_feeds

    try:
        feeds = load_feeds(args.file).feeds
    except FeedsFileError as error:
        print(f"invalid: {error}", file=sys.stderr)
        return 1
    print(f"ok: {len(feeds)} feed(s)")
    for feed in feeds:  # a spool may be mounted only where the poller runs: said, not refused
        directory = feed.directory
        if directory is not None and not (directory.is_dir() and os.access(directory, os.R_OK | os.W_OK | os.X_OK)):
            print(f"note: {feed.id}: {directory} is not a directory this process can read and write "
                  "(files are moved to processed/ and failed/ inside it)", file=sys.stderr)
    if sftp_feeds := [feed for feed in feeds if feed.is_sftp]:
        for note in _sftp_host_key_notes(sftp_feeds):
            print(f"note: {note}", file=sys.stderr)
    for feed in feeds:
        _warn_of_private_networks(feed)
    return 0


def _sftp_host_key_notes(feeds: list[FeedConfig]) -> list[str]:
    from services.poller.settings import PollerSettings
    from services.poller.sftp import missing_host_keys

    return missing_host_keys(feeds, PollerSettings().sftp_known_hosts or Path.home() / ".ssh" / "known_hosts")


def _feeds_status(args: argparse.Namespace) -> int:
    from rich.console import Console

    from services.poller.feeds import FeedsFileError, load_feeds
    from services.poller.settings import PollerSettings
    from services.poller.status import show_status

    try:
        configured = [feed.id for feed in load_feeds(args.feeds, secrets=False).feeds] if args.feeds else None
    except FeedsFileError as error:
        print(f"wirefeed feeds status: {error}", file=sys.stderr)
        return 2
    settings = PollerSettings()
    return show_status(settings.state_url, configured, Console(), session=settings.database_session)


def _feeds_failed(args: argparse.Namespace) -> int:
    from rich.console import Console

    from services.poller.settings import PollerSettings
    from services.poller.status import show_failed

    settings = PollerSettings()
    return show_failed(settings.state_url, args.feed, max(args.limit, 1), Console(), session=settings.database_session)


def _feeds_forget(args: argparse.Namespace) -> int:
    from services.poller.feeds import FeedsFileError, load_feeds
    from services.poller.forget import run_forget
    from services.poller.settings import PollerSettings

    if bool(args.feed_ids) == args.unconfigured:
        print("wirefeed feeds forget: name feeds, or give --unconfigured", file=sys.stderr)
        return 2
    settings = PollerSettings()
    try:
        configured = {feed.id for feed in load_feeds(settings.feeds_file, secrets=False).feeds}
    except FeedsFileError as error:  # without it, a configured feed could be forgotten by mistake
        print(f"wirefeed feeds forget: {error}", file=sys.stderr)
        return 2
    return run_forget(settings.state_url, args.feed_ids, configured, unconfigured=args.unconfigured,
                      dry_run=args.dry_run, session=settings.database_session)


def _feeds_discover(args: argparse.Namespace) -> int:
    import asyncio

    from services.poller.discover import Discovery, discover, fetchable_url
    from services.poller.fetch import FetchError, make_fetcher
    from services.poller.settings import PollerSettings

    try:
        page = fetchable_url(args.url)
    except ValueError as error:  # said as what it is, not as the fetcher's "blocked_address"
        print(f"wirefeed feeds discover: {args.url!r} is not a page discover can fetch: {error}", file=sys.stderr)
        return 2

    async def run() -> Discovery:
        fetcher = make_fetcher(PollerSettings())  # the poller's own address rules, caps and proxy
        try:
            return await discover(page, fetcher)
        finally:
            await fetcher.aclose()

    try:
        found = asyncio.run(run())
    except FetchError as error:
        print(f"wirefeed feeds discover: {error.kind}: {error}", file=sys.stderr)
        return 1
    for url in found.feeds:
        print(url)
    if found.unfetchable:
        shown = ", ".join(repr(href) for href in found.unfetchable[:5]) + (", …" if len(found.unfetchable) > 5 else "")
        print(f"wirefeed feeds discover: left out {len(found.unfetchable)} feed link(s) that are no http(s) URL "
              f"the poller could fetch: {shown}", file=sys.stderr)
    if not found.feeds:
        what = ("links to no feed" if found.page else
                f"is neither a feed nor a web page (it answered {found.content_type or 'with no content type'})")
        print(f"wirefeed feeds discover: {page} {what}", file=sys.stderr)
    return 0 if found.feeds else 1


def _feeds_preview(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from schemas import FeedFormat
    from services.core.logging import configure_logging
    from services.preview import run_preview

    try:
        fmt = FeedFormat(args.fmt) if args.fmt else None
    except ValueError:
        print(f"wirefeed feeds preview: unknown format {args.fmt!r}; one of "
              f"{', '.join(f.value for f in FeedFormat)}", file=sys.stderr)
        return 2
    if (args.source is None) == (args.feed is None):
        print("wirefeed feeds preview: give a URL or a file, or --feed FEED_ID", file=sys.stderr)
        return 2
    source = args.source or _configured_feed(args.feed)
    if source is None:
        return 1
    if args.file and (isinstance(source, str) or not source.is_spool):
        print("wirefeed feeds preview: --file is for a spool feed (a directory, a server's, a mailbox)",
              file=sys.stderr)
        return 2
    configure_logging("WARNING", service="preview")  # on stderr: stdout is the preview's, and --json's lines
    return run_preview(source, fmt, as_json=args.json, now=datetime.now(UTC), file_name=args.file)


def _configured_feed(feed_id: str) -> FeedConfig | None:
    """The feed of the configured feeds file with that id, its credentials read; None (said why) if none."""
    from services.poller.feeds import FeedsFileError, load_feeds
    from services.poller.settings import PollerSettings

    path = PollerSettings().feeds_file
    try:
        feeds = load_feeds(path).feeds
    except FeedsFileError as error:
        print(f"wirefeed feeds preview: {error}", file=sys.stderr)
        return None
    found = next((feed for feed in feeds if feed.id == feed_id), None)
    if found is None:
        print(f"wirefeed feeds preview: no feed {feed_id!r} in {path}", file=sys.stderr)
    return found


def _feeds_import_opml(args: argparse.Namespace) -> int:
    import yaml

    from services.poller.opml import OpmlError, feeds_yaml, parse_opml, to_feed_configs

    try:
        entries = parse_opml(Path(args.file).read_bytes())
    except (OSError, OpmlError) as error:
        print(f"wirefeed feeds import-opml: {args.file}: {error}", file=sys.stderr)
        return 1
    feeds, skipped, private_networks_dropped = to_feed_configs(
        entries, keep_private_networks=args.keep_private_networks)
    for reason in skipped:
        print(f"skipped {reason}", file=sys.stderr)
    if args.keep_private_networks:
        _note_private_networks(feeds)
    else:
        _note_dropped_private_networks(private_networks_dropped)
    # Conversion is local and instant (no feed is fetched), so a summary is all the progress there is.
    print(f"imported {len(feeds)} feed(s), skipped {len(skipped)}", file=sys.stderr)
    text = yaml.safe_dump({"feeds": feeds_yaml(feeds)}, sort_keys=False, allow_unicode=True)
    if not args.out:
        sys.stdout.write(text)
        return 0
    try:
        with Path(args.out).open("x", encoding="utf-8") as out:  # never overwrite a feeds file
            out.write(text)
    except FileExistsError:
        print(f"wirefeed feeds import-opml: {args.out} exists; write a new file and merge by hand", file=sys.stderr)
        return 1
    except OSError as error:  # a directory that is not there, or not writable
        print(f"wirefeed feeds import-opml: cannot write {args.out}: {error.strerror}", file=sys.stderr)
        return 1
    print(f"wrote {len(feeds)} feed(s) to {args.out}", file=sys.stderr)
    return 0


def _note_private_networks(feeds: list[FeedConfig]) -> None:
    for feed in feeds:
        if feed.private_networks:
            print(f"note: {feed.id} may reach the private networks {', '.join(map(str, feed.private_networks))} "
                  "(its wirefeed:private_networks): keep them only for a feed on your own network", file=sys.stderr)
        _warn_of_private_networks(feed)


def _warn_of_private_networks(feed: FeedConfig) -> None:
    for warning in feed.private_network_warnings():
        print(f"warning: {feed.id}: {warning}", file=sys.stderr)


def _note_dropped_private_networks(feed_ids: list[str]) -> None:
    if feed_ids:
        print(f"note: dropped the private_networks (wirefeed:private_networks) of {', '.join(feed_ids)}: an OPML "
              "file could let a feed of its choosing reach addresses inside your network with them; give "
              "--keep-private-networks to keep them, for an OPML file of your own (feeds export-opml)", file=sys.stderr)


def _feeds_export_opml(args: argparse.Namespace) -> int:
    from services.poller.feeds import FeedsFileError, load_feeds
    from services.poller.opml import export_opml

    try:
        feeds = load_feeds(args.feeds_file, secrets=False).feeds  # OPML carries no credentials
    except FeedsFileError as error:
        print(f"wirefeed feeds export-opml: {error}", file=sys.stderr)
        return 1
    if spools := [feed.id for feed in feeds if feed.is_spool]:
        print(f"wirefeed feeds export-opml: left out spool feeds (directories, servers, mailboxes): "
              f"{', '.join(spools)}", file=sys.stderr)
    sys.stdout.write(export_opml(feeds).decode("utf-8"))
    return 0
