"""Copy set at a fixed width, its lines parted by <br>: the lines joined again into paragraphs.

Wire copy reaches feeds hard-wrapped (AAP's NITF: "…the sale of stakes in <br />four petrochemical…"),
and so do quotes pasted from e-mail. Read as HTML, every <br> would end a paragraph and cut sentences
in half. But a <br> also parts an address's lines, a list's entries, verse, or (in careless markup)
paragraphs. A break is inside a sentence when its line ends none and the next goes on in lower case (or
a long line ends in a comma or a dash): it becomes a space. When half the breaks of a body or more are
inside sentences, the body is wrapped copy, and a break after any long line that ends no sentence becomes
a space too ("…the French energy giant Total, called Samsung <br />Total, will also be sold…"). Breaks
after a sentence's end, after short lines and blank lines stay.
"""

from __future__ import annotations

from lxml.etree import _Element

from services.normalizer.body import BLOCK_TAGS, in_code

#: Lines of wrapped copy run 55 to 80 characters; verse, addresses and list entries are mostly shorter.
MIN_WRAPPED_LINE_CHARS = 40
# A closing bracket ends a line of credits ("(Reporting by …; Editing by …)") or a desk note.
_SENTENCE_END = frozenset(".!?:;…\"”’»)]")
_GOES_ON = frozenset(",-–")  # a line ending here is continued by the next whatever it starts with


def join_wrapped_lines(root: _Element) -> None:
    blocks = [_lines(parent) for parent in {br.getparent() for br in root.iter("br")}
              if parent is not None and not in_code(parent)]
    joins = [(br, inside_sentence(lines[i], lines[i + 1]), is_long_open_line(lines[i]) and lines[i + 1].strip() != "")
             for lines, breaks in blocks for i, br in enumerate(breaks) if br is not None]
    wrapped = 2 * sum(inside for _, inside, _ in joins) >= len(joins)
    for br, inside, after_long_line in joins:
        if inside or (wrapped and after_long_line):
            _replace_by_space(br)


def _lines(parent: _Element) -> tuple[list[str], list[_Element | None]]:
    """The text of each line of ``parent`` and the element after each: its <br>, or None for a block,
    which ends a line too but is never joined across."""
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


def inside_sentence(line: str, following: str) -> bool:
    """Whether a line break between ``line`` and ``following`` falls inside a sentence."""
    line, following = line.rstrip(), following.lstrip()
    if not line or not following or line[-1] in _SENTENCE_END:
        return False
    return following[0].islower() or (len(line) >= MIN_WRAPPED_LINE_CHARS and line[-1] in _GOES_ON)


def is_long_open_line(line: str) -> bool:
    """A line as long as wrapped copy's that ends no sentence."""
    line = line.rstrip()
    return len(line) >= MIN_WRAPPED_LINE_CHARS and line[-1] not in _SENTENCE_END


def _replace_by_space(br: _Element) -> None:
    parent, previous = br.getparent(), br.getprevious()
    joined = " " + (br.tail or "")
    if previous is not None:
        previous.tail = (previous.tail or "") + joined
    elif parent is not None:
        parent.text = (parent.text or "") + joined
    if parent is not None:
        parent.remove(br)
