"""``wirefeed``: run a service, the whole pipeline, the demo, or a read/ops command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from datetime import datetime

from pydantic import ValidationError


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except ValidationError as error:
        print(f"wirefeed: invalid settings: {error}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wirefeed", description=__doc__)
    commands = parser.add_subparsers(title="commands")
    for name, text in (("poller", "fetch feeds and publish raw items"),
                       ("normalizer", "clean and deduplicate raw items into articles"),
                       ("sink", "store articles exactly once")):
        sub = commands.add_parser(name, help=text)
        sub.set_defaults(handler=_service(name))
        if name == "poller":
            sub.add_argument("--once", action="store_true", help="poll every feed once, then exit")
    commands.add_parser("run", help="run poller, normalizer and sink together").set_defaults(handler=_run)
    demo = commands.add_parser("demo", help="the whole pipeline on bundled sample feeds, then a summary")
    demo.add_argument("--timeout", type=float, default=120.0)
    demo.set_defaults(handler=_demo)
    export = commands.add_parser("export", help="stored articles as JSON lines on stdout")
    export.add_argument("--since", type=datetime.fromisoformat, help="published at or after (ISO 8601)")
    export.add_argument("--source", help="only this feed id")
    export.add_argument("--story", help="only this story id")
    export.set_defaults(handler=_export)
    feeds = commands.add_parser("feeds", help="feeds file tools").add_subparsers(title="feeds commands")
    check = feeds.add_parser("check", help="validate a feeds file")
    check.add_argument("file")
    check.set_defaults(handler=_feeds_check)
    return parser


def _service(name: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        if name == "poller":
            from services.poller.__main__ import main as poller
            from services.poller.feeds import FeedsFileError

            try:
                return poller(once=args.once)
            except FeedsFileError as error:
                print(f"wirefeed poller: {error}", file=sys.stderr)
                return 2
        if name == "normalizer":
            from services.normalizer.__main__ import main as normalizer

            return normalizer()
        from services.sink.__main__ import main as sink

        return sink()

    return run


def _run(_: argparse.Namespace) -> int:
    from services.core.supervise import Pipeline

    return Pipeline().start().wait()


def _demo(args: argparse.Namespace) -> int:
    from services.demo import run_demo

    return run_demo(timeout=args.timeout)


def _export(args: argparse.Namespace) -> int:
    from services.core.config import CommonSettings
    from services.core.db import Database
    from services.sink.store import SqlStore

    settings = CommonSettings()
    store = SqlStore(Database(settings.database_url.get_secret_value()))
    try:
        for article in store.export(since=args.since, feed_id=args.source, story_id=args.story):
            sys.stdout.write(article.model_dump_json() + "\n")
    finally:
        store.close()
    return 0


def _feeds_check(args: argparse.Namespace) -> int:
    from services.poller.feeds import FeedsFileError, load_feeds

    try:
        feeds = load_feeds(args.file).feeds
    except FeedsFileError as error:
        print(f"invalid: {error}", file=sys.stderr)
        return 1
    print(f"ok: {len(feeds)} feed(s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
