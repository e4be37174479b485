"""Soak: does a long-lived pipeline keep its memory flat?

The three services run as `wirefeed run` runs them (child processes, each its own settings from the
environment) against the real broker at WIREFEED_KAFKA_BOOTSTRAP_SERVERS, on topics of their own deleted
at the end, storing into SQLite (or --database-url). A feed farm on 127.0.0.1 serves --feeds feeds every
--interval seconds: one in ten answers each poll with --new-items new items, real articles from the shared
corpus (each lead made unique, so most are new stories and the rest copies of earlier ones); the others
answer 304. Every --sample seconds each service's resident memory (VmRSS) and the items that went
through are printed; at the end, each service's growth over the second half of the run, which is where a
leak shows once caches and pools have filled, and whether SIGTERM stopped each one cleanly.

    .venv/bin/python bench/soak.py                       # 10 minutes, 1,000 feeds, SQLite
    .venv/bin/python bench/soak.py --minutes 60 --database-url postgresql://...
"""

from __future__ import annotations

import argparse
import asyncio
import email.utils
import json
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kafka import KafkaAdminClient  # noqa: E402

from bench import feed_farm  # noqa: E402
from services.core.config import CommonSettings  # noqa: E402
from services.core.kafka import broker_reachable  # noqa: E402
from services.core.supervise import Pipeline, metric_total, scrape  # noqa: E402

ARTICLES = ROOT.parent / "shared" / "corpus" / "article-extraction-benchmark" / "ground-truth.json"
SERVICES = ("poller", "normalizer", "sink")
#: What went through each service: raw items published, raw items normalized, articles stored.
COUNTERS: dict[str, tuple[str, dict[str, str]]] = {
    "poller": ("wirefeed_poller_items_published_total", {}),
    "normalizer": ("wirefeed_normalizer_items_consumed_total", {}),
    "sink": ("wirefeed_sink_rows_written_total", {"outcome": "inserted"}),
}
#: Growth over the second half within this much (MiB, or share of the half-way figure) counts as flat.
FLAT_MIB, FLAT_SHARE = 8.0, 0.05


# --- the farm ----------------------------------------------------------------------------------------

def article_bodies() -> list[list[str]]:
    texts = [str(value["articleBody"]) for value in json.loads(ARTICLES.read_text()).values()]
    paragraphs = [[p.strip() for p in text.split("\n") if len(p.strip()) > 40] for text in texts]
    return [p[:12] for p in paragraphs if len(p) >= 3]


class Farm:
    """Feeds on 127.0.0.1 in a thread of this process: every tenth serves new items at every poll, the
    others 304 once they have been fetched."""

    def __init__(self, new_items: int, bodies: list[list[str]]) -> None:
        self.new_items, self.bodies = new_items, bodies
        self.served: Counter[int] = Counter()
        self.port = 0
        self._ready = threading.Event()

    def start(self) -> Farm:
        threading.Thread(target=lambda: asyncio.run(feed_farm.serve(self.answer, self._listening)),
                         daemon=True).start()
        self._ready.wait(10)
        return self

    def document(self, feed: int) -> bytes:
        self.served[feed] += 1
        newest = self.served[feed] * self.new_items
        items = "".join(self._item(feed, n) for n in range(newest - 1, max(newest - 2 * self.new_items, 0) - 1, -1))
        return (f"<?xml version='1.0' encoding='UTF-8'?><rss version='2.0'><channel><title>Outlet {feed}"
                f"</title><link>https://outlet{feed}.example/</link><description>soak</description>{items}"
                "</channel></rss>").encode()

    def _item(self, feed: int, n: int) -> str:
        body = self.bodies[(feed * 7919 + n * 104729) % len(self.bodies)]
        html = "".join(f"<p>{_escape(p)}</p>" for p in [f"Outlet {feed} filed story {n}.", *body])
        return (f"<item><title>{_escape(body[0][:90])}</title><link>https://outlet{feed}.example/{n}</link>"
                f"<guid>{feed}-{n}</guid><pubDate>{email.utils.format_datetime(datetime.now(UTC))}</pubDate>"
                f"<description>{_escape(html)}</description></item>")

    def answer(self, feed: int, if_none_match: str | None) -> bytes:
        etag = f'"{feed}"'
        if feed % 10 and if_none_match == etag:
            return feed_farm.not_modified(etag)
        return feed_farm.feed_response(self.document(feed), etag if feed % 10 else None)

    def _listening(self, port: int) -> None:
        self.port = port
        self._ready.set()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --- the run -----------------------------------------------------------------------------------------

def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def processed(pipeline: Pipeline) -> dict[str, int]:
    counts = {}
    for name in SERVICES:
        metric, labels = COUNTERS[name]
        counts[name] = int(metric_total(scrape(pipeline.port(name)), metric, **labels))
    return counts


Sample = tuple[float, dict[str, float], dict[str, int]]  # seconds in, MiB by service, items by service


def run(args: argparse.Namespace, tmp: Path) -> tuple[list[Sample], bool]:
    """The samples, and whether SIGTERM stopped every service with exit code 0."""
    farm = Farm(args.new_items, article_bodies()).start()
    feeds_file = tmp / "feeds.yaml"
    feeds_file.write_text("feeds:\n" + "".join(
        f"  - id: outlet{n}\n    url: http://127.0.0.1:{farm.port}/{n}.xml\n    interval: {args.interval:g}\n"
        for n in range(args.feeds)))
    database = args.database_url or f"sqlite:///{tmp}/wirefeed.db"
    env = {"WIREFEED_TOPIC_PREFIX": args.prefix, "WIREFEED_FEEDS_FILE": str(feeds_file),
           "WIREFEED_DATABASE_URL": database, "WIREFEED_STATE_DATABASE_URL": f"sqlite:///{tmp}/state.db",
           "WIREFEED_DEDUP_DATABASE_URL": args.database_url or f"sqlite:///{tmp}/dedup.db",
           "WIREFEED_ALLOW_PRIVATE_NETWORKS": "true", "WIREFEED_PER_HOST_CONCURRENCY": "16",
           "WIREFEED_LOG_LEVEL": "warning"}
    env.update({f"WIREFEED_{name.upper()}_METRICS_PORT": str(port)
                for name, port in zip(SERVICES, args.ports, strict=True)})
    pipeline = Pipeline(env).start()
    samples: list[Sample] = []
    try:
        pipeline.wait_ready(timeout=120)
        started = time.monotonic()
        end = started + args.minutes * 60
        while (now := time.monotonic()) < end:
            if not all(pipeline.alive().values()):
                raise SystemExit(f"a service exited: {pipeline.alive()}")
            memory = {name: rss_mib(process.pid) for name, process in pipeline.processes.items()}
            samples.append((now - started, memory, processed(pipeline)))
            print_sample(*samples[-1])
            time.sleep(min(args.sample, max(end - time.monotonic(), 0)))
        memory = {name: rss_mib(process.pid) for name, process in pipeline.processes.items()}
        samples.append((time.monotonic() - started, memory, processed(pipeline)))
        print_sample(*samples[-1])
    finally:
        codes = pipeline.stop(timeout=60)
        print(f"  stop (SIGTERM)  {', '.join(f'{name} exit {code}' for name, code in codes.items())}")
    return samples, all(code == 0 for code in codes.values())


def print_sample(elapsed: float, memory: dict[str, float], counts: dict[str, int]) -> None:
    print(f"  {elapsed / 60:6.1f} min  " + "  ".join(f"{name} {memory[name]:6.1f} MiB" for name in SERVICES)
          + f"   published {counts['poller']:>7}  normalized {counts['normalizer']:>7}  stored {counts['sink']:>7}")


def verdict(samples: list[Sample]) -> bool:
    half = min(samples, key=lambda sample: abs(sample[0] - samples[-1][0] / 2))
    flat = True
    print("  second half (a leak shows here, once caches and pools have filled):")
    for name in SERVICES:
        grown = samples[-1][1][name] - half[1][name]
        ok = grown <= max(FLAT_MIB, FLAT_SHARE * half[1][name])
        flat &= ok
        print(f"    {name:<11} {half[1][name]:6.1f} -> {samples[-1][1][name]:6.1f} MiB ({grown:+.1f} MiB, "
              f"{grown / half[1][name]:+.1%}) {'flat' if ok else 'GROWING'}")
    return flat


def delete_topics(prefix: str) -> None:
    settings = CommonSettings(topic_prefix=prefix)
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers.split(","))
    try:
        existing = set(admin.list_topics())
        admin.delete_topics([topic for topic in settings.topics.all() if topic in existing])
    finally:
        admin.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--interval", type=float, default=30.0, help="each feed's poll interval, seconds")
    parser.add_argument("--new-items", type=int, default=10, help="new items a changed feed serves per poll")
    parser.add_argument("--sample", type=float, default=30.0, help="seconds between samples")
    parser.add_argument("--database-url", help="where articles and dedup state go (default: SQLite files)")
    parser.add_argument("--ports", type=int, nargs=3, default=[19401, 19402, 19403], metavar="PORT",
                        help="the poller's, normalizer's and sink's metrics ports")
    args = parser.parse_args()
    args.prefix = f"soak-{uuid.uuid4().hex[:8]}"
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    if not broker_reachable(CommonSettings())():
        raise SystemExit(f"no Kafka broker at {CommonSettings().kafka_bootstrap_servers}")
    rate = args.feeds / 10 * args.new_items / args.interval
    print(f"wirefeed soak: {args.minutes:g} min, {args.feeds} feeds every {args.interval:g} s, one in ten with "
          f"{args.new_items} new items a poll (~{rate:.0f} items/s), topics {args.prefix}.*, "
          f"{'PostgreSQL' if args.database_url else 'SQLite'}")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            samples, stopped_cleanly = run(args, Path(tmp))
    finally:
        delete_topics(args.prefix)
    return 0 if verdict(samples) and stopped_cleanly else 1


if __name__ == "__main__":
    raise SystemExit(main())
