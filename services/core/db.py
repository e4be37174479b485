"""One small database layer for SQLite (embedded default) and PostgreSQL (production).

Queries are written once with ``?`` placeholders and bound parameters (never formatted into the SQL);
PostgreSQL gets them as ``%s``. Schema changes are versioned SQL files per dialect, applied at start-up
under a lock so that two processes starting together apply each migration once.
"""

from __future__ import annotations

import re
import sqlite3
import sys
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import closing, contextmanager
from datetime import datetime
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import psycopg
import structlog
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool, PoolTimeout

from services.core.config import DEFAULT_SESSION, SessionOptions, database_url_problem

log = structlog.get_logger(__name__)

Dialect = Literal["sqlite", "postgresql"]
MIGRATION_LOCK_KEY = zlib.crc32(b"wirefeed-migrations")
Params = Sequence[Any]
SQLITE_CHECK_STEPS = 10_000  # virtual machine steps between two looks at the clock: well under a millisecond
#: A server that vanishes without closing the connection (a network dropping packets, a host gone in a
#: failover) would hold a statement until the kernel gives up, 15 minutes or more: keepalives probe an
#: idle connection, and tcp_user_timeout (ms) ends one whose data goes unacknowledged for a minute, so
#: the call fails and is retried. The URL's own values, when it has them, win.
TCP_DEFAULTS = {"keepalives": "1", "keepalives_idle": "30", "keepalives_interval": "10", "keepalives_count": "3",
                "tcp_user_timeout": "60000"}

#: Errors that mean "the database is unavailable right now": retry later, lose nothing. A session the
#: server ended for idling in its transaction is one: the pool opens a new one.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    psycopg.OperationalError,
    psycopg.errors.IdleInTransactionSessionTimeout,
    sqlite3.OperationalError,
)
#: Errors that the same rows raise every time, whatever the database's health: a value past one of
#: PostgreSQL's limits (a text whose search index would pass the tsvector's 1 MiB: "string is too long
#: for tsvector"). psycopg files them under OperationalError, with the transient ones: catch these first.
UNSTORABLE_ERRORS: tuple[type[Exception], ...] = (psycopg.errors.ProgramLimitExceeded,)


class DatabaseError(Exception):
    """A database could not be opened or used as configured."""


class QueryTimeoutError(DatabaseError):
    """A statement ran past the session's statement timeout and was cancelled: asking again would too."""


class Tx:
    """A cursor bound to one transaction, with the placeholder style translated."""

    def __init__(self, cursor: Any, dialect: Dialect) -> None:
        self._cursor = cursor
        self.dialect = dialect

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.dialect == "postgresql" else sql

    def execute(self, sql: str, params: Params = ()) -> Tx:
        self._cursor.execute(self._sql(sql), params)
        return self

    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        if rows:
            self._cursor.executemany(self._sql(sql), rows)

    def fetchall(self) -> list[tuple[Any, ...]]:
        return list(self._cursor.fetchall())

    def fetchone(self) -> tuple[Any, ...] | None:
        row = self._cursor.fetchone()
        return tuple(row) if row is not None else None

    def stream(self, sql: str, params: Params, fetch_rows: int) -> Iterator[tuple[Any, ...]]:
        """One query's rows, fetched ``fetch_rows`` at a time. On PostgreSQL through a server-side cursor:
        a client-side one takes the whole result at once."""
        connection = self._cursor.connection
        named = self.dialect == "postgresql"
        if named:  # planned for every row, as the query is read whole, not for a fast first tenth
            self._cursor.execute("SET LOCAL cursor_tuple_fraction = 1")
        cursor = connection.cursor(name=f"wirefeed_{uuid.uuid4().hex}") if named else connection.cursor()
        with closing(cursor):
            cursor.execute(self._sql(sql), params)
            while rows := cursor.fetchmany(fetch_rows):
                yield from map(tuple, rows)

    @property
    def rowcount(self) -> int:
        return int(self._cursor.rowcount)


class Database:
    """A connection (SQLite) or a pool (PostgreSQL) handing out transactions."""

    def __init__(self, url: str, *, pool_size: int = 4, read_only: bool = False, create: bool = True,
                 session: SessionOptions = DEFAULT_SESSION) -> None:
        """``read_only`` refuses every write (the read side needs none); ``create=False`` (implied by it)
        refuses a SQLite file that is not there, where SQLite would create an empty one."""
        self.url = url
        self.dialect: Dialect = dialect_of(url)
        self.pool_size = pool_size  # connections at once on PostgreSQL; SQLite's one takes turns
        self._time_limit = session.statement_timeout
        if self.dialect == "sqlite":
            self._sqlite = _open_sqlite(url, read_only=read_only, create=create and not read_only)
            self._lock = threading.RLock()
            # IMMEDIATE takes the write lock up front, which a read-only connection may not.
            self._begin = "BEGIN" if read_only else "BEGIN IMMEDIATE"
            self._deadline = float("inf")
            if self._time_limit > 0:
                # SQLite has no statement timeout: its progress handler, called every so many steps of
                # the virtual machine, interrupts the statement once the transaction's time is up.
                self._sqlite.set_progress_handler(lambda: time.monotonic() > self._deadline, SQLITE_CHECK_STEPS)
        else:
            check_readable(url)
            settings = _session_settings(session, read_only=read_only)
            # Per transaction, when a pooler may hand each one another server session; else once per session.
            self._transaction_settings = settings if session.transaction_pooling else {}
            given = conninfo_to_dict(url)
            connect: dict[str, Any] = {"connect_timeout": 5,
                                       **{k: v for k, v in TCP_DEFAULTS.items() if k not in given}}
            if session.transaction_pooling:
                connect["prepare_threshold"] = None
            self._pool = ConnectionPool(
                url, min_size=1, max_size=pool_size, open=False, kwargs=connect,
                configure=partial(_configure, read_only=read_only,
                                  settings={} if session.transaction_pooling else settings),
                # After a server restart the pool still holds dead connections; checking one before
                # handing it out (one round trip) spares the first transaction a certain failure.
                check=ConnectionPool.check_connection,
            )
            self._pool.open(wait=False)

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        try:
            with self._sqlite_transaction() if self.dialect == "sqlite" else self._postgresql_transaction() as tx:
                yield tx
        except (psycopg.errors.QueryCanceled, sqlite3.OperationalError) as error:
            # Only a session with a time limit turns a cancel into a timeout; elsewhere (an operator's
            # pg_cancel_backend) it stays a transient error, retried as before.
            if self._time_limit <= 0 or (isinstance(error, sqlite3.OperationalError) and str(error) != "interrupted"):
                raise
            raise QueryTimeoutError(f"the query ran past its {self._time_limit:g} s and was cancelled") from error

    @contextmanager
    def _sqlite_transaction(self) -> Iterator[Tx]:
        with self._lock:
            self._deadline = time.monotonic() + self._time_limit if self._time_limit > 0 else float("inf")
            self._sqlite.execute(self._begin)
            try:
                yield Tx(self._sqlite.cursor(), "sqlite")
            except BaseException:
                self._sqlite.rollback()
                raise
            self._sqlite.commit()

    @contextmanager
    def _postgresql_transaction(self) -> Iterator[Tx]:
        with self._pool.connection(timeout=10) as conn, conn.transaction(), conn.cursor() as cursor:
            if self._transaction_settings:
                _apply(cursor, self._transaction_settings, local=True)
            yield Tx(cursor, "postgresql")

    def query(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        with self.transaction() as tx:
            return tx.execute(sql, params).fetchall()

    def stream(self, sql: str, params: Params = (), *, fetch_rows: int) -> Generator[tuple[Any, ...], None, None]:
        """One query's rows, run once and fetched ``fetch_rows`` at a time in one transaction, which ends
        when the iterator is exhausted or closed: close it as soon as enough rows were read."""
        with self.transaction() as tx:
            yield from tx.stream(sql, params, fetch_rows)

    def ping(self) -> bool:
        try:
            self.query("SELECT 1")
        except Exception:
            return False
        return True

    def close(self) -> None:
        if self.dialect == "sqlite":
            self._sqlite.close()
        else:
            self._pool.close()

    def migrate(self, component: str, package: str) -> list[int]:
        """Apply ``<package>/migrations/NNNN_name.<dialect>.sql`` files not applied yet; returns versions."""
        files = _migration_files(package, self.dialect)
        applied: list[int] = []
        with self.transaction() as tx:
            self._lock_migrations(tx)
            tx.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " component TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (component, version))"
            )
            done = {row[0] for row in tx.execute(
                "SELECT version FROM schema_migrations WHERE component = ?", (component,)
            ).fetchall()}
            for version, sql in files:
                if version in done:
                    continue
                self._run_script(tx, sql)
                tx.execute("INSERT INTO schema_migrations (component, version) VALUES (?, ?)", (component, version))
                applied.append(version)
        if applied:
            log.info("migrations_applied", component=component, versions=applied)
        return applied

    def _lock_migrations(self, tx: Tx) -> None:
        # SQLite's BEGIN IMMEDIATE already holds the write lock; PostgreSQL needs an advisory lock, one
        # for every component, since they share the schema_migrations table and its CREATE.
        if self.dialect == "postgresql":
            # Another process's migration may rightly take minutes (an index on a big table): wait it out.
            tx.execute("SET LOCAL lock_timeout = 0")
            tx.execute("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK_KEY,))

    def _run_script(self, tx: Tx, sql: str) -> None:
        for statement in _split_statements(sql):
            tx._cursor.execute(statement)


def _session_settings(session: SessionOptions, *, read_only: bool) -> dict[str, str]:
    settings = {"lock_timeout": _milliseconds(session.lock_timeout),
                "idle_in_transaction_session_timeout": _milliseconds(session.idle_in_transaction_timeout),
                # Timestamps come back in the session's time zone: a server, role or URL default other than
                # UTC had the read side print local times where SQLite gives UTC ("Z").
                "TimeZone": "UTC"}
    if session.statement_timeout > 0:
        settings["statement_timeout"] = _milliseconds(session.statement_timeout)
    if read_only:
        # Reads go through indexes and take milliseconds; the planner's cost estimate for a correlated
        # subquery (the stories list) is high enough to start JIT compilation, which took 200 ms a page.
        settings["jit"] = "off"
    return settings


def _configure(connection: psycopg.Connection[Any], *, read_only: bool, settings: dict[str, str]) -> None:
    if read_only:
        connection.read_only = True  # "BEGIN READ ONLY" on each transaction; settable only outside one
    if settings:
        # Set on the session rather than as startup options, which PgBouncer refuses.
        _apply(connection.cursor(), settings, local=False)
        connection.commit()


def _apply(cursor: psycopg.Cursor[Any], settings: dict[str, str], *, local: bool) -> None:
    """All the settings in one round trip; ``local`` ones end with the transaction."""
    cursor.execute("SELECT " + ", ".join(f"set_config(%s, %s, {str(local).lower()})" for _ in settings),
                   [part for setting in settings.items() for part in setting])


def _milliseconds(seconds: float) -> str:
    # PostgreSQL reads 0 as "no limit": a limit under half a millisecond must not round to none.
    return str(max(1, round(seconds * 1000)) if seconds > 0 else 0)


def run_command(url: str, command: Callable[[Database], None], *, creator: str, read_only: bool = True,
                session: SessionOptions = DEFAULT_SESSION) -> int:
    """Run a command-line command on a database: 0, or 1 with one line on stderr when the database is
    missing, holds no tables yet or cannot be reached, where a traceback would help nobody.

    ``creator`` names the service whose start-up creates the tables the command reads.
    """
    try:
        if dialect_of(url) == "postgresql":
            connect_once(url, timeout=5)  # the pool would retry quietly until its wait ran out
        db = Database(url, read_only=read_only, create=False, session=session)
        try:
            command(db)
        finally:
            db.close()
    except Exception as error:
        reason = _explain(error, url, creator)
        if reason is None:
            raise
        print(f"wirefeed: {reason}", file=sys.stderr)
        return 1
    return 0


def dialect_of(url: str) -> Dialect:
    scheme = urlsplit(url).scheme.split("+")[0]
    if scheme == "sqlite":
        return "sqlite"
    if scheme in ("postgresql", "postgres"):
        return "postgresql"
    raise DatabaseError(f"unsupported database URL scheme {scheme!r}: use sqlite:/// or postgresql://")


def connect_once(url: str, timeout: int) -> None:
    """One PostgreSQL connection and query of its own, outside any pool: raises at once, with the server's
    reason, when it is down or refuses the URL (a pool would wait for one of its connections)."""
    check_readable(url)
    with psycopg.connect(url, connect_timeout=timeout, autocommit=True) as conn:
        conn.execute("SELECT 1")


def check_readable(url: str) -> None:
    """A DatabaseError, its message free of the URL's secrets, for a URL libpq cannot read: libpq's own
    message quotes the part it could not read, a password included."""
    if problem := database_url_problem(url):
        raise DatabaseError(f"cannot use the database URL: {problem}")


def _explain(error: Exception, url: str, creator: str) -> str | None:
    shown = display_url(url)
    if isinstance(error, DatabaseError):
        return str(error)
    if isinstance(error, psycopg.errors.UndefinedTable) or (
            isinstance(error, sqlite3.OperationalError) and str(error).startswith("no such table")):
        first_line = str(error).splitlines()[0]  # PostgreSQL adds the statement, marked, below
        return (f"{shown} holds none of wirefeed's tables yet ({first_line}); "
                f"{creator} creates them when it first starts")
    if isinstance(error, (*TRANSIENT_ERRORS, PoolTimeout)):
        return f"cannot use {shown}: {' '.join(str(error).split())}"
    if isinstance(error, sqlite3.DatabaseError) and str(error) == "file is not a database":
        return f"cannot use {shown}: the file is not an SQLite database"
    return None


_QUERY_PASSWORD = re.compile(r"((?:^|[?&])password=)[^&#]*")


def display_url(url: str) -> str:
    """The URL with its password masked, for messages (in the user part, or libpq's ``?password=``)."""
    parts = urlsplit(url)
    if parts.password is not None:
        host = parts.netloc.rpartition("@")[2]
        url = url.replace(f"//{parts.netloc}", f"//{parts.username or ''}:***@{host}", 1)
    return _QUERY_PASSWORD.sub(r"\1***", url)


def as_datetime(value: Any) -> datetime | None:
    """Timestamps come back as datetime from PostgreSQL and as ISO text from SQLite."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def _open_sqlite(url: str, *, read_only: bool, create: bool) -> sqlite3.Connection:
    path = url.split("sqlite:///", 1)[1] if url.startswith("sqlite:///") else ""
    if not path:
        raise DatabaseError(f"SQLite URL must look like sqlite:///path/to/file.db, got {url!r}")
    if path != ":memory:" and not create and not Path(path).is_file():
        raise DatabaseError(f"no SQLite database at {path}: nothing has been stored there yet, or the "
                            "database URL names another file")
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    # Stored as ISO 8601 text: sortable, and read back by as_datetime().
    sqlite3.register_adapter(datetime, datetime.isoformat)
    target = f"{Path(path).resolve().as_uri()}?mode=ro" if read_only else path
    conn = sqlite3.connect(target, check_same_thread=False, isolation_level=None, timeout=30, uri=read_only)
    if not read_only:
        _switch_to_wal(conn)
        conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=30000")
    conn.execute("PRAGMA foreign_keys=ON")
    # For migrations: SQLite's own lower() lowers ASCII only (the sink's 0006 fills a column with this).
    conn.create_function("wirefeed_fold", 1, fold_case, deterministic=True)
    return conn


def fold_case(text: str | None) -> str | None:
    """Text as case-insensitive filters compare it, the same on both engines: Unicode's lowercase (SQLite's own
    lower() lowers ASCII only; PostgreSQL's follows the database's locale, and ICU's, asked for by name, is
    this), with final sigma as sigma and the dotted capital I's lowercase as i: "ΤΑΣΣ" is "τασσ", "İHA" is
    "iha". None (SQL NULL) stays None."""
    if text is None:
        return None
    return text.lower().replace("\u03c2", "\u03c3").replace("i\u0307", "i")


def _switch_to_wal(conn: sqlite3.Connection, patience: float = 30.0) -> None:
    """WAL mode, a setting of the file made by its writers. Switching needs the file to itself for a moment,
    and SQLite answers "database is locked" at once, without waiting its busy timeout, when another process
    is switching the same file then: the three services started together on one embedded database."""
    deadline = time.monotonic() + patience
    delay = 0.01
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() + delay > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.5)


_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.(sqlite|postgresql)\.sql$")


def _migration_files(package: str, dialect: Dialect) -> list[tuple[int, str]]:
    folder = resources.files(package) / "migrations"
    found = []
    for entry in folder.iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match and match.group(2) == dialect:
            found.append((int(match.group(1)), entry.read_text()))
    return sorted(found)


def _split_statements(sql: str) -> list[str]:
    """Split a migration on ``;`` at line ends; bodies of triggers use ``END;`` on its own line."""
    statements, current = [], []
    for line in sql.splitlines():
        current.append(line)
        stripped = line.strip()
        if stripped.endswith(";") and not stripped.startswith("--"):
            text = "\n".join(current).strip()
            if _balanced(text):
                statements.append(text)
                current = []
    tail = "\n".join(current).strip()
    if tail and not all(line.strip().startswith("--") for line in current if line.strip()):
        statements.append(tail)
    return statements


def _balanced(text: str) -> bool:
    """A CREATE TRIGGER ... BEGIN ... END; statement is complete only at its END."""
    upper = text.upper()
    if "CREATE TRIGGER" not in upper:
        return True
    return upper.rstrip().endswith("END;")
