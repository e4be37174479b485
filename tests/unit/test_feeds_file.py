import re
from ipaddress import ip_network
from pathlib import Path

import asyncssh
import pytest

from schemas import FeedFormat, RawItem
from services.cli import main as cli
from services.poller.feeds import FeedsFileError, load_feeds, parse_feeds

README = Path(__file__).resolve().parents[2] / "README.md"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "feeds.yaml"
    path.write_text(text)
    return path


def test_a_valid_feeds_file_loads_with_defaults(tmp_path: Path) -> None:
    feeds = load_feeds(write(tmp_path, """
feeds:
  - id: reuters-world
    url: https://example.com/world.rss
  - id: ap
    url: https://example.com/ap.xml
    format: atom
    interval: 60
    headers: {X-Api-Key: abc}
""")).feeds
    assert [f.id for f in feeds] == ["reuters-world", "ap"]
    assert feeds[0].interval == 300
    assert feeds[1].format is not None and feeds[1].format.value == "atom"
    assert feeds[1].headers == {"X-Api-Key": "abc"}


@pytest.mark.parametrize(("text", "fragment"), [
    ("feeds:\n  - id: a\n    url: gopher://example.com/x\n", "feeds.0.url"),
    ("feeds:\n  - id: a\n    url: https://x.example/a\n  - id: a\n    url: https://x.example/b\n", "more than once"),
    ("feeds:\n  - id: a\n    url: https://x.example/a\n    interval: -5\n", "feeds.0.interval"),
    # beyond a year, or infinite: the next poll's date overflowed
    ("feeds:\n  - id: a\n    url: https://x.example/a\n    interval: .inf\n", "feeds.0.interval"),
    ("feeds:\n  - id: a\n    url: https://x.example/a\n    max_interval: 1e300\n", "feeds.0.max_interval"),
    ("feeds:\n  - id: a\n    url: https://x.example/a\n    color: red\n", "feeds.0.color"),
    ("- just a list\n", "expected a mapping"),
    ("feeds: [unclosed\n", "not valid YAML"),
    ("feeds:\n  - id: a\n    url: https://x.example/a\n    skip_items: [{title: '(unclosed'}]\n",
     "feeds.0.skip_items.0.title"),
    ("feeds:\n  - id: a\n    url: https://x.example/a\n    keep_items: [{}]\n", "needs at least one of"),
    ("feeds:\n  - id: a\n    url: https://x.example/a\n    skip_items: [{headline: x}]\n",
     "feeds.0.skip_items.0.headline"),
    # a secret in the URL would go with every item's feed_url to Kafka and storage
    ("feeds:\n  - id: a\n    url: https://wire:hunter2@x.example/a\n", "not in the URL"),
    # HTTP cannot carry these: refused here rather than failing each of the feed's requests
    ("feeds:\n  - id: a\n    url: https://x.example/a\n    headers: {X-Key: \"a\\nb\"}\n", "one line"),
    ("feeds:\n  - id: a\n    url: https://x.example/a\n    headers: {X-Key: \u20ac5}\n", "Latin-1"),
    ("feeds:\n  - id: a\n    url: https://x.example/a\n    headers: {X Key: a}\n", "not an HTTP token"),
])
def test_invalid_feeds_files_are_rejected_with_where_and_why(tmp_path: Path, text: str, fragment: str) -> None:
    with pytest.raises(FeedsFileError, match=fragment.replace(".", r"\.")):
        load_feeds(write(tmp_path, text))


FEED = "feeds:\n  - id: a\n    url: https://x.example/a\n"


@pytest.mark.parametrize(("text", "message"), [
    # YAML's booleans: pydantic took true, yes and on for 1 second
    (FEED + "    interval: true\n", "feeds.0.interval: must be a number of seconds, not true or false"),
    (FEED + "    interval: yes\n", "feeds.0.interval: must be a number of seconds, not true or false"),
    (FEED + "    min_interval: on\n", "feeds.0.min_interval: must be a number of seconds, not true or false"),
    # a server polled every second (or every millisecond) is being hammered
    (FEED + "    interval: 1\n", "feeds.0.interval: must be at least 5 seconds: polling more often hammers the server"),
    (FEED + "    interval: 0.001\n", "feeds.0.interval: must be at least 5 seconds"),
    (FEED + "    interval: 0\n", "feeds.0.interval: must be at least 5 seconds"),
    (FEED + "    max_interval: 4.9\n", "feeds.0.max_interval: must be at least 5 seconds"),
    (FEED + "    adaptive: true\n    min_interval: 1\n", "feeds.0.min_interval: must be at least 5 seconds"),
    ("feeds:\n  - id: a\n    url: https://x.example:0/a\n", "feeds.0.url: port 0 is no port a server listens on"),
    ("feeds:\n  - id: a\n    url: sftp://wire@x.example:0/out/\n    auth: {type: basic, username: wire, "
     "password_env: P}\n", "feeds.0.url: port 0 is no port a server listens on"),
    (FEED + "    auth: {type: oauth2, token_url: 'https://auth.example:0/token', client_id: c, client_secret_env: S}\n",
     "feeds.0.auth.oauth2.token_url: port 0 is no port a server listens on"),
])
def test_intervals_and_ports_no_one_means_are_refused_with_why(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(FeedsFileError, match=re.escape(message)):
        load_feeds(write(tmp_path, text), secrets=False)


def test_the_shortest_interval_is_allowed_and_a_quoted_number_is_still_one(tmp_path: Path) -> None:
    feeds = load_feeds(write(tmp_path, FEED + "    interval: 5\n    min_interval: '5'\n    max_interval: 5.0\n")).feeds
    assert (feeds[0].interval, feeds[0].min_interval, feeds[0].max_interval) == (5, 5, 5)


@pytest.mark.parametrize(("text", "key", "line"), [
    (FEED + "    interval: 60\n    interval: 600\n", "interval", 5),  # PyYAML kept the last, silently
    (FEED + "    url: https://x.example/b\n", "url", 4),
    (FEED + "    auth: {type: bearer, token_env: A, token_env: B}\n", "token_env", 4),
    (FEED + "feeds: []\n", "feeds", 4),  # a second list in place of the first
])
def test_a_key_given_twice_in_one_mapping_is_refused(tmp_path: Path, text: str, key: str, line: int) -> None:
    path = write(tmp_path, text)
    with pytest.raises(FeedsFileError) as error:
        load_feeds(path, secrets=False)
    assert str(error.value).startswith(f"{path}: not valid YAML: ")
    assert f"found the key {key!r} a second time\n  in \"<unicode string>\", line {line}," in str(error.value)


def test_a_key_from_a_merged_anchor_may_be_overridden(tmp_path: Path) -> None:
    feeds = load_feeds(write(tmp_path, """
feeds:
  - &wire {id: a, url: 'https://x.example/a', interval: 60, category: Wire}
  - <<: *wire
    id: b
    interval: 30
""")).feeds
    assert [(f.id, f.interval, f.category) for f in feeds] == [("a", 60, "Wire"), ("b", 30, "Wire")]


def test_a_file_wide_problem_reads_as_a_sentence(tmp_path: Path) -> None:
    path = write(tmp_path, "feeds:\n  - id: a\n    url: https://x.example/a\n  - id: a\n    url: https://x.example/b\n")
    with pytest.raises(FeedsFileError) as error:
        load_feeds(path)
    assert str(error.value) == f"{path}: feed id 'a' appears more than once"


def test_a_missing_feeds_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(FeedsFileError, match="cannot read"):
        load_feeds(tmp_path / "absent.yaml")


def test_backfill_without_a_feeds_file_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("WIREFEED_FEEDS_FILE", str(tmp_path / "absent.yaml"))
    assert cli(["feeds", "backfill"]) == 2  # was a traceback
    assert capsys.readouterr().err == f"wirefeed feeds backfill: {tmp_path / 'absent.yaml'}: cannot read: " \
                                      "No such file or directory\n"


@pytest.mark.parametrize("argv", [*(["feeds", "backfill", "--max-pages", pages] for pages in ("0", "-1", "10001", "x")),
                                  # SQLite read "--limit -1" as no limit, and a 20-digit one raised
                                  *(["feeds", "failed", f"--limit={n}"] for n in ("0", "-1", "99999999999999999999"))])
def test_counts_out_of_range_are_usage_errors(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli(argv)
    assert exit_.value.code == 2


def test_a_feed_may_name_the_agency_whose_own_wire_it_is(tmp_path: Path) -> None:
    feeds = load_feeds(write(tmp_path, FEED + "    agency: ' Reuters '\n  - id: b\n    url: https://x.example/b\n")).feeds
    assert [feed.agency for feed in feeds] == ["Reuters", None]


@pytest.mark.parametrize(("value", "message"), [
    # a name that marks the feed for nothing: its kills would still be read as a mere copy's
    ("''", "feeds.0.agency: must name the agency whose own wire the feed is"),
    ("'   '", "feeds.0.agency: must name the agency whose own wire the feed is"),
    ('"Reuters\\nAP"', "feeds.0.agency: an agency's name is one line of at most 100 characters"),
    ("R" * 101, "feeds.0.agency: an agency's name is one line of at most 100 characters"),
    ("true", "feeds.0.agency: Input should be a valid string"),
    ("[Reuters, AP]", "feeds.0.agency: Input should be a valid string"),
])
def test_an_agency_mark_that_names_no_agency_is_refused(tmp_path: Path, value: str, message: str) -> None:
    with pytest.raises(FeedsFileError, match=re.escape(message)):
        load_feeds(write(tmp_path, FEED + f"    agency: {value}\n"), secrets=False)


def test_a_feed_may_list_the_private_networks_it_reaches(tmp_path: Path) -> None:
    text = FEED + "    private_networks: [10.1.0.0/16, ' 10.9.8.7 ', 'fd00:1::/64']\n  - id: b\n    url: https://x.example/b\n"
    feeds = load_feeds(write(tmp_path, text)).feeds
    assert [[str(network) for network in feed.private_networks] for feed in feeds] == [
        ["10.1.0.0/16", "10.9.8.7/32", "fd00:1::/64"], []]


@pytest.mark.parametrize(("value", "message"), [
    # a slip that, widened silently, would open a whole /16 to the feed
    ("[10.1.2.3/16]", "feeds.0.private_networks.0: '10.1.2.3/16' has bits set past its prefix length: "
                      "10.1.0.0/16 for the network, or 10.1.2.3 for the one address"),
    ("[intranet.example.com]", "feeds.0.private_networks.0: 'intranet.example.com' is no network"),
    ("[10.0.0.0/33]", "feeds.0.private_networks.0: '10.0.0.0/33' is no network"),
    ("[true]", "feeds.0.private_networks.0: a network is written as text"),
    ("[167772160]", "feeds.0.private_networks.0: a network is written as text"),
    ("10.1.0.0/16", "feeds.0.private_networks: Input should be a valid list"),
])
def test_private_networks_that_are_no_networks_are_refused(tmp_path: Path, value: str, message: str) -> None:
    with pytest.raises(FeedsFileError, match=re.escape(message)):
        load_feeds(write(tmp_path, FEED + f"    private_networks: {value}\n"), secrets=False)


def test_a_spool_directory_feed_takes_no_private_networks(tmp_path: Path) -> None:
    text = "feeds:\n  - id: a\n    url: file:///var/spool/wire/\n    private_networks: [10.1.0.0/16]\n"
    with pytest.raises(FeedsFileError, match="a spool directory feed connects nowhere"):
        load_feeds(write(tmp_path, text), secrets=False)
    sftp = "feeds:\n  - id: a\n    url: sftp://wire@10.1.2.3/out/\n    private_networks: [10.1.0.0/16]\n" \
           "    auth: {type: basic, username: wire, password_env: P}\n"
    assert load_feeds(write(tmp_path, sftp), secrets=False).feeds[0].private_networks  # its server is reached


@pytest.mark.parametrize(("networks", "reached"), [
    ("[0.0.0.0/0]", "loopback addresses (the poller's own machine); the cloud metadata addresses 169.254.169.254, "
                    "168.63.129.16; more addresses than any one site's (wider than a /8 for IPv4, a /32 for IPv6)"),
    ("[169.254.0.0/16]", "the cloud metadata address 169.254.169.254"),
    ("['::1']", "loopback addresses (the poller's own machine)"),
    ("['fd00:ec2::/64']", "the cloud metadata address fd00:ec2::254"),
    ("['fd12::/16']", "more addresses than any one site's (wider than a /8 for IPv4, a /32 for IPv6)"),
    ("['::ffff:127.0.0.0/104']", "loopback addresses (the poller's own machine)"),  # IPv4-mapped: where it ends
    ("[10.0.0.0/8, 168.63.129.16]", "the cloud metadata address 168.63.129.16"),  # Azure's WireServer
    ("[0.0.0.0/32]", "loopback addresses (the poller's own machine)"),  # the unspecified addresses reach it too
    ("['::/128']", "loopback addresses (the poller's own machine)"),
])
def test_feeds_check_warns_of_a_private_network_reaching_beyond_an_intranet_and_lets_it_be(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], networks: str, reached: str) -> None:
    assert cli(["feeds", "check", str(write(tmp_path, FEED + f"    private_networks: {networks}\n"))]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
    network = ip_network(networks.strip("[]").split(", ")[-1].strip("'"))  # the one warned of: the last
    assert warnings == [f"warning: a: private_networks: {network} takes in {reached}: list only the networks the "
                        "feed's own servers are on"]


@pytest.mark.parametrize("networks", ["[10.0.0.0/8]", "[172.16.0.0/12, 192.168.0.0/16]", "['fd00:1::/48']",
                                      "['fd12:3456::/32']", "[169.254.0.0/24]", "['::ffff:10.1.0.0/112']"])
def test_feeds_check_says_nothing_of_an_intranet_s_networks(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                            networks: str) -> None:
    assert cli(["feeds", "check", str(write(tmp_path, FEED + f"    private_networks: {networks}\n"))]) == 0
    assert "warning" not in capsys.readouterr().err


def test_a_feed_may_name_the_time_zone_it_writes_local_times_in(tmp_path: Path) -> None:
    feeds = load_feeds(write(tmp_path, FEED + "    timezone: ' Europe/Berlin '\n  - id: b\n    url: https://x.example/b\n"))
    assert [feed.timezone for feed in feeds.feeds] == ["Europe/Berlin", None]


@pytest.mark.parametrize(("value", "message"), [
    # Abbreviations and offsets stay an hour off half the year: only a place's zone knows its summer time.
    ("CEST", "feeds.0.timezone: 'CEST' is no time zone: write an IANA name, Europe/Berlin or America/New_York"),
    ("'+02:00'", "feeds.0.timezone: '+02:00' is no time zone: write an IANA name"),
    ("Europe", "feeds.0.timezone: 'Europe' is no time zone: write an IANA name"),  # a folder of zones
    ("europe/berlin", "feeds.0.timezone: 'europe/berlin' is no time zone: Europe/Berlin?"),
    ("../../etc/passwd", "feeds.0.timezone: '../../etc/passwd' is no time zone"),
    ("localtime", "feeds.0.timezone: 'localtime' is this machine's own zone, not the feed's"),
    ("''", "feeds.0.timezone: must name the feed's time zone (Europe/Berlin), or be left out"),
    ("1", "feeds.0.timezone: Input should be a valid string"),
])
def test_a_time_zone_that_is_no_iana_zone_is_refused(tmp_path: Path, value: str, message: str) -> None:
    with pytest.raises(FeedsFileError, match=re.escape(message)):
        load_feeds(write(tmp_path, FEED + f"    timezone: {value}\n"), secrets=False)


@pytest.mark.parametrize(("good", "bad", "message"), [
    ("agency: Reuters", "agency: ''", "feeds.0.agency: must name the agency"),
    ("private_networks: [10.1.0.0/16]", "private_networks: [10.1.0.0/8]",
     "feeds.0.private_networks.0: '10.1.0.0/8' has bits set past its prefix length"),
    ("timezone: America/New_York", "timezone: Europe/Berlim",
     "feeds.0.timezone: 'Europe/Berlim' is no time zone: write an IANA name"),
], ids=["a blank agency", "a private network that is none", "a time zone it does not know"])
def test_feeds_check_refuses_what_the_loader_refuses(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                     good: str, bad: str, message: str) -> None:
    assert cli(["feeds", "check", str(write(tmp_path, FEED + f"    {good}\n"))]) == 0
    assert cli(["feeds", "check", str(write(tmp_path, FEED + f"    {bad}\n"))]) == 1
    assert message in capsys.readouterr().err


def test_feeds_check_command_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(tmp_path, "feeds:\n  - id: a\n    url: https://x.example/a\n")
    assert cli(["feeds", "check", str(good)]) == 0
    assert "ok: 1 feed" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text("feeds:\n  - id: 'bad id'\n    url: https://x.example/a\n")
    assert cli(["feeds", "check", str(bad)]) == 1
    assert "feeds.0.id" in capsys.readouterr().err


def test_item_rules_keep_then_skip_by_field(tmp_path: Path) -> None:
    [feed] = load_feeds(write(tmp_path, """
feeds:
  - id: wire
    url: https://example.com/wire.xml
    keep_items:
      - category: ^(World|Business)$
      - {author: Reuters, title: "(?i)exclusive"}
    skip_items:
      - title: (?i)^sponsored
      - url: /live/
""")).feeds

    def item(**fields: object) -> RawItem:
        return RawItem.model_validate({"item_id": "wire:1", "feed_id": "wire", "feed_url": "https://example.com/",
                                       "format": "rss", "fetched_at": "2024-01-01T00:00:00Z", "content_hash": "h",
                                       **fields})

    assert feed.wants(item(title="Talks", categories=["Sport", "World"]))
    assert not feed.wants(item(title="Talks", categories=["Sport"]))  # no keep rule matches
    assert feed.wants(item(title="EXCLUSIVE: talks", byline="By Jo Bloggs, Reuters"))  # both conditions
    assert not feed.wants(item(title="Exclusive: talks", authors=["Jo Bloggs"]))  # one of two
    assert not feed.wants(item(title="Sponsored: cruises", categories=["World"]))
    assert not feed.wants(item(title="Talks", categories=["World"], link="https://example.com/live/talks"))
    assert feed.wants(item(title="Sponsored: cruises", pubstatus="canceled"))  # a kill is never held back


def test_check_notes_a_spool_directory_it_cannot_use_without_failing(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "afp").mkdir()
    path = write(tmp_path, f"feeds:\n  - id: afp\n    url: {tmp_path.as_uri()}/afp/\n"
                           f"  - id: dpa\n    url: {tmp_path.as_uri()}/not-mounted/\n")
    assert cli(["feeds", "check", str(path)]) == 0  # it may be mounted only where the poller runs
    out, err = capsys.readouterr()
    assert out == "ok: 2 feed(s)\n"
    assert f"note: dpa: {tmp_path}/not-mounted is not a directory" in err and "afp" not in err


def test_check_notes_sftp_feeds_whose_host_key_is_not_known(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "feeds:\n  - id: dpa\n    url: sftp://wire@sftp.example.com/out/\n"
                           "    auth: {type: basic, username: wire, password_env: DPA_PASSWORD}\n")
    monkeypatch.setenv("DPA_PASSWORD", "secret")
    monkeypatch.setenv("WIREFEED_SFTP_KNOWN_HOSTS", str(tmp_path / "known_hosts"))
    assert cli(["feeds", "check", str(path)]) == 0
    assert f"against {tmp_path}/known_hosts, which cannot be read" in capsys.readouterr().err
    (tmp_path / "known_hosts").write_text("")
    assert cli(["feeds", "check", str(path)]) == 0
    assert f"dpa: no host key for sftp.example.com port 22 in {tmp_path}/known_hosts" in capsys.readouterr().err
    key = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode()
    (tmp_path / "known_hosts").write_text(f"sftp.example.com {key}")
    assert cli(["feeds", "check", str(path)]) == 0
    assert capsys.readouterr().err == ""


def test_the_readme_s_feeds_file_examples_load_and_name_every_format() -> None:
    examples = [block for block in re.findall(r"```yaml\n(.*?)```", README.read_text(), re.DOTALL)
                if block.startswith("feeds:")]
    assert examples
    for example in examples:  # secrets are the operator's files and variables, not the README's
        assert parse_feeds(example.encode(), README, secrets=False).feeds
    listed = re.search(r"format: rss +# optional[^\n]*\n(?: +#[^\n]*\n)*", README.read_text())
    assert listed is not None
    assert all(kind.value in listed.group() for kind in FeedFormat)
