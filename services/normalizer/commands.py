"""The normalizer's CLI commands."""

from __future__ import annotations

import argparse


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    commands.add_parser("normalizer", help="clean and deduplicate raw items into articles").set_defaults(
        handler=_normalizer)


def _normalizer(_: argparse.Namespace) -> int:
    from services.normalizer.__main__ import main

    return main()
