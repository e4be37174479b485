"""Copy set at a fixed width, its lines parted by <br>: the lines joined again into paragraphs.

Wire copy reaches feeds hard-wrapped (AAP's NITF: "…the sale of stakes in <br />four petrochemical…"),
and so do quotes pasted from e-mail. Read as HTML, every <br> would end a paragraph and cut sentences
in half. But a <br> also parts an address's lines, a list's entries, verse, or (in careless markup)
paragraphs. A break is inside a sentence when its line ends none and the next goes on in lower case (or
a long line ends in a comma or a dash): it becomes a space. When half the breaks of a body or more are
inside sentences, the body is wrapped copy, and a break after any long line that ends no sentence becomes
a space too ("…the French energy giant Total, called Samsung <br />Total, will also be sold…"). Breaks
after a sentence's end, after short lines and blank lines stay.

Chinese and Japanese have no lower case, and their lines hold twice the text per column. There a break
is inside a sentence when a long line ends none, runs on into more of that script, and is as wide as the
lines around it: copy set at a fixed width fills its lines, a list of headlines is ragged. The line joins
the next without a space, as the script is written (Korean, which spaces its words, keeps one).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence

from lxml.etree import _Element

from services.normalizer.body import CodeLines, in_code, lines_of

#: Lines of wrapped copy run 55 to 80 columns; verse, addresses and list entries are mostly shorter. A
#: Chinese or Japanese character takes two columns, as on a terminal: such copy is wrapped at 28 to 40.
MIN_WRAPPED_LINE_COLUMNS = 40
# A closing bracket ends a line of credits ("(Reporting by …; Editing by …)") or a desk note; so do the
# full-width stops, colons and closing brackets and quotes of Chinese and Japanese.
_SENTENCE_END = frozenset(".!?:;…\"”’»)]" "。．｡！？：；」』）］】〕〉》｣")
_GOES_ON = frozenset(",-–，、")  # a line ending here is continued by the next whatever it starts with
# Lines set at a fixed width come within this many columns of the widest: a wide character that did not
# fit, punctuation kept off a line's start. (Legacy Chinese and Japanese encodings take two bytes for a
# wide character, so copy wrapped at a number of bytes is wrapped at a number of columns.)
_WIDTH_SLACK = 4
_LINE_BREAK = re.compile(r"[^\S\n]*\n\s*")  # a line break with the spaces around it (and blank lines)


def join_wrapped_lines(root: _Element) -> None:
    # A block's lines, each followed by its <br> or, for a block inside it, None: never joined across.
    read: CodeLines = {}
    blocks = [lines_of(parent) for parent in {br.getparent() for br in root.iter("br")}
              if parent is not None and not in_code(parent, read)]
    joins = [join for lines, breaks in blocks for join in _joins(lines, breaks)]
    wrapped = 2 * sum(inside for _, inside, _, _ in joins) >= len(joins)
    for br, inside, after_long_line, joint in joins:
        if inside or (wrapped and after_long_line):
            _replace(br, joint)


def _joins(lines: list[str], breaks: list[_Element | None]) -> Iterator[tuple[_Element, bool, bool, str]]:
    """Each <br> of a block: whether it is inside a sentence, whether a long open line comes before it
    (and text after), and what it becomes when joined."""
    column = wrap_column(lines)
    for i, br in enumerate(breaks):
        if br is not None:
            line, following = lines[i], lines[i + 1]
            yield (br, inside_sentence(line, following, column),
                   is_long_open_line(line, column) and following.strip() != "", joint(line, following))


def inside_sentence(line: str, following: str, column: int | None = None) -> bool:
    """Whether a line break between ``line`` and ``following`` falls inside a sentence. ``column``, the
    width the block's lines were set at (``wrap_column``), lets Chinese and Japanese lines join."""
    line, following = line.rstrip(), following.lstrip()
    if not line or not following or line[-1] in _SENTENCE_END:
        return False
    if following[0].islower():
        return True
    if not _is_long(line, column):
        return False
    return line[-1] in _GOES_ON or (_is_wide(line[-1]) and _is_wide(following[0]))


def is_long_open_line(line: str, column: int | None = None) -> bool:
    """A line as long as wrapped copy's that ends no sentence."""
    line = line.rstrip()
    return _is_long(line, column) and line[-1] not in _SENTENCE_END


def _is_long(line: str, column: int | None) -> bool:
    """As long as wrapped copy's lines; a line ending in Chinese or Japanese also as wide as its block's
    lines were set at: nothing else tells its break from a list entry's."""
    width = columns(line)
    if width < MIN_WRAPPED_LINE_COLUMNS:
        return False
    return not _is_wide(line[-1]) or (column is not None and width >= column - _WIDTH_SLACK)


def wrap_column(lines: Sequence[str]) -> int | None:
    """The width copy was set at: the widest line that ends no sentence, when most of those come near it;
    None when they are ragged (a list, verse) or there are none."""
    widths = [columns(line) for line in map(str.rstrip, lines) if line and line[-1] not in _SENTENCE_END]
    if not widths:
        return None
    widest = max(widths)
    return widest if 2 * sum(width >= widest - _WIDTH_SLACK for width in widths) > len(widths) else None


def columns(text: str) -> int:
    """The columns ``text`` takes in a fixed-width font: East Asian wide characters take two."""
    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def joint(line: str, following: str) -> str:
    """What a break inside a sentence becomes: nothing between two Chinese or Japanese characters (their
    scripts put no spaces between words), else a space."""
    line, following = line.rstrip(), following.lstrip()
    return "" if line and following and _unspaced(line[-1]) and _unspaced(following[0]) else " "


def unwrapped(text: str) -> str:
    """Plain text's paragraph with the line breaks inside it gone where they fall between two Chinese or
    Japanese characters; the others read as spaces anyway."""
    if text.isascii() or "\n" not in text:
        return text
    return _LINE_BREAK.sub(_unwrapped_break, text)


def _unwrapped_break(match: re.Match[str]) -> str:
    text, start, end = match.string, match.start(), match.end()
    if start > 0 and end < len(text) and _unspaced(text[start - 1]) and _unspaced(text[end]):
        return ""
    return match.group()


def _is_wide(char: str) -> bool:
    """A character of a script written in wide characters (Chinese, Japanese, Korean), or their
    full-width punctuation; not an emoji, which is wide too."""
    return unicodedata.east_asian_width(char) in "WF" and unicodedata.category(char) != "So"


def _unspaced(char: str) -> bool:
    return _is_wide(char) and not unicodedata.name(char, "").startswith("HANGUL")


def _replace(br: _Element, joint: str) -> None:
    parent, previous = br.getparent(), br.getprevious()
    if previous is not None:
        previous.tail = _joined(previous.tail or "", joint, br.tail or "")
    elif parent is not None:
        parent.text = _joined(parent.text or "", joint, br.tail or "")
    if parent is not None:
        parent.remove(br)


def _joined(before: str, joint: str, after: str) -> str:
    """Two lines' text with ``joint`` between; with none, without the spaces around the break either (they
    would read as a space)."""
    return before + joint + after if joint else before.rstrip() + after.lstrip()
