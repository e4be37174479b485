"""Services started together on one embedded SQLite database (the demo's poller, normalizer and sink)
open it at the same moment: each switches the file to WAL mode, and SQLite answers "database is locked"
at once, without waiting its busy timeout, to one that asks while another is switching. The sink died
at start-up that way in an end-to-end run."""

from __future__ import annotations

import multiprocessing
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path

from services.core.db import Database

PROCESSES = 6
FILES = 200  # without the retry, about 3% of the openings failed: some in every run of this size


def open_each(paths: list[Path], together: Barrier, outcomes: Queue[str]) -> None:
    for path in paths:
        together.wait(30)
        try:
            Database(f"sqlite:///{path}").close()
            outcomes.put("opened")
        except Exception as error:  # reported to the test, which names it
            outcomes.put(f"{type(error).__name__}: {error}")


def test_processes_opening_a_new_file_at_the_same_moment_all_open_it(tmp_path: Path) -> None:
    context = multiprocessing.get_context("forkserver")  # forked from a clean process, not this threaded one
    paths = [tmp_path / f"{n}.db" for n in range(FILES)]
    together, outcomes = context.Barrier(PROCESSES), context.Queue()
    children = [context.Process(target=open_each, args=(paths, together, outcomes)) for _ in range(PROCESSES)]
    for child in children:
        child.start()
    try:
        results = [outcomes.get(timeout=60) for _ in range(PROCESSES * FILES)]
    finally:
        for child in children:
            child.join(30)
    assert [result for result in results if result != "opened"] == []
