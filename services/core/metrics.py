"""Metrics every stage shares."""

from prometheus_client import Counter, Gauge

DEAD_LETTERS = Counter(
    "wirefeed_dead_letters_total", "Messages sent to the dead-letter topic", ["stage", "error_class"]
)
CONSUMER_LAG = Gauge(
    "wirefeed_consumer_lag_messages",
    "Messages not yet processed durably: the partition's end offset minus the consumer's durable position",
    ["topic", "partition"],
)
