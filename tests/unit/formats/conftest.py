"""Shared fixtures for the format parser tests: a parse context, and the third-party corpus.

The corpus lives beside the project (``../shared/corpus``, read-only, see its MANIFEST.md); it is never
copied into the repository. Corpus-driven tests skip with a reason when it is absent.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from schemas import FeedFormat, RawItem
from services.poller.formats import FeedContext, ParsedFeed, parse_document
from tests.helpers import CORPUS

NINJS_SUITE = CORPUS / "iptc-ninjs" / "validation" / "test_suite"
G2_SUITE = CORPUS / "iptc-newsml-g2" / "tests" / "unit_test_files"
SUPERDESK = CORPUS / "superdesk-core" / "tests" / "io" / "fixtures"
FEED_URL = "http://example.com/feed"

Parse = Callable[..., ParsedFeed]


def _suite_files(suite: Path, kind: str, pattern: str) -> list[Path]:
    return sorted(suite.glob(f"*/{kind}/{pattern}")) if suite.is_dir() else []


def _ids(paths: list[Path], root: Path) -> list[str]:
    return [str(path.relative_to(root)) for path in paths]


def _superdesk_rows() -> list[tuple[str, str]]:
    """(fixture file name, format) from the collector's FIXTURE_INDEX.tsv."""
    index = SUPERDESK.parents[2] / "FIXTURE_INDEX.tsv"
    if not index.is_file():
        return []
    rows = [line.split("\t") for line in index.read_text().splitlines()[1:] if line.strip()]
    return [(row[0], row[1]) for row in rows]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One test per corpus file for the suites whose files carry their own verdict (pass or fail)."""
    if "superdesk_fixture" in metafunc.fixturenames:
        rows = _superdesk_rows()
        if not rows:
            raise pytest.UsageError(f"corpus folder {SUPERDESK} is missing (it sits beside the checkout)")
        metafunc.parametrize("superdesk_fixture", rows, ids=[name for name, _ in rows])
    suites = {
        "ninjs_should_pass": (NINJS_SUITE, _suite_files(NINJS_SUITE, "should_pass", "*.json")),
        "ninjs_should_fail": (NINJS_SUITE, _suite_files(NINJS_SUITE, "should_fail", "*.json")),
        "g2_should_pass": (G2_SUITE, _suite_files(G2_SUITE, "should_pass", "*.xml")),
        "g2_should_fail": (G2_SUITE, _suite_files(G2_SUITE, "should_fail", "*.xml")),
    }
    for name, (root, paths) in suites.items():
        if name in metafunc.fixturenames:
            if not paths:
                raise pytest.UsageError(f"corpus folder {root} is missing (it sits beside the checkout)")
            metafunc.parametrize(name, paths, ids=_ids(paths, root))


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.fail(f"the shared test corpus is not at {CORPUS}")
    return CORPUS


@pytest.fixture(scope="session")
def ctx() -> FeedContext:
    return FeedContext(feed_id="feed", feed_url=FEED_URL, fetched_at=datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC))


@pytest.fixture(scope="session")
def parse(ctx: FeedContext) -> Parse:
    """parse(body, fmt=None, content_type=None): parse_document with the shared context."""

    def run(body: bytes | str, fmt: FeedFormat | None = None, content_type: str | None = None) -> ParsedFeed:
        data = body.encode() if isinstance(body, str) else body
        return parse_document(data, ctx, content_type=content_type, fmt=fmt)

    return run


@pytest.fixture(scope="session")
def superdesk_item(parse: Parse) -> Callable[[str, FeedFormat], RawItem]:
    """superdesk_item(name, fmt): the one item of a superdesk-core fixture, checked to be detected as fmt."""

    def read(name: str, fmt: FeedFormat) -> RawItem:
        body = (SUPERDESK / name).read_bytes()
        parsed = parse(body)
        assert parsed.format is fmt, f"{name} was read as {parsed.format.value}"
        [item] = parsed.items
        return item

    return read
