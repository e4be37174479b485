"""The feeds file read again while the poller runs: applied like a restart, an invalid one changes nothing."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
import structlog
from prometheus_client import REGISTRY

from schemas import RawItem
from services.core.db import Database
from services.core.runner import StopSignal
from services.poller.feeds import FeedConfig
from services.poller.fetch import Fetcher, FetchLimits
from services.poller.leases import LeaseStore, holders
from services.poller.loop import PollLoop
from services.poller.reload import FeedsFileWatcher
from services.poller.service import FeedSetChange, Poller
from services.poller.state import PollerStore
from tests.helpers import FeedServer, Resource, eventually, rss


def story(feed: str) -> dict[str, str]:
    return {"title": f"Story of {feed}", "link": f"http://example.com/{feed}", "guid": f"{feed}-1",
            "body": "<p>Rain.</p>"}


def feeds_yaml(server: FeedServer, intervals: dict[str, float], extra: str = "") -> str:
    entries = (f"  - id: {fid}\n    url: {server.url(f'/{fid}.xml')}\n    interval: {interval}\n{extra}"
               for fid, interval in intervals.items())
    return "feeds:\n" + "".join(entries)


def sample(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


def series_of(feed_id: str) -> list[str]:
    """Every sample in the registry labelled with this feed."""
    return [sample.name for family in REGISTRY.collect() for sample in family.samples
            if sample.labels.get("feed") == feed_id]


@pytest.fixture
def served(feed_server: FeedServer) -> FeedServer:
    for fid in ("reload-a", "reload-b", "reload-c"):
        feed_server.resources[f"/{fid}.xml"] = Resource(rss(fid, [story(fid)]))
    return feed_server


def polls(server: FeedServer, fid: str) -> int:
    return sum(1 for path, _ in server.requests if path == f"/{fid}.xml")


def watched(server: FeedServer, db: Database, path: Path, intervals: dict[str, float],
            extra: str = "") -> tuple[FeedsFileWatcher, PollLoop]:
    """A feeds file with these feeds, its watcher, and a loop polling what it loaded."""
    path.write_text(feeds_yaml(server, intervals, extra))
    watcher = FeedsFileWatcher(path, settle_seconds=0)
    return watcher, make_loop(db, watcher.load(), [])


def make_loop(db: Database, feeds: list[FeedConfig], published: list[RawItem]) -> PollLoop:
    poller = Poller(feeds, PollerStore(db), Fetcher(FetchLimits(allow_private_networks=True)), published.extend)
    return PollLoop(poller, LeaseStore(db, "me", ttl_seconds=5))


@pytest.mark.usefixtures("quick_polls")
async def test_a_changed_file_adds_drops_and_changes_feeds_while_the_loop_runs(
        served: FeedServer, db: Database, tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text(feeds_yaml(served, {"reload-a": 0.2, "reload-b": 0.2}))
    watcher = FeedsFileWatcher(path, settle_seconds=0)
    published: list[RawItem] = []
    loop = make_loop(db, watcher.load(), published)
    stop, hangup = StopSignal(), asyncio.Event()
    running = asyncio.create_task(loop.run(stop))
    watching = asyncio.create_task(watcher.watch(loop.apply_feeds, hangup, every=0.05))
    try:
        await eventually(lambda: polls(served, "reload-a") >= 2 and polls(served, "reload-b") >= 2)
        assert sample("wirefeed_poller_last_success_timestamp_seconds", feed="reload-b") is not None

        path.write_text(feeds_yaml(served, {"reload-a": 0.1, "reload-c": 0.2}))  # no signal: the check finds it
        await eventually(lambda: any(item.feed_id == "reload-c" for item in published))
        b_polls = polls(served, "reload-b")
        a_polls = polls(served, "reload-a")
        await eventually(lambda: polls(served, "reload-a") >= a_polls + 3)
    finally:
        stop.set()
        watching.cancel()
        await asyncio.wait_for(running, 10)
        await loop.poller.fetcher.aclose()

    assert polls(served, "reload-b") <= b_polls + 1  # at most a poll already in flight when the file changed
    assert sorted(loop.poller.feeds) == ["reload-a", "reload-c"]
    assert loop.poller.feeds["reload-a"].interval == 0.1
    assert "reload-b" not in loop.poller.states
    # A removed feed's series are gone, so it neither shows nor alerts as stale; the others' stay.
    assert sample("wirefeed_poller_last_success_timestamp_seconds", feed="reload-b") is None
    assert sample("wirefeed_poller_consecutive_failures", feed="reload-b") is None
    assert sample("wirefeed_poller_last_success_timestamp_seconds", feed="reload-c") is not None
    assert sorted(item.feed_id for item in published) == ["reload-a", "reload-b", "reload-c"]  # each story once
    assert "reload-c" in holders(db)
    assert sample("wirefeed_poller_feeds_file_last_reload_successful") == 1


async def test_a_changed_feed_is_polled_at_once_even_while_it_backs_off(
        served: FeedServer, db: Database, tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text(feeds_yaml(served, {"reload-a": 3600}).replace("/reload-a.xml", "/wrong.xml"))
    watcher = FeedsFileWatcher(path, settle_seconds=0)
    published: list[RawItem] = []
    loop = make_loop(db, watcher.load(), published)
    stop = StopSignal()
    running = asyncio.create_task(loop.run(stop))
    try:
        await eventually(lambda: loop.poller.states.get("reload-a") is not None
                    and loop.poller.states["reload-a"].consecutive_failures == 1)  # a 404: backing off
        path.write_text(feeds_yaml(served, {"reload-a": 3600}))  # the URL fixed
        assert watcher.check(loop.apply_feeds) == FeedSetChange(added=[], removed=[], changed=["reload-a"])
        await eventually(lambda: bool(published))  # not an hour (or its back-off) later
    finally:
        stop.set()
        await asyncio.wait_for(running, 10)
        await loop.poller.fetcher.aclose()
    assert [item.feed_id for item in published] == ["reload-a"]
    assert loop.poller.states["reload-a"].consecutive_failures == 0


async def test_a_feed_removed_while_it_is_polled_is_forgotten_when_its_poll_ends(
        served: FeedServer, db: Database, tmp_path: Path) -> None:
    gate = threading.Event()
    served.resources["/reload-b.xml"].gate = gate
    path = tmp_path / "feeds.yaml"
    watcher, loop = watched(served, db, path, {"reload-a": 60, "reload-b": 60})
    stop = StopSignal()
    running = asyncio.create_task(loop.run(stop))
    try:
        await eventually(lambda: polls(served, "reload-b") == 1)  # b's poll waits at the server
        path.write_text(feeds_yaml(served, {"reload-a": 60}))
        change = watcher.check(loop.apply_feeds)
        assert change == FeedSetChange(added=[], removed=["reload-b"], changed=[])
        gate.set()
        await eventually(lambda: "reload-b" not in loop._in_flight)
    finally:
        gate.set()
        stop.set()
        await asyncio.wait_for(running, 10)
        await loop.poller.fetcher.aclose()

    # Its poll ended (and was saved) after the removal: nothing of it is kept in memory or in the metrics.
    assert PollerStore(db).feed_state("reload-b", served.url("/reload-b.xml")).last_success_at is not None
    assert "reload-b" not in loop.poller.states
    assert sample("wirefeed_poller_fetches_total", feed="reload-b", outcome="ok") is None
    assert sample("wirefeed_poller_items_published_total", feed="reload-b") is None
    assert sample("wirefeed_poller_last_success_timestamp_seconds", feed="reload-b") is None
    assert series_of("reload-b") == []  # nor in any other metric, one added later included


async def test_a_reload_that_fails_unexpectedly_is_tried_again_at_the_next_check(
        served: FeedServer, db: Database, tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    watcher, loop = watched(served, db, path, {"reload-a": 60})
    calls: list[int] = []

    def apply(feeds: list[FeedConfig]) -> FeedSetChange:
        calls.append(len(feeds))
        if len(calls) == 1:
            raise RuntimeError("a bug")
        return loop.apply_feeds(feeds)

    watching = asyncio.create_task(watcher.watch(apply, asyncio.Event(), every=0.05))
    try:
        path.write_text(feeds_yaml(served, {"reload-a": 60, "reload-b": 60}))
        await eventually(lambda: len(loop.poller.feeds) == 2)
    finally:
        watching.cancel()
    assert calls == [2, 2]  # the watcher lived on, and read the file it had failed on again
    assert sample("wirefeed_poller_feeds_file_last_reload_successful") == 1


def test_an_invalid_file_keeps_the_feeds_the_poller_has_and_is_reported_once_per_change(
        served: FeedServer, db: Database, tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    watcher, loop = watched(served, db, path, {"reload-a": 60})
    invalid_before = sample("wirefeed_poller_feeds_file_reloads_total", result="invalid") or 0

    path.write_text(feeds_yaml(served, {"reload-a": 60, "reload-b": -5}))  # a negative interval
    assert watcher.check(loop.apply_feeds) is None
    assert watcher.check(loop.apply_feeds) is None  # the same bad file is not reported again
    assert list(loop.poller.feeds) == ["reload-a"]
    assert sample("wirefeed_poller_feeds_file_last_reload_successful") == 0
    assert sample("wirefeed_poller_feeds_file_reloads_total", result="invalid") == invalid_before + 1

    path.unlink()  # gone (an editor's rename, a ConfigMap swap): still the old feeds
    assert watcher.check(loop.apply_feeds) is None
    assert sample("wirefeed_poller_feeds_file_reloads_total", result="invalid") == invalid_before + 2

    path.write_text(feeds_yaml(served, {"reload-a": 60, "reload-b": 60}))
    assert watcher.check(loop.apply_feeds) == FeedSetChange(added=["reload-b"], removed=[], changed=[])
    assert sample("wirefeed_poller_feeds_file_last_reload_successful") == 1
    assert watcher.check(loop.apply_feeds) is None  # unchanged since


def test_a_file_still_being_written_is_read_at_a_later_check(served: FeedServer, db: Database,
                                                               tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text(feeds_yaml(served, {"reload-a": 60}))
    watcher = FeedsFileWatcher(path, settle_seconds=60)
    loop = make_loop(db, watcher.load(), [])
    invalid_before = sample("wirefeed_poller_feeds_file_reloads_total", result="invalid") or 0
    path.write_text("feeds:\n  - id: reload-b\n")  # the first bytes of a file being written
    assert watcher.check(loop.apply_feeds) is None
    assert (sample("wirefeed_poller_feeds_file_reloads_total", result="invalid") or 0) == invalid_before  # unreported
    path.write_text(feeds_yaml(served, {"reload-a": 60, "reload-b": 60}))  # written whole
    written = path.stat().st_mtime - 120
    os.utime(path, (written, written))  # and two minutes have passed
    assert watcher.check(loop.apply_feeds) == FeedSetChange(added=["reload-b"], removed=[], changed=[])


def bearer(loop: PollLoop, feed_id: str) -> str:
    auth = loop.poller.feeds[feed_id].auth
    assert auth is not None
    return auth.authorization().get_secret_value()


def test_a_forced_reload_reads_rotated_credentials(served: FeedServer, db: Database, tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("first\n")
    watcher, loop = watched(served, db, tmp_path / "feeds.yaml", {"reload-a": 60},
                            extra=f"    auth: {{type: bearer, token_file: {token}}}\n")
    token.write_text("second\n")
    assert watcher.check(loop.apply_feeds, force=True) == FeedSetChange(added=[], removed=[], changed=["reload-a"])
    assert bearer(loop, "reload-a") == "Bearer second"


def test_a_rotated_secret_file_is_read_at_the_next_check(served: FeedServer, db: Database, tmp_path: Path) -> None:
    # As a Kubernetes Secret volume rotates: a new file behind a symbolic link the feeds file names.
    token = tmp_path / "token"
    (tmp_path / "v1").write_text("first\n")
    token.symlink_to(tmp_path / "v1")
    watcher, loop = watched(served, db, tmp_path / "feeds.yaml", {"reload-a": 60, "reload-b": 60},
                            extra=f"    auth: {{type: bearer, token_file: {token}}}\n")
    assert watcher.check(loop.apply_feeds) is None  # nothing changed

    (tmp_path / "v2").write_text("second\n")
    (tmp_path / "next").symlink_to(tmp_path / "v2")
    (tmp_path / "next").replace(token)
    assert watcher.check(loop.apply_feeds) == FeedSetChange(added=[], removed=[], changed=["reload-a", "reload-b"])
    assert bearer(loop, "reload-a") == bearer(loop, "reload-b") == "Bearer second"
    assert watcher.check(loop.apply_feeds) is None  # read once

    token.unlink()  # gone: the file cannot be loaded, the feeds keep the credentials they have
    assert watcher.check(loop.apply_feeds) is None
    assert bearer(loop, "reload-a") == "Bearer second"
    (tmp_path / "v3").write_text("third\n")
    token.symlink_to(tmp_path / "v3")
    assert watcher.check(loop.apply_feeds) == FeedSetChange(added=[], removed=[], changed=["reload-a", "reload-b"])
    assert bearer(loop, "reload-b") == "Bearer third"


def test_a_secret_file_still_being_written_is_read_at_a_later_check(served: FeedServer, db: Database,
                                                                    tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("first\n")
    path = tmp_path / "feeds.yaml"
    path.write_text(feeds_yaml(served, {"reload-a": 60}, f"    auth: {{type: bearer, token_file: {token}}}\n"))
    old = path.stat().st_mtime - 120
    os.utime(path, (old, old))
    watcher = FeedsFileWatcher(path, settle_seconds=60)
    loop = make_loop(db, watcher.load(), [])
    token.write_text("sec")  # half written
    assert watcher.check(loop.apply_feeds) is None
    token.write_text("second\n")
    os.utime(token, (old, old))
    assert watcher.check(loop.apply_feeds) == FeedSetChange(added=[], removed=[], changed=["reload-a"])
    assert bearer(loop, "reload-a") == "Bearer second"


def test_a_file_the_state_database_could_not_take_is_applied_at_the_next_check(
        served: FeedServer, db: Database, tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    watcher, loop = watched(served, db, path, {"reload-a": 60})
    path.write_text(feeds_yaml(served, {"reload-a": 60, "reload-b": 60}))

    def locked(feeds: list[FeedConfig]) -> FeedSetChange:
        raise sqlite3.OperationalError("database is locked")

    assert watcher.check(locked) is None
    assert watcher.check(loop.apply_feeds) == FeedSetChange(added=["reload-b"], removed=[], changed=[])
    assert sorted(loop.poller.feeds) == ["reload-a", "reload-b"]


@pytest.mark.usefixtures("quick_polls")
async def test_a_feed_given_other_private_networks_leaves_no_connection_open_under_its_old_ones(
        db: Database, tmp_path: Path) -> None:
    server = FeedServer(keep_alive=True).start()  # each allowance's pool keeps its connection open
    server.resources["/intranet.xml"] = Resource(rss("intranet", [story("intranet")]))
    path = tmp_path / "feeds.yaml"
    entry = (f"feeds:\n  - id: intranet\n    url: {server.url('/intranet.xml')}\n    interval: 0.1\n"
             "    private_networks: [{}]\n")
    path.write_text(entry.format("127.0.0.0/8"))
    watcher = FeedsFileWatcher(path, settle_seconds=0)
    poller = Poller(watcher.load(), PollerStore(db), Fetcher(FetchLimits()), [].extend)  # the global switch off
    loop = PollLoop(poller, LeaseStore(db, "me", ttl_seconds=5))
    stop, hangup = StopSignal(), asyncio.Event()
    running = asyncio.create_task(loop.run(stop))
    watching = asyncio.create_task(watcher.watch(loop.apply_feeds, hangup, every=0.05))
    try:
        await eventually(lambda: polls(server, "intranet") >= 2, message="polls under the old list")
        under_old_list = server.open_connections()
        path.write_text(entry.format("127.0.0.1/32"))
        await eventually(lambda: [str(net) for net in poller.feeds["intranet"].private_networks] == ["127.0.0.1/32"],
                         message="the new list applied")
        polled = polls(server, "intranet")
        await eventually(lambda: polls(server, "intranet") >= polled + 2, message="polls under the new list")
        await eventually(lambda: under_old_list.isdisjoint(server.open_connections()), timeout=5,
                         message="the old list's connection closed")
    finally:
        stop.set()
        watching.cancel()
        await asyncio.wait_for(running, 10)
        await poller.fetcher.aclose()
        server.stop()
    assert under_old_list and len(under_old_list) == 1


def risky_networks_logged(logs: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(entry["feed"], entry["warning"].split(" takes in ")[0]) for entry in logs
            if entry["event"] == "feed_private_networks_risky" and entry["log_level"] == "warning"]


def test_private_networks_reaching_beyond_an_intranet_are_warned_of_when_loaded_and_polled_all_the_same(
        served: FeedServer, db: Database, tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    metadata = feeds_yaml(served, {"reload-a": 60}, "    private_networks: [169.254.0.0/16]\n")
    path.write_text(metadata)
    watcher = FeedsFileWatcher(path, settle_seconds=0)
    with structlog.testing.capture_logs() as at_start:
        loop = make_loop(db, watcher.load(), [])
    assert risky_networks_logged(at_start) == [("reload-a", "private_networks: 169.254.0.0/16")]

    everything = feeds_yaml(served, {"reload-b": 60}, "    private_networks: [0.0.0.0/0]\n")
    intranet = feeds_yaml(served, {"reload-c": 60}, "    private_networks: [10.0.0.0/8]\n")
    path.write_text(metadata + everything.removeprefix("feeds:\n") + intranet.removeprefix("feeds:\n"))
    with structlog.testing.capture_logs() as at_reload:
        assert watcher.check(loop.apply_feeds) == FeedSetChange(added=["reload-b", "reload-c"], removed=[], changed=[])
    assert risky_networks_logged(at_reload) == [("reload-b", "private_networks: 0.0.0.0/0")]  # reload-a: said before
    assert sorted(loop.poller.feeds) == ["reload-a", "reload-b", "reload-c"]
