ALTER TABLE poller_feeds ADD COLUMN mean_item_gap_seconds DOUBLE PRECISION;
ALTER TABLE poller_feeds ADD COLUMN last_new_item_at TIMESTAMPTZ;
-- A feed's lease: held (owner set) while a poller polls it; released (owner '') with expires_at set to
-- the feed's next attempt, so "claimable" means "due, or abandoned by a poller that died".
CREATE TABLE poller_leases (
  feed_id TEXT PRIMARY KEY,
  owner TEXT NOT NULL DEFAULT '',
  expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX poller_leases_owner ON poller_leases (owner);
INSERT INTO poller_leases (feed_id, owner, expires_at)
  SELECT feed_id, '', COALESCE(next_attempt_at, TIMESTAMPTZ '1970-01-01 00:00:00+00') FROM poller_feeds;
CREATE TABLE poller_websub (
  feed_id TEXT PRIMARY KEY,
  hub_url TEXT NOT NULL,
  topic_url TEXT NOT NULL,
  secret TEXT NOT NULL,
  state TEXT NOT NULL,
  lease_seconds INTEGER,
  requested_at TIMESTAMPTZ NOT NULL,
  expires_at TIMESTAMPTZ
);
