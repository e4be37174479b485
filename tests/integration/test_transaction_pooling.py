"""wirefeed behind a real PgBouncer in transaction mode, where each transaction may get another session.

PgBouncer's ``pool_mode = transaction`` is how many production PostgreSQL deployments take connections
from many replicas. The pooler here has ONE server session for all its clients, so every client's
transactions share it: whatever one session-level trick leaks (a setting, a prepared statement), the
next client meets it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from services.core.config import SessionOptions
from services.core.db import Database
from services.normalizer.dedup import DedupStore, Verdict
from services.sink.reads import Reader
from services.sink.store import SqlStore
from tests.factories import article
from tests.helpers import free_port, in_thread, wait_for
from tests.unit.dedup import stories
from tests.unit.dedup.stories import T0

TOPIC = "wirefeed.articles.v1"
POOLED = SessionOptions(transaction_pooling=True)


class PgBouncer:
    """PgBouncer from Debian's package (``postgres.sh up`` installs it) on a free port of 127.0.0.1."""

    def __init__(self, server_url: str) -> None:
        self.server = urlsplit(server_url)
        # Readable by the postgres user PgBouncer switches to (it refuses to run as root).
        self.directory = Path(tempfile.mkdtemp(prefix="wirefeed-pgbouncer-"))
        self.directory.chmod(0o755)
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> PgBouncer:
        binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
        if not Path(binary).exists():
            pytest.fail("pgbouncer is not installed: `deploy/postgres/postgres.sh up` (make test) installs it")
        users = self.directory / "users.txt"
        users.write_text(f'"{self.server.username}" "{self.server.password}"\n')
        config = self.directory / "pgbouncer.ini"
        config.write_text(
            f"[databases]\n* = host={self.server.hostname} port={self.server.port or 5432}\n"
            f"[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {self.port}\nunix_socket_dir =\n"
            f"auth_type = plain\nauth_file = {users}\npool_mode = transaction\ndefault_pool_size = 1\n"
            "max_client_conn = 50\n")
        for path in (users, config):
            path.chmod(0o644)
        as_postgres = ["-u", "postgres"] if os.geteuid() == 0 else []
        self.process = subprocess.Popen([binary, *as_postgres, str(config)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(self._answers, timeout=30, message="pgbouncer to accept connections")
        return self

    def url(self, database_url: str) -> str:
        """``database_url`` (same login and database) through the pooler."""
        parts = urlsplit(database_url)
        netloc = f"{parts.username}:{parts.password}@127.0.0.1:{self.port}"
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))

    def _answers(self) -> bool:
        try:
            with psycopg.connect(self.url(urlunsplit(self.server)), connect_timeout=2, autocommit=True) as conn:
                conn.execute("SELECT 1")
        except psycopg.OperationalError:
            return False
        return True

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
        shutil.rmtree(self.directory, ignore_errors=True)


@pytest.fixture(scope="module")
def pgbouncer(postgres_admin_url: str) -> Iterator[PgBouncer]:
    pooler = PgBouncer(postgres_admin_url).start()
    yield pooler
    pooler.stop()


@pytest.fixture
def pooled_url(pgbouncer: PgBouncer, postgres_url: str) -> str:
    return pgbouncer.url(postgres_url)


def _session_value(url: str, name: str) -> str:
    """What a client that sets nothing sees through the pooler."""
    with psycopg.connect(url, autocommit=True, prepare_threshold=None) as conn:
        row = conn.execute("SELECT current_setting(%s)", (name,)).fetchone()
    assert row is not None
    return str(row[0])


def test_the_pooler_really_shares_sessions_between_clients(pooled_url: str) -> None:
    """Guard for the tests below: with settings made per session, a second client meets the first's
    prepared statements (psycopg prepares a query from its fifth run) and its settings."""
    first, second = Database(pooled_url), Database(pooled_url)
    try:
        with pytest.raises(psycopg.errors.DuplicatePreparedStatement):
            for n in range(30):
                for db in (first, second):
                    db.query("SELECT ?::int", (n,))
        assert _session_value(pooled_url, "lock_timeout") == "15s"  # leaked to a client that set nothing
    finally:
        first.close()
        second.close()


def test_the_sink_and_dedup_stores_work_behind_transaction_pooling(postgres_url: str, pooled_url: str) -> None:
    sinks = [SqlStore(Database(pooled_url, session=POOLED)) for _ in range(2)]
    dedup = DedupStore(Database(pooled_url, session=POOLED))
    try:
        sinks[0].migrate()
        dedup.migrate()
        for n in range(1, 41):  # each statement runs far past psycopg's prepare threshold, on both clients
            sinks[n % 2].write([article(n)], {(TOPIC, n % 2): n}, datetime.now(UTC))
        for n in range(6):
            assert dedup.decide(stories.make(n, f"Story {n}", f"Body of story number {n}. " * 20), T0).verdict \
                is Verdict.NEW
        # a budgeted page reads through a server-side cursor, which lives and dies within its transaction
        readers = [Reader(store.db) for store in sinks]
        assert [len(reader.page(limit=50, max_bytes=10_000_000).articles) for reader in readers * 2] == [40] * 4
        with sinks[0].db.transaction() as tx:  # its planner setting left with its transaction
            assert tx.execute("SHOW cursor_tuple_fraction").fetchone() == ("0.1",)
    finally:
        for store in sinks:
            store.close()
        dedup.db.close()
    direct = SqlStore(Database(postgres_url))
    try:
        assert direct.count() == 40
        assert direct.offsets(TOPIC) == {0: 40, 1: 39}
    finally:
        direct.close()


def test_settings_hold_in_each_transaction_and_leave_with_it(pooled_url: str) -> None:
    session = SessionOptions(lock_timeout=2.5, idle_in_transaction_timeout=7, transaction_pooling=True)
    writer, reader = Database(pooled_url, session=session), Database(pooled_url, read_only=True, session=session)
    try:
        for _ in range(3):
            assert writer.query("SELECT current_setting('lock_timeout'), "
                                "current_setting('idle_in_transaction_session_timeout'), "
                                "current_setting('TimeZone')") == [("2500ms", "7s", "UTC")]
            assert reader.query("SELECT current_setting('jit'), current_setting('transaction_read_only')") \
                == [("off", "on")]
    finally:
        writer.close()
        reader.close()
    assert _session_value(pooled_url, "lock_timeout") == "0"  # the server's own: nothing leaked
    assert _session_value(pooled_url, "jit") == "on"


def test_the_lock_timeout_frees_a_waiting_replica_behind_the_pooler(postgres_url: str, pooled_url: str) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as setup:
        setup.execute("CREATE TABLE held (id int PRIMARY KEY)")
        setup.execute("INSERT INTO held VALUES (1)")
    waiter = Database(pooled_url, session=SessionOptions(lock_timeout=0.5, transaction_pooling=True))
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with psycopg.connect(postgres_url) as owner:  # straight to the server: the pooler has one session
            owner.execute("SELECT * FROM held WHERE id = 1 FOR UPDATE")
            holding.set()
            release.wait(30)

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    try:
        assert holding.wait(10)
        with pytest.raises(psycopg.errors.LockNotAvailable):
            in_thread(lambda: waiter.query("UPDATE held SET id = 1 WHERE id = 1"), timeout=10)
    finally:
        release.set()
        holder.join(10)
        waiter.close()

