"""``wirefeed status``: readiness, rates, lag and failing feeds, read from the services' endpoints."""

from __future__ import annotations

import pytest

from services.cli import build_parser
from services.cli import main as cli
from services.core.status import main
from tests.helpers import FeedServer, Resource, free_port

TEXT = {"Content-Type": "text/plain"}


class Endpoints(dict[str, Resource]):
    """A service's /readyz, and /metrics whose throughput counter grows by 10 at every scrape."""

    def __init__(self, ready: bool, counter: str, extra: str = "", checks: bytes = b"{}") -> None:
        super().__init__({"/readyz": Resource(checks, 200 if ready else 503, TEXT)})
        self.counter, self.extra, self.scrapes = counter, extra, 0

    def get(self, path: str, default: Resource | None = None) -> Resource | None:  # type: ignore[override]
        if path != "/metrics":
            return super().get(path, default)
        self.scrapes += 1
        return Resource(f"{self.counter} {10 * self.scrapes}\n{self.extra}".encode(), 200, TEXT)


def serve(endpoints: Endpoints) -> FeedServer:
    server = FeedServer()
    server.resources = endpoints
    return server.start()


def port_of(server: FeedServer) -> int:
    assert server.server is not None
    return int(server.server.server_address[1])


def table_rows(out: str) -> dict[str, list[str]]:
    """Each table row's cells, keyed by the first, from rich's rendering."""
    rows = [[cell.strip() for cell in line.split("│")[1:-1]] for line in out.splitlines() if "│" in line]
    return {row[0]: row[1:] for row in rows}


def test_status_shows_each_service_and_the_worst_feeds(capsys: pytest.CaptureFixture[str]) -> None:
    servers = {
        "poller": serve(Endpoints(True, 'wirefeed_poller_items_published_total{feed="a"}',
                                  'wirefeed_poller_consecutive_failures{feed="a"} 0\n'
                                  'wirefeed_poller_consecutive_failures{feed="down"} 7\n'
                                  'wirefeed_poller_missed_pages{feed="a"} 0\n'
                                  'wirefeed_poller_missed_pages{feed="paged"} 2\n')),
        "normalizer": serve(Endpoints(True, "wirefeed_normalizer_items_consumed_total",
                                      'wirefeed_consumer_lag_messages{partition="0",topic="raw"} 40\n'
                                      'wirefeed_consumer_lag_messages{partition="1",topic="raw"} 2\n'
                                      'wirefeed_dead_letters_total{error_class="ValidationError",stage="normalizer"} 2'
                                      '\nwirefeed_dead_letters_total{error_class="TypeError",stage="normalizer"} 1\n')),
        "sink": serve(Endpoints(False, "wirefeed_sink_rows_written_total",
                                'wirefeed_consumer_lag_messages{partition="0",topic="articles"} 0\n',
                                b'{"ready": false, "checks": {"kafka": true, "consuming": false}}')),
    }
    try:
        status = main({name: port_of(server) for name, server in servers.items()}, interval=0.5)
    finally:
        for server in servers.values():
            server.stop()
    assert status == 1  # the sink is not ready
    out = capsys.readouterr().out
    rows = table_rows(out)
    assert rows["poller"][1:] == ["ready", "20.0", "-", "-"]  # 10 more in 0.5 s; no consumer lag, no dead letters
    assert rows["normalizer"][1:] == ["ready", "20.0", "42", "3"]
    assert rows["sink"][1:] == ["not ready: consuming", "20.0", "0", "0"]  # none yet: the counter has no sample
    assert "`wirefeed dead-letters list` shows them" in out
    assert rows["down"] == ["7", "0"]
    assert rows["paged"] == ["0", "2"]  # polls fine, but two older pages wait to be read again
    assert "a" not in rows  # no failures, nothing missed: not among the worst
    assert list(rows)[-2:] == ["down", "paged"]  # failures first


def test_services_that_do_not_answer_show_nothing_made_up(capsys: pytest.CaptureFixture[str]) -> None:
    assert main({name: free_port() for name in ("poller", "normalizer", "sink")}, interval=0.1) == 1
    out = capsys.readouterr().out
    rows = table_rows(out)
    assert [rows[name][1:] for name in ("poller", "normalizer", "sink")] == [["unreachable", "-", "-", "-"]] * 3
    assert "feed failures unknown: the poller does not answer" in out
    assert "no failing feeds" not in out


def test_status_says_when_the_poller_kept_its_feeds_because_the_file_is_invalid(
        capsys: pytest.CaptureFixture[str]) -> None:
    outcomes = []
    for valid in (0, 1):
        servers = {name: serve(Endpoints(True, counter, f"wirefeed_poller_feeds_file_last_reload_successful {valid}\n"))
                   for name, counter in (("poller", "wirefeed_poller_items_published_total"),
                                         ("normalizer", "wirefeed_normalizer_items_consumed_total"),
                                         ("sink", "wirefeed_sink_rows_written_total"))}
        try:
            main({name: port_of(server) for name, server in servers.items()}, interval=0.1)
        finally:
            for server in servers.values():
                server.stop()
        outcomes.append("the feeds file was changed into an invalid one" in capsys.readouterr().out)
    assert outcomes == [True, False]


@pytest.mark.parametrize("argv", [["status", "--interval", "-1"], ["status", "--interval", "nan"],
                                  ["status", "--interval", "1e300"], ["status", "--sink-port", "99999"],
                                  ["demo", "--timeout", "-1"], ["run", "--restart-unhealthy-after", "inf"],
                                  ["run", "--restart-unhealthy-after", "-5"]])
def test_waits_and_ports_out_of_range_are_usage_errors(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli(argv)
    assert exit_.value.code == 2


@pytest.mark.parametrize(("text", "seconds"), [("0", 0.0), ("45", 45.0)])
def test_restarting_unhealthy_services_takes_a_wait_or_never(text: str, seconds: float) -> None:
    args = build_parser().parse_args(["run", "--restart-unhealthy-after", text])
    assert args.restart_unhealthy_after == seconds


def test_a_metrics_port_variable_that_is_no_port_is_an_error_of_status_alone(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("WIREFEED_POLLER_METRICS_PORT", "abc")  # building the parser raised, for every command
    with pytest.raises(SystemExit):
        cli(["status"])
    assert "--poller-port: not a TCP port: 'abc'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        cli(["feeds", "check", "--help"])
    assert exit_.value.code == 0
