"""Migrations on a real database, including several processes starting at once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from services.core.db import Database

COMPONENTS = [("poller", "services.poller"), ("normalizer", "services.normalizer"), ("sink", "services.sink")]


def test_every_component_migrates_once_when_all_start_together(database_url: str) -> None:
    databases = [Database(database_url) for _ in range(6)]
    try:
        with ThreadPoolExecutor(6) as pool:
            applied = list(pool.map(lambda pair: pair[0].migrate(*pair[1]),
                                    zip(databases, COMPONENTS * 2, strict=True)))
        assert sorted(len(versions) for versions in applied).count(0) == 3  # the second of each pair: nothing
        rows = databases[0].query("SELECT component, COUNT(*) FROM schema_migrations GROUP BY component")
        assert {component for component, _ in rows} == {"poller", "normalizer", "sink"}
    finally:
        for db in databases:
            db.close()
