"""Feed discovery on real pages (NetNewsWire's test pages) and through the poller's fetcher."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.cli import main as cli
from services.poller.discover import feed_links
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
