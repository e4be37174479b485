"""Just enough PromQL lexing to list the series selectors of an expression: metric names and the label
names matched on each. Not a parser: promtool checks syntax; this finds what an expression reads.

An identifier is a metric name unless it is a keyword, a function or aggregation (followed by ``(`` or
by ``by``/``without``), a label name (inside ``{...}`` or a grouping list such as ``by (...)``), or part of
a string, a range or subquery (``[5m]``, ``[$__rate_interval]``) or a Grafana variable (``$feed``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

KEYWORDS = frozenset({
    "and", "or", "unless", "atan2", "bool", "offset", "by", "without", "on", "ignoring", "group_left",
    "group_right", "inf", "nan",
})
GROUPING = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right"})
MATCH_OPERATORS = frozenset({"=", "!=", "=~", "!~"})

_DURATION_UNIT = r"(?:ms|[smhdwy])"
_TOKEN = re.compile(
    rf"""
      (?P<space>\s+)
    | (?P<comment>\#[^\n]*)
    | (?P<string>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|`[^`]*`)
    | (?P<range>\[[^\]]*\])
    | (?P<number>0[xX][0-9a-fA-F]+
        |(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?(?:{_DURATION_UNIT}(?:\d+{_DURATION_UNIT})*)?)
    | (?P<variable>\$\{{[^}}]*\}}|\$\w+)
    | (?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)
    | (?P<punct>=~|!~|!=|==|<=|>=|[-+*/%^<>=(){{}},@])
    """,
    re.VERBOSE,
)


class PromQLLexError(ValueError):
    """The expression has a character no PromQL token starts with."""


@dataclass(frozen=True)
class Token:
    kind: str
    text: str


@dataclass(frozen=True)
class Selector:
    """One series selector: ``metric{label=...}``; ``labels`` are the matched label names."""

    metric: str
    labels: frozenset[str]


def tokenize(expr: str) -> list[Token]:
    tokens = []
    position = 0
    while position < len(expr):
        match = _TOKEN.match(expr, position)
        if match is None:
            raise PromQLLexError(f"unexpected {expr[position]!r} at {position} in {expr!r}")
        kind = match.lastgroup or ""
        if kind not in ("space", "comment"):
            tokens.append(Token(kind, match.group()))
        position = match.end()
    return tokens


def selectors(expr: str) -> list[Selector]:
    tokens = tokenize(expr)
    found: list[Selector] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        following = tokens[i + 1] if i + 1 < len(tokens) else None
        if token.kind == "ident" and token.text in GROUPING and _is(following, "("):
            i = _closing(tokens, i + 1) + 1  # a label list, not an expression
            continue
        if _is(token, "{"):  # a selector without a metric name: {__name__="..."}
            end, matchers = _matchers(tokens, i)
            name = matchers.get("__name__")
            if name:
                found.append(Selector(name, frozenset(matchers) - {"__name__"}))
            i = end + 1
            continue
        if token.kind == "ident" and _is_metric(token, following):
            labels: frozenset[str] = frozenset()
            if _is(following, "{"):
                end, matchers = _matchers(tokens, i + 1)
                labels = frozenset(matchers)
                i = end
            found.append(Selector(token.text, labels))
        i += 1
    return found


def metric_names(expr: str) -> set[str]:
    return {selector.metric for selector in selectors(expr)}


def _is(token: Token | None, text: str) -> bool:
    return token is not None and token.kind == "punct" and token.text == text


def _is_metric(token: Token, following: Token | None) -> bool:
    if token.text.lower() in KEYWORDS:
        return False
    if _is(following, "("):  # a function or an aggregation
        return False
    # an aggregation with its grouping first: sum by (le) (...)
    return not (following is not None and following.kind == "ident" and following.text in ("by", "without"))


def _closing(tokens: list[Token], opening: int) -> int:
    pairs = {"(": ")", "{": "}"}
    close = pairs[tokens[opening].text]
    depth = 0
    for index in range(opening, len(tokens)):
        if _is(tokens[index], tokens[opening].text):
            depth += 1
        elif _is(tokens[index], close):
            depth -= 1
            if depth == 0:
                return index
    raise PromQLLexError(f"unbalanced {tokens[opening].text!r}")


def _matchers(tokens: list[Token], opening: int) -> tuple[int, dict[str, str]]:
    """Label matchers between ``{`` at ``opening`` and its ``}``: label name -> value of an ``=`` match."""
    end = _closing(tokens, opening)
    matchers: dict[str, str] = {}
    for index in range(opening + 1, end - 1):
        name, operator, value = tokens[index], tokens[index + 1], tokens[index + 2]
        if name.kind in ("ident", "string") and operator.kind == "punct" and operator.text in MATCH_OPERATORS:
            label = name.text.strip("\"'`") if name.kind == "string" else name.text
            literal = value.text[1:-1] if value.kind == "string" and operator.text == "=" else ""
            matchers[label] = literal
    return end, matchers
