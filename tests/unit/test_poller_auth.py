"""Per-feed credentials: read when the feeds file is loaded, sent only to the feed's origin, never shown anywhere."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import pytest
import structlog
from prometheus_client import REGISTRY, generate_latest
from pydantic import SecretStr

from schemas import RawItem
from services.poller.feeds import FeedsFileError, load_feeds
from services.poller.fetch import Fetcher, FetchError, FetchLimits
from services.poller.service import Poller
from services.poller.settings import PollerSettings
from services.poller.state import PollerStore
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


def test_settings_mask_the_proxy_and_database_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIREFEED_HTTP_PROXY", "http://proxyuser:proxy-s3cret@proxy.internal:3128")
    monkeypatch.setenv("WIREFEED_STATE_DATABASE_URL", "postgresql://wirefeed:db-s3cret@db/wirefeed")
    settings = PollerSettings()
    shown = f"{settings} {settings!r} {settings.model_dump()}"
    assert "proxy-s3cret" not in shown and "db-s3cret" not in shown
    assert settings.proxy_url == "http://proxyuser:proxy-s3cret@proxy.internal:3128"
