"""Settings as the operator meets them: an error names the variable they set."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.cli import main as cli
from services.core.config import CommonSettings, settings_problems


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
