-- When each published item was last listed by its feed (refreshed at most daily), so that items a feed
-- dropped long ago can be forgotten: the table otherwise grows by every item of every feed, forever.
-- Rows from before this migration count as listed now; those still listed are refreshed at the next
-- change of their feed's body.
ALTER TABLE poller_seen_items ADD COLUMN last_seen_at TIMESTAMPTZ NOT NULL DEFAULT now();
ALTER TABLE poller_seen_items ALTER COLUMN last_seen_at DROP DEFAULT;
CREATE INDEX poller_seen_items_last_seen ON poller_seen_items (feed_id, last_seen_at);
