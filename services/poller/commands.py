"""The poller's CLI commands (``wirefeed poller``, ``wirefeed feeds …``). Imports stay inside handlers
so that the CLI starts fast and light commands do not load Kafka or lxml."""

from __future__ import annotations

import argparse
import sys


def register(commands: argparse._SubParsersAction, feeds: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    poller = commands.add_parser("poller", help="fetch feeds and publish raw items")
    poller.add_argument("--once", action="store_true", help="poll every feed once, then exit")
    poller.set_defaults(handler=_poller)
    check = feeds.add_parser("check", help="validate a feeds file")
    check.add_argument("file")
    check.set_defaults(handler=_feeds_check)


def _poller(args: argparse.Namespace) -> int:
    from services.poller.__main__ import main
    from services.poller.feeds import FeedsFileError

    try:
        return main(once=args.once)
    except FeedsFileError as error:
        print(f"wirefeed poller: {error}", file=sys.stderr)
        return 2


def _feeds_check(args: argparse.Namespace) -> int:
    from services.poller.feeds import FeedsFileError, load_feeds

    try:
        feeds = load_feeds(args.file).feeds
    except FeedsFileError as error:
        print(f"invalid: {error}", file=sys.stderr)
        return 1
    print(f"ok: {len(feeds)} feed(s)")
    return 0
