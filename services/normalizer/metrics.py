"""The normalizer's Prometheus metrics (closed label sets)."""

from prometheus_client import Counter, Gauge, Histogram

ITEMS_CONSUMED = Counter("wirefeed_normalizer_items_consumed_total", "Raw items consumed")
ARTICLES_PUBLISHED = Counter(
    "wirefeed_normalizer_articles_published_total", "Articles published, by verdict", ["verdict"]
)
DUPLICATES = Counter(
    "wirefeed_normalizer_duplicates_total", "Items dropped as duplicates, by reason", ["reason"]
)
ITEMS_SKIPPED = Counter(
    "wirefeed_normalizer_items_skipped_total",
    "Raw items that are not articles (no_text: neither a headline nor any text, as pictures without captions)",
    ["reason"],
)
BATCH_DURATION = Histogram(
    "wirefeed_normalizer_batch_duration_seconds", "Time to normalize, deduplicate and publish one batch",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
BOILERPLATE_ENTRIES = Gauge(
    "wirefeed_normalizer_boilerplate_entries",
    "Paragraph counts and item keys the learned boilerplate model holds (at most WIREFEED_BOILERPLATE_MAX_ENTRIES, "
    "or 150 a source when sources are more than that allows)",
)
