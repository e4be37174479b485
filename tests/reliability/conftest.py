"""Infrastructure of the fault suite: its own brokers and its own PostgreSQL cluster, so that killing
or stopping them disturbs nothing else. The fault table prints at the end of the run."""

from __future__ import annotations

import random
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import scratch_database
from tests.reliability.harness import RESULTS

ROOT = Path(__file__).resolve().parents[2]
KAFKA = ROOT / "deploy" / "kafka" / "kafka.sh"
POSTGRES = ROOT / "deploy" / "postgres" / "postgres.sh"


class Cluster:
    def __init__(self, directory: Path, nodes: int, port: int) -> None:
        self.directory, self.nodes, self.port = directory, nodes, port
        self.bootstrap = ""

    def _run(self, *args: str) -> str:
        result = subprocess.run([str(KAFKA), *args, "--dir", str(self.directory)], check=True,
                                capture_output=True, text=True, timeout=300)
        return result.stdout.strip()

    def up(self) -> Cluster:
        self.bootstrap = self._run("up", "--nodes", str(self.nodes), "--port", str(self.port)).splitlines()[-1]
        return self

    def kill(self, node: int) -> None:
        self._run("kill", str(node))

    def start(self, node: int) -> None:
        self._run("start", str(node))

    def down(self) -> None:
        self._run("down", "--wipe")


@pytest.fixture(scope="session")
def single_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    cluster = Cluster(tmp_path_factory.mktemp("kafka-single"), 1, 19092).up()
    yield cluster
    cluster.down()


@pytest.fixture(scope="session")
def three_brokers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    cluster = Cluster(tmp_path_factory.mktemp("kafka-three"), 3, 29092).up()
    yield cluster
    cluster.down()


class PostgresCluster:
    name, port = "reliability", 5434

    def _run(self, *args: str) -> str:
        return subprocess.run([str(POSTGRES), *args, "--cluster", self.name, "--port", str(self.port)],
                              check=True, capture_output=True, text=True, timeout=300).stdout.strip()

    def up(self) -> str:
        return self._run("up").splitlines()[-1]

    def stop(self) -> None:
        self._run("stop")

    def start(self) -> None:
        self._run("start")


@pytest.fixture(scope="session")
def fault_postgres() -> PostgresCluster:
    return PostgresCluster()


@pytest.fixture
def fault_database(fault_postgres: PostgresCluster) -> Iterator[str]:
    admin = fault_postgres.up()
    with scratch_database(admin, "wirefeed_f") as url:
        yield url
        fault_postgres.start()


@pytest.fixture
def rng() -> random.Random:
    return random.Random(20261128)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if RESULTS.rows:
        terminalreporter.write_sep("=", "wirefeed fault table")
        terminalreporter.write_line(RESULTS.table())
