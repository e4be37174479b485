"""``wirefeed feeds forget``: delete the state the poller keeps of feeds taken out of the feeds file.

A removed feed's state stays, as after a restart, so that a feed put back resumes where it was; this
command ends that for the feeds named (or every feed the feeds file no longer configures). Feeds still
configured are refused: a running poller would recreate their state and publish their items again.
"""

from __future__ import annotations

import sys

from services.core.config import DEFAULT_SESSION, SessionOptions
from services.core.db import Database, run_command
from services.poller.state import PollerStore


def run_forget(state_url: str, feed_ids: list[str], configured: set[str], *, unconfigured: bool,
               dry_run: bool, session: SessionOptions = DEFAULT_SESSION) -> int:
    """0 when every feed asked for was forgotten (or would be), 1 otherwise, with the reason on stderr."""
    status = 0

    def forget(db: Database) -> None:
        nonlocal status
        store = PollerStore(db)
        known = set(store.feed_ids())
        chosen = sorted(known - configured) if unconfigured else feed_ids
        for feed_id in chosen:
            if feed_id in configured:
                print(f"wirefeed feeds forget: {feed_id} is in the feeds file; take it out first", file=sys.stderr)
                status = 1
            elif feed_id not in known:
                print(f"wirefeed feeds forget: the state database holds nothing of {feed_id}", file=sys.stderr)
                status = 1
            elif dry_run:
                print(f"would forget {feed_id}")
            else:
                print(f"forgot {feed_id}: {store.forget_feed(feed_id)} remembered item(s), validators, schedule")
        if not chosen:
            print("nothing to forget: every feed in the state database is in the feeds file")

    code = run_command(state_url, forget, creator="poller", read_only=dry_run, session=session)
    return code or status
