"""``wirefeed feeds backfill``: read feeds' archives now, as far back as their pages go (bounded).

A regular poll reads older RFC 5005 pages only while a burst of unseen items goes on. Backfill forgets the
feeds' validators and body hashes, fetches them in full, and follows ``next`` pages up to ``max_pages``
whatever was seen; only items that are new or edited are published, so running it twice adds nothing.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence

from rich.progress import Progress

from services.core.db import Database
from services.core.kafka import EXIT_FLUSH_SECONDS, close_producer, create_topics_now
from services.core.logging import configure_logging
from services.poller.feeds import FeedConfig, load_feeds
from services.poller.fetch import make_fetcher
from services.poller.service import KafkaPublisher, Poller, PollOutcome, Publish, publishing_producer
from services.poller.settings import PollerSettings
from services.poller.state import PollerStore


async def backfill_feeds(feeds: Sequence[FeedConfig], poller: Poller, *, show_progress: bool) -> list[PollOutcome]:
    for feed in feeds:  # forget validators and body hash: the next fetch is read and parsed in full
        state = poller.store.feed_state(feed.id, str(feed.url))
        poller.store.save_feed_state(state.but(etag=None, last_modified=None, body_hash=None))
    poller.load_states([feed.id for feed in feeds])
    outcomes = []
    with Progress(disable=not show_progress) as progress:
        task = progress.add_task("backfilling feeds", total=len(feeds))
        for feed in feeds:
            outcomes.append(await poller.poll(feed))
            progress.advance(task)
    return outcomes


def run_backfill(feed_ids: Sequence[str], max_pages: int) -> int:
    settings = PollerSettings()
    # On stderr: stdout is the outcome lines, for a script to read (unconfigured, structlog prints there).
    configure_logging(settings.log_level, settings.log_format, service="backfill")
    feeds = [feed for feed in load_feeds(settings.feeds_file).feeds if not feed_ids or feed.id in feed_ids]
    unknown = set(feed_ids) - {feed.id for feed in feeds}
    if unknown:
        print(f"wirefeed feeds backfill: not in {settings.feeds_file}: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    create_topics_now(settings, settings.topics.all())
    db = Database(settings.state_url, session=settings.database_session)
    PollerStore(db).migrate()
    producer = publishing_producer(settings, role="backfill")
    try:
        outcomes = asyncio.run(_backfill(settings, feeds, db, KafkaPublisher(producer, settings.topics.raw_items,
                                                                                  max_message_bytes=settings.max_message_bytes),
                                         max_pages))
    finally:
        close_producer(producer, EXIT_FLUSH_SECONDS)  # what it could not deliver stays unmarked
        db.close()
    for outcome in outcomes:
        print(f"{outcome.feed_id}\t{outcome.outcome}\t{outcome.published} published")
    return 0 if all(o.outcome in ("ok", "unchanged", "not_modified") for o in outcomes) else 1


async def _backfill(settings: PollerSettings, feeds: list[FeedConfig], db: Database, publish: Publish,
                    max_pages: int) -> list[PollOutcome]:
    fetcher = make_fetcher(settings)
    poller = Poller(feeds, PollerStore(db), fetcher, publish, max_pages=max_pages, backfill=True,
                    max_body_bytes_in_flight=settings.max_body_bytes_in_flight)
    try:
        return await backfill_feeds(feeds, poller, show_progress=sys.stderr.isatty())
    finally:
        await fetcher.aclose()
