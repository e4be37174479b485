"""HTML to safe HTML and clean text, with lxml and nh3 (no regex parsing of HTML)."""

from __future__ import annotations

import re

import lxml.html
import nh3
from lxml import etree

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "dl", "dt", "em",
    "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "li", "ol", "p",
    "pre", "q", "s", "small", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr",
    "u", "ul",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}
BLOCK_TAGS = {
    "p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "tr", "table",
    "section", "article", "figure", "figcaption", "ul", "ol", "dl", "dt", "dd", "hr", "header", "footer",
}
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b\u202f\u205f\u3000]+")


def sanitize_html(html: str, base_url: str | None = None) -> str:
    """An allowlist of tags and attributes; scripts, styles, handlers and javascript: URLs cannot pass."""
    if not html.strip():
        return ""
    if base_url:
        html = _absolutize(html, base_url)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    ).strip()


def html_to_paragraphs(html: str) -> list[str]:
    """The visible text as paragraphs: entities decoded, whitespace folded, scripts and styles dropped."""
    if not html.strip():
        return []
    root = _fragment(html)
    if root is None:
        return []
    etree.strip_elements(root, "script", "style", "noscript", "template", with_tail=False)
    chunks: list[str] = []
    current: list[str] = []
    for text, is_break in _walk(root):
        if is_break:
            chunks.append("".join(current))
            current = []
        else:
            current.append(text)
    chunks.append("".join(current))
    return [p for p in (_SPACES.sub(" ", chunk).strip() for chunk in chunks) if p]


def html_to_text(html: str) -> str:
    return "\n\n".join(html_to_paragraphs(html))


def _walk(element: etree._Element) -> list[tuple[str, bool]]:
    out: list[tuple[str, bool]] = []
    tag = element.tag if isinstance(element.tag, str) else ""
    block = tag.lower() in BLOCK_TAGS
    if block:
        out.append(("", True))
    if element.text and isinstance(element.tag, str):
        out.append((element.text.replace("\n", " "), False))
    for child in element:
        out.extend(_walk(child))
        if child.tail:
            out.append((child.tail.replace("\n", " "), False))
    if block:
        out.append(("", True))
    return out


def _fragment(html: str) -> etree._Element | None:
    try:
        return lxml.html.fragment_fromstring(html, create_parent="div")
    except (etree.ParserError, ValueError):
        return None


def _absolutize(html: str, base_url: str) -> str:
    root = _fragment(html)
    if root is None:
        return html
    root.make_links_absolute(base_url, resolve_base_href=True, handle_failures="discard")
    inner = (root.text or "") + "".join(etree.tostring(child, encoding="unicode") for child in root)
    return inner
