"""The pipeline supervisor's own checks (its runs are tested end to end in tests/e2e)."""

from __future__ import annotations

import pytest

from services.cli import main
from services.core.supervise import DEFAULT_PORTS, Pipeline


@pytest.fixture(autouse=True)
def no_ports_from_outside(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in DEFAULT_PORTS:
        monkeypatch.delenv(f"WIREFEED_{name.upper()}_METRICS_PORT", raising=False)
    monkeypatch.delenv("WIREFEED_METRICS_PORT", raising=False)


def test_two_services_on_one_metrics_port_are_refused_before_anything_starts() -> None:
    env = {"WIREFEED_POLLER_METRICS_PORT": "19401", "WIREFEED_SINK_METRICS_PORT": "19401"}
    with pytest.raises(ValueError, match="poller and sink are both given metrics port 19401"):
        Pipeline(env)


def test_wirefeed_run_says_which_ports_collide_and_starts_nothing(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("WIREFEED_NORMALIZER_METRICS_PORT", "9401")  # the poller's default
    assert main(["run"]) == 2
    assert "poller and normalizer are both given metrics port 9401" in capsys.readouterr().err


def test_distinct_ports_any_free_ports_and_the_defaults_are_accepted() -> None:
    assert Pipeline({"WIREFEED_SINK_METRICS_PORT": "19403"}).port("sink") == 19403
    anywhere = {f"WIREFEED_{name.upper()}_METRICS_PORT": "0" for name in DEFAULT_PORTS}
    assert {Pipeline(anywhere).port(name) for name in DEFAULT_PORTS} == {0}
    assert {Pipeline({}).port(name) for name in DEFAULT_PORTS} == set(DEFAULT_PORTS.values())


def test_one_service_alone_is_not_compared_with_the_others() -> None:
    env = {"WIREFEED_POLLER_METRICS_PORT": "19402"}  # the normalizer's default, but it is not run
    assert Pipeline(env, services=("poller",)).port("poller") == 19402
