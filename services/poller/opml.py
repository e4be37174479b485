"""OPML subscription lists in and out (``wirefeed feeds import-opml`` / ``export-opml``).

OPML 1.0 and 2.0: an ``<outline>`` with an ``xmlUrl`` is a feed; one without, holding outlines, is a
folder, and nested folders become the feed's ``category`` path ("News/World"). Feed ids are part of every
item id, so they must not change between imports: an export gives each outline its feed's id as
``wirefeed:id`` (an attribute in wirefeed's own namespace, which OPML 2.0 allows and other readers
ignore), and an import keeps it. Other outlines get ids made from titles (else the host), as slugs, unique
in document order with ``-2``, ``-3`` … so the same OPML file always gives the same ids. A feed's
``agency`` mark goes the same way, as ``wirefeed:agency``: lost, that agency's own kills would withdraw
a copy only. So does its ``private_networks`` allowance, as ``wirefeed:private_networks`` (the networks
separated by spaces): lost, an intranet feed would be refused at every poll. An OPML file from elsewhere
can carry one too, letting a feed of its author's choosing reach inside the network, so ``feeds
import-opml`` drops them unless told to keep them (``--keep-private-networks``). And so does
its ``timezone``, as ``wirefeed:timezone``: lost, its local times would be read as UTC again.

A feed without a title is exported with its URL as ``text`` (which OPML requires, as the name a reader
shows) and no ``title``; on import, a ``text`` that is only the feed's URL is no title either.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any, NamedTuple
from urllib.parse import urlsplit, urlunsplit

from lxml import etree
from pydantic import HttpUrl, TypeAdapter, ValidationError

from services.poller.feeds import FEED_ID, FeedConfig
from services.poller.formats import FeedParseError
from services.poller.formats.safexml import parse_xml

MAX_ID_STEM = 60
_URL = TypeAdapter(HttpUrl)
#: wirefeed's namespace in OPML, for what only wirefeed reads (a feed's id, the agency whose own wire it is).
NAMESPACE = "urn:wirefeed:opml"
_ID = f"{{{NAMESPACE}}}id"
_AGENCY = f"{{{NAMESPACE}}}agency"
_PRIVATE_NETWORKS = f"{{{NAMESPACE}}}private_networks"
_TIMEZONE = f"{{{NAMESPACE}}}timezone"


class OpmlError(ValueError):
    """The document is not OPML."""


@dataclass(frozen=True)
class OpmlFeed:
    url: str
    title: str | None = None
    category: str | None = None
    id: str | None = None  # the feed's id, when wirefeed exported the outline
    agency: str | None = None  # the agency whose own wire the feed is, when wirefeed exported it so marked
    private_networks: tuple[str, ...] = ()  # the private networks the feed may reach, as wirefeed exported them
    timezone: str | None = None  # the IANA zone the feed writes local times in, as wirefeed exported it


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
        if url := attrs.get("xmlurl"):
            title = None if name == url else name  # a reader's (or wirefeed's) stand-in for a missing title
            yield OpmlFeed(url, title, "/".join(path) or None, outline.get(_ID, "").strip() or None,
                           outline.get(_AGENCY), tuple(outline.get(_PRIVATE_NETWORKS, "").split()),
                           outline.get(_TIMEZONE))
        else:  # a folder (or an outline of another kind, whose children may still be feeds)
            yield from _outlines(outline, (*path, name.replace("/", "-")) if name else path)


class FeedConfigs(NamedTuple):
    feeds: list[FeedConfig]
    skipped: list[str]  # why each entry left out was skipped
    private_networks_dropped: list[str]  # the ids of the feeds whose outline listed private networks left out


def to_feed_configs(entries: list[OpmlFeed], *, keep_private_networks: bool = True) -> FeedConfigs:
    """A feed config per distinct feed URL; why the entries left out were skipped; and, unless told to keep
    the private networks outlines list, the feeds whose list was left out: only whoever runs the poller
    decides which feeds reach inside the network, not an OPML file's author. A list left out is not read,
    so one that could not be read skips no feed. The ids outlines carry are taken first, so that no id made
    for another feed takes one of them."""
    kept_ids = _kept_ids(entries)
    taken_ids: set[str] = set(kept_ids.values())
    taken_urls: set[str] = set()
    added: list[FeedConfig] = []
    skipped: list[str] = []
    dropped: list[str] = []
    for index, entry in enumerate(entries):
        try:
            url = str(_URL.validate_python(entry.url))
            if url in taken_urls:  # the same feed in two folders: the first wins
                continue
            if entry.id is not None and index not in kept_ids:
                raise _IdError(_id_problem(entry.id))
            feed_id = kept_ids.get(index) or unique_id(id_stem(entry.title, url), taken_ids)
            private_networks = list(entry.private_networks) if keep_private_networks else []
            feed = FeedConfig(id=feed_id, url=url, title=entry.title, category=entry.category, agency=entry.agency,
                              private_networks=private_networks, timezone=entry.timezone)
        except ValidationError as error:  # a URL no feed may have (one with a password in it, say)
            skipped.append(f"{_masked(entry.url)!r}: {_config_problem(entry, error)}")
            continue
        except _IdError as error:  # a new id would make the poller publish the feed's items again
            skipped.append(f"{_masked(entry.url)!r}: {error}")
            continue
        taken_ids.add(feed.id)
        taken_urls.add(url)
        added.append(feed)
        if entry.private_networks and not keep_private_networks:
            dropped.append(feed.id)
    return FeedConfigs(added, skipped, dropped)


def _config_problem(entry: OpmlFeed, error: ValidationError) -> str:
    problem = error.errors()[0]
    message = problem["msg"].removeprefix("Value error, ")
    if problem["loc"] == ("agency",):  # dropped, the mark would let the agency's kills withdraw a copy only
        return f"its wirefeed:agency {entry.agency!r} {message}"
    if problem["loc"][:1] == ("private_networks",):  # dropped, the feed would be refused at every poll
        return f"its wirefeed:private_networks: {message}"
    if problem["loc"] == ("timezone",):  # dropped, the feed's local times would be read as UTC
        return f"its wirefeed:timezone {message}"
    return str(problem["msg"])


class _IdError(ValueError):
    """An outline's wirefeed:id that cannot be kept."""


def _kept_ids(entries: list[OpmlFeed]) -> dict[int, str]:
    """The ids outlines carry that can be kept, by entry: valid feed ids, each the first of its kind."""
    kept: dict[int, str] = {}
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        if entry.id is not None and FEED_ID.fullmatch(entry.id) and entry.id not in seen:
            kept[index] = entry.id
            seen.add(entry.id)
    return kept


def _id_problem(feed_id: str) -> str:
    if not FEED_ID.fullmatch(feed_id):
        return f"its wirefeed:id {feed_id!r} is no feed id (letters, digits, . _ -, at most 100)"
    return f"its wirefeed:id {feed_id!r} is another feed's"


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
    root = etree.Element("opml", version="2.0", nsmap={"wirefeed": NAMESPACE})
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = title
    etree.SubElement(head, "dateCreated").text = format_datetime(now or datetime.now(UTC), usegmt=True)
    body = etree.SubElement(root, "body")
    folders: dict[tuple[str, ...], etree._Element] = {(): body}
    for feed in feeds:
        if feed.is_spool:
            continue
        path = tuple(part for part in _xml_text(feed.category or "").split("/") if part)
        outline = etree.SubElement(_folder(folders, path), "outline", type="rss")
        if title := _xml_text(feed.title or ""):
            outline.set("text", title)
            outline.set("title", title)
        else:  # no title to invent (least of all from the id): readers show text, so it says which feed
            outline.set("text", str(feed.url))
        outline.set("xmlUrl", str(feed.url))
        outline.set(_ID, feed.id)
        if feed.agency:
            outline.set(_AGENCY, _xml_text(feed.agency))
        if feed.private_networks:
            outline.set(_PRIVATE_NETWORKS, " ".join(str(network) for network in feed.private_networks))
        if feed.timezone:
            outline.set(_TIMEZONE, feed.timezone)
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
