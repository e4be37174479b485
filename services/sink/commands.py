"""The sink's CLI commands: the service and the read side."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    commands.add_parser("sink", help="store articles exactly once").set_defaults(handler=_sink)
    export = commands.add_parser("export", help="stored articles as JSON lines on stdout")
    export.add_argument("--since", type=datetime.fromisoformat, help="published at or after (ISO 8601)")
    export.add_argument("--source", help="only this feed id")
    export.add_argument("--story", help="only this story id")
    export.set_defaults(handler=_export)


def _sink(_: argparse.Namespace) -> int:
    from services.sink.__main__ import main

    return main()


def _export(args: argparse.Namespace) -> int:
    from services.core.config import CommonSettings
    from services.core.db import Database
    from services.sink.store import SqlStore

    store = SqlStore(Database(CommonSettings().database_url.get_secret_value()))
    try:
        for article in store.export(since=args.since, feed_id=args.source, story_id=args.story):
            sys.stdout.write(article.model_dump_json() + "\n")
    finally:
        store.close()
    return 0
