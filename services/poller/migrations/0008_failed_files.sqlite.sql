-- Spooled files set aside (no document wirefeed reads, or too large), with the reason: an agency's server
-- is not ours to write it on, so `wirefeed feeds failed` reads it here. Kept as long as seen items are.
CREATE TABLE poller_failed_files (
  feed_id TEXT NOT NULL,
  name TEXT NOT NULL,
  reason TEXT NOT NULL,
  failed_at TEXT NOT NULL,
  PRIMARY KEY (feed_id, name)
);
CREATE INDEX poller_failed_files_failed_at ON poller_failed_files (failed_at);
