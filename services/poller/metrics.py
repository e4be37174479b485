"""The poller's Prometheus metrics. Feed ids are bounded by the feeds file, so they may be labels."""

from prometheus_client import Counter, Gauge, Histogram

FETCHES = Counter(
    "wirefeed_poller_fetches_total",
    "Feed polls by outcome: ok, not_modified, unchanged, gone, or an error class (http_status, timeout, "
    "transport, blocked_address, invalid_url, too_large, over_budget, redirect_loop, parse_error, publish_error, "
    "spool_error, sftp_error, ftp_error, imap_error, token_error)",
    ["feed", "outcome"],
)
FETCH_DURATION = Histogram(
    "wirefeed_poller_fetch_duration_seconds", "Time to fetch one feed",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
FETCHED_BYTES = Counter("wirefeed_poller_fetched_bytes_total", "Response body bytes fetched", ["feed"])
ITEMS_PUBLISHED = Counter(
    "wirefeed_poller_items_published_total", "Raw items published to Kafka", ["feed"]
)
ITEMS_SEEN = Counter(
    "wirefeed_poller_items_parsed_total", "Items parsed from fetched feeds", ["feed"]
)
ITEMS_SKIPPED = Counter(
    "wirefeed_poller_items_skipped_total", "New or edited items not published: the feed's skip_items or "
    "keep_items refused them", ["feed"]
)
LAST_SUCCESS = Gauge(
    "wirefeed_poller_last_success_timestamp_seconds",
    "Unix time of the last successful poll, by any poller, as stored in the state database", ["feed"]
)
FIRST_ATTEMPT = Gauge(
    "wirefeed_poller_first_attempt_timestamp_seconds",
    "Unix time a poller first tried a feed (at its URL) that has never been polled successfully; gone once it is",
    ["feed"],
)
FEED_INTERVAL = Gauge(
    "wirefeed_poller_feed_interval_seconds",
    "How long the poller waits after a successful poll of the feed, before jitter: its interval (learned when "
    "adaptive), or longer where the last success's Cache-Control max-age, Expires or ttl asked (up to a day), "
    "within its min_interval and max_interval",
    ["feed"],
)
PAGES_SKIPPED = Counter(
    "wirefeed_poller_pages_skipped_total",
    "Older pages (RFC 5005 next links) that failed during a poll; the newer pages' items were published "
    "without theirs, and the page is read again at later polls", ["feed"]
)
PAGES_RECOVERED = Counter(
    "wirefeed_poller_pages_recovered_total",
    "Pages missed earlier that answered at a later poll, their items then published", ["feed"]
)
MISSED_PAGES = Gauge(
    "wirefeed_poller_missed_pages", "Older pages that failed and wait to be read again at the next poll", ["feed"]
)
PAGES_LOST = Counter(
    "wirefeed_poller_pages_lost_total",
    "Older pages lost: answered 404, 410 or with a document that is not a feed, unread for 7 days, or beyond "
    "the 10 a feed may have waiting; their items were not published", ["feed"]
)
CONSECUTIVE_FAILURES = Gauge(
    "wirefeed_poller_consecutive_failures", "Failed polls in a row", ["feed"]
)
BODY_BYTES_IN_FLIGHT = Gauge(
    "wirefeed_poller_body_bytes_in_flight",
    "Response body bytes the polls in flight hold, against WIREFEED_MAX_BODY_BYTES_IN_FLIGHT",
)
FEEDS_BY_STATE = Gauge("wirefeed_poller_feeds", "Feeds by state", ["state"])
WEBSUB_PUSHES = Counter(
    "wirefeed_poller_websub_pushes_total",
    "Content distributions received from WebSub hubs, by outcome (ok, bad_signature, unknown_subscription, "
    "parse_error, publish_error, busy, over_budget)",
    ["outcome"],
)
WEBSUB_REQUESTS = Counter(
    "wirefeed_poller_websub_subscribe_requests_total",
    "Subscribe and unsubscribe requests sent to hubs, by mode and result (accepted, refused, error), and "
    "subscriptions not asked for because the hub is not https (insecure_hub)",
    ["mode", "result"],
)
FEEDS_FILE_RELOADS = Counter(
    "wirefeed_poller_feeds_file_reloads_total",
    "The feeds file read again while running (it changed, or SIGHUP), by result: applied, or invalid (the "
    "poller kept polling the feeds it had)",
    ["result"],
)
FEEDS_FILE_VALID = Gauge(
    "wirefeed_poller_feeds_file_last_reload_successful",
    "1 when the feeds file as last read is valid and is what the poller polls; 0 when it is not, and the "
    "poller polls the feeds of the last valid one",
)
SEEN_ITEMS_FORGOTTEN = Counter(
    "wirefeed_poller_seen_items_forgotten_total",
    "Published items forgotten from the state database because their feed stopped listing them "
    "(WIREFEED_SEEN_ITEMS_RETENTION_DAYS)",
)
SPOOLED_FILES = Counter(
    "wirefeed_poller_spooled_files_total",
    "Files read from spool directory, SFTP and FTP feeds, by result: processed (items published; moved to "
    "processed/, or remembered on a server) or failed (not a document wirefeed reads, or too large; moved to "
    "failed/ with the reason beside it, or remembered and logged on a server)",
    ["feed", "result"],
)
ITEM_ENTRIES_DROPPED = Counter(
    "wirefeed_poller_item_entries_dropped_total",
    "Entries left out of an item's enclosures, categories, authors or providers past the first 200 (a hostile "
    "or broken item; its other entries are published)",
    ["feed", "field"],
)
FEED_ELEMENTS_DROPPED = Counter(
    "wirefeed_poller_feed_elements_dropped_total",
    "Elements of an ill-formed RSS or Atom document left out because feedparser could not place them (an image "
    "link holding markup, a text input inside an item); the rest of the document is read",
    ["feed"],
)

_PER_FEED = (FETCHES, FETCHED_BYTES, ITEMS_PUBLISHED, ITEMS_SKIPPED, ITEMS_SEEN, LAST_SUCCESS, FIRST_ATTEMPT,
             FEED_INTERVAL, PAGES_SKIPPED, PAGES_RECOVERED, MISSED_PAGES, PAGES_LOST, CONSECUTIVE_FAILURES,
             SPOOLED_FILES, ITEM_ENTRIES_DROPPED, FEED_ELEMENTS_DROPPED)


def forget_feed(feed_id: str) -> None:
    """Remove a feed's series, once it is no longer configured."""
    for metric in _PER_FEED:
        metric.remove_by_labels({"feed": feed_id})
