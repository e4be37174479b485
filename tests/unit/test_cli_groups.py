"""A group of commands named alone shows its own commands, not the top-level help, and fails; every
argument's help says what it is."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pytest

from services.cli import build_parser, main


@pytest.mark.parametrize(("argv", "lists"), [
    (["feeds"], "{check,status,failed"), (["dead-letters"], "{list,redrive}"),
    (["positions"], "{normalizer,sink}"), ([], "{feeds,positions,poller"),
])
def test_a_group_named_alone_shows_its_commands_and_exits_2(argv: list[str], lists: str,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"usage: wirefeed {' '.join(argv)}".rstrip() + " [-h]") and lists in err


def _arguments(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[
        tuple[tuple[str, ...], argparse.Action]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, command in action.choices.items():
                yield from _arguments(command, (*path, name))
        elif not isinstance(action, argparse._HelpAction):
            yield path, action


def test_every_argument_of_every_command_says_what_it_is() -> None:
    unexplained = [f"wirefeed {' '.join(path)} {action.option_strings or action.dest}"
                   for path, action in _arguments(build_parser()) if not action.help]
    assert unexplained == []


@pytest.mark.parametrize("command", ["search", "stories", "story", "sources"])
def test_a_read_commands_timeout_is_explained_for_that_command(command: str) -> None:
    read = next(action for path, action in _arguments(build_parser())
                if path == (command,) and "--timeout" in action.option_strings)
    assert "export" not in str(read.help)
