"""``wirefeed status``: readiness, rates, lag and failing feeds, read from the services' endpoints."""

from __future__ import annotations

import io
import json
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from rich.console import Console

from services.cli import build_parser
from services.cli import main as cli
from services.core.http import Health, ServiceHTTPServer
from services.core.status import ServiceStatus, main, render, service_status
from tests.helpers import FeedServer, Resource, free_port

TEXT = {"Content-Type": "text/plain"}
JSON = {"Content-Type": "application/json"}


class Endpoints(dict[str, Resource]):
    """A service's /readyz, and /metrics whose throughput counter grows by 10 at every scrape."""

    def __init__(self, ready: bool, counter: str, extra: str = "", checks: dict[str, bool] | None = None) -> None:
        readyz = json.dumps({"ready": ready, "checks": checks or {}}).encode()  # what every service answers
        super().__init__({"/readyz": Resource(readyz, 200 if ready else 503, JSON)})
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


def line_rows(out: str) -> dict[str, list[str]]:
    """Each tab-separated line's fields, keyed by the first: what status writes to a pipe (as capsys is)."""
    return {line.split("\t")[0]: line.split("\t")[1:] for line in out.splitlines() if "\t" in line}


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
                                {"kafka": True, "consuming": False})),
    }
    try:
        status = main({name: port_of(server) for name, server in servers.items()}, interval=0.5)
    finally:
        for server in servers.values():
            server.stop()
    assert status == 1  # the sink is not ready
    out, err = capsys.readouterr()
    rows = line_rows(out)
    assert rows["poller"][1:] == ["ready", "20.0", "", ""]  # 10 more in 0.5 s; no consumer lag, no dead letters
    assert rows["normalizer"][1:] == ["ready", "20.0", "42", "3"]
    assert rows["sink"][1:] == ["not ready: consuming", "20.0", "0", "0"]  # none yet: the counter has no sample
    assert "`wirefeed dead-letters list` shows them" in err
    assert rows["down"] == ["7", "0"]
    assert rows["paged"] == ["0", "2"]  # polls fine, but two older pages wait to be read again
    assert "a" not in rows  # no failures, nothing missed: not among the worst
    assert list(rows)[-2:] == ["down", "paged"]  # failures first


STATUSES = [ServiceStatus("poller", 9401, True, True, 2.5, None, {"down": 7.0}, {"paged": 2.0}, None),
            ServiceStatus("normalizer", 9402, True, False, 0.0, 42.0, dead_letters=3.0, unready=("kafka",)),
            ServiceStatus("sink", 9403, False, False)]


def test_piped_status_is_tab_separated_lines_and_its_notes_go_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    # Piped, it drew the box table as on a terminal, where `feeds status` and `feeds failed` write lines.
    render(STATUSES, Console(file=sys.stdout, width=80))  # sys.stdout: capsys's, not a terminal
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        "service\tport\tready\titems/s\tconsumer lag\tdead letters",
        "poller\t9401\tready\t2.5\t\t",
        "normalizer\t9402\tnot ready: kafka\t0.0\t42\t3",
        "sink\t9403\tunreachable\t\t\t",
        "",
        "feed\tconsecutive failures\tmissed pages",
        "down\t7\t0",
        "paged\t0\t2",
    ]
    assert "`wirefeed dead-letters list` shows them" in err


def test_a_terminal_gets_the_tables() -> None:
    console = Console(file=io.StringIO(), width=200, color_system=None, force_terminal=True)
    render(STATUSES, console)
    rows = table_rows(console.file.getvalue())  # type: ignore[attr-defined]
    assert rows["normalizer"] == ["9402", "not ready: kafka", "0.0", "42", "3"]
    assert rows["sink"] == ["9403", "unreachable", "-", "-", "-"]
    assert rows["down"] == ["7", "0"]


def test_services_that_do_not_answer_show_nothing_made_up(capsys: pytest.CaptureFixture[str]) -> None:
    assert main({name: free_port() for name in ("poller", "normalizer", "sink")}, interval=0.1) == 1
    out, err = capsys.readouterr()
    rows = line_rows(out)
    assert [rows[name][1:] for name in ("poller", "normalizer", "sink")] == [["unreachable", "", "", ""]] * 3
    assert "feed failures unknown: the poller does not answer" in err
    assert "no failing feeds" not in out + err


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
        outcomes.append("the feeds file was changed into an invalid one" in capsys.readouterr().err)
    assert outcomes == [True, False]


def test_what_a_service_answers_is_taken_for_a_service() -> None:
    server = ServiceHTTPServer("127.0.0.1", 0, Health({"kafka": lambda: True, "database": lambda: False})).start()
    try:
        status = service_status("sink", server.port, interval=0.1)
    finally:
        server.stop()
    assert (status.reachable, status.ready, status.unready) == (True, False, ("database",))


HTML = Resource(b"<!DOCTYPE html><html><body>It works!</body></html>", 200, {"Content-Type": "text/html"})
METRICS = Resource(b"wirefeed_poller_items_published_total 1\n", 200, TEXT)


@pytest.mark.parametrize(("resources", "why"), [
    ({"/": HTML, "/readyz": HTML, "/metrics": HTML}, "/readyz answered HTTP 200 (text/html)"),  # a web server
    ({}, "/readyz answered HTTP 404"),
    ({"/readyz": Resource(b'{"status": "UP"}', 200, JSON), "/metrics": METRICS},  # another program's health
     "/readyz answered HTTP 200 (application/json), not a wirefeed readiness report"),
    ({"/readyz": Resource(b'[{"ready": true}]', 200, JSON), "/metrics": METRICS}, "not a wirefeed readiness report"),
    ({"/readyz": Resource(b'{"ready": true, "checks": {"kafka": "yes"}}', 200, JSON), "/metrics": METRICS},
     "not a wirefeed readiness report"),
    ({"/readyz": Resource(b'{"ready": false, "checks": {}}', 200, JSON), "/metrics": METRICS},
     "not a wirefeed readiness report"),
    ({"/readyz": Endpoints(True, "x")["/readyz"], "/metrics": HTML}, "/metrics answered HTTP 200 (text/html)"),
    ({"/readyz": Endpoints(True, "x")["/readyz"], "/metrics": Resource(b'u{, =1 13}', 200, TEXT)},
     "/metrics answered HTTP 200 (text/plain), not Prometheus metrics"),  # the parser's IndexError
    ({"/readyz": Endpoints(True, "x")["/readyz"]}, "/metrics answered HTTP 404"),
])
def test_a_port_answering_http_but_not_as_a_service_is_a_one_line_error(
        resources: dict[str, Resource], why: str, capsys: pytest.CaptureFixture[str]) -> None:
    server = FeedServer(resources=resources).start()
    try:
        code = cli(["status", "--poller-port", str(free_port()), "--normalizer-port", str(port_of(server)),
                    "--sink-port", str(free_port()), "--interval", "0.1"])
    finally:
        server.stop()
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""  # no table of made-up rates
    assert err.startswith(f"wirefeed status: 127.0.0.1:{port_of(server)} (normalizer) is not a wirefeed service: ")
    assert why in err
    assert len(err.splitlines()) == 1


@contextmanager
def tcp_server(answer: bytes) -> Iterator[int]:
    """A port that reads a request, answers ``answer`` (nothing: closes at once) and hangs up."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:  # closed: the test is over
                return
            with connection:
                connection.recv(4096)
                connection.sendall(answer)

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()


@pytest.mark.parametrize(("answer", "said"), [
    (b"SSH-2.0-OpenSSH_9.6\r\nInvalid SSH identification string.\r\n", '"SSH-2.0-OpenSSH_9.6"'),
    (b"\x00\xff\x1b[2J garbage\r\n\r\n", '"\\xff [2J garbage"'),  # the terminal's escape left out
])
def test_a_port_answering_another_protocol_is_a_one_line_error(
        answer: bytes, said: str, capsys: pytest.CaptureFixture[str]) -> None:
    with tcp_server(answer) as port:
        code = cli(["status", "--poller-port", str(port), "--normalizer-port", str(free_port()),
                    "--sink-port", str(free_port()), "--interval", "0.1"])
    err = capsys.readouterr().err
    assert code == 2
    assert err == (f"wirefeed status: 127.0.0.1:{port} (poller) is not a wirefeed service: it answers in another "
                   f"protocol than HTTP: {said}\n")


def test_a_port_closing_without_an_answer_is_unreachable_not_another_program(
        capsys: pytest.CaptureFixture[str]) -> None:
    # What a service at its connection bound does: nothing says it is not one.
    with tcp_server(b"") as port:
        code = cli(["status", "--poller-port", str(port), "--normalizer-port", str(free_port()),
                    "--sink-port", str(free_port()), "--interval", "0.1"])
    assert code == 1
    assert line_rows(capsys.readouterr().out)["poller"][1:] == ["unreachable", "", "", ""]


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
