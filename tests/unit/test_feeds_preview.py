"""``wirefeed feeds preview``: a feed fetched and cleaned as the pipeline would, with nothing published."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from schemas import Article
from services.cli import main
from tests.helpers import FeedServer, Resource, rss
from tests.sftp_server import running_sftp_server
from tests.unit.test_poller_sftp import deliver_to
from tests.unit.test_poller_spool import AFP_NEWSML1, EFE_NITF, REUTERS_G2

DEMO_FEEDS = Path(__file__).resolve().parents[2] / "services" / "demo" / "feeds"
SEED_FEED = (DEMO_FEEDS / "shore-news.xml").read_bytes()  # the seed story, ad-blocker notice included


@pytest.fixture
def private_networks_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIREFEED_ALLOW_PRIVATE_NETWORKS", "true")  # the test's server is on 127.0.0.1


def test_a_storys_attachments_are_counted(shared_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # TT's story carries one picture in four renditions
    story = shared_dir / "corpus" / "iptc-ninjs" / "examples" / "3.0" / "tt_text_image_3.json"
    assert main(["feeds", "preview", str(story)]) == 0
    assert " · 4 attachments" in capsys.readouterr().out.splitlines()[2]


@pytest.mark.usefixtures("private_networks_allowed")
def test_a_feed_reads_as_the_pipeline_would_make_it(feed_server: FeedServer,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    feed_server.resources["/feed.xml"] = Resource(SEED_FEED)
    assert main(["feeds", "preview", feed_server.url("/feed.xml")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("rss: Shore News Network — 2 article(s)")
    assert "BAGHDAD" in out and "Reuters" in out and "by Timour Azhari" in out and "editing: Alison Williams" in out
    assert [line.strip() for line in out.splitlines() if "ad blocker" in line] == [
        "removed: You appear to be using an ad blocker"]  # shown as what cleaning took out, and only there
    assert "removed: (Reporting by Timour Azhari; Editing by Alison Williams)" in out


def test_a_configured_feed_s_local_times_are_read_in_its_time_zone(wire_feed: Callable[[str], Path],
                                                                  feed_server: FeedServer,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    wire_feed("    timezone: America/New_York\n")
    feed_server.resources["/wire.xml"] = Resource(rss("Wire", [
        {"title": "Local time", "link": "https://news.example/1", "body": "Text.", "date": "2024-07-15 09:15"}]))
    assert main(["feeds", "preview", "--json", "--feed", "wire"]) == 0
    (article,) = [Article.model_validate_json(line) for line in capsys.readouterr().out.splitlines()]
    assert article.published_at.isoformat() == "2024-07-15T13:15:00+00:00"  # EDT, as the normalizer reads it


@pytest.mark.usefixtures("private_networks_allowed")
def test_json_lines_are_the_articles_before_dedup(feed_server: FeedServer,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    feed_server.resources["/feed.xml"] = Resource(rss("Wire", [
        {"title": "Same words", "link": f"https://news.example/{n}", "body": "The same text, twice."}
        for n in range(2)]))
    assert main(["feeds", "preview", "--json", feed_server.url("/feed.xml")]) == 0
    articles = [Article.model_validate_json(line) for line in capsys.readouterr().out.splitlines()]
    assert [a.canonical_url for a in articles] == ["https://news.example/0", "https://news.example/1"]
    assert articles[0].content_hash == articles[1].content_hash  # both shown: dedup is not part of a preview


@pytest.fixture
def wire_feed(feed_server: FeedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], Path]:
    """A feeds file whose one feed, "wire", serves the seed feed, with the settings given as YAML lines."""
    feed_server.resources["/wire.xml"] = Resource(SEED_FEED)
    monkeypatch.setenv("WIREFEED_ALLOW_PRIVATE_NETWORKS", "true")  # the test's server is on 127.0.0.1

    def write(settings: str) -> Path:
        feeds = tmp_path / "feeds.yaml"
        feeds.write_text(f"feeds:\n  - id: wire\n    url: {feed_server.url('/wire.xml')}\n{settings}")
        monkeypatch.setenv("WIREFEED_FEEDS_FILE", str(feeds))
        return feeds

    return write


def test_a_configured_feed_is_fetched_with_its_headers_and_credentials(
        wire_feed: Callable[[str], Path], feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    feeds = wire_feed("    headers: {X-Desk: world}\n    auth: {type: bearer, token_env: WIRE_TOKEN}\n")
    monkeypatch.setenv("WIRE_TOKEN", "s3cret-token")
    assert main(["feeds", "preview", "--feed", "wire"]) == 0
    out, err = capsys.readouterr()
    assert "BAGHDAD" in out
    _, headers = feed_server.requests[-1]
    assert (headers["authorization"], headers["x-desk"]) == ("Bearer s3cret-token", "world")
    assert "s3cret" not in out + err
    assert main(["feeds", "preview", "--feed", "other"]) == 1
    assert f"no feed 'other' in {feeds}" in capsys.readouterr().err
    assert main(["feeds", "preview"]) == 2  # neither a source nor a feed


def test_a_configured_feed_is_previewed_under_its_own_id_and_title(wire_feed: Callable[[str], Path],
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    # As the poller publishes it: the ids and source name are those the sink will store.
    wire_feed("    title: Desk Wire\n")
    assert main(["feeds", "preview", "--feed", "wire", "--json"]) == 0
    articles = [Article.model_validate_json(line) for line in capsys.readouterr().out.splitlines()]
    assert {(a.feed_id, a.source.name) for a in articles} == {("wire", "Desk Wire")}
    assert all(a.item_id.startswith("wire:") for a in articles)
    assert main(["feeds", "preview", "--feed", "wire"]) == 0
    assert capsys.readouterr().out.startswith("rss: Desk Wire — 2 article(s)")


def test_a_configured_feed_shows_what_its_item_rules_refuse(wire_feed: Callable[[str], Path],
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    wire_feed("    skip_items: [{content: Azhari}]\n")
    assert main(["feeds", "preview", "--feed", "wire"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("rss: Shore News Network — 1 article(s)")
    assert "BAGHDAD" not in out
    assert "not published (the feed's skip_items/keep_items): Iraq, U.S. agree set up talks" in out


def test_the_poller_address_rules_hold(feed_server: FeedServer, capsys: pytest.CaptureFixture[str]) -> None:
    feed_server.resources["/feed.xml"] = Resource(SEED_FEED)
    assert main(["feeds", "preview", feed_server.url("/feed.xml")]) == 1
    assert "blocked_address" in capsys.readouterr().err
    assert feed_server.requests == []  # refused before any request


def test_a_configured_feed_is_fetched_under_its_private_networks(
        wire_feed: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    wire_feed("    private_networks: [127.0.0.0/8]\n")
    monkeypatch.setenv("WIREFEED_ALLOW_PRIVATE_NETWORKS", "false")  # as the poller would fetch it: allowed all the same
    assert main(["feeds", "preview", "--feed", "wire"]) == 0
    assert "BAGHDAD" in capsys.readouterr().out
    wire_feed("    private_networks: [10.1.0.0/16]\n")
    assert main(["feeds", "preview", "--feed", "wire"]) == 1
    assert "127.0.0.1 outside the feed's private_networks" in capsys.readouterr().err


def test_a_wire_file_on_disk_is_read_in_its_format(shared_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    nitf = shared_dir / "corpus" / "superdesk-core" / "tests" / "io" / "fixtures" / "ap-nitf.xml"
    assert main(["feeds", "preview", str(nitf)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("nitf: ")
    assert lines[2].split(" · ")[2:5] == ["AP", "NEW YORK", "by Bernard Condon"]


def test_an_embargo_and_a_kill_stand_out(shared_dir: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    embargoed = shared_dir / "corpus" / "superdesk-core" / "tests" / "io" / "fixtures" / "ninjs_embargoed.json"
    assert main(["feeds", "preview", str(embargoed)]) == 0
    assert capsys.readouterr().out.splitlines()[2].endswith(" · embargoed until 2022-06-29 02:30 UTC")
    killed = tmp_path / "kill.json"
    killed.write_text('{"uri": "urn:kill", "type": "text", "version": "2", "pubstatus": "canceled", '
                      '"headline": "Story withdrawn", "body_text": "The story has been withdrawn. Please delete it."}')
    assert main(["feeds", "preview", str(killed)]) == 0
    assert capsys.readouterr().out.splitlines()[2].endswith(" · version 2 · CANCELED")


def test_a_flash_stands_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flash = tmp_path / "flash.json"
    flash.write_text('{"uri": "urn:flash", "type": "text", "urgency": 1, "headline": "Explosion in Paris", '
                     '"body_text": "An explosion was heard in central Paris."}')
    assert main(["feeds", "preview", str(flash)]) == 0
    assert capsys.readouterr().out.splitlines()[2].endswith(" · urgency 1")


@pytest.mark.usefixtures("private_networks_allowed")
def test_what_is_not_a_feed_says_so(feed_server: FeedServer, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    feed_server.resources["/page"] = Resource(b"<!DOCTYPE html><html><head><title>x</title></head></html>", 200,
                                              {"Content-Type": "text/html"})
    assert main(["feeds", "preview", feed_server.url("/page")]) == 1
    assert "`wirefeed feeds discover URL` finds its feeds" in capsys.readouterr().err
    assert main(["feeds", "preview", str(tmp_path / "missing.xml")]) == 1
    assert "missing.xml: No such file or directory" in capsys.readouterr().err
    assert main(["feeds", "preview", "--format", "yaml", str(tmp_path / "missing.xml")]) == 2


@pytest.mark.usefixtures("private_networks_allowed")
def test_an_item_the_normalizer_would_dead_letter_is_named_and_fails_the_command(
        feed_server: FeedServer, capsys: pytest.CaptureFixture[str]) -> None:
    feed_server.resources["/feed.xml"] = Resource(rss("Wire", [
        {"title": "Fine", "link": "https://news.example/1", "body": "Text."},
        {"title": "From the future", "link": "https://news.example/2", "body": "Text.", "guid": "future",
         "date": "Mon, 01 Jan 3013 10:00:00 GMT"}]))
    assert main(["feeds", "preview", feed_server.url("/feed.xml")]) == 1
    out = capsys.readouterr().out
    assert "  1  Fine" in out
    assert ("rejected item future: NormalizeError: date 3013-01-01T10:00:00+00:00 is more than 24 hours in the "
            "future") in out


def test_a_file_is_read_no_further_than_a_fetched_body_could_be(monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("WIREFEED_MAX_BODY_BYTES", "4096")
    assert main(["feeds", "preview", "/dev/zero"]) == 1  # endless: read up to the cap, then refused
    assert capsys.readouterr().err.strip() == (
        "wirefeed feeds preview: /dev/zero: larger than WIREFEED_MAX_BODY_BYTES (4,096 bytes)")


def test_a_reader_that_goes_away_ends_the_command_quietly(shared_dir: Path) -> None:
    guardian = shared_dir / "corpus" / "rss-parser" / "test" / "input" / "guardian.rss"  # 55 articles: >8 KB out
    read, write = os.pipe()
    os.close(read)  # as `| head -1` does once it has its line
    try:
        result = subprocess.run([sys.executable, "-m", "services.cli", "feeds", "preview", str(guardian)],
                                stdout=write, stderr=subprocess.PIPE, text=True, timeout=60, check=False,
                                cwd=Path(__file__).resolve().parents[2])
    finally:
        os.close(write)
    assert result.returncode == 1
    assert result.stderr == ""  # no traceback, no "Exception ignored" at exit


def test_a_spool_directory_feed_shows_its_newest_file_and_moves_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    spool = tmp_path / "wire"
    spool.mkdir()
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(f"feeds:\n  - id: wire\n    url: {spool.as_uri()}/\n")
    monkeypatch.setenv("WIREFEED_FEEDS_FILE", str(feeds))
    assert main(["feeds", "preview", "--feed", "wire"]) == 1
    assert "spool_error: no file waiting in file://" in capsys.readouterr().err
    deliver_to(spool, EFE_NITF, age=120, content=None)
    deliver_to(spool, AFP_NEWSML1, age=60, content=None)
    assert main(["feeds", "preview", "--feed", "wire"]) == 0
    out, err = capsys.readouterr()
    assert err == f"wirefeed feeds preview: {AFP_NEWSML1}, of 2 waiting\n"
    assert out.startswith("newsml-1: ") and "Sweden court accepts receivership for Saab carmaker" in out
    assert main(["feeds", "preview", "--feed", "wire", "--file", EFE_NITF]) == 0
    assert "Honduran president announces Cabinet changes" in capsys.readouterr().out
    assert sorted(path.name for path in spool.iterdir()) == [AFP_NEWSML1, EFE_NITF]  # nothing processed
    assert main(["feeds", "preview", "--feed", "wire", "--file", "gone.xml"]) == 1
    assert "no file 'gone.xml' waiting" in capsys.readouterr().err


def test_an_agency_server_feed_signs_in_and_shows_a_file_left_on_the_server(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "root" / "outgoing").mkdir(parents=True)
    with running_sftp_server(tmp_path / "root", passwords={"wire": "s3cret"}) as server:
        deliver_to(server.root / "outgoing", REUTERS_G2, age=60, content=None)
        deliver_to(server.root / "outgoing", EFE_NITF, age=120, content=None)
        feeds = tmp_path / "feeds.yaml"
        feeds.write_text(f"feeds:\n  - id: agency\n    url: {server.url('/outgoing/')}\n"
                         "    auth: {type: basic, username: wire, password_env: AGENCY_PASSWORD}\n")
        for name, value in {"WIREFEED_FEEDS_FILE": str(feeds), "AGENCY_PASSWORD": "s3cret",
                            "WIREFEED_ALLOW_PRIVATE_NETWORKS": "true",
                            "WIREFEED_SFTP_KNOWN_HOSTS": str(server.known_hosts(tmp_path))}.items():
            monkeypatch.setenv(name, value)
        assert main(["feeds", "preview", "--feed", "agency"]) == 0
        out, err = capsys.readouterr()
        assert err == f"wirefeed feeds preview: {REUTERS_G2}, of 2 waiting\n"
        assert "Confident Assad launches new term in stronger position" in out
        assert server.opened == [REUTERS_G2]  # the one file read, and left there
        assert sorted(path.name for path in (server.root / "outgoing").iterdir()) == [EFE_NITF, REUTERS_G2]
        monkeypatch.setenv("AGENCY_PASSWORD", "wrong")
        assert main(["feeds", "preview", "--feed", "agency"]) == 1
        assert capsys.readouterr().err.startswith("wirefeed feeds preview: sftp_error: cannot sign in to 127.0.0.1")


def test_file_is_only_for_spool_feeds(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["feeds", "preview", "https://example.com/feed.xml", "--file", "a.xml"]) == 2
    assert "--file is for a spool feed" in capsys.readouterr().err
