"""OPML import and export: real subscription lists (NetNewsWire's), nested folders, stable unique ids."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.cli import main as cli
from services.poller.feeds import load_feeds
from services.poller.opml import OpmlError, OpmlFeed, export_opml, id_stem, parse_opml, to_feed_configs

RESOURCES = "corpus/netnewswire/Modules/RSParser/Tests/RSParserTests/Resources"

NESTED = b"""<?xml version="1.0"?>
<opml version="1.0"><head><title>Wire</title></head><body>
  <outline text="News">
    <outline text="World">
      <outline text="Reuters World" type="rss" xmlUrl="https://reuters.example/world.rss"/>
      <outline text="Reuters World" type="rss" xmlurl="https://reuters.example/world2.rss"/>
    </outline>
    <outline title="Agence" type="rss" xmlUrl="https://afp.example/fr.xml"/>
  </outline>
  <outline type="rss" xmlUrl="https://www.ap.example/top.xml"/>
  <outline text="&#x65B0;&#x805E;" type="rss" xmlUrl="https://news.example.jp/rss"/>
  <outline text="Local/Regional" type="rss" xmlUrl="https://reuters.example/world.rss"/>
  <outline text="Broken" type="rss" xmlUrl="ftp://files.example/feed"/>
</body></opml>"""


def test_nested_folders_become_category_paths() -> None:
    assert parse_opml(NESTED) == [
        OpmlFeed("https://reuters.example/world.rss", "Reuters World", "News/World"),
        OpmlFeed("https://reuters.example/world2.rss", "Reuters World", "News/World"),
        OpmlFeed("https://afp.example/fr.xml", "Agence", "News"),
        OpmlFeed("https://www.ap.example/top.xml", None, None),
        OpmlFeed("https://news.example.jp/rss", "新聞", None),
        OpmlFeed("https://reuters.example/world.rss", "Local/Regional", None),
        OpmlFeed("ftp://files.example/feed", "Broken", None),
    ]


def test_ids_come_from_titles_or_hosts_are_unique_and_the_same_every_time() -> None:
    feeds, skipped, _ = to_feed_configs(parse_opml(NESTED))
    assert [f.id for f in feeds] == ["reuters-world", "reuters-world-2", "agence", "ap-example", "news-example-jp"]
    assert [f.id for f in to_feed_configs(parse_opml(NESTED))[0]] == [f.id for f in feeds]
    assert len(skipped) == 1 and "ftp://files.example/feed" in skipped[0]  # the duplicate URL is dropped quietly
    assert id_stem("  Ünïcode — Wire: Top Stories!  ", "https://x.example/") == "unicode-wire-top-stories"
    assert id_stem(None, "not a url") == "feed"


@pytest.mark.parametrize("name", ["Subs.opml", "SubsNoTitleAttributes.opml"])
def test_real_subscription_lists_import_into_a_valid_feeds_file(shared_dir: Path, tmp_path: Path, name: str,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    source = shared_dir / RESOURCES / name
    entries = parse_opml(source.read_bytes())
    assert len({entry.url for entry in entries}) >= 200
    assert {entry.category for entry in entries} >= {"Programming", "Macintosh", "Weblogs", "Writers"}
    out = tmp_path / "feeds.yaml"
    assert cli(["feeds", "import-opml", str(source), "--out", str(out)]) == 0
    feeds = load_feeds(out).feeds  # the ids and URLs pass the feeds file's own validation
    assert len(feeds) == len({str(f.url) for f in feeds}) >= 200
    assert next(f for f in feeds if f.id == "daring-fireball").title == "Daring Fireball"
    assert cli(["feeds", "import-opml", str(source), "--out", str(out)]) == 1  # never overwrites
    assert "exists" in capsys.readouterr().err
    nowhere = tmp_path / "no-such-directory" / "feeds.yaml"  # was a FileNotFoundError traceback
    assert cli(["feeds", "import-opml", str(source), "--out", str(nowhere)]) == 1
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"wirefeed feeds import-opml: cannot write {nowhere}: No such file or directory")


def test_export_then_import_gives_back_the_same_feeds_folders_and_ids(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "wire.opml"
    source.write_bytes(NESTED)
    assert cli(["feeds", "import-opml", str(source)]) == 0
    feeds_file = tmp_path / "feeds.yaml"
    feeds_file.write_text(capsys.readouterr().out)
    assert cli(["feeds", "export-opml", str(feeds_file)]) == 0
    exported = capsys.readouterr().out.encode()
    assert b'<opml xmlns:wirefeed="urn:wirefeed:opml" version="2.0">' in exported
    imported = load_feeds(feeds_file).feeds
    again = parse_opml(exported)
    assert [(entry.url, entry.category) for entry in again] == [(str(f.url), f.category) for f in imported]
    assert [entry.title for entry in again] == ["Reuters World", "Reuters World", "Agence", None, "新聞"]
    assert [entry.id for entry in again] == [f.id for f in imported]


def test_ids_and_missing_titles_survive_a_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Ids an import would not make (given by hand, or made before a feed's title changed): an import that
    # made new ones would have the poller publish every item of these feeds again, as new.
    feeds_file = tmp_path / "feeds.yaml"
    feeds_file.write_text("feeds:\n"
                          "  - {id: reuters.world, url: 'https://reuters.example/world.rss', title: Reuters World}\n"
                          "  - {id: ap, url: 'https://ap.example/top.xml', category: News/US,"
                          " timezone: America/New_York}\n"
                          "  - {id: AFP_fr, url: 'https://afp.example/fr.xml', title: Agence France-Presse,"
                          " agency: AFP}\n")
    assert cli(["feeds", "export-opml", str(feeds_file)]) == 0
    exported = capsys.readouterr().out
    # Untitled: its URL is what a reader shows, and no title is made up from its id.
    assert ('<outline type="rss" text="https://ap.example/top.xml" xmlUrl="https://ap.example/top.xml" '
            'wirefeed:id="ap" wirefeed:timezone="America/New_York"/>') in exported  # lost, its local times read as UTC
    opml = tmp_path / "feeds.opml"
    opml.write_text(exported)
    assert cli(["feeds", "import-opml", str(opml)]) == 0
    again = tmp_path / "again.yaml"
    again.write_text(capsys.readouterr().out)
    original = load_feeds(feeds_file).feeds
    assert load_feeds(again).feeds == original  # ids, URLs, titles (or none), categories, agencies, zones alike
    assert 'wirefeed:agency="AFP"' in exported  # lost, AFP's own kills would withdraw a copy only


def test_the_ids_outlines_carry_come_first_and_one_that_cannot_be_kept_is_skipped_with_why() -> None:
    opml = b"""<?xml version="1.0"?><opml version="2.0" xmlns:w="urn:wirefeed:opml"><body>
      <outline text="Reuters World" type="rss" xmlUrl="https://reuters.example/new-world.rss"/>
      <outline text="World" type="rss" xmlUrl="https://reuters.example/world.rss" w:id="reuters-world"/>
      <outline text="Copy" type="rss" xmlUrl="https://copy.example/world.rss" w:id="reuters-world"/>
      <outline text="Edited" type="rss" xmlUrl="https://edited.example/feed" w:id="not an id"/>
      <outline text="https://bare.example/feed" type="rss" xmlUrl="https://bare.example/feed"/>
    </body></opml>"""
    feeds, skipped, _ = to_feed_configs(parse_opml(opml))
    assert [(f.id, f.title) for f in feeds] == [("reuters-world-2", "Reuters World"), ("reuters-world", "World"),
                                                ("bare-example", None)]  # a text that is the URL is no title
    assert skipped == ["'https://copy.example/world.rss': its wirefeed:id 'reuters-world' is another feed's",
                       "'https://edited.example/feed': its wirefeed:id 'not an id' is no feed id (letters, digits, "
                       ". _ -, at most 100)"]


def test_export_nests_outlines_by_category() -> None:
    feeds, _, _ = to_feed_configs(parse_opml(NESTED))
    text = export_opml(feeds).decode()
    assert text.index('<outline text="News"') < text.index('<outline text="World"') < text.index("world.rss")


def test_a_title_with_characters_xml_cannot_hold_is_exported_without_them(tmp_path: Path) -> None:
    # `feeds check` took the file, and the export failed on the bell: "All strings must be XML compatible".
    feeds_file = tmp_path / "feeds.yaml"
    feeds_file.write_text('feeds:\n  - id: ctrl\n    url: http://x.test/b\n    title: "bell\\a"\n'
                          '    category: "News/\\e[1mWorld"\n')
    [feed] = load_feeds(feeds_file).feeds
    assert feed.title == "bell\a"
    text = export_opml([feed]).decode()
    assert 'title="bell"' in text and '<outline text="[1mWorld"' in text


def test_spool_directories_are_left_out_of_an_export_and_named(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    feeds_file = tmp_path / "feeds.yaml"
    feeds_file.write_text("feeds:\n  - id: afp\n    url: file:///var/spool/wire/afp/\n"
                          "  - id: web\n    url: https://example.com/feed.xml\n"
                          "  - id: dpa\n    url: sftp://wire@sftp.example.com/out/\n"
                          "    auth: {type: basic, username: wire, password_env: DPA_PASSWORD}\n")
    assert cli(["feeds", "export-opml", str(feeds_file)]) == 0
    out, err = capsys.readouterr()
    assert [entry.url for entry in parse_opml(out.encode())] == ["https://example.com/feed.xml"]
    assert "left out spool feeds (directories, servers, mailboxes): afp, dpa" in err


def test_what_is_not_opml_is_refused() -> None:
    with pytest.raises(OpmlError, match="not an OPML"):
        parse_opml(b"<rss version='2.0'><channel/></rss>")
    with pytest.raises(OpmlError):
        parse_opml(b'<!DOCTYPE x [<!ENTITY a "aaaa">]><opml><body/></opml>')  # entity declarations refused


def test_an_outline_no_feed_may_have_is_skipped_and_its_password_not_shown() -> None:
    opml = (b'<?xml version="1.0"?><opml version="2.0"><body>'
            b'<outline text="Wire" type="rss" xmlUrl="https://desk:hunter2@wire.example/feed"/>'
            b'<outline text="Coast" type="rss" xmlUrl="https://coast.example/feed"/></body></opml>')
    feeds, skipped, _ = to_feed_configs(parse_opml(opml))
    assert [str(feed.url) for feed in feeds] == ["https://coast.example/feed"]
    assert len(skipped) == 1 and "desk:***@wire.example" in skipped[0] and "hunter2" not in skipped[0]


def test_an_outline_s_agency_mark_is_kept_and_one_naming_no_agency_is_skipped_with_why() -> None:
    opml = b"""<?xml version="1.0"?><opml version="2.0" xmlns:w="urn:wirefeed:opml"><body>
      <outline text="Reuters wire" type="rss" xmlUrl="https://reuters.example/wire.xml" w:agency="Reuters"/>
      <outline text="Outlet" type="rss" xmlUrl="https://outlet.example/feed.xml"/>
      <outline text="Blank" type="rss" xmlUrl="https://blank.example/feed.xml" w:agency=" "/>
    </body></opml>"""
    feeds, skipped, _ = to_feed_configs(parse_opml(opml))
    assert [(f.id, f.agency) for f in feeds] == [("reuters-wire", "Reuters"), ("outlet", None)]
    assert skipped == ["'https://blank.example/feed.xml': its wirefeed:agency ' ' must name the agency whose own wire "
                       "the feed is (Reuters, AP, dpa), or be left out"]


def test_a_feeds_private_networks_survive_export_and_an_import_told_to_keep_them(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Lost, the intranet feed would be refused at every poll once imported into a new poller.
    feeds_file = tmp_path / "feeds.yaml"
    feeds_file.write_text("feeds:\n"
                          "  - {id: intranet, url: 'http://news.corp.example/feed.xml', "
                          "private_networks: [10.1.0.0/16, 'fd00:1::/64']}\n"
                          "  - {id: public, url: 'https://public.example/feed.xml'}\n")
    assert cli(["feeds", "export-opml", str(feeds_file)]) == 0
    exported = capsys.readouterr().out
    assert 'wirefeed:private_networks="10.1.0.0/16 fd00:1::/64"' in exported
    assert exported.count("wirefeed:private_networks") == 1
    opml = tmp_path / "feeds.opml"
    opml.write_text(exported)
    assert cli(["feeds", "import-opml", "--keep-private-networks", str(opml)]) == 0
    imported = capsys.readouterr()
    again = tmp_path / "again.yaml"
    again.write_text(imported.out)
    assert load_feeds(again).feeds == load_feeds(feeds_file).feeds
    # Whoever keeps them is told which feeds they open the network to.
    assert ("note: intranet may reach the private networks 10.1.0.0/16, fd00:1::/64 (its wirefeed:private_networks)"
            in imported.err)
    assert "note: public" not in imported.err and "warning" not in imported.err


HOSTILE = b"""<?xml version="1.0"?><opml version="2.0" xmlns:w="urn:wirefeed:opml"><body>
  <outline text="Looks harmless" type="rss" xmlUrl="https://attacker.example/feed.xml" w:private_networks="0.0.0.0/0"/>
  <outline text="Metadata" type="rss" xmlUrl="https://other.example/feed.xml" w:private_networks="169.254.0.0/16"/>
  <outline text="Outlet" type="rss" xmlUrl="https://outlet.example/feed.xml"/>
</body></opml>"""


def test_an_import_drops_the_private_networks_an_opml_file_lists_unless_told_to_keep_them(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # An OPML file from elsewhere must not decide which feeds reach inside the poller's network.
    opml = tmp_path / "theirs.opml"
    opml.write_bytes(HOSTILE)
    assert cli(["feeds", "import-opml", str(opml)]) == 0
    imported = capsys.readouterr()
    feeds_file = tmp_path / "feeds.yaml"
    feeds_file.write_text(imported.out)
    assert [(feed.id, feed.private_networks) for feed in load_feeds(feeds_file).feeds] == [
        ("looks-harmless", []), ("metadata", []), ("outlet", [])]
    assert "private_networks" not in imported.out
    assert ("note: dropped the private_networks (wirefeed:private_networks) of looks-harmless, metadata: "
            in imported.err)
    assert "give --keep-private-networks to keep them" in imported.err


def test_an_import_keeping_private_networks_warns_of_those_reaching_beyond_an_intranet(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    opml = tmp_path / "theirs.opml"
    opml.write_bytes(HOSTILE)
    assert cli(["feeds", "import-opml", "--keep-private-networks", str(opml)]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
    assert [line.split(" takes in ")[0] for line in warnings] == [
        "warning: looks-harmless: private_networks: 0.0.0.0/0", "warning: metadata: private_networks: 169.254.0.0/16"]


def test_an_outline_whose_private_networks_are_no_networks_is_skipped_with_why() -> None:
    opml = b"""<?xml version="1.0"?><opml version="2.0" xmlns:w="urn:wirefeed:opml"><body>
      <outline text="Intranet" type="rss" xmlUrl="http://news.corp.example/feed.xml" w:private_networks="10.1.2.3/16"/>
      <outline text="Outlet" type="rss" xmlUrl="https://outlet.example/feed.xml" w:private_networks=" "/>
    </body></opml>"""
    feeds, skipped, _ = to_feed_configs(parse_opml(opml))
    assert [(f.id, f.private_networks) for f in feeds] == [("outlet", [])]
    assert skipped == ["'http://news.corp.example/feed.xml': its wirefeed:private_networks: '10.1.2.3/16' has bits "
                       "set past its prefix length: 10.1.0.0/16 for the network, or 10.1.2.3 for the one address"]


def test_an_outline_s_time_zone_is_kept_and_one_that_is_no_zone_is_skipped_with_why() -> None:
    opml = b"""<?xml version="1.0"?><opml version="2.0" xmlns:w="urn:wirefeed:opml"><body>
      <outline text="Berliner Zeitung" type="rss" xmlUrl="https://bz.example/feed.xml" w:timezone="Europe/Berlin"/>
      <outline text="Outlet" type="rss" xmlUrl="https://outlet.example/feed.xml"/>
      <outline text="Summer" type="rss" xmlUrl="https://summer.example/feed.xml" w:timezone="CEST"/>
    </body></opml>"""
    feeds, skipped, _ = to_feed_configs(parse_opml(opml))
    assert [(f.id, f.timezone) for f in feeds] == [("berliner-zeitung", "Europe/Berlin"), ("outlet", None)]
    assert len(skipped) == 1
    assert skipped[0].startswith("'https://summer.example/feed.xml': its wirefeed:timezone 'CEST' is no time zone: "
                                 "write an IANA name, Europe/Berlin or America/New_York")


def test_an_import_dropping_private_networks_keeps_a_feed_whose_list_it_could_not_read(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The list is dropped before the feed is made: a malformed one is no reason to skip the feed.
    opml = tmp_path / "theirs.opml"
    opml.write_bytes(HOSTILE.replace(b'w:private_networks="169.254.0.0/16"', b'w:private_networks="10.1.2.3/16"'))
    assert cli(["feeds", "import-opml", str(opml)]) == 0
    imported = capsys.readouterr()
    assert "imported 3 feed(s), skipped 0" in imported.err and "of looks-harmless, metadata:" in imported.err
    feeds_file = tmp_path / "feeds.yaml"
    feeds_file.write_text(imported.out)
    assert [(feed.id, feed.private_networks) for feed in load_feeds(feeds_file).feeds] == [
        ("looks-harmless", []), ("metadata", []), ("outlet", [])]


def test_an_import_names_only_the_feeds_whose_private_networks_it_dropped(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The second outline of a URL is skipped: its list was never the feed's, so the feed is not named.
    opml = tmp_path / "theirs.opml"
    opml.write_bytes(b"""<?xml version="1.0"?><opml version="2.0" xmlns:w="urn:wirefeed:opml"><body>
  <outline text="Kept" type="rss" xmlUrl="https://kept.example/feed.xml"/>
  <outline text="Again" type="rss" xmlUrl="https://kept.example/feed.xml" w:private_networks="10.0.0.0/8"/>
  <outline text="Listed" type="rss" xmlUrl="https://listed.example/feed.xml" w:private_networks="10.1.0.0/16"/>
</body></opml>""")
    assert cli(["feeds", "import-opml", str(opml)]) == 0
    assert "note: dropped the private_networks (wirefeed:private_networks) of listed:" in capsys.readouterr().err


def test_dropping_private_networks_names_the_feed_made_of_a_later_outline_when_the_first_is_skipped() -> None:
    # The first outline of the URL is skipped (its id is no feed id), so the second is the feed: its list was dropped.
    opml = b"""<?xml version="1.0"?><opml version="2.0" xmlns:w="urn:wirefeed:opml"><body>
  <outline text="Broken" type="rss" xmlUrl="https://kept.example/feed.xml" w:id="no id!"/>
  <outline text="Kept" type="rss" xmlUrl="https://kept.example/feed.xml" w:private_networks="10.0.0.0/8"/>
</body></opml>"""
    feeds, skipped, dropped = to_feed_configs(parse_opml(opml), keep_private_networks=False)
    assert [(f.id, f.private_networks) for f in feeds] == [("kept", [])]
    assert len(skipped) == 1
    assert dropped == ["kept"]
