"""How wirefeed's PostgreSQL sessions are set up comes from the environment and reaches every database
a service opens. tests/integration/test_transaction_pooling.py runs them behind a real PgBouncer."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from services.core.config import CommonSettings, SessionOptions
from services.normalizer.settings import NormalizerSettings
from services.poller.settings import PollerSettings
from services.sink.settings import SinkSettings

SERVICES = Path(__file__).resolve().parents[2] / "services"
#: The demo's database is always a SQLite file of its own, which takes no session settings.
EMBEDDED_ONLY = {SERVICES / "demo" / "__init__.py"}


def test_session_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIREFEED_DATABASE_LOCK_TIMEOUT_SECONDS", "4")
    monkeypatch.setenv("WIREFEED_DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_SECONDS", "0")
    monkeypatch.setenv("WIREFEED_DATABASE_TRANSACTION_POOLING", "true")
    assert CommonSettings().database_session == SessionOptions(lock_timeout=4, idle_in_transaction_timeout=0,
                                                               transaction_pooling=True)


def test_the_defaults_are_the_documented_timeouts() -> None:
    assert CommonSettings().database_session == SessionOptions(lock_timeout=15, idle_in_transaction_timeout=30,
                                                               transaction_pooling=False)


@pytest.mark.parametrize("seconds", ["-1", "inf", "nan", "1e10"])  # PostgreSQL takes up to 2**31 - 1 ms
def test_timeouts_postgresql_cannot_take_are_refused(monkeypatch: pytest.MonkeyPatch, seconds: str) -> None:
    monkeypatch.setenv("WIREFEED_DATABASE_LOCK_TIMEOUT_SECONDS", seconds)
    with pytest.raises(ValueError, match="database_lock_timeout_seconds"):
        CommonSettings()


@pytest.mark.parametrize(("name", "value", "settings"), [
    ("WIREFEED_RETENTION_DAYS", "100000000", SinkSettings),  # overflowed the retention pass's date
    ("WIREFEED_DEDUP_WINDOW_DAYS", "1e12", NormalizerSettings),
    ("WIREFEED_SEEN_ITEMS_RETENTION_DAYS", "99999999", PollerSettings),
    ("WIREFEED_CONNECT_TIMEOUT_SECONDS", "inf", PollerSettings),
])
def test_ages_and_durations_no_date_or_timer_can_hold_are_refused_at_start(
        monkeypatch: pytest.MonkeyPatch, name: str, value: str, settings: type[CommonSettings]) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=name.removeprefix("WIREFEED_").lower()):
        settings()


def test_every_database_a_service_opens_takes_the_session_settings() -> None:
    """A Database opened without them would ignore WIREFEED_DATABASE_TRANSACTION_POOLING and the timeouts."""
    without = []
    for path in SERVICES.rglob("*.py"):
        if path == SERVICES / "core" / "db.py" or path in EMBEDDED_ONLY:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and getattr(node.func, "id", None) in {"Database", "run_command"}
                    and "session" not in {keyword.arg for keyword in node.keywords}):
                without.append(f"{path.relative_to(SERVICES)}:{node.lineno}")
    assert without == []
