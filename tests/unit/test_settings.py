"""Settings as the operator meets them: every variable the services read is documented in the README's
configuration table, and an error names the variable they set."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from services.cli import main as cli
from services.core.config import CommonSettings, setting_variables, settings_problems
from services.normalizer.settings import NormalizerSettings
from services.poller.settings import PollerSettings
from services.sink.settings import SinkSettings

README = Path(__file__).resolve().parents[2] / "README.md"
SERVICES = ("POLLER", "NORMALIZER", "SINK")


def _read_variables() -> set[str]:
    return {name for kind in (PollerSettings, NormalizerSettings, SinkSettings)
            for names in setting_variables(kind).values() for name in names}


def _documented_rows() -> list[list[str]]:
    """The names in the first cell of each row of the README's configuration table, with the README's
    shorthands: `_SSL_CERTFILE` after `WIREFEED_KAFKA_SSL_CAFILE`, `_READ_` after
    `WIREFEED_CONNECT_TIMEOUT_SECONDS`, `WIREFEED_<SERVICE>_METRICS_PORT`."""
    section = README.read_text().split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    cells = [line.split(" | ")[0] for line in section.splitlines() if line.startswith("| `")]
    return [re.findall(r"`([A-Z_<>]+)`", cell) for cell in cells]


def _spelled_out(name: str, row: list[str]) -> set[str]:
    """What a name of a row may stand for: itself, a service's, or a shorthand in place of words of the
    row's first name."""
    if not name.startswith("_"):
        return {name.replace("<SERVICE>", service) for service in SERVICES}
    base = row[0]
    cuts = [i for i, char in enumerate(base) if char == "_"] + [len(base)]
    if not name.endswith("_"):  # the base's last words
        return {base[:cut] + name for cut in cuts}
    return {base[:start] + name.rstrip("_") + base[end:] for start in cuts for end in cuts if end > start}


def test_every_variable_the_services_read_is_in_the_readmes_configuration_table() -> None:
    # WIREFEED_MAX_BATCH_LATENCY_MS, WIREFEED_GROUP_ID and WIREFEED_METRICS_HOST were read but not listed,
    # the first named in a runbook, the second one that must not be set where both stages read it.
    read = _read_variables()
    documented = {meant for row in _documented_rows() for name in row for meant in _spelled_out(name, row)}
    assert sorted(read - documented) == []


def test_every_variable_the_configuration_table_names_is_read() -> None:
    read = _read_variables()
    stale = [name for row in _documented_rows() for name in row if not _spelled_out(name, row) & read]
    assert stale == []


def _error(capsys: pytest.CaptureFixture[str]) -> str:
    return capsys.readouterr().err.strip().removeprefix("wirefeed: invalid settings: ")


def test_a_value_out_of_range_is_named_by_its_variable(monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("WIREFEED_TOPIC_PARTITIONS", "0")
    assert cli(["sink"]) == 2  # before anything starts
    assert _error(capsys) == "WIREFEED_TOPIC_PARTITIONS: Input should be greater than or equal to 1"


@pytest.mark.parametrize(("variable", "service"), [
    ("WIREFEED_METRICS_PORT", "normalizer"), ("WIREFEED_METRICS_PORT", "sink"),
    ("WIREFEED_NORMALIZER_METRICS_PORT", "normalizer"), ("WIREFEED_SINK_METRICS_PORT", "sink"),
])
def test_a_setting_read_under_several_names_is_named_as_it_was_set(variable: str, service: str,
                                                                   monkeypatch: pytest.MonkeyPatch,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    # WIREFEED_METRICS_PORT=abc was blamed on WIREFEED_NORMALIZER_METRICS_PORT, which nobody had set.
    for name in ("WIREFEED_METRICS_PORT", "WIREFEED_NORMALIZER_METRICS_PORT", "WIREFEED_SINK_METRICS_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(variable, "abc")
    assert cli([service]) == 2
    assert _error(capsys) == f"{variable}: Input should be a valid integer, unable to parse string as an integer"


def test_of_two_names_set_the_one_read_is_named(monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("WIREFEED_METRICS_PORT", "9400")  # the image's, shadowed by the service's own
    monkeypatch.setenv("WIREFEED_SINK_METRICS_PORT", "70000")
    assert cli(["sink"]) == 2
    assert _error(capsys) == "WIREFEED_SINK_METRICS_PORT: Input should be less than or equal to 65535"


def test_a_value_given_in_code_keeps_the_fields_name() -> None:
    with pytest.raises(ValidationError) as error:
        CommonSettings(topic_partitions=0)  # type: ignore[call-arg]
    assert settings_problems(error.value, environ={}) == "topic_partitions: Input should be greater than or equal to 1"
