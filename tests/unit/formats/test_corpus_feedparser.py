"""Every document of feedparser's own test corpus goes through parse_document without an unhandled error.

The files are tiny synthetic feeds, including broken XML, odd encodings and every HTML entity. Their
embedded Expect lines are feedparser's contract, not ours; the oracle here is that each one ends as a
ParsedFeed or a typed FeedParseError, never anything else.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from services.poller.formats import FeedParseError, ParsedFeed

Parse = Callable[..., ParsedFeed]
FOLDERS = ("wellformed", "illformed", "encoding", "entities", "json")
# The harness serves some files with HTTP headers written in the file; the Content-Type matters for encodings.
_CONTENT_TYPE = re.compile(rb"^Header:\s+Content-type:\s*(.+?)\s*$", re.MULTILINE | re.IGNORECASE)
# Documents known to be refused or unreadable, by design (see the comments), with the error class expected.
EXPECTED_ERRORS = {
    "wellformed/rss/entity_in_doctype.xml": "UnsafeXMLError",  # declares an entity: refused
    "wellformed/rdf/doctype_contains_entity_decl.xml": "UnsafeXMLError",
    "illformed/rss_empty_document.xml": "UnsupportedFormatError",
}


def served_content_type(body: bytes) -> str | None:
    # Header lines are ASCII even in UTF-16 files; NULs are dropped so the pattern sees them there too.
    match = _CONTENT_TYPE.search(body.replace(b"\x00", b""))
    return match.group(1).decode("ascii", "replace") if match else None


def test_every_feedparser_corpus_file_parses_or_fails_with_a_typed_error(corpus: Path, parse: Parse) -> None:
    base = corpus / "feedparser" / "tests"
    outcomes: Counter[str] = Counter()
    unexpected = []
    for path in sorted(p for folder in FOLDERS for p in (base / folder).rglob("*") if p.is_file()):
        name = str(path.relative_to(base))
        body = path.read_bytes()
        try:
            parse(body, content_type=served_content_type(body))
            outcome = "ParsedFeed"
        except FeedParseError as exc:
            outcome = type(exc).__name__
        except Exception as exc:  # collecting every failure, with its file name, is the point of the test
            unexpected.append(f"{name}: {type(exc).__name__}: {exc}")
            continue
        outcomes[outcome] += 1
        if name in EXPECTED_ERRORS and outcome != EXPECTED_ERRORS[name]:
            unexpected.append(f"{name}: expected {EXPECTED_ERRORS[name]}, got {outcome}")
    print(f"feedparser corpus outcomes: {dict(outcomes)}")
    assert not unexpected, "\n".join(unexpected)
    assert sum(outcomes.values()) > 2000
    assert outcomes["ParsedFeed"] / sum(outcomes.values()) > 0.99
