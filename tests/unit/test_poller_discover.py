"""Feed discovery on real pages (NetNewsWire's test pages) and through the poller's fetcher."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.cli import main as cli
from services.poller.discover import _feed_links, feed_links
from tests.helpers import FeedServer, Resource, rss

PAGES = "corpus/netnewswire/Modules"
BASE = "https://site.example/blog/"


@pytest.mark.parametrize(("page", "expected"), [
    ("RSCore/Tests/RSCoreTests/Resources/daringfireball.html",
     ["https://site.example/feeds/main", "https://site.example/feeds/json"]),  # Atom and JSON Feed, relative
    ("RSCore/Tests/RSCoreTests/Resources/inessential.html",  # unquoted attributes
     ["https://inessential.com/xml/rss.xml", "https://inessential.com/feed.json"]),
    ("RSParser/Tests/RSParserTests/Resources/YouTubeTheVolvoRocks.html",  # app and mobile alternates ignored
     ["https://www.youtube.com/feeds/videos.xml?channel_id=UCct7QF2jcWRY6dhXWMSq9LQ"]),
    ("RSParser/Tests/RSParserTests/Resources/coco.html",
     ["https://site.example/feed/all/", "https://site.example/feed/best-of/"]),
    ("RSParser/Tests/RSParserTests/Resources/sixcolors.html",  # announced, then a linked FeedPress URL
     ["http://feedpress.me/sixcolors", "http://feedpress.me/sixcolors?type=xml"]),
    ("RSCore/Tests/RSCoreTests/Resources/apple.html", []),  # hreflang alternates are not feeds
])
def test_announced_and_linked_feeds_are_found_on_real_pages(shared_dir: Path, page: str,
                                                            expected: list[str]) -> None:
    assert feed_links((shared_dir / PAGES / page).read_bytes(), BASE) == expected


def test_links_that_look_like_feeds_are_found_and_a_base_element_is_honoured() -> None:
    html = b"""<html><head><base href="https://cdn.example/news/"></head><body>
      <a href="feed">Feed</a> <a href="/rss.xml">RSS</a> <a href="world.atom">World</a>
      <a href="/sitemap.xml">Sitemap</a> <a href="mailto:x@example.com">Mail</a> <a href="/feed">again</a>
      <a href="https://feeds.feedburner.com/example">Burner</a></body></html>"""
    assert feed_links(html, BASE) == ["https://cdn.example/news/feed", "https://cdn.example/rss.xml",
                                      "https://cdn.example/news/world.atom", "https://cdn.example/feed",
                                      "https://feeds.feedburner.com/example"]
    assert feed_links(b"", BASE) == []
    # a link urllib cannot read is skipped, not the page
    assert feed_links(b'<a href="http://[::1/feed">x</a><a href="/rss.xml">RSS</a>', BASE) == [
        "https://site.example/rss.xml"]


def test_social_share_links_are_not_feeds() -> None:
    # the NYT's and the BBC's share buttons (article-extraction benchmark pages) end in /dialog/feed
    html = b"""<a href="https://www.facebook.com/dialog/feed?app_id=9869919170&amp;link=https%3A%2F%2Fwww.nytimes.com%2F">
      Share</a> <a href="http://facebook.com/feed">x</a> <a href="https://x.com/feed">y</a>
      <a href="https://notfacebook.com/feed">own feed</a>"""
    assert feed_links(html, BASE) == ["https://notfacebook.com/feed"]


def test_the_discover_command_fetches_the_page_with_the_pollers_rules(
        feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    feed_server.resources["/"] = Resource(
        b'<html><head><link rel="alternate" type="application/rss+xml" href="/news.rss"></head></html>',
        headers={"Content-Type": "text/html"})
    feed_server.resources["/news.rss"] = Resource(rss("News", []))
    monkeypatch.setenv("WIREFEED_ALLOW_PRIVATE_NETWORKS", "true")
    assert cli(["feeds", "discover", feed_server.url("/")]) == 0
    assert capsys.readouterr().out.split() == [feed_server.url("/news.rss")]
    assert cli(["feeds", "discover", feed_server.url("/news.rss")]) == 0  # already a feed: itself
    assert capsys.readouterr().out.split() == [feed_server.url("/news.rss")]


def test_discover_refuses_private_addresses_like_the_poller(
        feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    feed_server.resources["/"] = Resource(b"<html></html>", headers={"Content-Type": "text/html"})
    monkeypatch.delenv("WIREFEED_ALLOW_PRIVATE_NETWORKS", raising=False)
    assert cli(["feeds", "discover", feed_server.url("/")]) == 1
    assert "blocked_address" in capsys.readouterr().err
    assert feed_server.requests == []


def test_only_fetchable_feed_urls_are_listed_each_once_and_the_rest_kept_apart() -> None:
    html = b"""<html><head><meta charset="utf-8">
      <link rel="alternate" type="application/rss+xml" href="/feed.xml">
      <link rel="alternate" type="application/rss+xml" href="HTTPS://SITE.example:443/feed.xml#latest">
      <link rel="alternate" type="application/rss+xml" href="http://">
      <link rel="alternate" type="application/rss+xml" href="http://example.com:99999/feed">
      <link rel="alternate" type="application/rss+xml" href="http://example.com:0/feed">
      <link rel="alternate" type="application/rss+xml" href="http://exa mple.com/feed">
      <link rel="alternate" type="application/rss+xml" href="https://wire:hunter2@site.example/private.xml">
      <link rel="alternate" type="application/rss+xml" href="javascript:subscribe()">
      <link rel="alternate" type="application/rss+xml" href="#">
      <link rel="alternate" type="application/atom+xml" href="feed:https://site.example/world.atom">
      <link rel="alternate" type="application/rss+xml" href="https://\xe4\xbe\x8b\xe5\xad\x90.example/rss">
      </head><body><a href="http:///rss.xml">x</a> <a href="feed://site.example/news.rss">Subscribe</a>
      <a href="/feed.xml">RSS</a></body></html>"""
    feeds, unfetchable = _feed_links(html, BASE)
    assert feeds == ["https://site.example/feed.xml", "https://site.example/world.atom",
                     "https://xn--fsqu00a.example/rss", "http://site.example/news.rss"]  # as the feeds file holds them
    assert unfetchable == ["http://", "http://example.com:99999/feed", "http://example.com:0/feed",
                           "http://exa mple.com/feed", "https://wire:hunter2@site.example/private.xml",
                           "javascript:subscribe()", "http:///rss.xml"]  # "#" is the page itself: no feed


def test_discover_lists_no_invalid_link_and_says_plainly_when_a_page_links_no_feed(
        feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    html = {"Content-Type": "text/html; charset=utf-8"}
    feed_server.resources["/broken"] = Resource(b'<link rel="alternate" type="application/rss+xml" href="https://">'
                                                b'<a href="http://example.com:99999/rss.xml">RSS</a>', headers=html)
    feed_server.resources["/plain"] = Resource(b"<html><body><a href='/about'>About</a></body></html>", headers=html)
    feed_server.resources["/logo.png"] = Resource(b"\x89PNG\r\n\x1a\n", headers={"Content-Type": "image/png"})
    monkeypatch.setenv("WIREFEED_ALLOW_PRIVATE_NETWORKS", "true")

    assert cli(["feeds", "discover", feed_server.url("/broken")]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        "wirefeed feeds discover: left out 2 feed link(s) that are no http(s) URL the poller could fetch: 'https://', "
        "'http://example.com:99999/rss.xml'",
        f"wirefeed feeds discover: {feed_server.url('/broken')} links to no feed"]

    assert cli(["feeds", "discover", feed_server.url("/plain")]) == 1
    assert capsys.readouterr() == ("", f"wirefeed feeds discover: {feed_server.url('/plain')} links to no feed\n")

    assert cli(["feeds", "discover", feed_server.url("/logo.png")]) == 1
    assert capsys.readouterr().err == (f"wirefeed feeds discover: {feed_server.url('/logo.png')} is neither a feed "
                                       "nor a web page (it answered image/png)\n")


@pytest.mark.parametrize(("url", "why"), [
    ("example.com", "not an http:// or https:// URL"),  # was "blocked_address: refusing non-HTTP URL scheme ''"
    ("ftp://example.com/news/", "not an http:// or https:// URL"),
    ("http://[::1/news", "unreadable URL"),
    ("http://example.com:0/", "port 0 is no port a server listens on"),
])
def test_an_address_discover_cannot_fetch_is_a_usage_error(url: str, why: str,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["feeds", "discover", url]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"wirefeed feeds discover: {url!r} is not a page discover can fetch: {why}")
