"""Metrics every stage shares."""

from prometheus_client import Counter, Gauge

DEAD_LETTERS = Counter(
    "wirefeed_dead_letters_total", "Messages sent to the dead-letter topic", ["stage", "error_class"]
)
MESSAGES_SHORTENED = Counter(
    "wirefeed_messages_shortened_total",
    "Messages shortened to fit the Kafka message size limit, by stage and the field emptied or cut",
    ["stage", "field"],
)
CONSUMER_LAG = Gauge(
    "wirefeed_consumer_lag_messages",
    "Messages not yet processed durably: the partition's end offset minus the consumer's durable position",
    ["topic", "partition"],
)
BATCHES_RETRIED = Counter(
    "wirefeed_batches_retried_total",
    "Batches rolled back and consumed again after a transient error (a database or broker away, a lock waited "
    "on too long), by stage and the error's class",
    ["stage", "error_class"],
)
POLL_FAILURES = Counter(
    "wirefeed_consumer_poll_failures_total",
    "Consumer polls that raised instead of returning records (a batch failing its CRC check, a topic or group "
    "the credentials may not read, an undecodable batch that could not be dead-lettered), by stage and the "
    "error's class; each is retried with backoff, nothing is skipped",
    ["stage", "error_class"],
)
RECORDS_EXPIRED = Counter(
    "wirefeed_consumer_records_expired_total",
    "Records a consumer never read because the broker had deleted them (retention, or a deletion) when it got "
    "to them; counted when it was moved past them to the earliest offset left",
    ["topic"],
)
MAIN_LOOP_AGE = Gauge(
    "wirefeed_main_loop_age_seconds",
    "Seconds since the service's main loop last came round (each consume loop turn; the poller's event loop): "
    "it grows while a call hangs, and at WIREFEED_LOOP_STALL_SECONDS liveness fails",
)
STARTUP_WAITING = Gauge(
    "wirefeed_startup_waiting",
    "1 while the service waits at start for this dependency (kafka, or its database: state_db, dedup_db or "
    "database), 0 once it is there. Its port answers meanwhile, so the target is up though the service does "
    "nothing yet",
    ["dependency"],
)
