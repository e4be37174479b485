"""Messages on wirefeed's Kafka topics, version 1.

Each model is the contract of one topic. Adding an optional field is compatible; removing, renaming or
retyping one is a breaking change and needs a new model version and a new topic (``*.v2``). A topic's
messages carry its version in ``schema_version``, and only that one: a message of another version is
refused like any other that does not fit the contract (:class:`SchemaVersionError`).
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import re
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import PydanticSerializationError

log = logging.getLogger(__name__)

_SCHEMA_VERSION = ("The contract's version: 1 on every message of a .v1 topic. A breaking change is a new topic "
                   "(.v2) whose messages carry 2; a reader refuses a message of a version it does not read")


class SchemaVersionError(ValueError):
    """A message whose ``schema_version`` is not its model's: not a message of this topic's contract, so it
    is refused (dead-lettered) rather than read as if it were one."""


class Message(BaseModel):
    """A topic's message. Built in code it refuses unknown fields, so a misspelt field fails at once; read
    from a topic or a store (:meth:`from_json`, :meth:`from_data`) it ignores fields a newer producer added,
    which is what makes adding an optional field compatible for consumers that are not upgraded yet."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def to_bytes(self) -> bytes:
        try:
            return self.model_dump_json(exclude_none=False).encode()
        except PydanticSerializationError:  # a lone surrogate, which UTF-8 cannot hold: see without_lone_surrogates
            return type(self).model_validate(without_lone_surrogates(self.model_dump())).to_bytes()

    @classmethod
    def from_json(cls, value: bytes | str) -> Self:
        if SURROGATE_ESCAPE.search(value.encode("utf-8", "surrogatepass") if isinstance(value, str) else value):
            with contextlib.suppress(ValueError):  # not JSON, or not valid: refused below, as any other
                return cls.from_data(without_lone_surrogates(json.loads(value)))
        try:
            return cls.model_validate_json(value)
        except ValidationError as error:
            _refuse_another_version(cls, error)
            if not _only_unknown_fields(error):
                raise
            return cls.from_data(json.loads(value))

    @classmethod
    def from_data(cls, data: Any) -> Self:
        try:
            return cls.model_validate(data)
        except ValidationError as error:
            _refuse_another_version(cls, error)
            if not _only_unknown_fields(error):
                raise
            paths = [e["loc"] for e in error.errors()]
            try:
                known = _without(copy.deepcopy(data), paths)
            except (KeyError, IndexError, TypeError):
                raise error from None  # a location that is not a plain path: refuse as before
            _report_unknown(cls.__name__, paths)
            return cls.model_validate(known)


_SURROGATE = re.compile("[\ud800-\udfff]")
SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")  # how a lone surrogate gets into JSON: escaped


def map_strings(value: Any, change: Callable[[str], str]) -> Any:
    """``value`` (a string, or lists, tuples and dicts of them, keys included) with ``change`` made to each
    string; anything else as it is."""
    if isinstance(value, str):
        return change(value)
    if isinstance(value, list | tuple):
        return [map_strings(item, change) for item in value]
    if isinstance(value, dict):
        return {map_strings(key, change): map_strings(item, change) for key, item in value.items()}
    return value


def without_lone_surrogates(value: Any) -> Any:
    """``value`` (a string, or lists and dicts of them) with each lone surrogate as U+FFFD.

    JSON may escape half of a character ("\\ud83d"): JavaScript cuts strings in UTF-16 units, and a title
    truncated in the middle of an emoji keeps one half. Python reads it into a string that UTF-8, and so
    every message and database, cannot hold.
    """
    return map_strings(value, _surrogates_replaced)


def _surrogates_replaced(text: str) -> str:
    return text if text.isascii() else _SURROGATE.sub("\ufffd", text)


#: Unknown fields already reported, so that each is logged once per process; bounded, as a hostile
#: producer could send any number of names.
_REPORTED: set[tuple[str, str]] = set()
MAX_REPORTED_UNKNOWN_FIELDS = 100


def _report_unknown(model: str, paths: list[tuple[int | str, ...]]) -> None:
    """Say once which fields a newer producer added: a sign that this service waits for its upgrade."""
    for path in paths:
        field = ".".join("[]" if isinstance(part, int) else part for part in path)
        if (model, field) in _REPORTED or len(_REPORTED) >= MAX_REPORTED_UNKNOWN_FIELDS:
            continue
        _REPORTED.add((model, field))
        log.warning("%s field %r is unknown to this version and not read by it (a producer is newer than this "
                    "service; logged once per field)", model, field)


def _refuse_another_version(model: type[Message], error: ValidationError) -> None:
    """Raise SchemaVersionError when ``error`` refused the message's ``schema_version``: that says more than
    whatever else a message of another contract fails on."""
    refused = [e["input"] for e in error.errors() if e["loc"] == ("schema_version",)]
    if refused:
        expected = model.model_fields["schema_version"].default
        raise SchemaVersionError(
            f"{model.__name__} of schema_version {refused[0]!r} refused: this topic carries version {expected} only; a "
            f"message of another version belongs on that version's own topic (a breaking change is a new topic, "
            "never a new schema_version on this one)") from error


def _only_unknown_fields(error: ValidationError) -> bool:
    return all(e["type"] == "extra_forbidden" for e in error.errors())


def _without(data: Any, paths: list[tuple[int | str, ...]]) -> Any:
    for *parents, name in paths:
        node = data
        for key in parents:
            node = node[key]
        del node[name]
    return data


class FeedFormat(StrEnum):
    RSS = "rss"
    ATOM = "atom"
    RDF = "rdf"
    JSON_FEED = "jsonfeed"
    NINJS = "ninjs"
    NEWSML_G2 = "newsml-g2"
    NITF = "nitf"
    NEWSML_1 = "newsml-1"
    ANPA_1312 = "anpa-1312"
    IPTC_7901 = "iptc-7901"
    EMAIL = "email"


class PubStatus(StrEnum):
    USABLE = "usable"
    WITHHELD = "withheld"
    CANCELED = "canceled"


class Enclosure(Message):
    url: str
    type: str | None = None
    length: int | None = Field(None, description="Size in bytes, as the feed gives it")
    width: int | None = Field(None, description="Pixels, when the feed gives a picture's or video's size")
    height: int | None = Field(None, description="Pixels, when the feed gives a picture's or video's size")


class RawItem(Message):
    """One item exactly as a feed carried it, with enough of the original to normalize it again later."""

    schema_version: Literal[1] = Field(1, description=_SCHEMA_VERSION)
    item_id: str = Field(description="Stable id: feed id + guid (or link when the guid is missing)")
    feed_id: str
    feed_url: str
    feed_title: str | None = None
    format: FeedFormat
    fetched_at: AwareDatetime
    content_hash: str = Field(description="sha256 of the item's content fields; changes when it is edited")
    guid: str | None = None
    link: str | None = None
    canonical_link: str | None = None
    title: str | None = None
    summary_html: str | None = None
    content_html: str | None = None
    published_raw: str | None = Field(None, description="The date string as the feed wrote it")
    updated_raw: str | None = None
    authors: list[str] = Field(default_factory=list)
    credits: dict[str, list[str]] = Field(
        default_factory=dict,
        description="People the format names in a role other than author, by role (editing, photos, ...): "
                    "Superdesk ninjs authors with such a role")
    categories: list[str] = Field(default_factory=list)
    language: str | None = None
    feed_agency: str | None = Field(
        None, description="The news agency whose own wire the feed is, as the feeds file marks it (agency): its "
                          "kill or hold of that agency's story holds for the whole story, whichever outlet's copy "
                          "came first")
    feed_timezone: str | None = Field(
        None, description="The IANA time zone the feed writes its local times in, as the feeds file says (timezone: "
                          "Europe/Berlin): an item date written without a zone or offset is read in it, with the "
                          "offset it has on that date, over the offset of feed_dates_raw")
    feed_language: str | None = Field(
        None, description="The language the feed declares for all its items (RSS language or dc:language, the "
                          "root's xml:lang, JSON Feed's language); the item's own and the detected one come first")
    feed_dates_raw: list[str] = Field(
        default_factory=list,
        description="The feed's own dates as it wrote them (RSS channel pubDate and lastBuildDate or dc:date, Atom "
                    "feed published and updated): an item date written without a zone is read in the offset they "
                    "agree on")
    enclosures: list[Enclosure] = Field(default_factory=list)
    # Wire metadata, when the format carries it.
    version: int | None = None
    pubstatus: PubStatus | None = None
    embargoed_until_raw: str | None = None
    urgency: int | None = None
    byline: str | None = None
    dateline: str | None = None
    slugline: str | None = Field(None, description="The wire's slug, its working name for the story across versions: "
                                                   "NewsML-G2 and ninjs slugline, NewsML 1 SlugLine")
    providers: list[str] = Field(
        default_factory=list,
        description="Who supplied the item as the wire format names them, most specific first: NewsML-G2 "
                    "creditline, infoSource, provider and copyright holder; ninjs creditline (a description in that "
                    "role), infosource(s) and copyrightholder; NITF distributor and copyright holder; NewsML 1 "
                    "Provider and Source; the source an aggregated RSS or Atom item names (Google News names the "
                    "outlet there)")
    original: str | None = Field(None, description="The item's fragment of the source document, as fetched")


class Source(Message):
    name: str | None = None
    url: str | None = Field(None, description="The feed's URL, when it is an http(s) URL")


class Dateline(Message):
    place: str | None = None
    agency: str | None = None


class Article(Message):
    """A clean, deduplicated article: one version of one story as one outlet carried it."""

    schema_version: Literal[1] = Field(1, description=_SCHEMA_VERSION)
    id: str = Field(description="This article: one outlet's copy of one version of a story. A message delivered "
                                "again (after a normalizer restart) carries the same id: store by it")
    story_id: str = Field(description="The story, and the topic's message key: every version and every outlet's "
                                      "copy of one story share it, and arrive on one partition in the order they "
                                      "were decided, which is not always the order of versions (a wire's version "
                                      "that came late keeps its lower number): the latest is the highest version")
    version: int = Field(1, description="The story's version: 1 for the first report, higher for each update, "
                                        "refile or correction (the wire's own number where the format counts "
                                        "them); another outlet's copy carries the version it copies")
    duplicate_of: str | None = Field(None, description="For another outlet's copy: the id of the story's first "
                                                       "article; null for the story's own versions")
    similarity: float | None = Field(None, description="Estimated Jaccard similarity to the article this one was "
                                                       "matched with, when found as a near-duplicate")
    item_id: str = Field(description="The raw item this article came from (the raw-items topic's key)")
    feed_id: str
    source: Source = Field(default_factory=Source)
    url: str | None = Field(None, description="The item's link as the feed gave it, when it is an absolute "
                                          "http(s) URL (a javascript: or file: link is dropped)")
    canonical_url: str | None = None
    title: str
    summary: str | None = None
    body_text: str
    body_html: str
    language: str | None = Field(None, description="ISO 639-1 code (en, de): the item's own (unless a long text is "
                                                   "plainly another language), else detected, else the feed's. "
                                                   "Norwegian is no, Bokmål (nb) included, as language detection "
                                                   "names it; Nynorsk is nn")
    published_at: AwareDatetime
    published_at_estimated: bool = Field(False, description="True when the feed gave no usable date")
    updated_at: AwareDatetime | None = None
    fetched_at: AwareDatetime
    dateline: Dateline = Field(default_factory=Dateline)
    agency: str | None = None
    byline: list[str] = Field(default_factory=list)
    credits: dict[str, list[str]] = Field(default_factory=dict)
    categories: list[str] = Field(default_factory=list)
    enclosures: list[Enclosure] = Field(
        default_factory=list,
        description="The item's media as the feed linked them, each URL once and only http(s) URLs: a podcast's "
                    "audio, a story's pictures and video (RSS enclosures, Media RSS content and thumbnails, Atom "
                    "enclosure links, JSON Feed attachments and images, ninjs renditions of the item and of the "
                    "pictures packaged with it, NewsML-G2 remote content, NITF media references)")
    pubstatus: PubStatus = Field(PubStatus.USABLE, description="canceled (a kill) and withheld apply to the whole "
                                                               "story, its earlier versions and copies included; "
                                                               "once a story is canceled, later articles are too")
    embargoed_until: AwareDatetime | None = Field(None, description="Not to be published before this time: "
                                                                    "wirefeed forwards embargoed articles at once, "
                                                                    "as wire services do; holding them is the reader's")
    urgency: int | None = Field(None, description="The wire's urgency, 1 (most urgent) to 9, where the format has "
                                "it; else 1 for a FLASH and 2 for an URGENT or BULLETIN headline prefix")
    wire_prefixes: list[str] = Field(default_factory=list, description="Headline prefixes such as UPDATE 2, REFILE, "
                                                                       "CORRECTED, or a topic of the slugline "
                                                                       "(PRECIOUS), removed from the title")
    slugline: str | None = Field(None, description="The wire's slug as it gave it (GLOBAL-PRECIOUS/ (UPDATE 1)): its "
                                                   "working name for the story, kept across versions")
    content_hash: str


#: Standard base64 with its padding, as ``base64.b64encode`` writes it (and ``b64decode`` reads it whole).
BASE64 = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"


class DeadLetter(Message):
    """A message a stage could not process, with why. Nothing is dropped silently."""

    schema_version: Literal[1] = Field(1, description=_SCHEMA_VERSION)
    stage: str
    reason: str
    error_class: str
    failed_at: datetime
    topic: str
    partition: int
    offset: int
    key: str | None = None
    payload: str = Field(description="The original message value as text: when it is not valid UTF-8, decoded with "
                                     "replacement, for reading (payload_base64 has it whole)")
    details: dict[str, Any] = Field(default_factory=dict)
    payload_base64: str | None = Field(
        None, pattern=BASE64,
        description="The original message value in base64, only when it is not valid UTF-8: its bytes, which the "
                    "payload's text cannot hold, and what a redrive sends back")
