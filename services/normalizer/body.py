"""One parsed body: paragraphs of clean text, and the tree they came from.

The text-level steps (wire metadata, boilerplate rules) read :attr:`Body.paragraphs` and mark what goes
(:meth:`Body.drop`, :meth:`Body.trim_end`); :meth:`Body.text` and :meth:`Body.html` apply the same marks,
so the text and the HTML never disagree about which paragraphs survived. ``clean`` builds bodies.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

import nh3
from lxml import etree
from lxml.etree import _Element

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "div", "dl", "dt", "em",
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
URL_SCHEMES = {"http", "https", "mailto"}
BLOCK_TAGS = frozenset({
    "p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "tr", "table",
    "section", "article", "figure", "figcaption", "ul", "ol", "dl", "dt", "dd", "hr", "header", "footer",
    "main", "caption", "address",
})
# A table row is one paragraph, its cells set apart: "McNeil NYM | 72 | 271 | .351" reads as a row, where a
# paragraph per cell scattered an agate table over hundreds of lines.
CELL_TAGS = frozenset({"td", "th"})
CELL_SEPARATOR = " | "
# Blocks that mean nothing without content: a publisher's empty <p></p> is dropped from the HTML.
_DROPPED_WHEN_EMPTY = frozenset({"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "li", "figcaption"})
_CONTENT_WITHOUT_TEXT = ("img", "hr", "table")
# A picture's caption and credit describe the picture, not the story: a figure's caption, all the text
# of a figure that shows media (TT's photographer's credit beside the caption), and NITF's <media> (its
# media-caption and media-producer). They stay in the HTML with
# the picture, but are no part of the text (a table's or a quote's figure keeps its text). A figure with
# more text than a caption holds is the publisher's broken markup (an unclosed <figcaption> swallowing the
# story), and stays text.
_MEDIA_TAGS = ("img", "picture", "video", "audio")
_CAPTION_TAGS = frozenset({"figure", "figcaption", "media"})  # NITF's <media>: a reference, caption, credit
MAX_CAPTION_CHARS = 400
_CODE_TAGS = frozenset({"pre", "code", "kbd", "samp", "tt", "xmp", "listing", "plaintext"})
_CODE_CLASSES = ("code", "highlight", "syntax", "snip", "listing", "source")
# Whole lines only code reads like, for code set with <br> outside <pre> (a shell or Python snippet in a
# blog's feed, whose lines the next one's lower case would join as wrapped prose). Statements, not words:
# a wrapped line of prose opening "import duties rose" or "return to growth" is none, and a block needs
# two of them.
_CODE_LINE = re.compile(
    r"import [\w.]+(?: as \w+)?(?:, ?[\w.]+(?: as \w+)?)*"  # import os, sys
    r"|from [\w.]+ import (?:\*|\(?\w+(?: as \w+)?(?:, ?\w+(?: as \w+)?)*\)?)"  # from os import path
    r"|(?:async )?def \w+\(.*\)(?: -> .+)?:|class \w+(?:\(.*\))?:"  # def main():, class Job(Base):
    r"|return(?: [\w.()\[\]'\"+*/-]*[\w)\]'\"])?"  # return 0
    r"|[\w.]+(?:\[[^\]]*\])*\(.*\);?"  # a call: print(x), main(), console.log(x);
    r"|(?:const |let |var )?[A-Za-z_][\w.]*(?:\[[^\]]*\])* ?(?:[-+*/]?=|:=) ?\S.*"  # an assignment
    r"|\$ \S.*"  # a shell's prompt
    r"|(?:sudo|apt-get|pip3?|npm|npx|git|docker|kubectl|systemctl|wget|chmod|chown|mkdir|cd|ls|rm|cp|mv)"
    r" [-\w./~$\"'@:=]+.*"  # a command
    # C, JavaScript, CSS: a statement with an assignment, a call or an index (a list's entry ends in ";"
    # too), a block's opening or closing
    r"|.*(?:=|\w\(|\w\[).*;|.*\{|[}\])]+;?"
    r"|#include ?[<\"].*|#!/.*",
)
MAX_CODE_LINE_CHARS = 200  # a longer line is prose, and not worth the pattern's time
#: Blocks of lines parted by <br> already read (an element is kept alive, and so the same, while a key),
#: and whether they read as code.
CodeLines = dict[_Element, bool]
_DISPLAY_BLOCK = re.compile(r"display\s*:\s*block", re.IGNORECASE)
_INVISIBLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff"  # soft hyphens and zero-width characters
_DELETE_INVISIBLE = str.maketrans("", "", _INVISIBLE)


class Body:
    """One parsed body: its paragraphs as clean text, and the tree they came from."""

    def __init__(self, root: _Element | None) -> None:
        self._root = root
        self._dropped: set[int] = set()
        #: paragraphs of a picture's caption or credit: read by the rules, left out of the text
        self.captions: set[int] = set()
        self._trims: dict[int, list[re.Pattern[str]]] = {}
        self.paragraphs: list[str] = []
        #: characters of each paragraph that sit inside links; related-link lists are mostly links
        self.link_chars: list[int] = []
        self._chunk_of: list[int] = []  # paragraph -> chunk of the walk
        self._para_of: list[int | None] = []  # chunk -> paragraph (None: whitespace only)
        self._pieces: list[list[tuple[_Element, bool]]] = []  # chunk -> (element, is_tail) text slots
        self._spans: list[tuple[_Element, int, int]] = []  # element -> first and last chunk of its text
        self._empty_blocks: list[_Element] = []
        if root is not None:
            self._index(_Walker(root))

    def _index(self, walker: _Walker) -> None:
        self._pieces = walker.pieces
        self._spans = walker.spans
        self._empty_blocks = walker.empty_blocks
        texts = ["".join(parts) for parts in walker.chunks]
        invisible = _has_invisible("".join(texts))  # one scan for the whole body, not one per paragraph
        for chunk, (raw, links) in enumerate(zip(texts, walker.link_chars, strict=True)):
            text = " ".join((raw.translate(_DELETE_INVISIBLE) if invisible else raw).split())
            if text:
                if chunk in walker.caption_chunks:
                    self.captions.add(len(self.paragraphs))
                self._para_of.append(len(self.paragraphs))
                self._chunk_of.append(chunk)
                self.paragraphs.append(text)
                self.link_chars.append(links)
            else:
                self._para_of.append(None)

    def link_density(self, index: int) -> float:
        return self.link_chars[index] / max(len(self.paragraphs[index]), 1)

    def drop(self, indexes: Iterable[int]) -> None:
        self._dropped.update(i for i in indexes if 0 <= i < len(self.paragraphs))

    def trim_end(self, index: int, pattern: re.Pattern[str], text: str) -> None:
        """Replace paragraph ``index`` by ``text``; in the HTML, cut ``pattern`` off its last text slot."""
        self.paragraphs[index] = text
        self._trims.setdefault(index, []).append(pattern)

    def first_kept(self) -> int | None:
        return next(iter(self._kept_indexes()), None)

    def kept(self) -> list[str]:
        """The text's paragraphs; a caption counts only when the item has no other text (a photo's entry)."""
        return [self.paragraphs[i] for i in self._kept_indexes()]

    def _kept_indexes(self) -> list[int]:
        kept = [i for i in range(len(self.paragraphs)) if i not in self._dropped]
        if not self.captions:
            return kept
        return [i for i in kept if i not in self.captions] or kept

    def text(self) -> str:
        return "\n\n".join(self.kept())

    def html(self) -> str:
        """The sanitised HTML of what was kept. Applies the drops to the tree, so call it once."""
        if self._root is None:
            return ""
        self._apply()
        for element in self._empty_blocks:
            if next(element.iter(*_CONTENT_WITHOUT_TEXT), None) is None:
                drop_tree(element)
        if not self.kept() and next(self._root.iter("img"), None) is None:
            return ""  # nothing to read and nothing to see: no HTML rather than a skeleton of empty tags
        # The parent the parser created is ours, not the publisher's: serialise only what is inside it.
        inner = html.escape(self._root.text or "", quote=False) + _children_html(self._root)
        # nh3 (an HTML5 parser) turns a stray "</p>" that lxml's repair of odd nesting left into "<p></p>".
        return sanitize_fragment(inner).replace("<p></p>", "")

    def _apply(self) -> None:
        if not self._dropped and not self._trims:
            return
        for index in self._dropped:
            for element, is_tail in self._pieces[self._chunk_of[index]]:
                _set_slot(element, is_tail, None)
        for index, patterns in self._trims.items():
            for pattern in patterns:
                _trim_last_slot(self._pieces[self._chunk_of[index]], pattern)
        dropped_chunks = {self._chunk_of[index] for index in self._dropped}
        for element, first, last in self._spans:
            if first in dropped_chunks and self._all_dropped(first, last, dropped_chunks):
                drop_tree(element)  # keeps the element's tail, which belongs to the next paragraph

    def _all_dropped(self, first: int, last: int, dropped_chunks: set[int]) -> bool:
        return all(c in dropped_chunks or self._para_of[c] is None for c in range(first, last + 1))


class _Walker:
    """Splits a tree into chunks of inline text at block boundaries, remembering where each came from."""

    def __init__(self, root: _Element) -> None:
        self.chunks: list[list[str]] = [[]]
        self.link_chars: list[int] = [0]
        self.pieces: list[list[tuple[_Element, bool]]] = [[]]
        self.spans: list[tuple[_Element, int, int]] = []
        self.empty_blocks: list[_Element] = []  # blocks without a character of text
        self._piece_chunks: list[int] = []  # chunk of every non-blank text slot, in document order
        self._chunk_has_text = False  # kept as we go: scanning the chunk at every cell is quadratic
        self._cell_follows = False  # a cell began after text in this chunk: separate the two
        self.caption_chunks: set[int] = set()  # chunks of a picture's caption or credit
        self._in_caption = False
        self._visit_children(root, in_link=False)

    def _break(self) -> None:
        self._chunk_has_text = self._cell_follows = False
        if self.chunks[-1]:
            self.chunks.append([])
            self.link_chars.append(0)
            self.pieces.append([])

    def _add(self, text: str, element: _Element, is_tail: bool, in_link: bool) -> None:
        if self._cell_follows and not text.isspace():
            self.chunks[-1].append(CELL_SEPARATOR)  # not a slot of the tree: never cleared
            self._cell_follows = False
        self.chunks[-1].append(text)
        if text.isspace():
            return  # kept for spacing, but never cleared nor counted in a span
        self._chunk_has_text = True
        self.pieces[-1].append((element, is_tail))
        self._piece_chunks.append(len(self.chunks) - 1)
        if in_link:
            self.link_chars[-1] += len(text.strip())
        if self._in_caption:
            self.caption_chunks.add(len(self.chunks) - 1)

    def _visit(self, element: _Element, in_link: bool) -> None:
        tag = element.tag
        if not isinstance(tag, str):
            return  # comments and processing instructions: no visible text (their tails are the parent's)
        block = tag in BLOCK_TAGS or (tag == "span" and _shown_as_block(element))
        in_link = in_link or tag == "a"
        start = len(self._piece_chunks)
        if block:
            self._break()
        elif tag in CELL_TAGS:
            self._cell_follows = self._chunk_has_text
        if tag in _CAPTION_TAGS and not self._in_caption and _is_caption(element):
            self._in_caption = True
            self._visit_children(element, in_link)
            self._in_caption = False
        else:
            self._visit_children(element, in_link)
        if block:
            self._break()
        if len(self._piece_chunks) > start:
            self.spans.append((element, self._piece_chunks[start], self._piece_chunks[-1]))
        elif tag in _DROPPED_WHEN_EMPTY:
            self.empty_blocks.append(element)

    def _visit_children(self, element: _Element, in_link: bool) -> None:
        if element.text:
            self._add(element.text, element, False, in_link)
        for child in element:
            self._visit(child, in_link)
            if child.tail:
                self._add(child.tail, child, True, in_link)


def _shown_as_block(span: _Element) -> bool:
    """A span the page's own style sets apart: a pull quote's attribution, <span style="display:block">."""
    style = span.get("style")
    return style is not None and "block" in style and _DISPLAY_BLOCK.search(style) is not None


def in_code(element: _Element | None, read: CodeLines | None = None) -> bool:
    """Whether ``element`` is (inside) a code sample: a code tag, a container syntax highlighters and
    snippet plugins make of <div>s (a code class, a monospace style), or a block of lines parted by <br>
    that read as code. Its text keeps its lines and its escaped markup.

    ``read`` remembers the blocks of lines read so far, for a caller asking about many elements of one
    tree: each block is then read once, not once for every element inside it.
    """
    while element is not None:
        if element.tag in _CODE_TAGS or "monospace" in (element.get("style") or "") \
                or any(name in (element.get("class") or "").lower() for name in _CODE_CLASSES) \
                or _sets_code_lines(element, read):
            return True
        element = element.getparent()
    return False


def _sets_code_lines(element: _Element, read: CodeLines | None) -> bool:
    if element.find("br") is None:
        return False
    if read is None:
        return _lines_read_as_code(element)
    if element not in read:
        read[element] = _lines_read_as_code(element)
    return read[element]


def _lines_read_as_code(element: _Element) -> bool:
    """Whether <br>s part ``element`` into lines of code: two or more statements, and no fewer than the
    other lines with text (comments, output, a prompt's answer)."""
    lines = [text for line in lines_of(element)[0] if (text := line.strip())]
    statements = sum(1 for line in lines if len(line) <= MAX_CODE_LINE_CHARS and _CODE_LINE.fullmatch(line))
    return statements >= 2 and 2 * statements >= len(lines)


def lines_of(parent: _Element) -> tuple[list[str], list[_Element | None]]:
    """The text of each line of ``parent`` and the element after each: its <br>, or None for a block,
    which ends a line too."""
    lines, breaks, current = [], [], [parent.text or ""]
    for child in parent:
        if child.tag == "br" or (isinstance(child.tag, str) and child.tag in BLOCK_TAGS):
            lines.append("".join(current))
            breaks.append(child if child.tag == "br" else None)
            current = [] if child.tag == "br" else [""]
        elif isinstance(child.tag, str):
            current.extend(child.itertext())
        current.append(child.tail or "")
    lines.append("".join(current))
    return lines, breaks


def _children_html(root: _Element) -> str:
    """The HTML of ``root``'s children and their tails, as serialising each one gives it. One call for the
    whole root costs half as much as one per paragraph: its own tags are cut off, and its text (which the
    caller escapes itself) is left out meanwhile. A root with attributes is serialised child by child."""
    if not root.attrib:
        text, root.text = root.text, None
        try:
            serialised: str = etree.tostring(root, encoding="unicode", method="html", with_tail=False)
        finally:
            root.text = text
        start, end = f"<{root.tag}>", f"</{root.tag}>"
        if serialised.startswith(start) and serialised.endswith(end):
            return serialised[len(start):-len(end)]
    return "".join(etree.tostring(child, encoding="unicode", method="html") for child in root)


def _is_caption(element: _Element) -> bool:
    """A <figcaption>, a <figure> showing media, or NITF's <media>, with no more text than a caption holds."""
    if element.tag == "figure" and next(element.iter(*_MEDIA_TAGS), None) is None:
        return False
    length = 0
    for text in element.itertext():
        length += len(text)
        if length > MAX_CAPTION_CHARS:
            return False
    return True


def sanitize_fragment(html: str) -> str:
    """The allowlist pass: scripts, styles, handlers, javascript:/data: URLs and CSS cannot pass."""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    ).strip()


def fold_text(text: str) -> str:
    """Whitespace runs of any kind as single spaces, ends stripped, zero-width characters gone."""
    # str.split folds every kind of Unicode whitespace in C: far cheaper than a regex per paragraph.
    if _has_invisible(text):
        text = text.translate(_DELETE_INVISIBLE)
    return " ".join(text.split())


def _has_invisible(text: str) -> bool:
    return not text.isascii() and any(char in text for char in _INVISIBLE)


def drop_tree(element: _Element) -> None:
    """Remove ``element`` and its content, keeping its tail text in place."""
    parent = element.getparent()
    if parent is None:
        return
    if element.tail and element.tag in BLOCK_TAGS and element.tail.isspace():
        element.tail = None  # whitespace around a block is layout, and would pile up where blocks were
    if _breaks(element) and _inline_after(element) and _inline_before(element):
        # The block separated two runs of text; without it they would read as one: keep a break.
        marker = etree.Element("br")
        marker.tail, element.tail = element.tail, None
        element.addprevious(marker)
    if element.tail:
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + element.tail
        else:
            parent.text = (parent.text or "") + element.tail
    parent.remove(element)


def _inline_before(element: _Element) -> bool:
    previous = element.getprevious()
    if previous is None:
        parent = element.getparent()
        if parent is None:
            return False
        if parent.text and not str(parent.text).isspace():
            return True
        return parent.tag not in BLOCK_TAGS and _inline_before(parent)  # first thing in an inline element
    if previous.tag not in BLOCK_TAGS:
        return True
    return bool(previous.tail) and not str(previous.tail).isspace()


def _breaks(element: _Element) -> bool:
    """A block, or an inline element wrapped around one (feeds nest <p> in <a>)."""
    return element.tag in BLOCK_TAGS or any(d.tag in BLOCK_TAGS for d in element.iterdescendants())


def _inline_after(element: _Element) -> bool:
    if element.tail and not element.tail.isspace():
        return True
    following = element.getnext()
    if following is not None:
        return following.tag not in BLOCK_TAGS
    parent = element.getparent()
    return parent is not None and parent.tag not in BLOCK_TAGS and _inline_after(parent)


def _set_slot(element: _Element, is_tail: bool, value: str | None) -> None:
    if is_tail:
        element.tail = value
    else:
        element.text = value


def _trim_last_slot(pieces: list[tuple[_Element, bool]], pattern: re.Pattern[str]) -> None:
    """Cut ``pattern`` (end-anchored, as often as it matches) off the end of the paragraph's text slots.

    The pattern is matched on the slots joined, as the text was, so a tail may span several of them
    ("Read more<a>(Adds quote)</a>"): slots after the cut are emptied (an emptied link is dropped), the
    slot it falls in is shortened.
    """
    slots = [(element, is_tail, text) for element, is_tail in pieces
             if (text := element.tail if is_tail else element.text) and not text.isspace()]
    joined = "".join(text for _, _, text in slots)
    cut = len(joined)
    while (match := pattern.search(joined, 0, cut)) is not None and match.start() < cut:
        cut = match.start()
    end = len(joined)
    for element, is_tail, text in reversed(slots):
        start = end - len(text)
        if start < cut:
            if cut < end:
                _set_slot(element, is_tail, text[:cut - start])
            return
        _set_slot(element, is_tail, "")
        if not is_tail and len(element) == 0:
            drop_tree(element)  # the emptied "Read more" link itself
        end = start
