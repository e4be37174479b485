"""OPML subscription lists in and out (``wirefeed feeds import-opml`` / ``export-opml``).

OPML 1.0 and 2.0: an ``<outline>`` with an ``xmlUrl`` is a feed; one without, holding outlines, is a
folder, and nested folders become the feed's ``category`` path ("News/World"). Feed ids are made from
titles (else the host), as slugs, unique in document order with ``-2``, ``-3`` … so the same OPML file
always gives the same ids: they are part of every item id, so they must not change between imports.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from lxml import etree
from pydantic import HttpUrl, TypeAdapter, ValidationError

from services.poller.feeds import FeedConfig
from services.poller.formats import FeedParseError
from services.poller.formats.safexml import parse_xml

MAX_ID_STEM = 60
_URL = TypeAdapter(HttpUrl)


class OpmlError(ValueError):
    """The document is not OPML."""


@dataclass(frozen=True)
class OpmlFeed:
    url: str
    title: str | None = None
    category: str | None = None


def parse_opml(data: bytes) -> list[OpmlFeed]:
    """Every feed outline, depth first, with its folder path; no DTDs or entities are honoured."""
    try:
        root = parse_xml(data)
    except FeedParseError as error:  # unsafe or broken XML
        raise OpmlError(str(error)) from error
    if etree.QName(root).localname.lower() != "opml" or root.find("body") is None:
        raise OpmlError("not an OPML document (no <opml><body>)")
    return list(_outlines(root.find("body"), ()))


def _outlines(parent: etree._Element, path: tuple[str, ...]) -> Iterable[OpmlFeed]:
    for outline in parent.iterchildren("outline"):
        attrs = {str(key).lower(): str(value).strip() for key, value in outline.attrib.items()}
        name = attrs.get("title") or attrs.get("text") or None
        if attrs.get("xmlurl"):
            yield OpmlFeed(attrs["xmlurl"], name, "/".join(path) or None)
        else:  # a folder (or an outline of another kind, whose children may still be feeds)
            yield from _outlines(outline, (*path, name.replace("/", "-")) if name else path)


def to_feed_configs(entries: list[OpmlFeed]) -> tuple[list[FeedConfig], list[str]]:
    """A feed config per distinct feed URL; and why the entries left out were skipped."""
    taken_ids: set[str] = set()
    taken_urls: set[str] = set()
    added: list[FeedConfig] = []
    skipped: list[str] = []
    for entry in entries:
        try:
            url = str(_URL.validate_python(entry.url))
            if url in taken_urls:  # the same feed in two folders: the first wins
                continue
            feed = FeedConfig(id=unique_id(id_stem(entry.title, url), taken_ids), url=url, title=entry.title,
                              category=entry.category)
        except ValidationError as error:  # a URL no feed may have (one with a password in it, say)
            skipped.append(f"{_masked(entry.url)!r}: {error.errors()[0]['msg']}")
            continue
        taken_ids.add(feed.id)
        taken_urls.add(url)
        added.append(feed)
    return added, skipped


def _masked(url: str) -> str:
    """The URL as a message may show it: a password in it as ``***``."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return url
    if password is None:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{password}@", ":***@", 1)))


def id_stem(title: str | None, url: str) -> str:
    """A slug of the title, else of the host without ``www.``; ``feed`` when neither gives one."""
    host = (urlsplit(url).hostname or "").removeprefix("www.")
    return _slug(title or "") or _slug(host) or "feed"


def unique_id(stem: str, taken: set[str]) -> str:
    candidate, n = stem, 1
    while candidate in taken:
        n += 1
        candidate = f"{stem}-{n}"
    return candidate


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:MAX_ID_STEM].rstrip("-")


def feeds_yaml(feeds: list[FeedConfig]) -> list[dict[str, Any]]:
    """Feed configs as feeds-file entries: only what is set, in the file's usual key order."""
    return [feed.model_dump(mode="json", exclude_defaults=True, exclude_none=True) for feed in feeds]


def export_opml(feeds: list[FeedConfig], title: str = "wirefeed feeds", now: datetime | None = None) -> bytes:
    """OPML 2.0 with one folder outline per category level. Spool directories (local or SFTP) are left
    out: no feed reader can subscribe to a path on the poller's machine or to an agency's SFTP server."""
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = title
    etree.SubElement(head, "dateCreated").text = format_datetime(now or datetime.now(UTC), usegmt=True)
    body = etree.SubElement(root, "body")
    folders: dict[tuple[str, ...], etree._Element] = {(): body}
    for feed in feeds:
        if feed.is_spool:
            continue
        path = tuple(part for part in _xml_text(feed.category or "").split("/") if part)
        name = _xml_text(feed.title or feed.id)
        etree.SubElement(_folder(folders, path), "outline", type="rss", text=name, title=name, xmlUrl=str(feed.url))
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _xml_text(text: str) -> str:
    """``text`` without the characters XML cannot hold (a title's bell or escape, U+FFFE): lxml refused the
    whole export for one of them, though the feeds file holds them."""
    return _NOT_XML.sub("", text)


_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _folder(folders: dict[tuple[str, ...], etree._Element], path: tuple[str, ...]) -> etree._Element:
    if path not in folders:
        folders[path] = etree.SubElement(_folder(folders, path[:-1]), "outline", text=path[-1], title=path[-1])
    return folders[path]
