"""``wirefeed dead-letters``'s arguments, checked before Kafka is asked anything."""

from __future__ import annotations

import pytest

from services.cli import main as cli
from services.core.supervise import DEAD_LETTERING
from services.normalizer.service import STAGE as NORMALIZER
from services.sink.service import STAGE as SINK


@pytest.mark.parametrize("command", ["list", "redrive"])
def test_a_stage_that_writes_no_dead_letters_is_a_usage_error(command: str,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    # A misspelt stage matched no letter: "0 dead letter(s)", as if all were well.
    with pytest.raises(SystemExit) as exit_:
        cli(["dead-letters", command, "--stage", "normaliser"])
    assert exit_.value.code == 2
    assert "argument --stage: invalid choice: 'normaliser' (choose from" in capsys.readouterr().err


def test_the_stages_offered_are_those_that_dead_letter() -> None:
    assert set(DEAD_LETTERING) == {NORMALIZER, SINK}
