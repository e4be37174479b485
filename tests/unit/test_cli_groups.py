"""A group of commands named alone shows its own commands, not the top-level help, and fails."""

from __future__ import annotations

import pytest

from services.cli import main


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
