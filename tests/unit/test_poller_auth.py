"""Per-feed credentials: read when the feeds file is loaded, sent only to the feed's origin, never shown anywhere."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import structlog
from prometheus_client import REGISTRY, generate_latest
from pydantic import SecretStr, ValidationError

from schemas import RawItem
from services.poller.feeds import FeedConfig, FeedsFileError, load_feeds, parse_feeds
from services.poller.fetch import Fetcher, FetchError, FetchLimits
from services.poller.service import Poller
from services.poller.settings import PollerSettings
from services.poller.state import FeedState, PollerStore
from tests.helpers import FeedServer, Resource, rss

PASSWORD = "pa55-w0rd-never-shown"
TOKEN = "t0ken-never-shown"
OPEN = FetchLimits(allow_private_networks=True)
STORY = {"title": "Storm", "link": "http://example.com/a", "guid": "a-1", "body": "<p>Rain.</p>"}


def feeds_file(tmp_path: Path, server: FeedServer) -> Path:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    path = tmp_path / "feeds.yaml"
    path.write_text(f"""
feeds:
  - id: basic
    url: {server.url("/basic.xml")}
    auth: {{type: basic, username: wire, password_env: WIREFEED_TEST_FEED_PASSWORD}}
  - id: bearer
    url: {server.url("/bearer.xml")}
    auth: {{type: bearer, token_file: {token_file}}}
  - id: refused
    url: {server.url("/refused.xml")}
    auth: {{type: bearer, token_file: {token_file}}}
  - id: unreachable
    url: http://127.0.0.1:9/feed.xml
    auth: {{type: basic, username: wire, password_env: WIREFEED_TEST_FEED_PASSWORD}}
""")
    return path


def secret_forms() -> list[str]:
    basic = base64.b64encode(f"wire:{PASSWORD}".encode()).decode()
    return [PASSWORD, TOKEN, basic]


def test_secrets_are_read_at_load_time_from_environment_and_file(tmp_path: Path, feed_server: FeedServer) -> None:
    feeds = load_feeds(feeds_file(tmp_path, feed_server), environ={"WIREFEED_TEST_FEED_PASSWORD": PASSWORD}).feeds
    assert feeds[0].auth is not None and feeds[1].auth is not None
    expected = "Basic " + base64.b64encode(f"wire:{PASSWORD}".encode()).decode()
    assert feeds[0].auth.authorization().get_secret_value() == expected
    assert feeds[1].auth.authorization().get_secret_value() == f"Bearer {TOKEN}"  # trailing newline dropped
    shown = " ".join([str(feeds), repr(feeds), str(feeds[0].model_dump()), feeds[1].model_dump_json(),
                      str(feeds[0].auth.authorization())])
    assert not any(secret in shown for secret in secret_forms())


def test_a_missing_secret_is_an_error_naming_where_it_was_looked_for(tmp_path: Path,
                                                                      feed_server: FeedServer) -> None:
    path = feeds_file(tmp_path, feed_server)
    with pytest.raises(FeedsFileError, match="feed 'basic': auth: environment variable WIREFEED_TEST_FEED_PASSWORD"):
        load_feeds(path, environ={})
    (tmp_path / "token").unlink()
    with pytest.raises(FeedsFileError, match="feed 'bearer': auth: cannot read secret file"):
        load_feeds(path, environ={"WIREFEED_TEST_FEED_PASSWORD": PASSWORD})
    assert load_feeds(path, secrets=False).feeds[1].id == "bearer"  # e.g. OPML export reads no secrets


@pytest.mark.parametrize("auth", [
    "{type: basic, username: u}",
    "{type: basic, username: u, password_env: A, password_file: /x}",
    "{type: bearer, token: inline-secrets-are-refused}",
    "{type: digest, username: u, password_env: A}",
])
def test_auth_needs_exactly_one_secret_source(tmp_path: Path, auth: str) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text(f"feeds:\n  - id: a\n    url: https://x.example/a\n    auth: {auth}\n")
    with pytest.raises(FeedsFileError, match=r"feeds\.0\.auth"):
        load_feeds(path, environ={"A": "x"})


@pytest.mark.parametrize("token", [f"{TOKEN}\nsecond-line", f"{TOKEN}\u20ac", f"{TOKEN}\x00"])
def test_a_token_http_cannot_carry_is_refused_at_load_without_showing_it(tmp_path: Path, token: str) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text("feeds:\n  - id: a\n    url: https://x.example/a\n    auth: {type: bearer, token_env: T}\n")
    with pytest.raises(FeedsFileError, match="the token from T is not one line of Latin-1 text") as refused:
        load_feeds(path, environ={"T": token})
    assert TOKEN not in str(refused.value)


@pytest.mark.parametrize("value", [f"Bearer {TOKEN}\nX-Injected: 1", f"Bearer {TOKEN}\u20ac"])
async def test_a_credential_http_cannot_carry_fails_the_fetch_without_echoing_it(feed_server: FeedServer,
                                                                                 value: str) -> None:
    # as an OAuth 2.0 token endpoint could hand out: h11's own error quotes the header's value
    feed_server.resources["/feed.xml"] = Resource(rss("Coast", [STORY]))
    fetcher = Fetcher(OPEN)
    with pytest.raises(FetchError, match="a request header HTTP cannot carry") as failed:
        await fetcher.fetch(feed_server.url("/feed.xml"), authorization=SecretStr(value))
    await fetcher.aclose()
    assert TOKEN not in str(failed.value) and feed_server.requests == []


async def test_credentials_are_sent_and_never_reach_logs_metrics_state_or_errors(
        tmp_path: Path, feed_server: FeedServer, store: PollerStore) -> None:
    feed_server.resources["/basic.xml"] = Resource(rss("Basic", [STORY]))
    feed_server.resources["/bearer.xml"] = Resource(rss("Bearer", [STORY]))
    feed_server.resources["/refused.xml"] = Resource(b"no", status=401, headers={"WWW-Authenticate": "Bearer"})
    feeds = load_feeds(feeds_file(tmp_path, feed_server), environ={"WIREFEED_TEST_FEED_PASSWORD": PASSWORD}).feeds
    published: list[RawItem] = []
    poller = Poller(feeds, store, Fetcher(OPEN), published.extend)
    poller.load_states()
    with structlog.testing.capture_logs() as logs:
        outcomes = [(await poller.poll(feed)).outcome for feed in feeds]
    await poller.fetcher.aclose()
    assert outcomes == ["ok", "ok", "http_status", "transport"]
    sent = {path: headers.get("authorization", "") for path, headers in feed_server.requests}
    assert sent["/basic.xml"].startswith("Basic ") and sent["/bearer.xml"] == f"Bearer {TOKEN}"
    states = [store.feed_state(f.id, str(f.url)) for f in feeds]
    visible = " ".join([str(logs), generate_latest(REGISTRY).decode(), str(states), str(outcomes)])
    assert "http_status: HTTP 401" in visible and "feed_failed" in visible  # the failures are reported...
    assert not any(secret in visible for secret in secret_forms())  # ...without the secrets


async def test_credentials_go_only_to_the_feeds_own_origin_across_redirects() -> None:
    seen: dict[str, httpx.Headers] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen[str(request.url)] = request.headers
        if request.url.path == "/start":
            return httpx.Response(302, headers={"Location": "https://feeds.test/upgraded"})
        if request.url.path == "/upgraded":
            return httpx.Response(302, headers={"Location": "https://cdn.other.test/feed"})
        return httpx.Response(200, content=b"<rss/>")

    fetcher = Fetcher(OPEN, transport=httpx.MockTransport(handler))
    await fetcher.fetch("http://feeds.test/start", headers={"X-Api-Key": "k"},
                        authorization=SecretStr("Bearer tok"))
    assert seen["http://feeds.test/start"]["authorization"] == "Bearer tok"
    assert seen["https://feeds.test/upgraded"]["x-api-key"] == "k"  # http -> https on the same host
    assert "authorization" not in seen["https://cdn.other.test/feed"]
    assert "x-api-key" not in seen["https://cdn.other.test/feed"]


async def to_loopback(host: str, port: int) -> list[str]:
    """The tests' names (agency.test, elsewhere.test) are the servers on 127.0.0.1: no DNS is asked."""
    return ["127.0.0.1"]


@pytest.fixture
def elsewhere() -> Iterator[FeedServer]:
    """A second server: another origin (its own port) than ``feed_server``'s."""
    server = FeedServer().start()
    yield server
    server.stop()


def named(server: FeedServer, host: str, path: str) -> str:
    return server.url(path).replace("127.0.0.1", host)


def agency_feed(url: str, *, credentials: bool = True) -> FeedConfig:
    auth = "\n    auth: {type: bearer, token_env: T}\n    headers: {X-Api-Key: key-never-shown}" if credentials else ""
    feeds = parse_feeds(f"feeds:\n  - id: agency\n    url: {url}{auth}\n".encode(), Path("feeds.yaml"),
                        environ={"T": TOKEN})
    return feeds.feeds[0]


def moved(feed_server: FeedServer, elsewhere: FeedServer) -> str:
    """The agency's feed answers 301 to the same path on another origin, which serves it."""
    target = named(elsewhere, "elsewhere.test", "/feed.xml")
    feed_server.resources["/feed.xml"] = Resource(b"", status=301, headers={"Location": target})
    elsewhere.resources["/feed.xml"] = Resource(rss("Moved", [STORY]))
    return target


def credentials_sent(server: FeedServer) -> list[tuple[str | None, str | None]]:
    return [(headers.get("authorization"), headers.get("x-api-key")) for _, headers in server.requests]


async def test_credentials_never_follow_a_permanent_redirect_to_another_origin(
        feed_server: FeedServer, elsewhere: FeedServer, store: PollerStore) -> None:
    # Poll 1 followed the 301 without credentials; from poll 2 on the stored URL was polled as the feed's
    # own, and the token and headers went to the other host.
    moved(feed_server, elsewhere)
    feed = agency_feed(named(feed_server, "agency.test", "/feed.xml"))
    poller = Poller([feed], store, Fetcher(OPEN, resolver=to_loopback), lambda items: None)
    poller.load_states()
    with structlog.testing.capture_logs() as logs:
        outcomes = [(await poller.poll(feed)).outcome for _ in range(3)]
    await poller.fetcher.aclose()
    assert outcomes == ["ok", "unchanged", "unchanged"]
    assert credentials_sent(elsewhere) == [(None, None)] * 3
    # The configured URL, with its credentials, is asked at every poll: the move is not stored.
    assert credentials_sent(feed_server) == [(f"Bearer {TOKEN}", "key-never-shown")] * 3
    assert store.feed_state("agency", str(feed.url)).effective_url is None
    assert "feed_move_not_stored" in {entry["event"] for entry in logs}


async def test_a_move_to_another_origin_stored_before_is_polled_at_the_configured_url(
        feed_server: FeedServer, elsewhere: FeedServer, store: PollerStore) -> None:
    target = moved(feed_server, elsewhere)
    feed = agency_feed(named(feed_server, "agency.test", "/feed.xml"))
    store.save_feed_state(FeedState(feed_id="agency", url=str(feed.url), effective_url=target))
    poller = Poller([feed], store, Fetcher(OPEN, resolver=to_loopback), lambda items: None)
    poller.load_states()
    assert (await poller.poll(feed)).outcome == "ok"
    await poller.fetcher.aclose()
    assert credentials_sent(feed_server) == [(f"Bearer {TOKEN}", "key-never-shown")]
    assert credentials_sent(elsewhere) == [(None, None)]
    assert store.feed_state("agency", str(feed.url)).effective_url is None


async def test_a_feed_without_credentials_moves_with_a_permanent_redirect(
        feed_server: FeedServer, elsewhere: FeedServer, store: PollerStore) -> None:
    target = moved(feed_server, elsewhere)
    feed = agency_feed(named(feed_server, "agency.test", "/feed.xml"), credentials=False)
    poller = Poller([feed], store, Fetcher(OPEN, resolver=to_loopback), lambda items: None)
    poller.load_states()
    assert [(await poller.poll(feed)).outcome for _ in range(2)] == ["ok", "unchanged"]
    await poller.fetcher.aclose()
    assert store.feed_state("agency", str(feed.url)).effective_url == target
    assert len(feed_server.requests) == 1 and len(elsewhere.requests) == 2  # poll 2 went straight there


async def test_a_permanent_redirect_from_https_to_http_gets_no_credentials_in_clear(store: PollerStore) -> None:
    # Another scheme is another origin, though the host is the same (a local test cannot serve ports 443
    # and 80, so the network is httpx's mock here).
    sent: list[tuple[str, str | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append((request.url.scheme, request.headers.get("authorization")))
        if request.url.scheme == "https":
            return httpx.Response(301, headers={"Location": "http://agency.test/feed.xml"})
        return httpx.Response(200, content=rss("Clear", [STORY]))

    feed = agency_feed("https://agency.test/feed.xml")
    poller = Poller([feed], store, Fetcher(OPEN, transport=httpx.MockTransport(handler)), lambda items: None)
    poller.load_states()
    assert [(await poller.poll(feed)).outcome for _ in range(2)] == ["ok", "unchanged"]
    assert sent == [("https", f"Bearer {TOKEN}"), ("http", None)] * 2


def test_settings_mask_the_proxy_and_database_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIREFEED_HTTP_PROXY", "http://proxyuser:proxy-s3cret@proxy.internal:3128")
    monkeypatch.setenv("WIREFEED_STATE_DATABASE_URL", "postgresql://wirefeed:db-s3cret@db/wirefeed")
    settings = PollerSettings()
    shown = f"{settings} {settings!r} {settings.model_dump()}"
    assert "proxy-s3cret" not in shown and "db-s3cret" not in shown
    assert settings.proxy_url == "http://proxyuser:proxy-s3cret@proxy.internal:3128"


@pytest.mark.parametrize("proxy", ["127.0.0.1:3128", "proxy.internal:3128", "socks5://proxy.internal:1080"])
def test_a_proxy_that_is_no_http_url_is_refused_with_the_settings(proxy: str) -> None:
    # httpx refused it only when the first fetch built its transport, as a traceback.
    with pytest.raises(ValidationError, match="proxy must be a URL beginning http://"):
        PollerSettings(http_proxy=proxy)  # type: ignore[arg-type]
