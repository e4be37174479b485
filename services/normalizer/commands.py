"""The normalizer's CLI commands."""

from __future__ import annotations

import argparse
import sys

from services.core.commands import add_positions_arguments, positions_command
from services.core.timestamps import timestamp_argument


def register(commands: argparse._SubParsersAction, positions: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    commands.add_parser("normalizer", help="clean and deduplicate raw items into articles").set_defaults(
        handler=_normalizer)
    replay = commands.add_parser("replay", help="normalize the raw topic again from a point in time")
    replay.add_argument("--from", dest="since", required=True, type=timestamp_argument, metavar="ISO",
                        help="ISO 8601 time; raw items appended at or after it are replayed")
    replay.add_argument("--to-topic", help="publish here instead of the articles topic (e.g. a new version)")
    replay.set_defaults(handler=_replay)
    stage = positions.add_parser("normalizer", help="the normalizer's group offsets on the raw topic")
    add_positions_arguments(stage)
    stage.set_defaults(handler=_positions)


def _replay(args: argparse.Namespace) -> int:
    from services.core.logging import configure_logging
    from services.normalizer.replay import replay
    from services.normalizer.settings import NormalizerSettings

    settings = NormalizerSettings()
    configure_logging(settings.log_level, settings.log_format, service="replay")
    count = replay(settings, args.since, args.to_topic, show_progress=sys.stderr.isatty())
    print(f"replayed {count} raw item(s)")
    return 0


def _positions(args: argparse.Namespace) -> int:
    from services.core.positions import GroupOffsets
    from services.normalizer.settings import NormalizerSettings

    settings = NormalizerSettings()
    group = settings.consumer_group
    return positions_command(settings, group, settings.topics.raw_items, lambda admin: GroupOffsets(admin, group),
                             args.moves)


def _normalizer(_: argparse.Namespace) -> int:
    from services.normalizer.__main__ import main

    return main()
