"""The poller's memory when many feeds answer with huge bodies at once (prints figures; not a test).

    .venv/bin/python bench/bench_body_budget.py [--feeds 48] [--mib 60]

A server on 127.0.0.1 answers every feed with a gzip-encoded body that decodes to ``--mib`` MiB (about
60 kB on the wire: a decompression bomb just under the 64 MiB cap each response has on its own), and one
poller process polls all the feeds at once (``WIREFEED_MAX_CONCURRENCY``'s 64 polls, no per-host limit).
Its peak resident memory (``ru_maxrss``) with the body budget at its default (256 MiB; ``--budget-mib``
for another, such as the Kubernetes config map's 160), against a budget too large to refuse anything (the
poller before the budget), each in a process of its own in this run.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import logging
import resource
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import structlog

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_sink import announce
from services.core.db import Database
from services.poller.budget import DEFAULT_LIMIT_BYTES
from services.poller.feeds import FeedConfig
from services.poller.fetch import Fetcher, FetchLimits
from services.poller.service import Poller
from services.poller.state import PollerStore

UNBOUNDED = 2**50


def serve(body: bytes) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


async def poll_all(feeds: int, mib: int, budget: int) -> dict[str, Any]:
    server = serve(gzip.compress(b"<rss>" + b" " * (mib * 2**20 - 12) + b"</rss>"))
    url = f"http://127.0.0.1:{server.server_address[1]}"
    configs = [FeedConfig(id=f"huge-{n}", url=f"{url}/{n}.xml") for n in range(feeds)]
    state = tempfile.TemporaryDirectory()
    store = PollerStore(Database(f"sqlite:///{state.name}/state.db"))
    store.migrate()
    poller = Poller(configs, store, Fetcher(FetchLimits(allow_private_networks=True), max_connections=64),
                    lambda items: None, per_host_concurrency=64, max_body_bytes_in_flight=budget)
    poller.load_states()
    try:
        outcomes = Counter(o.outcome for o in await asyncio.gather(*(poller.poll(feed) for feed in configs)))
    finally:
        await poller.fetcher.aclose()
        server.shutdown()
        state.cleanup()
    return {"outcomes": dict(outcomes), "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def measured(feeds: int, mib: int, budget: int) -> dict[str, Any]:
    """One run in a fresh process, so that its peak is its own."""
    run = subprocess.run([sys.executable, __file__, "--feeds", str(feeds), "--mib", str(mib), "--run", str(budget)],
                         capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--feeds", type=int, default=48)
    parser.add_argument("--mib", type=int, default=60, help="what each body decodes to (under the 64 MiB cap)")
    parser.add_argument("--budget-mib", type=int, default=DEFAULT_LIMIT_BYTES // 2**20)
    parser.add_argument("--run", type=int, help=argparse.SUPPRESS)  # one measured run, in this process
    args = parser.parse_args()
    if args.run is not None:
        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
        print(json.dumps(asyncio.run(poll_all(args.feeds, args.mib, args.run))))
        return 0
    announce("bench/bench_body_budget.py")
    print(f"{args.feeds} feeds polled at once, each body decoding to {args.mib} MiB; peak RSS of the poller process")
    bounded = measured(args.feeds, args.mib, args.budget_mib * 2**20)
    unbounded = measured(args.feeds, args.mib, UNBOUNDED)
    for name, run in ((f"budget {args.budget_mib} MiB", bounded),
                      ("no budget (before)", unbounded)):
        print(f"  {name:<26} peak {run['peak_mib']:7.0f} MiB   outcomes {run['outcomes']}")
    print(f"  peak without / with the budget: {unbounded['peak_mib'] / bounded['peak_mib']:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
