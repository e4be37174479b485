"""Metrics every stage shares."""

from prometheus_client import Counter

DEAD_LETTERS = Counter(
    "wirefeed_dead_letters_total", "Messages sent to the dead-letter topic", ["stage", "error_class"]
)
