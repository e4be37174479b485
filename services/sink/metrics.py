"""The sink's Prometheus metrics."""

from prometheus_client import Counter, Gauge, Histogram

ROWS_WRITTEN = Counter("wirefeed_sink_rows_written_total", "Articles written, by outcome", ["outcome"])
BATCH_SIZE = Histogram(
    "wirefeed_sink_batch_size", "Articles per database transaction",
    buckets=(1, 5, 10, 25, 50, 100, 250, 500, 1000),
)
BATCH_DURATION = Histogram(
    "wirefeed_sink_batch_duration_seconds", "Time to write one batch",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
END_TO_END_LATENCY = Histogram(
    "wirefeed_end_to_end_latency_seconds",
    "From the item's fetch to its commit in storage, of each article stored (not those already stored)",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
DB_ERRORS = Counter("wirefeed_sink_database_errors_total", "Database errors, by class", ["error_class"])
STORED_OFFSET = Gauge(
    "wirefeed_sink_stored_offset", "Next offset stored in the database, per partition", ["partition"]
)
RETENTION_DELETED = Counter(
    "wirefeed_sink_retention_deleted_total", "Articles deleted because they were older than the retention age"
)
READ_API_REQUESTS = Counter(
    "wirefeed_read_api_requests_total", "Read API requests answered, by route (as in the OpenAPI document) and status",
    ["route", "status"],
)
READ_API_ANSWER_BYTES_IN_FLIGHT = Gauge(
    "wirefeed_read_api_answer_bytes_in_flight",
    "Bytes of read API answers written or waiting for their clients to take them "
    "(bounded by WIREFEED_READ_API_MAX_ANSWER_BYTES_IN_FLIGHT)",
)
READ_API_DURATION = Histogram(
    "wirefeed_read_api_request_duration_seconds", "Time to answer a read API request, by route", ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
