"""``wirefeed status``: the pipeline at a glance, read from the services' own endpoints.

Two scrapes a moment apart give rates; readiness comes from ``/readyz``; the worst feeds come from the
poller's per-feed gauges (failures in a row, older pages waiting to be read again). Nothing here needs Grafana.
"""

from __future__ import annotations

import socket
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass

import httpx
from rich.console import Console
from rich.table import Table

from services.core.supervise import DEAD_LETTERING, SERVICES, metric_total, metric_values
from services.core.text import one_line

THROUGHPUT = {
    "poller": "wirefeed_poller_items_published_total",
    "normalizer": "wirefeed_normalizer_items_consumed_total",
    "sink": "wirefeed_sink_rows_written_total",
}
LAG = "wirefeed_consumer_lag_messages"  # consumers only: the poller has none
DEAD_LETTERS = "wirefeed_dead_letters_total"
FEEDS_FILE_VALID = "wirefeed_poller_feeds_file_last_reload_successful"


@dataclass(frozen=True)
class ServiceStatus:
    """What one service's endpoints said; None where it did not answer, or exports no such metric."""

    name: str
    port: int
    reachable: bool
    ready: bool
    rate: float | None = None
    lag: float | None = None
    failing: dict[str, float] | None = None  # per feed: failed polls in a row (poller only)
    missed: dict[str, float] | None = None  # per feed: older pages waiting to be read again (poller only)
    dead_letters: float | None = None  # since the service started
    unready: tuple[str, ...] = ()  # the /readyz checks that failed (kafka, consuming, database, ...)
    feeds_file_valid: bool | None = None  # False: its feeds file changed into an invalid one (poller only)


class NotAServiceError(Exception):
    """Something answers on a service's port, but not as a wirefeed service does: a wrong port, another
    program on it. Its rates and checks would be made up, so status says so instead of showing them."""


def service_status(name: str, port: int, interval: float = 1.0, host: str = "127.0.0.1") -> ServiceStatus:
    address = f"{host}:{port}"
    try:
        ready, unready = _readiness(address)
        first = _metrics(address)
        time.sleep(interval)  # a rate needs two samples; this is a CLI, not a test
        second = _metrics(address)
    except httpx.HTTPError as error:
        said = _not_http(host, port) if isinstance(error, httpx.RemoteProtocolError | httpx.ReadError) else None
        if said is not None:
            raise NotAServiceError(f"{address} ({name}) is not a wirefeed service: it answers in another "
                                   f'protocol than HTTP: "{said}"') from error
        return ServiceStatus(name, port, reachable=False, ready=False)
    except _ForeignAnswerError as error:
        raise NotAServiceError(f"{address} ({name}) is not a wirefeed service: {error}") from error
    counter = THROUGHPUT[name]
    rate = (metric_total(second, counter) - metric_total(first, counter)) / interval
    lag = metric_total(second, LAG) if any(key.partition("{")[0] == LAG for key in second) else None
    letters = metric_total(second, DEAD_LETTERS) if name in DEAD_LETTERING else None
    if name != "poller":
        return ServiceStatus(name, port, True, ready, rate, lag, dead_letters=letters, unready=unready)
    valid = second.get(FEEDS_FILE_VALID)
    return ServiceStatus(name, port, True, ready, rate, lag, _per_feed(second, "wirefeed_poller_consecutive_failures"),
                         _per_feed(second, "wirefeed_poller_missed_pages"), letters,
                         feeds_file_valid=None if valid is None else valid == 1, unready=unready)


class _ForeignAnswerError(Exception):
    """An endpoint's answer that no wirefeed service gives."""


def _readiness(address: str) -> tuple[bool, tuple[str, ...]]:
    """Whether /readyz says ready, and the names of the checks it reports as failing. Every service answers
    200 or 503 with ``{"ready": ..., "checks": {name: passed}}``; anything else is another program's."""
    answer = httpx.get(f"http://{address}/readyz", timeout=3)
    try:
        report = answer.json()
    except ValueError:  # not JSON, or not UTF-8
        report = None
    checks = report.get("checks") if isinstance(report, dict) else None
    ready = answer.status_code == 200
    if (answer.status_code not in (200, 503) or not isinstance(checks, dict) or report.get("ready") is not ready
            or not all(isinstance(passed, bool) for passed in checks.values())):
        raise _ForeignAnswerError(f"/readyz answered {_described(answer)}, not a wirefeed readiness report")
    return ready, tuple(str(check) for check, passed in checks.items() if not passed)


def _metrics(address: str) -> dict[str, float]:
    answer = httpx.get(f"http://{address}/metrics", timeout=5)
    try:
        if answer.status_code == 200:
            return metric_values(answer.text)
    except (ValueError, IndexError):
        pass
    raise _ForeignAnswerError(f"/metrics answered {_described(answer)}, not Prometheus metrics")


def _described(answer: httpx.Response) -> str:
    return f"HTTP {answer.status_code} ({one_line(answer.headers.get('content-type', 'no content type'))})"


def _not_http(host: str, port: int) -> str | None:
    """The first line a port answers a request with, when that is not HTTP (an SSH server's greeting, a
    TLS alert); None when it closes without a word, as a wirefeed service at its connection bound does.
    httpx tells neither apart: its parser waits for a whole header block, and calls both a disconnection."""
    try:
        with socket.create_connection((host, port), timeout=3) as connection:
            connection.sendall(b"GET /readyz HTTP/1.0\r\n\r\n")
            first = connection.recv(256)
    except OSError:
        return None
    if not first or first.startswith(b"HTTP/"):
        return None
    return one_line(first.splitlines()[0][:80].decode("ascii", "backslashreplace"))  # no escape sequences


def _per_feed(values: Mapping[str, float], gauge: str) -> dict[str, float]:
    """The feeds whose ``gauge`` is above zero, with its value."""
    found = {}
    for key, value in values.items():
        if key.startswith(gauge + "{") and value > 0:
            found[key.split('feed="', 1)[1].split('"', 1)[0]] = value
    return found


_COLUMNS = ("service", "port", "ready", "items/s", "consumer lag", "dead letters")
_FEED_COLUMNS = ("feed", "consecutive failures", "missed pages")


def render(statuses: list[ServiceStatus], console: Console, worst: int = 10) -> None:
    """Tables on a terminal; piped or to a file, tab-separated lines as ``feeds status`` writes them
    (``| grep sink``), the notes beside them on stderr so that stdout is only rows."""
    poller = next((status for status in statuses if status.name == "poller"), None)
    feeds = _worst_feeds(poller, worst)
    notes = _notes(statuses, poller, feeds)
    if not console.is_terminal:
        _render_lines(statuses, feeds, console)
        notes_console = Console(stderr=True, soft_wrap=True)
        for note in notes:
            notes_console.print(note)
        return
    table = Table(title="wirefeed pipeline")
    for column in _COLUMNS:
        table.add_column(column, no_wrap=column == "ready")
    for status in statuses:
        ready = "[green]ready" if status.ready else f"[red]{_ready_text(status)}"
        table.add_row(status.name, str(status.port), ready, _number(status.rate, ".1f"), _number(status.lag, ".0f"),
                      _number(status.dead_letters, ".0f"))
    console.print(table)
    for note in notes:
        console.print(note)
    if feeds:
        worst_feeds = Table(title="worst feeds")
        for column in _FEED_COLUMNS:
            worst_feeds.add_column(column)
        for feed, failures, missed in feeds:
            worst_feeds.add_row(feed, f"{failures:.0f}", f"{missed:.0f}")
        console.print(worst_feeds)


def _render_lines(statuses: list[ServiceStatus], feeds: list[tuple[str, float, float]] | None,
                  console: Console) -> None:
    """One line per service, then (after an empty line) per troubled feed, each under its header; a
    value not known is empty."""
    lines = ["\t".join(_COLUMNS)]
    for status in statuses:
        lines.append("\t".join((status.name, str(status.port), _ready_text(status), _number(status.rate, ".1f", ""),
                                _number(status.lag, ".0f", ""), _number(status.dead_letters, ".0f", ""))))
    if feeds:
        lines += ["", "\t".join(_FEED_COLUMNS)]
        lines += ["\t".join((feed, f"{failures:.0f}", f"{missed:.0f}")) for feed, failures, missed in feeds]
    console.file.write("\n".join(lines) + "\n")  # as written: Console.out would expand the tabs


def _ready_text(status: ServiceStatus) -> str:
    if status.ready:
        return "ready"
    if not status.reachable:
        return "unreachable"
    return f"not ready: {', '.join(status.unready)}" if status.unready else "not ready"


def _worst_feeds(poller: ServiceStatus | None, worst: int) -> list[tuple[str, float, float]] | None:
    """The ``worst`` feeds by failures in a row, then by pages missed: (feed, failures, missed pages);
    None when the poller did not say."""
    if poller is None or poller.failing is None:
        return None
    failing, missed = poller.failing, poller.missed or {}
    troubled = sorted(failing.keys() | missed.keys(), key=lambda feed: (-failing.get(feed, 0), -missed.get(feed, 0)))
    return [(feed, failing.get(feed, 0), missed.get(feed, 0)) for feed in troubled[:worst]]


def _notes(statuses: list[ServiceStatus], poller: ServiceStatus | None,
           feeds: list[tuple[str, float, float]] | None) -> list[str]:
    """What the tables leave to a sentence (rich markup)."""
    notes = []
    if any(status.dead_letters for status in statuses):
        notes.append("dead letters since the services started: `wirefeed dead-letters list` shows them")
    if feeds is None:
        return [*notes, "feed failures unknown: the poller does not answer"]
    if poller is not None and poller.feeds_file_valid is False:
        notes.append("[red]the feeds file was changed into an invalid one[/]: the poller polls the feeds of the last "
                     "valid one (its `feeds_file_invalid` log line and `wirefeed feeds check FILE` say why)")
    if not feeds:
        notes.append("no failing feeds")
    return notes


def _number(value: float | None, spec: str, unknown: str = "-") -> str:
    return unknown if value is None else format(value, spec)


def main(ports: Mapping[str, int], interval: float = 1.0) -> int:
    try:
        statuses = [service_status(name, ports[name], interval) for name in SERVICES]
    except NotAServiceError as error:  # a port given wrong: as a usage error, exit 2
        print(f"wirefeed status: {error}", file=sys.stderr)
        return 2
    render(statuses, Console())
    return 0 if all(s.ready for s in statuses) else 1
