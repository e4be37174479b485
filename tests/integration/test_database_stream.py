"""Database.stream on both engines: every row once, in order, fetched a batch at a time."""

from __future__ import annotations

import psycopg

from services.core.db import Database

NUMBERS = "SELECT n, n / 7 FROM numbers ORDER BY n / 7 DESC, n"  # ties in the first key


def with_numbers(url: str, count: int) -> Database:
    db = Database(url)
    with db.transaction() as tx:
        tx.execute("CREATE TABLE numbers (n INTEGER PRIMARY KEY)")
        tx.executemany("INSERT INTO numbers VALUES (?)", [(n,) for n in range(count)])
    return db


def test_a_stream_yields_what_the_query_returns(database_url: str) -> None:
    db = with_numbers(database_url, 20)
    try:
        everything = db.query(NUMBERS)
        for batch_rows in (1, 3, 20, 21):
            assert [tuple(row) for row in db.stream(NUMBERS, batch_rows=batch_rows)] == everything
        assert [tuple(row) for row in db.stream("SELECT n FROM numbers WHERE n >= ? ORDER BY n", (18,))] == [
            (18,), (19,)]
    finally:
        db.close()


def test_postgresql_sends_the_rows_as_they_are_fetched(postgres_url: str) -> None:
    db = with_numbers(postgres_url, 10)
    rows = db.stream("SELECT n FROM numbers ORDER BY n", batch_rows=4)
    try:
        assert next(rows) == (0,)
        with psycopg.connect(postgres_url) as watcher:
            statements = [query for (query,) in watcher.execute(
                "SELECT query FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")]
        # A server-side cursor: the backend's last statement is a FETCH of one batch, not the whole query.
        assert any(q.startswith("FETCH FORWARD 4 FROM") for q in statements), statements
        assert [n for (n,) in rows] == list(range(1, 10))
    finally:
        rows.close()
        db.close()
