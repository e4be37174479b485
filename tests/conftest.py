"""Fixtures for the real infrastructure: Apache Kafka from the project's script, PostgreSQL, feeds.

Kafka: ``WIREFEED_KAFKA_BOOTSTRAP_SERVERS`` (or ``KAFKA_BOOTSTRAP_SERVERS``) names a running cluster;
otherwise the session starts one with ``deploy/kafka/kafka.sh``. PostgreSQL: ``WIREFEED_TEST_DATABASE_URL``
(``deploy/postgres/postgres.sh up`` prints it); each test that asks gets a database of its own.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from hypothesis import settings

from tests.helpers import FeedServer, scratch_database

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
KAFKA_SCRIPT = ROOT / "deploy" / "kafka" / "kafka.sh"

# The fuzz tests draw the same examples on every run, so CI passes or fails on the code, not on luck;
# HYPOTHESIS_PROFILE=explore draws new ones (a random search found the "Read more" tail across a link).
settings.register_profile("fixed", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fixed"))


@pytest.fixture(autouse=True)
def _logging_as_it_was() -> Iterator[None]:
    """Commands run in-process configure logging (level, format) for the process: each test starts from
    the same configuration, whatever the one before ran."""
    before = structlog.get_config()
    root = logging.getLogger()
    handlers, level, hooks = root.handlers[:], root.level, (sys.excepthook, threading.excepthook)
    yield
    structlog.configure(**before)
    root.handlers, root.level = handlers, level
    sys.excepthook, threading.excepthook = hooks


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    configured = os.environ.get("WIREFEED_KAFKA_BOOTSTRAP_SERVERS") or os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if configured:
        return configured
    result = subprocess.run([str(KAFKA_SCRIPT), "up", "--dir", str(ROOT / ".wirefeed" / "kafka")],
                            check=True, capture_output=True, text=True, timeout=600)
    return result.stdout.strip().splitlines()[-1]


@pytest.fixture
def topic_prefix() -> str:
    return f"test-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    url = os.environ.get("WIREFEED_TEST_DATABASE_URL")
    if not url:
        pytest.fail("WIREFEED_TEST_DATABASE_URL is not set: run `deploy/postgres/postgres.sh up` "
                    "(make test does) and export the URL it prints")
    return url


@pytest.fixture
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh, empty database for one test, dropped afterwards."""
    with scratch_database(postgres_admin_url, "wirefeed_t") as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'wirefeed.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Both store families, same test."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(fixture))


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    server = FeedServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.fail(f"{SHARED} is missing: the corpus and seed live beside the checkout")
    return SHARED
