"""HTML to safe HTML and clean text, with lxml and nh3 (no regex parsing of HTML).

:func:`parse_body` parses a body once (HTML, or plain text with blank lines between paragraphs), strips
what never belongs in an article (scripts, page furniture, tracking pixels, script URLs), resolves links,
and hands back a :class:`~services.normalizer.body.Body` for the text-level steps to work on.
"""

from __future__ import annotations

import re
from html import unescape
from html.entities import html5
from urllib.parse import unquote, urljoin, urlsplit

import ftfy
from lxml import etree
from lxml.etree import _Element

from services.core.numbers import whole_number
from services.core.text import CONTROL_CHARACTERS
from services.normalizer.body import (
    ALLOWED_ATTRIBUTES,
    ALLOWED_TAGS,
    BLOCK_TAGS,
    URL_SCHEMES,
    Body,
    CodeLines,
    drop_tree,
    fold_text,
    in_code,
    sanitize_fragment,
)
from services.normalizer.htmltree import parse_document
from services.normalizer.urls import on_domain
from services.normalizer.wraps import (
    inside_sentence,
    is_long_open_line,
    join_wrapped_lines,
    joint,
    unwrapped,
    wrap_column,
)

__all__ = [
    "ALLOWED_ATTRIBUTES", "ALLOWED_TAGS", "BLOCK_TAGS", "URL_SCHEMES", "Body", "html_to_paragraphs",
    "html_to_text", "parse_body", "repair_mojibake", "sanitize_fragment", "sanitize_html",
]

# Removed with their content before anything else looks at the tree: executable or interactive content,
# and page furniture (navigation, asides, headers, footers) that feed bodies copied from a page still carry.
# A <header> introduces a page or an article with what the item has as metadata already: dpa's XHTML body
# opens with one holding its topics, time, genre and the headline again; pages put the title, byline, date
# and standfirst there (none of which the article-extraction benchmark counts as the article's text).
DROP_TAGS = frozenset({
    "script", "style", "noscript", "template", "iframe", "frame", "object", "embed", "applet", "svg",
    "math", "form", "button", "input", "select", "textarea", "canvas", "audio", "video", "nav", "aside",
    "header", "footer", "link", "meta", "head", "title", "base",
})
# Sectioning tags become <div>: the allowlist keeps <div> so adjacent blocks do not run together.
SECTIONING_TAGS = frozenset({"section", "article", "main", "address", "center", "hgroup"})
# Class names publishers' CMS plugins give share bars, related-post widgets, ad slots and feed flair.
JUNK_CLASSES = frozenset({
    "feedflare", "sharedaddy", "share-buttons", "social-share", "addtoany_share_save_container",
    "jp-relatedposts", "related-posts", "yarpp-related", "newsletter-signup", "adsbygoogle", "advertisement",
    "ad-container", "ad-slot",
})
# What no reader sees: a hidden image (a video's poster, HuffPost's), and screen-reader hints such as
# Reuters' ", opens new tab", by the classes the common CSS frameworks and WordPress hide such text with.
# Hidden text otherwise stays: a page's collapsed section (DC Rainmaker's comparison tables) is content.
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_HIDDEN_CLASSES = frozenset({
    "sr-only", "visually-hidden", "visuallyhidden", "screen-reader-text", "screen-reader-only",
})
_DROPPED_CLASSES = JUNK_CLASSES | _HIDDEN_CLASSES
_DATELINE_PARTS = frozenset({"vignette", "source"})
# Hosts that only serve tracking pixels and beacons (a suffix match: "x.doubleclick.net" counts).
TRACKER_HOSTS = frozenset({
    "doubleclick.net", "google-analytics.com", "googletagmanager.com", "scorecardresearch.com",
    "quantserve.com", "pixel.wp.com", "stats.wp.com", "feedblitz.com", "feedsportal.com", "mathtag.com",
    "krxd.net", "adsafeprotected.com", "bat.bing.com", "ct.pinterest.com", "px.ads.linkedin.com",
    "analytics.twitter.com", "mf.feeds.reuters.com", "omtrdc.net", "2o7.net", "chartbeat.net",
    "pixel.parsely.com",
})
# Hosts that serve content too, but whose paths here are tracking-only.
TRACKER_PATHS = {"feeds.feedburner.com": ("/~r/", "/~ff/", "/~a/"), "www.facebook.com": ("/tr",)}
# C0 controls XML cannot hold, non-characters, and lone surrogates (which cannot even be encoded).
_CONTROL = re.compile(f"[{CONTROL_CHARACTERS}\x7f\ufffe\uffff\ud800-\udfff]")
# Numeric character references as the HTML parser reads them: digits taken greedily, ";" optional.
_CHARACTER_REFERENCE = re.compile(r"&#(?:[xX]([0-9a-fA-F]+)|([0-9]+));?")
# Text that still holds tags or character references once parsed was escaped twice at the source (old
# Reddit feeds, some CMS exports, STT's "o&amp;#39;clock"). Either kind shows in the markup as "&lt;" or
# as "&amp;" before a reference, which rules the repair out for nearly every body before any tree walk
# ("&amp;" alone is common: it separates the parameters of links).
_ESCAPED_TWICE = re.compile(r"&lt;|&amp;(?:#[0-9xX]|[A-Za-z][A-Za-z0-9]{1,31};)")
_TAG_IN_TEXT = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)\b[^<>]*>")
_REFERENCE_IN_TEXT = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_KNOWN_TAGS = frozenset(ALLOWED_TAGS | BLOCK_TAGS | DROP_TAGS | SECTIONING_TAGS | {"span", "font", "center"})
# UTF-8 read as windows-1252 or Latin-1 somewhere upstream ("worldâ€™s", "cafÃ©", "Â©"): these pairs
# almost never occur in real text, so they decide cheaply when ftfy (about 1 ms per page) is asked.
_MOJIBAKE_SIGN = re.compile("â€|Ã[\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc"
                            "\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]|Â[\u00a0-\u00bf]")
_MOJIBAKE_LEADS = ("â", "Ã", "Â")
# A no-break space after an ASCII character cannot belong to a misread UTF-8 sequence, yet ftfy reads it as
# one: it leaves the mojibake after it ("Art University.\u00a0â€œThese") or garbles it ("caf\u00a0â€™s" ->
# "cafʉ۪s"). The text on either side of such a space is repaired on its own.
_LONE_NO_BREAK_SPACE = re.compile("(?:(?<=[\x00-\x7f])|^)\u00a0")
_BLANK_LINE = re.compile(r"\n[ \t\r\f\v\u00a0]*\n")
# Wire copy sent as one block of text marks each paragraph by indenting its first line, the lines after it
# starting at the margin: Reuters' and ANSA's NewsML-G2 put a whole story in one <p> so.
_INDENTED_LINE = re.compile(r"\n(?:[ \u00a0]{2,}|\t)(?=\S)")
_MARGIN_LINE = re.compile(r"\n(?=\S)")
_INDENTED_BREAK = re.compile(f"{_BLANK_LINE.pattern}|{_INDENTED_LINE.pattern}")
# WordPress shortcodes that leak into feeds and site exports ("[caption id=…]…[/caption]", "[dropcap]M[/dropcap]"):
# WordPress's own, and the popular page builders' and themes'. The tags go; what they enclose (a caption,
# a letter) stays. An opening tag's attributes are name=value pairs: "[gallery of the year]" is prose.
_SHORTCODE = re.compile(r"\[/?(?:caption|wp_caption|dropcap|embed|gallery|audio|video|playlist|contact_form|"
                        r"contact-form-7|(?:vc|et_pb|td)_[a-z_]+)(?:\s[^\[\]<>=]{1,100}=[^\[\]<>]{0,500})?\]")


# STT's NewsML-G2 writes its dashes as escaped markup of its own: "800<endash>-</endash>1 000" in the text.
_WRITTEN_DASH = re.compile(r"&lt;(en|em)dash&gt;-{0,3}&lt;/\1dash&gt;")


def parse_body(html: str, base_url: str | None = None) -> Body:
    """Parse a body (HTML, or plain text with blank lines between paragraphs) once, ready for cleaning."""
    if not html or html.isspace():
        return Body(None)
    if "dash&gt;" in html:
        html = _WRITTEN_DASH.sub(_dash, html)
    root = _fragment(repair_mojibake(_SHORTCODE.sub("", html) if "[" in html else html))
    if root is None:
        return Body(None)
    if "&" in html and _ESCAPED_TWICE.search(html):
        _unescape_twice_escaped(root)
    base_url = _base_href(root, base_url)
    _strip_junk(root)
    if _INDENTED_LINE.search(html):
        _split_indented_copy(root)
    if _is_plain_text(root):
        _wrap_plain_paragraphs(root)
    join_wrapped_lines(root)
    _fix_urls(root, base_url)
    return Body(root)


def _dash(written: re.Match[str]) -> str:
    return "–" if written[1] == "en" else "—"


def sanitize_html(html: str, base_url: str | None = None) -> str:
    """Sanitised HTML of a whole fragment (nothing dropped but junk, pixels and unsafe content)."""
    return parse_body(html, base_url).html()


def html_to_paragraphs(html: str) -> list[str]:
    """The visible text as paragraphs: entities decoded, whitespace folded, scripts and styles dropped."""
    return parse_body(html).paragraphs


def html_to_text(html: str) -> str:
    """Clean text of a short fragment such as a title; skips the parser when there is no markup."""
    if "<" not in html and "&" not in html:
        return fold_text(_CONTROL.sub("", repair_mojibake(html)))
    return "\n\n".join(html_to_paragraphs(html))


def repair_mojibake(text: str) -> str:
    """``text`` with UTF-8 that was decoded as windows-1252 decoded right; ftfy leaves it be when unsure."""
    if text.isascii() or not _may_be_mojibake(text):
        return text
    if "\u00a0" not in text:
        return ftfy.fix_encoding(text)
    return "\u00a0".join(ftfy.fix_encoding(part) if _MOJIBAKE_SIGN.search(part) else part
                          for part in _LONE_NO_BREAK_SPACE.split(text))


def _may_be_mojibake(text: str) -> bool:
    # Every sign opens with one of three letters: a substring test for each (a scan in C) rules out nearly
    # every non-ASCII body, where the pattern's search costs ~9 µs a kilobyte.
    return any(lead in text for lead in _MOJIBAKE_LEADS) and _MOJIBAKE_SIGN.search(text) is not None


def _fragment(html: str) -> _Element | None:
    """The <body> of the fragment parsed as a document: our container, never serialised itself.

    Plain lxml.etree, not lxml.html: lxml.html looks up a Python class for every element it touches,
    which doubles the cost of parsing and walking.
    """
    if _CONTROL.search(html):
        # Characters XML cannot hold (NUL, most C0 controls): libxml2 may keep them in the tree, but lxml
        # then refuses to set any text containing them. They carry no text anyway.
        html = _CONTROL.sub("", html)
    if "&#" in html:
        html = _CHARACTER_REFERENCE.sub(_unless_control, html)  # "&#1;" puts the same characters in the tree
    try:
        document = parse_document(f"<html><body>{html}</body></html>", DROP_TAGS)
    except (etree.ParserError, ValueError):
        return None
    return None if document is None else document.find("body")


def _unescape_twice_escaped(root: _Element) -> None:
    """Read once more the text that is really markup or character references (outside code samples).

    Markup is parsed and spliced in where the text was, before junk stripping and sanitising see the
    tree, so what it holds is cleaned like any other markup.
    """
    slots = [(root, "text")] + [(element, slot) for element in root.iterdescendants()
                                 for slot in ("text", "tail") if isinstance(element.tag, str)]
    read: CodeLines = {}
    for element, slot in slots:
        value = getattr(element, slot)
        if not value or ("<" not in value and "&" not in value) or _in_code(element, slot, read):
            continue
        if _holds_markup(value):
            _splice_markup(element, slot, value)
        elif "&" in value:
            setattr(element, slot, _REFERENCE_IN_TEXT.sub(_unescape_reference, value))


def _in_code(element: _Element, slot: str, read: CodeLines) -> bool:
    # Escaped markup is the point of a code sample: left as it is.
    return in_code(element if slot == "text" else element.getparent(), read)


def _holds_markup(text: str) -> bool:
    """Three or more HTML tags, one of them closing. Prose that mentions a tag ("the <p> element") does not
    qualify, nor does most of a code line that slipped out of a code container."""
    tags = [closing for closing, name in _TAG_IN_TEXT.findall(text) if name.lower() in _KNOWN_TAGS]
    return len(tags) >= 3 and any(tags)


def _splice_markup(element: _Element, slot: str, markup: str) -> None:
    parsed = _fragment(markup)
    if parsed is None:
        return
    setattr(element, slot, parsed.text)
    if slot == "text":
        parent, position = element, 0
    else:
        parent = element.getparent()
        position = parent.index(element) + 1
    for offset, child in enumerate(list(parsed)):
        parent.insert(position + offset, child)


def _unescape_reference(reference: re.Match[str]) -> str:
    """The character a whole reference names; html.unescape alone would read "&notice;" as "¬ice;"."""
    written = reference.group(0)
    if written[1] != "#" and written[1:] not in html5:
        return written
    text = unescape(written)
    return "" if text == "\ufffd" or _CONTROL.match(text) else text  # NUL, surrogates, beyond Unicode


def _unless_control(reference: re.Match[str]) -> str:
    hex_digits, decimal = reference.groups()
    digits = hex_digits or decimal
    if len(digits) > 7:
        return reference.group(0)  # beyond Unicode: libxml2 reads it as U+FFFD
    code = int(digits, 16) if hex_digits else int(digits)
    return "" if code < 0x110000 and _CONTROL.match(chr(code)) else reference.group(0)


def _strip_junk(root: _Element) -> None:
    junk = []
    for element in root.iterdescendants():
        if not isinstance(element.tag, str):
            continue
        if _is_junk(element):
            junk.append(element)
        elif element.tag in SECTIONING_TAGS or (element.tag == "span" and _is_dateline_part(element)):
            element.tag = "div"
    for element in junk:
        drop_tree(element)


def _is_dateline_part(span: _Element) -> bool:
    """A part of TT's dateline block, <div class="dat"><span class="vignette">Försvar</span><span
    class="source">TT</span></div>, which TT sets on lines of their own: as inline text they read
    "FörsvarTT". Apart, the vignette (a topic, or an event's time) stays and the agency's line is read."""
    if span.get("class") not in _DATELINE_PARTS:
        return False
    parent = span.getparent()
    return parent is not None and parent.get("class") == "dat"


def _is_junk(element: _Element) -> bool:
    if element.tag in DROP_TAGS:
        return True
    if element.tag == "img" and (_is_tracking_pixel(element) or _HIDDEN_STYLE.search(element.get("style") or "")):
        return True
    classes = element.get("class")
    return bool(classes) and not _DROPPED_CLASSES.isdisjoint(classes.split())


def _is_tracking_pixel(img: _Element) -> bool:
    width, height = _dimension(img.get("width")), _dimension(img.get("height"))
    if width == 0 or height == 0 or (width is not None and height is not None and width <= 1 >= height):
        return True
    return _is_tracker_url(img.get("src") or "")


def _is_tracker_url(url: str) -> bool:
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    host = parts.hostname or ""  # urlsplit lowercases it
    if parts.path.startswith(TRACKER_PATHS.get(host, ())):
        return True
    return on_domain(host, TRACKER_HOSTS)


def _dimension(value: str | None) -> int | None:
    if value is None:
        return None
    return whole_number(value.strip().removesuffix("px"))


def _fix_urls(root: _Element, base_url: str | None) -> None:
    """Resolve a/href and img/src, the only URLs the allowlist keeps, and drop script-bearing ones.

    nh3 already refuses javascript: and data: schemes; this also catches what only becomes one after
    percent-decoding or control-character stripping (" &#14; javascript:"), which is never a real link.
    lxml's make_links_absolute visits every attribute of every element and costs several times more.
    """
    unusable: list[_Element] = []  # images left without a source show nothing
    for element in root.iter("a", "img"):
        attribute = "href" if element.tag == "a" else "src"
        value = element.get(attribute)
        if value is None or _is_script_url(value):
            element.attrib.pop(attribute, None)
        else:
            try:
                element.set(attribute, urljoin(base_url, value.strip()) if base_url else value)
            except ValueError:
                del element.attrib[attribute]  # an unparseable URL (bad IPv6 literal): drop it, keep the text
        if element.tag == "img" and attribute not in element.attrib:
            unusable.append(element)
    for element in unusable:
        drop_tree(element)


def _base_href(root: _Element, base_url: str | None) -> str | None:
    """A <base href> in the body overrides the item's base for relative links (as it would on a page)."""
    for base in root.iter("base"):
        href = str(base.get("href") or "").strip()
        if href and not _is_script_url(href):
            try:
                return urljoin(base_url or "", href)
            except ValueError:  # "http://[::1": no base, as a browser would ignore it
                break
    return base_url


def _is_script_url(url: str) -> bool:
    lowered = url.lower()
    if url.isprintable() and "script" not in lowered and "%" not in lowered and "data:" not in lowered \
            and "`" not in lowered:
        return False  # the common case, decided without rebuilding the string
    folded = "".join(unquote(url).split()).lower()
    folded = "".join(char for char in folded if char.isprintable())
    return "script:" in folded or folded.startswith(("data:", "`"))


def _split_indented_copy(root: _Element) -> None:
    """A <p> of text only, written as indented paragraphs, becomes a <p> per paragraph."""
    for element in list(root.iter("p")):
        text = element.text
        if len(element) or not text or not _is_indented_copy(text):
            continue
        parts = [part.strip() for part in _INDENTED_BREAK.split(text)]
        tail, element.tail = element.tail, None
        last = element
        for number, part in enumerate(part for part in parts if part):
            if number:
                last.addnext(etree.Element("p"))
                last = last.getnext()
            last.text = part
        last.tail = tail


def _is_indented_copy(text: str) -> bool:
    """Two paragraphs' first lines indented, and a line after the first at the margin: not a pretty-printed
    <p> (every line indented alike), but a story set as paragraphs on a teleprinter."""
    return len(_INDENTED_LINE.findall(text)) >= 2 and _MARGIN_LINE.search(text.lstrip()) is not None


def _is_plain_text(root: _Element) -> bool:
    """No block markup at all, but line breaks: plain text, its paragraphs parted by blank lines (or, when
    it has none, by line breaks)."""
    if any(isinstance(el.tag, str) and el.tag in BLOCK_TAGS for el in root.iterdescendants()):
        return False
    slots = _top_level_slots(root)
    return any("\n" in slot for slot in slots[1:-1]) or any("\n" in slot.strip() for slot in (slots[0], slots[-1]))


def _top_level_slots(root: _Element) -> list[str]:
    return [root.text or ""] + [child.tail or "" for child in root]


def _wrap_plain_paragraphs(root: _Element) -> None:
    """Rebuild the top level as <p> elements, one per blank-line separated run (inline markup kept). Text
    without blank lines has a <br> at each line break instead, for join_wrapped_lines to tell wrapped
    lines from paragraphs."""
    by_lines = not any(_BLANK_LINE.search(slot) for slot in _top_level_slots(root))
    items: list[str | _Element] = [root.text or ""]
    for child in list(root):
        tail, child.tail = child.tail, None
        items.extend((child, tail or ""))
    root.text = None
    for child in list(root):
        root.remove(child)
    paragraph = etree.Element("p")
    for item in items:
        if not isinstance(item, str):
            paragraph.append(item)
            continue
        if by_lines:
            _append_lines(paragraph, item)
            continue
        for number, part in enumerate(_BLANK_LINE.split(item)):
            if number:
                _append_if_not_empty(root, paragraph)
                paragraph = etree.Element("p")
            _append_text(paragraph, unwrapped(part))
    _append_if_not_empty(root, paragraph)


def _append_lines(paragraph: _Element, text: str) -> None:
    """``text`` with a <br> at each line break that parts paragraphs; a line that was wrapped joins the
    next with a space (plain text has no markup to tell them apart: all its lines are read as copy)."""
    first, *rest = lines = text.split("\n")
    column = wrap_column(lines)
    _append_text(paragraph, first.rstrip() if rest else first)
    previous = first
    for number, line in enumerate(rest, 1):
        words = line.strip() if number < len(rest) else line.lstrip()
        if inside_sentence(previous, words, column) or (is_long_open_line(previous, column) and words):
            _append_text(paragraph, joint(previous, words))
        elif len(paragraph) or (paragraph.text or "").strip():
            paragraph.append(etree.Element("br"))
        _append_text(paragraph, words)
        previous = words


def _append_text(element: _Element, text: str) -> None:
    if len(element):
        element[-1].tail = (element[-1].tail or "") + text
    else:
        element.text = (element.text or "") + text


def _append_if_not_empty(root: _Element, paragraph: _Element) -> None:
    if len(paragraph) or (paragraph.text and not paragraph.text.isspace()):
        root.append(paragraph)
