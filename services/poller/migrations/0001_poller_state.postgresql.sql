CREATE TABLE poller_feeds (
  feed_id TEXT PRIMARY KEY,
  url TEXT NOT NULL,
  effective_url TEXT,
  etag TEXT,
  last_modified TEXT,
  body_hash TEXT,
  last_success_at TIMESTAMPTZ,
  last_attempt_at TIMESTAMPTZ,
  next_attempt_at TIMESTAMPTZ,
  consecutive_failures INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  gone BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE TABLE poller_seen_items (
  feed_id TEXT NOT NULL,
  item_id TEXT NOT NULL,
  content_hash TEXT NOT NULL,
  first_seen_at TIMESTAMPTZ NOT NULL,
  last_published_at TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (feed_id, item_id)
);
