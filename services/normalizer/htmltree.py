"""A body's HTML as an lxml tree, however deeply broken markup nests it.

libxml2's HTML parser stops at 256 levels and keeps only what came before: three hundred paragraphs
that each open a <font> or a <div> and never close it (old CMS output does this) lose their last fifty.
Such a document (libxml2 says so in its error log; no other pays for this) is read again with libxml2's
deeper limit, 2,048 levels, and flattened below MAX_DEPTH, since the walker in body.py recurses twice a
level. One nested deeper still (ten thousand unclosed <font>s) is read by Python's HTML tokenizer, which
keeps no tree: its text in its blocks, without inline markup, so that none of the story is lost.
"""

from __future__ import annotations

import threading
from html import escape
from html.parser import HTMLParser

from lxml import etree
from lxml.etree import _Element

from services.normalizer.body import BLOCK_TAGS, CELL_SEPARATOR, CELL_TAGS

# Levels below the document root that a deeply nested body keeps.
MAX_DEPTH = 200
# libxml2's message when a document nests deeper than it reads without XML_PARSE_HUGE.
_TOO_DEEP = "Excessive depth"
_THREAD = threading.local()


def parse_document(html: str, dropped: frozenset[str]) -> _Element | None:
    """The document's tree (None for a document libxml2 finds empty), flattened when it nests too deep.
    ``dropped``: elements whose content is no text (scripts, styles), for a document read without a tree."""
    parser = _parser()
    document = etree.fromstring(html, parser)
    if document is None or not _too_deep(parser):
        return document
    parser = _parser(huge=True)
    document = etree.fromstring(html, parser)
    if _too_deep(parser):
        return etree.fromstring(_text_in_blocks(html, dropped), _parser())
    if document is not None:
        for holder in _at_depth(document, MAX_DEPTH):
            _flatten(holder)
    return document


def _too_deep(parser: etree.HTMLParser) -> bool:
    return any(_TOO_DEEP in error.message for error in parser.error_log)


def _text_in_blocks(html: str, dropped: frozenset[str]) -> str:
    """A document of one paragraph per block of ``html``'s text, nothing nested."""
    reader = _BlockText(dropped)
    reader.feed(html)
    reader.close()
    paragraphs = "".join(f"<p>{escape(text)}</p>" for block in reader.blocks if (text := "".join(block).strip()))
    return f"<html><body>{paragraphs}</body></html>"


class _BlockText(HTMLParser):
    """Text, broken where blocks start and end; what ``dropped`` elements hold is left out."""

    def __init__(self, dropped: frozenset[str]) -> None:
        super().__init__(convert_charrefs=True)
        self.dropped = dropped - _VOID  # an element without an end tag holds nothing
        self.blocks: list[list[str]] = [[]]
        self._inside_dropped = 0
        self._block_has_text = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.dropped:
            self._inside_dropped += 1
        elif tag in BLOCK_TAGS:
            self._break()
        elif tag in CELL_TAGS and self._block_has_text:
            self.blocks[-1].append(CELL_SEPARATOR)  # a row reads as one paragraph, as body.py has it

    def handle_endtag(self, tag: str) -> None:
        if tag in self.dropped:
            self._inside_dropped = max(0, self._inside_dropped - 1)
        elif tag in BLOCK_TAGS:
            self._break()

    def handle_data(self, data: str) -> None:
        if not self._inside_dropped:
            self.blocks[-1].append(data)
            self._block_has_text = self._block_has_text or not data.isspace()

    def _break(self) -> None:
        if self.blocks[-1]:
            self.blocks.append([])
            self._block_has_text = False


_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
                   "track", "wbr"})


def _at_depth(root: _Element, depth: int) -> list[_Element]:
    found, level = [], 0
    for event, element in etree.iterwalk(root, events=("start", "end")):
        if event == "end":
            level -= 1
            continue
        level += 1
        if level == depth and len(element):
            found.append(element)
    return found


def _flatten(holder: _Element) -> None:
    """Make ``holder``'s subtree two levels deep at most, its text in the same order and its blocks still
    blocks: inline elements that hold others are unwrapped (their text stays in place), then every block
    becomes a child of ``holder`` holding its own text and inline elements, in document order; what
    followed a block's end follows it at the holder's level."""
    inline = {element.tag for element in holder.iterdescendants() if len(element) and element.tag not in BLOCK_TAGS}
    if inline:
        etree.strip_tags(holder, *inline)
    # In document order: a block's start, an inline element, text; None where a block ends.
    pieces: list[_Element | str | None] = []
    for event, element in etree.iterwalk(holder, events=("start", "end")):
        if element is holder:
            continue
        block = element.tag in BLOCK_TAGS
        if event == "start":
            pieces.append(element)
            if block and element.text:
                pieces.append(element.text)
        else:
            if block:
                pieces.append(None)
            if element.tail:
                pieces.append(element.tail)
    for piece in reversed(pieces):  # innermost first: moving an element walks all it still holds
        if isinstance(piece, _Element):
            piece.getparent().remove(piece)
    _rebuild(holder, pieces)


def _rebuild(holder: _Element, pieces: list[_Element | str | None]) -> None:
    # Texts are gathered and joined once, and the holder's last child tracked: len() and [-1] of an
    # lxml element walk its children, and a slot extended piece by piece copies it each time.
    texts: dict[tuple[_Element, str], list[str]] = {(holder, "text"): [holder.text] if holder.text else []}
    parent, last, last_in_holder, after_end = holder, None, None, False
    for piece in pieces:
        if piece is None:
            parent, last, after_end = holder, last_in_holder, True
        elif isinstance(piece, str):
            found = texts.setdefault((last, "tail") if last is not None else (parent, "text"), [])
            found.append(f" {piece}" if found and after_end else piece)
            after_end = False
        else:
            piece.tail = None
            if piece.tag in BLOCK_TAGS:
                piece.text = None
                holder.append(piece)  # moved out of its parent
                parent, last, last_in_holder = piece, None, piece
            else:
                parent.append(piece)
                last = piece
                if parent is holder:
                    last_in_holder = piece
    for (owner, slot), parts in texts.items():
        setattr(owner, slot, "".join(parts) or None)


def _parser(*, huge: bool = False) -> etree.HTMLParser:
    # lxml parsers must not be shared between threads; one per thread, reused across items.
    name = "huge_parser" if huge else "parser"
    parser: etree.HTMLParser | None = getattr(_THREAD, name, None)
    if parser is None:
        parser = etree.HTMLParser(remove_comments=True, remove_pis=True, no_network=True, huge_tree=huge)
        setattr(_THREAD, name, parser)
    return parser
