"""A full-text query of the read side: parsed once here, then written out for each engine.

Web-search syntax, read as PostgreSQL's ``websearch_to_tsquery`` reads it:

- words must all occur; ``"quoted words"`` must occur in that order (an unclosed quote runs to the end);
- each ``-`` before a word or phrase negates it once, spaces between or not: ``-word`` and ``- word``
  exclude it, ``--word`` wants it again; alone, an exclusion finds every article without the term;
- ``or`` (any case) after a term, with something after it, splits the query into alternatives; at the
  start, at the end or after a ``-`` it is a word;
- outside quotes a term ends at a space, a quote, a ``:`` (which begins the next term) or one of
  ``! & | ( ) <`` (otherwise ignored); a term without letters or digits is ignored, and its ``-`` with it;
- words beyond the first ``MAX_QUERY_TERMS`` are ignored.

Both engines get the same parsed ``SearchQuery``: SQLite as FTS5 expressions (every term a quoted
string of letters and digits, so no input is FTS5 syntax), PostgreSQL as a web-search string that
reads only one way (every term quoted, at most one ``-`` before it, `` or `` between alternatives), so
that no run of ``-`` nests NOTs past its parser's stack. PostgreSQL still splits each term into words
itself, keeping a host name or a decimal whole as its index does; that (and FTS5's folding of accents)
is where the engines still differ.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

#: Words beyond this are ignored: a search is a few words, not a document (and PostgreSQL runs out of
#: stack on a tsquery of tens of thousands).
MAX_QUERY_TERMS = 32

# A word: letters and digits ("_" is punctuation to both engines' tokenizers).
_WORD = re.compile(r"[^\W_]+")
# Lexically, as websearch_to_tsquery reads a query: a "-" (whatever follows it); "a phrase" (an unclosed
# quote runs to the end); or a bare term, which ends at a space, a quote, one of PostgreSQL's operator
# characters (ignored outside quotes) or a ":" (which begins the next bare term).
_TOKEN = re.compile(r'(?P<dash>-)|"(?P<phrase>[^"]*)"?|(?P<bare>:?[^\s"!&|()<:]+|:)')
# The "or" operator at the start of a bare term, in any case, when no letter, digit, "_" or "-" follows it
# ("or," is the operator and a comma, "or-" and "order" are words).
_OR = re.compile(r"(?i:or)(?![\w-])")


@dataclass(frozen=True)
class Term:
    """A word or a phrase: ``text`` as typed (PostgreSQL splits it into words itself), ``words`` its
    letters-and-digits words (FTS5's phrase, and what the cap counts)."""

    text: str
    words: tuple[str, ...]
    negated: bool = False


@dataclass(frozen=True)
class Fts5Search:
    """A web search as FTS5 expressions: an article is found when it matches ``match``, or when it
    matches none of the terms of one of ``excluding`` (FTS5 cannot match on negation alone, so each
    alternative made only of ``-terms`` becomes "not any of these")."""

    match: str | None
    excluding: tuple[str, ...] = ()


@dataclass(frozen=True)
class SearchQuery:
    """Alternatives (found when any matches), each a conjunction of terms (all of them, the negated
    ones absent); none is empty."""

    alternatives: tuple[tuple[Term, ...], ...]

    def websearch(self) -> str:
        """The query as a ``websearch_to_tsquery`` input with one reading: each term quoted (inside
        quotes nothing is an operator), at most one ``-`` before it, `` or `` between alternatives."""
        return " or ".join(" ".join(f'{"-" if term.negated else ""}"{term.text}"' for term in alternative)
                           for alternative in self.alternatives)

    def fts5(self) -> Fts5Search:
        """The query as FTS5 expressions; every term is a quoted string of ``_WORD`` words."""
        matching, excluding = [], []
        for alternative in self.alternatives:
            wanted = [_fts5_string(term) for term in alternative if not term.negated]
            unwanted = [_fts5_string(term) for term in alternative if term.negated]
            if wanted:
                matching.append("(" + " ".join(wanted) + "".join(f" NOT {term}" for term in unwanted) + ")")
            else:
                excluding.append(" OR ".join(unwanted))
        return Fts5Search(" OR ".join(matching) or None, tuple(excluding))


def parse_query(text: str) -> SearchQuery | None:
    """The query ``text`` says; None when it has nothing to search for."""
    text = unicodedata.normalize("NFC", text.replace("\x00", " "))
    end = len(text.rstrip())  # where the last token ends
    parser = _Parser()
    for token in _TOKEN.finditer(text):
        if parser.full:
            break
        if token["dash"]:
            parser.dash()
        elif token["phrase"] is not None:
            parser.term(token["phrase"])
        else:
            # As websearch_to_tsquery: "or" is an operator when something follows the character after it.
            parser.bare(token["bare"], followed=token.start() + len("or ") < end)
    found = tuple(tuple(alternative) for alternative in parser.alternatives if alternative)
    return SearchQuery(found) if found else None


class _Parser:
    """The state of a left-to-right reading, as ``websearch_to_tsquery`` keeps it."""

    def __init__(self) -> None:
        self.alternatives: list[list[Term]] = [[]]
        self.negated = False
        self.after_term = False  # the last token was a term (with or without words): "or" may follow
        self.left = MAX_QUERY_TERMS

    @property
    def full(self) -> bool:
        return self.left == 0

    def dash(self) -> None:
        self.negated, self.after_term = not self.negated, False

    def bare(self, text: str, *, followed: bool) -> None:
        """A bare term, or "or" between a term and anything (then what follows "or" in the same token,
        such as ",strike" of "or,strike", is the next term)."""
        if self.after_term and followed and _OR.match(text):
            self.alternatives.append([])
            self.after_term = False
            text = text[len("or"):]
            if not text:
                return
        self.term(text)

    def term(self, text: str) -> None:
        """A term, kept when it has words (cut to the words the cap leaves); without words it is
        ignored, and the "-" before it with it."""
        every = _WORD.findall(text)
        words = tuple(every[:self.left])
        if words:
            kept = text if len(words) == len(every) else " ".join(words)
            self.alternatives[-1].append(Term(kept, words, self.negated))
            self.left -= len(words)
        self.negated, self.after_term = False, True


def fts5_query(text: str) -> Fts5Search | None:
    """``text`` as FTS5 expressions; None when there is nothing to search for."""
    query = parse_query(text)
    return query.fts5() if query else None


def _fts5_string(term: Term) -> str:
    return '"' + " ".join(term.words) + '"'
