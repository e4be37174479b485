"""OAuth 2.0 logins: access tokens from a real token endpoint on 127.0.0.1 (over TLS), held until they are
about to expire, renewed after a refusal, and sent to an HTTP feed as a bearer token. Mailboxes signing
in with them: test_poller_imap.py."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from prometheus_client import REGISTRY, generate_latest

from schemas import RawItem
from services.core.oauth import RENEW_BEFORE_SECONDS, UNSTATED_LIFETIME_SECONDS, granted_token
from services.poller.feeds import FeedConfig, OAuth2Auth
from services.poller.fetch import BlockedAddressError, Fetcher, FetchLimits, TransportError
from services.poller.oauth import TokenError, access_token
from services.poller.service import Poller
from services.poller.state import PollerStore
from tests.certificates import self_signed_certificate
from tests.helpers import FeedServer, Resource, rss
from tests.oauth_server import TokenEndpoint, running_token_endpoint

SECRET, REFRESH_TOKEN = "client-s3cret-never-shown", "refresh-t0ken-never-shown"
STORY = {"title": "Storm", "link": "http://example.com/a", "guid": "a-1", "body": "<p>Rain.</p>"}


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    return self_signed_certificate(tmp_path)


@pytest.fixture
def endpoint(certificate: tuple[Path, Path]) -> Iterator[TokenEndpoint]:
    with running_token_endpoint(certificate, "access-1") as endpoint:
        yield endpoint


def fetcher(certificate: tuple[Path, Path]) -> Fetcher:
    return Fetcher(FetchLimits(allow_private_networks=True),
                   ssl_context=ssl.create_default_context(cafile=str(certificate[0])))


def oauth2(endpoint: TokenEndpoint, **settings: Any) -> OAuth2Auth:
    auth = OAuth2Auth.model_validate({"type": "oauth2", "token_url": endpoint.url, "client_id": "wirefeed",
                                      "client_secret_env": "SECRET", **settings})
    auth.load_secret({"SECRET": SECRET, "REFRESH": REFRESH_TOKEN})
    return auth


async def test_client_credentials_give_a_token_held_until_shortly_before_it_expires(
        endpoint: TokenEndpoint, certificate: tuple[Path, Path]) -> None:
    auth, client = oauth2(endpoint, scope="https://api.example.com/.default"), fetcher(certificate)
    assert await access_token(auth, client) == "access-1"
    endpoint.access_token = "access-2"
    assert await access_token(auth, client) == "access-1"  # held: an hour to go
    assert endpoint.forms == [{"grant_type": "client_credentials", "client_id": "wirefeed", "client_secret": SECRET,
                               "scope": "https://api.example.com/.default"}]
    auth.drop_token()  # as after a server refused it
    endpoint.expires_in = "30"  # some providers send a string; under the renewal margin
    assert await access_token(auth, client) == "access-2"
    endpoint.access_token = "access-3"
    assert await access_token(auth, client) == "access-3"  # about to expire: renewed
    assert len(endpoint.forms) == 3
    await client.aclose()


async def test_a_refresh_token_is_granted_and_a_rotated_one_used_next(endpoint: TokenEndpoint,
                                                                     certificate: tuple[Path, Path]) -> None:
    auth, client = oauth2(endpoint, refresh_token_env="REFRESH"), fetcher(certificate)
    endpoint.refresh_token, endpoint.expires_in = "refresh-2", 0
    assert await access_token(auth, client) == "access-1"
    assert await access_token(auth, client) == "access-1"
    assert [form["grant_type"] for form in endpoint.forms] == ["refresh_token", "refresh_token"]
    assert [form["refresh_token"] for form in endpoint.forms] == [REFRESH_TOKEN, "refresh-2"]
    assert endpoint.forms[0]["client_secret"] == SECRET
    await client.aclose()


async def test_a_refusal_names_the_providers_reason_and_no_secret(endpoint: TokenEndpoint,
                                                                  certificate: tuple[Path, Path]) -> None:
    auth, client = oauth2(endpoint, refresh_token_env="REFRESH"), fetcher(certificate)
    endpoint.refusal = "invalid_grant"
    with pytest.raises(TokenError) as refused:
        await access_token(auth, client)
    assert str(refused.value) == "127.0.0.1 gave no access token: HTTP 400, invalid_grant (Token has been revoked.)"
    assert refused.value.kind == "token_error"
    untrusting = Fetcher(FetchLimits(allow_private_networks=True), ssl_context=ssl.create_default_context())
    with pytest.raises(TransportError, match="CERTIFICATE_VERIFY_FAILED"):  # the secret goes to no unchecked server
        await access_token(auth, untrusting)
    blocked = Fetcher(FetchLimits(allow_private_networks=False))
    with pytest.raises(BlockedAddressError, match="non-public address"):
        await access_token(auth, blocked)
    for each in (client, untrusting, blocked):
        await each.aclose()


async def test_an_http_feed_gets_the_token_and_a_new_one_after_a_401(
        endpoint: TokenEndpoint, certificate: tuple[Path, Path], feed_server: FeedServer, store: PollerStore) -> None:
    feed_server.resources["/wire.xml"] = Resource(rss("Wire", [STORY]))
    feed = FeedConfig.model_validate({"id": "wire-api", "url": feed_server.url("/wire.xml"), "auth": {
        "type": "oauth2", "token_url": endpoint.url, "client_id": "wirefeed", "client_secret_env": "SECRET"}})
    assert isinstance(feed.auth, OAuth2Auth)
    feed.auth.load_secret({"SECRET": SECRET})
    published: list[RawItem] = []
    poller = Poller([feed], store, fetcher(certificate), published.extend)
    poller.load_states()
    with structlog.testing.capture_logs() as logs:
        assert (await poller.poll(feed)).outcome == "ok"
        feed_server.resources["/wire.xml"] = Resource(b"expired", status=401)
        endpoint.access_token = "access-2"
        assert (await poller.poll(feed)).outcome == "http_status"
        feed_server.resources["/wire.xml"] = Resource(rss("Wire", [STORY]))
        assert (await poller.poll(feed)).outcome == "unchanged"
        endpoint.refusal = "invalid_client"
        feed.auth.drop_token()
        outcome = (await poller.poll(feed)).outcome
    await poller.fetcher.aclose()
    assert [headers["authorization"] for _, headers in feed_server.requests] == [
        "Bearer access-1", "Bearer access-1", "Bearer access-2"]
    assert len(published) == 1 and outcome == "token_error"
    state = store.feed_state(feed.id, str(feed.url))
    assert state.last_error == "token_error: 127.0.0.1 gave no access token: HTTP 400, invalid_client " \
                               "(Token has been revoked.)"
    visible = " ".join([str(logs), generate_latest(REGISTRY).decode(), str(state)])
    assert not any(secret in visible for secret in (SECRET, "access-1", "access-2"))


async def test_a_feed_allowed_its_private_network_gets_its_token_from_an_endpoint_there(
        endpoint: TokenEndpoint, certificate: tuple[Path, Path], feed_server: FeedServer, store: PollerStore) -> None:
    # The token endpoint is the operator's, written in the feed's own entry: it is reached under the feed's
    # private_networks, WIREFEED_ALLOW_PRIVATE_NETWORKS being off; another feed's login there stays refused.
    feed_server.resources["/wire.xml"] = Resource(rss("Wire", [STORY]))
    login = {"type": "oauth2", "token_url": endpoint.url, "client_id": "wirefeed", "client_secret_env": "SECRET"}
    intranet = FeedConfig.model_validate({"id": "intranet", "url": feed_server.url("/wire.xml"), "auth": login,
                                          "private_networks": ["127.0.0.1"]})
    outside = FeedConfig.model_validate({"id": "outside", "url": feed_server.url("/wire.xml?outside"), "auth": login})
    for feed in (intranet, outside):
        assert isinstance(feed.auth, OAuth2Auth)
        feed.auth.load_secret({"SECRET": SECRET})
    poller = Poller([intranet, outside], store, Fetcher(FetchLimits(), ssl_context=ssl.create_default_context(
        cafile=str(certificate[0]))), [].extend)
    poller.load_states()
    try:
        assert (await poller.poll(intranet)).outcome == "ok"
        assert (await poller.poll(outside)).outcome == "blocked_address"  # at its token endpoint, before its feed
    finally:
        await poller.fetcher.aclose()
    assert [headers["authorization"] for _, headers in feed_server.requests] == ["Bearer access-1"]
    assert len(endpoint.forms) == 1


@pytest.mark.parametrize(("url", "auth", "message"), [
    ("https://api.example.com/feed", {"token_url": "http://login.example.com/token", "client_secret_env": "S"},
     "token endpoint must be https"),
    ("https://api.example.com/feed", {}, "give a client secret"),
    ("https://api.example.com/feed", {"client_secret_env": "S", "client_secret_file": "/s"},
     "exactly one of client_secret_env or client_secret_file"),
    ("sftp://wire@sftp.example.com/out/", {"client_secret_env": "S"}, "basic .a password. or ssh_key"),
    ("ftps://wire@ftp.example.com/out/", {"client_secret_env": "S"}, "auth of type basic"),
    ("imaps://mail.example.com/INBOX", {"client_secret_env": "S"}, "names its login"),
    ("imaps://desk@mail.example.com/INBOX", {"client_secret_env": "S", "username": "other"}, "differ"),
])
def test_oauth2_settings_are_checked(url: str, auth: dict[str, str], message: str) -> None:
    settings = {"type": "oauth2", "token_url": "https://login.example.com/token", "client_id": "wirefeed", **auth}
    with pytest.raises(ValueError, match=message):
        FeedConfig.model_validate({"id": "a", "url": url, "auth": settings})


def test_a_mailbox_signs_in_with_a_token_as_the_urls_user() -> None:
    basic = {"type": "basic", "username": "desk@example.com", "password_env": "P"}
    assert FeedConfig.model_validate({"id": "a", "url": "imaps://desk%40example.com@imap.example.com/INBOX",
                                      "auth": basic}).login == "desk@example.com"
    for auth in ({"type": "oauth2", "token_url": "https://login.example.com/token", "client_id": "c",
                  "refresh_token_file": "/run/secrets/refresh"},
                 {"type": "bearer", "token_file": "/run/secrets/token"}):
        feed = FeedConfig.model_validate({"id": "a", "url": "imaps://desk%40example.com@imap.example.com/INBOX",
                                          "auth": auth})
        assert feed.login == "desk@example.com"


@pytest.mark.parametrize(("expires_in", "usable"), [
    (3600, 3600 - RENEW_BEFORE_SECONDS), ("3600", 3600 - RENEW_BEFORE_SECONDS), (-5, -RENEW_BEFORE_SECONDS),
    # Python's JSON reader takes NaN and Infinity: the token was asked for at every request, or kept for good
    (float("nan"), UNSTATED_LIFETIME_SECONDS), (float("inf"), UNSTATED_LIFETIME_SECONDS),
    ("soon", UNSTATED_LIFETIME_SECONDS), (None, UNSTATED_LIFETIME_SECONDS),
])
def test_a_token_is_used_for_its_stated_finite_lifetime(expires_in: object, usable: float) -> None:
    granted = granted_token("https://auth.example/token", 200, {"access_token": "t", "expires_in": expires_in})
    assert granted.usable_seconds == usable
