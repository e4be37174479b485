"""``normalize(raw, now) -> Article``: the pure heart of the normalizer (no I/O, no clock of its own).

The body is parsed once; every later step reads its paragraphs and marks what goes, and the marks are
applied to text and HTML together:

1. boilerplate rules, then the per-source learned model (when the caller passes one);
2. wire metadata from the text: byline lines, dateline, credit lines (removed), agency;
3. structured wire fields of the raw item, which win over anything read from the text.

``version`` is the item's own when the format carries one as a count; otherwise a headline ``UPDATE n-``
makes it n+1 (the first story is version 1, ``UPDATE 1`` the second); otherwise 1.

Dedup fields (``story_id``, ``version``, ``duplicate_of``) get their first values here; the stateful
dedup step decides the final ones against what it has seen.
"""

from __future__ import annotations

import functools
import hashlib
import html
import mimetypes
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import TypeVar
from urllib.parse import urlsplit

from schemas import Article, Dateline, Enclosure, FeedFormat, PubStatus, RawItem, Source
from schemas.models import map_strings
from services.core.text import CONTROL_CHARACTERS
from services.normalizer.agencies import (
    agency_service,
    clean_author,
    dateline_agency,
    find_agency,
    is_non_person,
)
from services.normalizer.body import Body
from services.normalizer.boilerplate import (
    CREDITING_FOOTER,
    TRAILING_TAIL,
    BoilerplateModel,
    rule_matches,
    strip_tail,
)
from services.normalizer.clean import html_to_text, parse_body
from services.normalizer.credits import listed_people, parse_byline_field
from services.normalizer.dates import (
    MAX_FUTURE,
    Regions,
    Zone,
    ensure_plausible,
    feed_zone,
    named_zone,
    parse_date,
    regions_of,
)
from services.normalizer.language import SAMPLE_CHARS, detect_language
from services.normalizer.minhash import casefold_words
from services.normalizer.urls import canonical_url, on_domain, web_url
from services.normalizer.wire import (
    BYLINE_ROLES,
    TRAILING_CREDIT,
    WireText,
    extract,
    is_starred_note,
    parse_byline,
    parse_structured_dateline,
    strip_prefixes,
    without_dateline,
)


class NormalizeError(ValueError):
    """A raw item that cannot become an article (impossible date, ...): a dead letter."""


class NoTextError(NormalizeError):
    """An item with nothing to read: a picture or video without headline or caption. Not an article, and
    not a fault either, so it is counted as skipped rather than dead-lettered."""


# When the learned model claims more than this share of an item, the item is a repeat of stories the
# source already sent (a republished copy), not a page of furniture: keep it whole.
LEARNED_MAX_SHARE = 0.5
# Above this a format's version is a revision id, not a count: Reuters' NewsML-G2 numbers its versions
# 978556838, 1542761538, ... Such a story starts at version 1 and counts up from there.
MAX_VERSION_COUNT = 9_999
MAX_PROVIDER_CHARS = 200
# An untitled item (a microblog post) is titled by its first paragraph, up to this long.
MAX_DERIVED_TITLE_CHARS = 200
# A first paragraph repeating the title goes when at least this much text follows it (a post that is its
# title and a signature keeps both).
MIN_TEXT_AFTER_TITLE = 80
REPEATED_TITLE_MAX_LINK_DENSITY = 0.5
# A headline's label before a colon: the outlet or the kind of piece ("Faktisk.no:", "Analysis:"), a few words.
_HEADLINE_LABEL = re.compile(r"[^\s:][^:]{0,29}:\s+(?=\S)")
FOOTER_PARAGRAPHS = 4  # a copyright footer or a "with inputs from" note sits among the last few paragraphs
_PROVIDER_PARTS = re.compile(r"\s*[–—/]\s*")
_WORD = re.compile(r"\w+")
_PUBLISHER_SEPARATORS = (" - ", " – ", " — ", " | ")
# Python's own table of extensions, not the machine's mime.types: the same guess on every host.
_BUILT_IN_TYPES = mimetypes.MimeTypes()
# An author field that is only a desk's initials, ANSA's "VRG": whoever signed the copy, nobody by name.
_DESK_INITIALS = re.compile(r"[A-Z]{2,4}")
_AVATAR_HOST = re.compile(r"avatars\d*\.githubusercontent\.com")
_CONTROL_CHARACTER = re.compile(f"[{CONTROL_CHARACTERS}]")
# The raw item's fields, but its HTML (which loses control characters when parsed) and its source fragment.
_FIELDS_CHECKED = tuple(name for name in RawItem.model_fields
                        if name not in {"original", "content_html", "summary_html"})
# The fields people read, as opposed to ids, URLs and dates, which name things by their code points.
_PROSE_FIELDS = ("feed_title", "title", "summary_html", "content_html", "authors", "credits", "categories",
                 "byline", "dateline", "slugline", "providers")
T = TypeVar("T")
_PREFIX_URGENCY = {"FLASH": 1, "BLITZ": 1, "URGENT": 2, "URGENTE": 2, "BULLETIN": 2, "EIL": 2, "EILMELDUNG": 2}


def normalize(raw: RawItem, now: datetime, *, boilerplate: BoilerplateModel | None = None) -> Article:
    """Clean one raw item into an article. ``boilerplate`` is only read (and its hits kept fresh)."""
    raw = _composed(_without_control_characters(raw))
    body = parse_body(raw.content_html or raw.summary_html or "", raw.link or raw.feed_url)
    feed_title = _without_publisher(html_to_text(raw.title or "").replace("\n\n", " "), raw.providers)
    title, prefixes, prefix_version = strip_prefixes(feed_title, raw.slugline)
    wire = _clean(body, raw.feed_id, boilerplate, (title, feed_title), mailed=raw.format is FeedFormat.EMAIL)
    paragraphs = body.kept()
    if not title and (headline := wire.fields.get("headline")):
        title, prefixes, prefix_version = strip_prefixes(headline, raw.slugline)
    if title and (_repeats_title(body, title, feed_title) or _aggregated_links(body, title, raw.providers)):
        paragraphs = body.kept()
    if not title and not paragraphs:
        raise NoTextError("item has neither a title nor any body text")
    title = title or _title_from(without_dateline(next((p for p in paragraphs if not is_starred_note(p)),
                                                       paragraphs[0])))
    body_text = "\n\n".join(paragraphs)
    fingerprint = content_fingerprint(title, body_text)
    # Worked out only for a date that needs a country (a zone name like IST or EST, a slashed date), and
    # once: the published and updated dates of a US feed both end in EST.
    regions = _once(regions_of, (raw.language, raw.feed_language), (raw.link, raw.feed_url))
    # A date written without a zone is read in the one the feeds file names for the feed (with summer time);
    # else, worked out only when needed like the regions, in the offset the feed's own dates are written in.
    named = named_zone(raw.feed_timezone)
    unzoned: Zone = named or _once(feed_zone, raw.feed_dates_raw, regions)
    published, estimated = _published_at(raw, now, regions, unzoned)
    dateline = _dateline(raw, wire)
    byline, agency = _people(raw, wire, dateline)
    # An embargo without a zone: in the feed's named zone, else in UTC as before (the wire formats that carry
    # embargoes carry no feed dates to take an offset from).
    embargoed_until = parse_date(raw.embargoed_until_raw, regions, named or UTC)
    pubstatus = raw.pubstatus or PubStatus.USABLE
    return Article(
        id=article_id(raw.item_id, fingerprint, release_status(pubstatus, embargoed_until)),
        story_id=_hash(raw.item_id),
        version=_counted(raw.version) or prefix_version or 1,
        item_id=raw.item_id,
        feed_id=raw.feed_id,
        source=Source(name=raw.feed_title, url=web_url(raw.feed_url)),
        url=web_url(raw.link),
        canonical_url=canonical_url(raw.canonical_link, raw.link) or canonical_url(raw.link),
        title=title,
        summary=_unless_repeated(_summary(raw) or wire.fields.get("abstract"), title, body_text),
        body_text=body_text,
        body_html=body.html(),
        language=detect_language(f"{title}\n{body_text[:SAMPLE_CHARS]}", raw.language, raw.feed_language),
        published_at=published,
        published_at_estimated=estimated,
        updated_at=_optional_date(raw.updated_raw, now, regions, unzoned),
        fetched_at=raw.fetched_at,
        dateline=dateline,
        agency=agency,
        byline=byline,
        credits=_credits(raw.credits, wire.credits),
        categories=_categories(raw.categories),
        enclosures=_enclosures(raw.enclosures, raw.link or raw.feed_url),
        pubstatus=pubstatus,
        embargoed_until=embargoed_until,
        urgency=raw.urgency or _prefix_urgency(prefixes),
        wire_prefixes=prefixes,
        slugline=raw.slugline,
        content_hash=fingerprint,
    )


def _prefix_urgency(prefixes: list[str]) -> int | None:
    """The urgency a headline's prefix gives copy whose format has none: a FLASH is 1, an URGENT 2 (as
    AFP and Reuters rank them on IPTC's scale), AP's BULLETIN 2 (as its ANPA priority "b" is read), dpa's
    BLITZ 1 and EIL 2 (its priorities 1 and 2)."""
    return min((_PREFIX_URGENCY[prefix] for prefix in prefixes if prefix in _PREFIX_URGENCY), default=None)


def release_status(pubstatus: PubStatus, embargoed_until: datetime | None) -> str | None:
    """What an item re-sent with the same text can change: whether it may be used, and from when. None
    for the usual, usable now."""
    if pubstatus is PubStatus.USABLE and embargoed_until is None:
        return None
    return f"{pubstatus.value} {embargoed_until.isoformat() if embargoed_until else ''}".rstrip()


def article_id(item_id: str, fingerprint: str, status: str | None) -> str:
    """One id per item, text and release status: the item sent again killed, withheld or under a moved
    embargo is a new article, not a repeat. The usual status adds nothing, so those ids never changed."""
    return _hash(item_id, fingerprint, *([status] if status else []))


def _repeats_title(body: Body, title: str, feed_title: str) -> bool:
    """Drop a first paragraph that only repeats the title (a CMS's <h1>, TT's first line) when the story
    follows it; true when it did. A link stays: Daring Fireball's "<a>Standard Ebooks</a>:" is where
    the post points."""
    first = body.first_kept()
    if first is None or sum(map(len, body.kept())) - len(body.paragraphs[first]) < MIN_TEXT_AFTER_TITLE:
        return False
    if body.link_density(first) >= REPEATED_TITLE_MAX_LINK_DENSITY:
        return False
    words = casefold_words(body.paragraphs[first])
    if words not in (casefold_words(title), casefold_words(feed_title), casefold_words(_without_label(title))):
        return False
    body.drop([first])
    return True


def _without_label(title: str) -> str:
    """The headline after its label: NTB's "Faktisk.no: Nei, dette dokumentet …" opens its text "Nei, dette
    dokumentet …"; the headline itself when it has none."""
    label = _HEADLINE_LABEL.match(title)
    return title[label.end():] if label else title


def _aggregated_links(body: Body, title: str, providers: list[str]) -> bool:
    """Drop an aggregator's description, which links to the story instead of telling it: Google News' is
    the linked headline and the outlet's name ("<a>Oil rises</a> Reuters"), and for a cluster of coverage
    a list of such links to other outlets' copies. True when the first paragraph was the item's own link."""
    first = body.first_kept()
    if first is None or body.link_density(first) < REPEATED_TITLE_MAX_LINK_DENSITY:
        return False
    words = casefold_words(body.paragraphs[first])
    if not any(words == casefold_words(f"{title} {provider}") for provider in providers):
        return False
    body.drop(i for i in range(first, len(body.paragraphs))
              if body.link_density(i) >= REPEATED_TITLE_MAX_LINK_DENSITY)
    return True


def _title_from(paragraph: str) -> str:
    """An untitled item's title: its first paragraph on one line, cut after a whole word with "…" when it
    is longer than MAX_DERIVED_TITLE_CHARS (a word longer than half of that is cut where it falls)."""
    text = " ".join(paragraph.split())
    if len(text) <= MAX_DERIVED_TITLE_CHARS:
        return text
    cut = text[:MAX_DERIVED_TITLE_CHARS - 1]
    space = cut.rfind(" ")
    if space >= MAX_DERIVED_TITLE_CHARS // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:–—-") + "…"


def content_fingerprint(title: str, body_text: str) -> str:
    """Equal for copies that differ only in case, punctuation and whitespace."""
    words = [*casefold_words(title), *casefold_words(body_text)]  # as the words of "title\nbody"
    return hashlib.sha256(" ".join(words).encode()).hexdigest()


def _clean(body: Body, feed_id: str, model: BoilerplateModel | None, titles: tuple[str, str], *,
           mailed: bool) -> WireText:
    """Mark boilerplate, credit and byline paragraphs on ``body``; return what the text said. ``mailed``: the
    item came by e-mail, whose sender's signature may end it."""
    paragraphs = body.paragraphs
    removed = rule_matches(paragraphs, body.link_density, mailed=mailed)
    _trim_tail(body, removed)  # first, so that "… (Reporting by …) Read more" ends in its credit line
    wire = extract(paragraphs, skip=removed | body.captions, titles=[title for title in titles if title])
    wire.footer_agency = _footer_agency(paragraphs, removed)
    removed |= wire.drop
    for index, text in wire.trims.items():
        body.trim_end(index, TRAILING_CREDIT, text)
    _trim_tail(body, removed)  # again, for the story's own end above a credit line: "…回升。（完）", "责任编辑：王五"
    if model is not None:
        removed |= _learned(body.paragraphs, removed, feed_id, model)
    body.drop(removed)
    return wire


def _footer_agency(paragraphs: list[str], removed: set[int]) -> str | None:
    """The agency a removed footer names: AP's copies end "Copyright 2024 The Associated Press.", an Indian
    outlet's copy of PTI's story "(With inputs from PTI)"."""
    for index in range(max(0, len(paragraphs) - FOOTER_PARAGRAPHS), len(paragraphs)):
        text = paragraphs[index]
        if index in removed and CREDITING_FOOTER.search(text) and (agency := find_agency(text)):
            return agency
    return None


def _trim_tail(body: Body, removed: set[int]) -> None:
    """Cut a "Read more" link or "[…]" off the end of the last paragraph (a picture's caption after it aside)."""
    last = max((i for i in range(len(body.paragraphs)) if i not in removed and i not in body.captions), default=None)
    if last is None:
        return
    text = strip_tail(body.paragraphs[last])
    if not text:
        removed.add(last)
    elif text != body.paragraphs[last]:
        body.trim_end(last, TRAILING_TAIL, text)


def _learned(paragraphs: list[str], removed: set[int], feed_id: str, model: BoilerplateModel) -> set[int]:
    candidates = [i for i in range(len(paragraphs)) if i not in removed]
    hits = {i for i in candidates if model.is_boilerplate(feed_id, paragraphs[i])}
    return set() if len(hits) > LEARNED_MAX_SHARE * len(candidates) else hits


def _summary(raw: RawItem) -> str | None:
    """The feed's summary as text, when it is not also the body; boilerplate tails removed."""
    if not raw.content_html or not raw.summary_html or raw.summary_html.strip() == raw.content_html.strip():
        return None  # feedparser copies an Atom entry's content into its summary when it has none
    summary = parse_body(raw.summary_html)
    summary.drop(rule_matches(summary.paragraphs))
    kept = summary.kept()  # a picture's caption in it is no more the summary's text than the body's
    if kept:
        kept[-1] = strip_tail(kept[-1])
    return "\n\n".join(p for p in kept if p) or None


def _without_publisher(title: str, providers: Iterable[str]) -> str:
    """The title without a trailing " - Publisher" naming one of the item's providers: Google News ends
    every headline with the name of the outlet its RSS source names ("Oil rises - Reuters")."""
    for provider in providers:
        for separator in _PUBLISHER_SEPARATORS:
            suffix = len(separator) + len(provider)
            if len(title) > suffix and title[-suffix:].casefold() == f"{separator}{provider}".casefold():
                return title[:-suffix].rstrip()
    return title


def _enclosures(enclosures: list[Enclosure], base: str) -> list[Enclosure]:
    """The item's media with links a reader can follow: resolved (ninjs and JSON Feed may give a path),
    http(s) only (a javascript: or file: link is dropped, as the article's own link is), each URL once;
    a type the feed left out (a Media RSS thumbnail's) is guessed from the URL's extension. Authors'
    avatars are left out."""
    found: dict[str, Enclosure] = {}
    for enclosure in enclosures:
        url = web_url(enclosure.url, base)
        if url is None or url in found:
            continue
        parts = urlsplit(url)
        if not _is_avatar(parts.hostname or ""):
            kind = enclosure.type or _BUILT_IN_TYPES.guess_type(parts.path)[0]
            same = (url, kind) == (enclosure.url, enclosure.type)
            found[url] = enclosure if same else enclosure.model_copy(update={"url": url, "type": kind})
    return list(found.values())


def _without_control_characters(raw: RawItem) -> RawItem:
    """The item without control characters (but tab and line breaks) in its fields: e-mail headers and wire
    transmissions can carry a NUL into a byline or a slug, and PostgreSQL cannot store one (the sink would
    dead-letter the article). The source fragment keeps them: ANPA's and IPTC 7901's are made of them; the
    HTML loses them when it is parsed (clean.py)."""
    if not any(map(_has_control, _texts(value for name in _FIELDS_CHECKED if (value := getattr(raw, name))))):
        return raw  # the common case: every text printable, which str.isprintable tells in C
    data = raw.model_dump()
    strip = functools.partial(_CONTROL_CHARACTER.sub, "")
    data.update(map_strings({name: data[name] for name in _FIELDS_CHECKED}, strip))
    return RawItem.model_validate(data)


def _composed(raw: RawItem) -> RawItem:
    """The item with its prose in Unicode's composed form (NFC). A feed written on a Mac may spell "ü" as
    "u" and a combining mark: a search for "Zürich" typed as usual would not find it, and the dedup
    fingerprints would take it for other words ("zu rich")."""
    if all(unicodedata.is_normalized("NFC", text) for text in _texts(getattr(raw, name) for name in _PROSE_FIELDS)):
        return raw  # the common case, told by a quick check in C
    data = raw.model_dump()
    compose = functools.partial(unicodedata.normalize, "NFC")
    data.update(map_strings({name: data[name] for name in _PROSE_FIELDS}, compose))
    return RawItem.model_validate(data)


def _texts(values: Iterable[object]) -> Iterator[str]:
    for value in values:
        if type(value) is str:
            yield value
        elif isinstance(value, list):
            yield from _texts(value)
        elif isinstance(value, dict):
            yield from value
            yield from _texts(value.values())
        elif isinstance(value, Enclosure):
            yield from (item for _, item in value if isinstance(item, str))


def _has_control(text: str) -> bool:
    return not text.isprintable() and _CONTROL_CHARACTER.search(text) is not None


def _is_avatar(host: str) -> bool:
    """A picture of the author, not of the story: WordPress feeds add each author's Gravatar as Media RSS
    content, GitHub's each actor's avatar as a thumbnail."""
    return on_domain(host, ("gravatar.com",)) or _AVATAR_HOST.fullmatch(host) is not None


def _unless_repeated(summary: str | None, title: str, body_text: str) -> str | None:
    """No summary rather than one that only repeats the title (Atom's summary copied from the title) or
    the whole text (heise's Atom summary is its content's one paragraph), or the whole text and the credit
    line or notes the body's cleaning took off its end: a reader would show it twice."""
    if not summary:
        return summary
    words, body_words = casefold_words(summary), casefold_words(body_text)
    repeats_body = len(body_words) > 0 and words[:len(body_words)] == body_words
    return None if repeats_body or words == casefold_words(title) else summary


def _people(raw: RawItem, wire: WireText, dateline: Dateline) -> tuple[list[str], str | None]:
    """The byline (people) and the agency: the dateline, the format's byline, the text's byline and credit
    lines, the format's providers (often the distributor), feed authors, then a copyright footer. A format's
    byline naming nobody (Scoop's "By Staff Reporter, BusinessDesk" above "By Jonathan Underhill" in the
    text) leaves the people to the text."""
    authors, author_agency = _authors(raw.authors)
    structured, structured_agency = _structured_byline(raw.byline)
    if not structured:
        credited = [name for role in BYLINE_ROLES for name in wire.credits.get(role, ())]
        structured = _unique([*wire.byline, *authors, *credited])
    return structured, (dateline.agency or structured_agency or wire.agency or _provider_agency(raw.providers)
                        or author_agency or wire.footer_agency)


def _provider_agency(providers: Iterable[str]) -> str | None:
    """The first agency the format's providers name: "Thomson Reuters", "reuters.com", "REUTERS", and for
    STT's "STT–AFP" (STT sending AFP copy) the agency the copy came from."""
    for provider in providers:
        if len(provider) > MAX_PROVIDER_CHARS:
            continue  # a name, not a text: searching a hostile megabyte for agencies would cost seconds
        for part in reversed(_PROVIDER_PARTS.split(provider)):
            if agency := find_agency(part):
                return agency
    return None


def _structured_byline(byline: str | None) -> tuple[list[str], str | None]:
    """A format's byline field as (people, agency); nobody and no agency when there is none."""
    if not byline or not byline.strip():
        return [], None
    return parse_byline_field(byline)


def _authors(authors: Iterable[str]) -> tuple[list[str], str | None]:
    """A feed's author fields as people, and the agency when an author is one ("Reuters", "AP Staff")."""
    names: list[str] = []
    agency = None
    for author in authors:
        cleaned = clean_author(author)
        if cleaned is None or is_non_person(cleaned):
            continue
        if service := agency_service(cleaned):
            agency = agency or service
            continue
        if _DESK_INITIALS.fullmatch(cleaned) and not find_agency(cleaned):
            continue
        parsed = parse_byline(cleaned) or listed_people(cleaned) or ([cleaned], None)
        names.extend(parsed[0])
        agency = agency or parsed[1]
    return names, agency


def _credits(structured: dict[str, list[str]], text: dict[str, list[str]]) -> dict[str, list[str]]:
    """The text's credit lines and the format's credits (an editor Superdesk names), by role, each name once."""
    merged = dict(text)
    for role, names in structured.items():
        people = [name for name in map(clean_author, names) if name and not is_non_person(name)]
        if people:
            merged[role] = _unique([*merged.get(role, []), *people])
    return merged


def _dateline(raw: RawItem, wire: WireText) -> Dateline:
    place, agency = parse_structured_dateline(raw.dateline) if raw.dateline else (None, None)
    if place and _names_a_person(place, raw):
        place = None  # the text's own dateline, if any, says where the story was filed
    agency = agency or wire.dateline_agency
    return Dateline(place=place or wire.place, agency=dateline_agency(agency) or agency)


def _names_a_person(place: str, raw: RawItem) -> bool:
    """Whether a format's dateline opens with one of the people the item names (its byline, authors or
    credits) where the place goes: a Superdesk desk typed the byline's first part into ninjs' "located"
    ("Aaron J. Staples, Michigan" beside the byline "Aaron J. Staples, Michigan State University"). ninjs
    gives "located" as a bare string, and a name's shape cannot tell: Milton Keynes reads like a person."""
    city = _name_words(place.split(",", 1)[0])
    if not city:
        return False
    byline, _ = _structured_byline(raw.byline)
    credited = (name for names in raw.credits.values() for name in names)
    return any(_name_words(person) == city for person in (*(byline or ()), *raw.authors, *credited))


def _name_words(name: str) -> tuple[str, ...]:
    """A name's words without initials, in one case: "Aaron J. Staples" and "aaron staples" match."""
    return tuple(word for word in _WORD.findall(name.casefold()) if len(word) > 1)


def _counted(version: int | None) -> int | None:
    return version if version is not None and 0 < version <= MAX_VERSION_COUNT else None


def _categories(terms: Iterable[str]) -> list[str]:
    """Terms as plain text on one line. Categories are text, yet feedparser hands some on escaped
    ("Society &amp; Culture": its output for some podcast feeds, which the fast reading matches)."""
    return _unique(term for term in (" ".join(html.unescape(t).split()) for t in terms) if term)


def _unique(values: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for value in values:
        if value.casefold() not in seen:
            seen.add(value.casefold())
            out.append(value)
    return out


def _published_at(raw: RawItem, now: datetime, regions: Regions, unzoned: Zone) -> tuple[datetime, bool]:
    published = parse_date(raw.published_raw, regions, unzoned) or parse_date(raw.updated_raw, regions, unzoned)
    if published is None:
        return raw.fetched_at, True
    try:
        return ensure_plausible(published, now), False
    except ValueError as error:
        raise NormalizeError(str(error)) from error


def _optional_date(raw: str | None, now: datetime, regions: Regions, unzoned: Zone) -> datetime | None:
    value = parse_date(raw, regions, unzoned)
    if value is None or value - now > MAX_FUTURE:
        return None
    return value


def _once(function: Callable[..., T], *args: object) -> Callable[[], T]:
    """``function(*args)``, worked out on the first call only. functools.cache of a partial did the same
    but cost ~3 µs to set up (copying the wrapped function's name and doc), for a value few items need."""
    value: list[T] = []

    def once() -> T:
        if not value:
            value.append(function(*args))
        return value[0]
    return once


def _hash(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]
