"""Reading parsed wire XML by local element name, and turning body markup into plain HTML.

Wire formats mix namespaces freely (NewsML-G2 with inline XHTML or NITF, prefixed or not), so lookups
go by local name; namespaces carry no meaning we act on.
"""

from __future__ import annotations

import copy
import html
from collections.abc import Iterator

from lxml import etree  # type: ignore[import-untyped, unused-ignore]

from services.poller.formats.base import bounded_original

# NITF body elements with a plain HTML equivalent; the normalizer's sanitizer drops what is left over.
_HTML_NAMES = {"hl1": "h1", "hl2": "h2", "bq": "blockquote", "block": "div", "body.content": "div"}


def local_name(node: etree._Element) -> str:
    tag = node.tag
    if not isinstance(tag, str):
        return ""  # entity references (and comments or PIs, had they not been removed) have no name
    return tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1]


def namespace(node: etree._Element) -> str:
    tag = node.tag
    return tag[1:].split("}", 1)[0] if isinstance(tag, str) and tag.startswith("{") else ""


def children(node: etree._Element | None, name: str) -> Iterator[etree._Element]:
    if node is None:
        return
    for child in node:
        if local_name(child) == name:
            yield child


def child(node: etree._Element | None, *path: str) -> etree._Element | None:
    """The first element down a path of local names, or None."""
    for name in path:
        node = next(children(node, name), None)
    return node


def descendants(node: etree._Element | None, name: str) -> Iterator[etree._Element]:
    if node is None:
        return
    for element in node.iter():
        if local_name(element) == name:
            yield element


def descendant(node: etree._Element | None, name: str) -> etree._Element | None:
    return next(descendants(node, name), None)


def attr(node: etree._Element | None, name: str) -> str | None:
    if node is None:
        return None
    value = node.get(name)
    return value.strip() or None if isinstance(value, str) else None


def text(node: etree._Element | None) -> str | None:
    """All text inside the element, whitespace collapsed; undeclared entity references decoded."""
    if node is None:
        return None
    collapsed = " ".join("".join(_text_parts(node)).split())
    return collapsed or None


def _text_parts(node: etree._Element) -> Iterator[str]:
    if isinstance(node.text, str):
        yield node.text if isinstance(node.tag, str) else html.unescape(node.text)
    if isinstance(node.tag, str):
        for inner in node:
            yield from _text_parts(inner)
            if isinstance(inner.tail, str):
                yield inner.tail


def inner_html(node: etree._Element | None) -> str | None:
    """The element's content as an HTML fragment, without namespaces; None when it holds nothing."""
    if node is None:
        return None
    plain = _without_namespaces(node)
    parts = [html.escape(plain.text, quote=False)] if isinstance(plain.text, str) else []
    parts += [etree.tostring(inner, method="html", encoding="unicode", with_tail=True) for inner in plain]
    fragment = "".join(parts).strip()
    return fragment or None


def _without_namespaces(node: etree._Element) -> etree._Element:
    plain = copy.deepcopy(node)
    for element in plain.iter():
        if not isinstance(element.tag, str):
            continue
        name = local_name(element)
        element.tag = _HTML_NAMES.get(name, name)
        for key in [key for key in element.attrib if isinstance(key, str) and key.startswith("{")]:
            del element.attrib[key]
    etree.cleanup_namespaces(plain)
    return plain


def fragment(node: etree._Element) -> str:
    """The element serialized as XML, for RawItem.original."""
    return bounded_original(etree.tostring(node, encoding="unicode", with_tail=False))


def item_fragments(root: etree._Element | None) -> list[str | None]:
    """The serialized <item>/<entry> elements of an RSS, RDF or Atom document, in document order."""
    if root is None:
        return []
    return [fragment(e) for e in root.iter() if local_name(e) in ("item", "entry")]
