"""Full-text search on real SQLite (FTS5) and real PostgreSQL (tsvector): where the engines agree, and the
known places where their tokenisers differ (the sink README's "Where the engines' searches differ")."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from services.core.db import Database
from services.sink.reads import Reader
from services.sink.store import SqlStore
from tests.factories import article

BODIES = {
    11: "The ferry strike in the harbour ended on Tuesday.",
    12: "Un café à São Paulo, près de l'Élysée.",
    13: "Visit www.example.com or write to press@example.org for details.",
    14: "Inflation rose to 3.5 percent, the bureau said.",
    15: "Agence France-Presse reported the state-owned company's results.",
    16: "Karel Čapek wrote R.U.R.; ΑΘΗΝΑ ΣΗΜΕΡΑ; Straße in Köln.",
    17: "東京で地震があった。",
    18: "The strikes spread to Oslo_Port and C++ developers don't mind.",
    19: "The ferry operator said talks would resume.",
}

#: Queries both engines answer alike: words in any case (of any alphabet), phrases, exclusions, no
#: stemming, accented words as written, hyphenated compounds whole and in parts, host names, addresses
#: and decimals whole, "_" and "'" as word breaks, and a run of CJK characters as one word.
AGREED = {
    "ferry": [11, 19], "FERRY": [11, 19], '"ferry strike"': [11], "ferry -strike": [19], "strike": [11],
    "strikes": [18], "café": [12], "São Paulo": [12], "Élysée": [12], "čapek": [16], "ČAPEK": [16],
    "köln": [16], "αθηνα": [16], "σημερα": [16], "straße": [16], "strasse": [],
    "France-Presse": [15], "presse": [15], "france presse": [15], "state-owned": [15], "owned": [15],
    "www.example.com": [13], "press@example.org": [13], "3.5": [14],
    "oslo_port": [18], "port": [18], "C++": [18], "don't": [18], "don": [18],
    "東京で地震があった": [17], "東京": [], "地震": [],
}

#: Where they differ: SQLite's FTS5 (unicode61) folds Latin diacritics and splits at every punctuation
#: mark; PostgreSQL's parser ('simple' configuration) keeps accents and keeps a host name, an e-mail
#: address, a decimal number or a dotted abbreviation whole, so only the whole finds it.
DIFFERING = {
    "cafe": {"sqlite": [12], "postgresql": []},
    "sao paulo": {"sqlite": [12], "postgresql": []},
    "capek": {"sqlite": [16], "postgresql": []},
    "koln": {"sqlite": [16], "postgresql": []},
    "example": {"sqlite": [13], "postgresql": []},
    "example.com": {"sqlite": [13], "postgresql": []},
    "press": {"sqlite": [13], "postgresql": []},
    "3": {"sqlite": [14], "postgresql": []},
    "r": {"sqlite": [16], "postgresql": []},
}


@pytest.fixture
def searched(database_url: str) -> Iterator[tuple[str, Reader]]:
    store = SqlStore(Database(database_url))
    store.migrate()
    store.write([article(n, body=body) for n, body in BODIES.items()], {}, datetime.now(UTC))
    yield store.db.dialect, Reader(store.db)
    store.close()


def _found(reader: Reader, query: str) -> dict[str, list[int]]:
    """The articles a search finds, by number, as the article list and the stories list give them."""
    return {"articles": sorted(int(a["id"][-6:]) for a in reader.page(query=query).articles),
            "stories": sorted(int(s.story_id[-6:]) for s in reader.story_page(query=query).stories)}


def test_both_engines_answer_these_searches_alike(searched: tuple[str, Reader]) -> None:
    _, reader = searched
    found = {query: _found(reader, query) for query in AGREED}
    assert found == {query: {"articles": ids, "stories": ids} for query, ids in AGREED.items()}


def test_the_engines_differ_where_the_readme_says(searched: tuple[str, Reader]) -> None:
    """Pinned so that a change to either tokeniser (or a fix) shows, and the README is corrected with it."""
    dialect, reader = searched
    found = {query: _found(reader, query)["articles"] for query in DIFFERING}
    assert found == {query: ids[dialect] for query, ids in DIFFERING.items()}, json.dumps(found, ensure_ascii=False)
