"""Integration fixtures: the sink's store on both engines, and the fault tests' PostgreSQL cluster.

Stopping a database mid-stream must not disturb anyone else using PostgreSQL, so the fault tests get a
cluster of their own, ``faults`` on port 5433, created (``pg_createcluster``) and provisioned on first use
by ``deploy/postgres/postgres.sh --cluster faults --port 5433`` and stopped and started with
``pg_ctlcluster``. The shared cluster on 5432 is never stopped.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.core.db import Database
from services.sink.store import SqlStore
from tests.helpers import scratch_database

ROOT = Path(__file__).resolve().parents[2]
POSTGRES = ROOT / "deploy" / "postgres" / "postgres.sh"


@pytest.fixture
def store(database_url: str) -> Iterator[SqlStore]:
    """The sink's store, migrated, on SQLite and on PostgreSQL."""
    store = SqlStore(Database(database_url))
    store.migrate()
    yield store
    store.close()


class FaultsCluster:
    name, port = "faults", 5433

    def __init__(self) -> None:
        if self.name == "main" or self.port == 5432:  # a guard against an edit that would hit everyone
            raise AssertionError("the fault tests must never stop the shared cluster")
        self.admin_url = ""

    def up(self) -> FaultsCluster:
        self.admin_url = self._script("up").splitlines()[-1]
        return self

    def stop(self) -> None:
        subprocess.run(["pg_ctlcluster", self._version(), self.name, "stop", "-m", "fast"], check=True,
                       capture_output=True, timeout=60)

    def start(self) -> None:
        self._script("start")  # starts it and waits until it accepts connections

    def _version(self) -> str:
        listing = subprocess.run(["pg_lsclusters", "--no-header"], check=True, capture_output=True, text=True)
        for line in listing.stdout.splitlines():
            fields = line.split()
            if fields[1] == self.name:
                return fields[0]
        raise AssertionError(f"no cluster named {self.name}")

    def _script(self, command: str) -> str:
        return subprocess.run([str(POSTGRES), command, "--cluster", self.name, "--port", str(self.port)],
                              check=True, capture_output=True, text=True, timeout=300).stdout.strip()


@pytest.fixture(scope="session")
def faults_cluster() -> FaultsCluster:
    return FaultsCluster().up()


@pytest.fixture
def faults_database(faults_cluster: FaultsCluster) -> Iterator[str]:
    """A fresh database on the faults cluster; the cluster is running again when the test ends."""
    with scratch_database(faults_cluster.admin_url, "wirefeed_f") as url:
        yield url
        faults_cluster.start()
