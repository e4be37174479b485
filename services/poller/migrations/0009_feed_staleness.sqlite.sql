-- What WirefeedFeedStale needs to survive a restart (the poller exports it from here at start):
-- first_attempt_at, when a poller first tried the feed at its URL, for a feed never polled successfully;
-- hinted_wait_seconds, how long the last success's server (max-age, Expires) or document (ttl) asked to be
-- left alone, which stretches the interval the scheduler waits.
ALTER TABLE poller_feeds ADD COLUMN first_attempt_at TEXT;
ALTER TABLE poller_feeds ADD COLUMN hinted_wait_seconds REAL;
-- Feeds tried before: their first attempt is unknown, their latest stands in (the alert fires later, never
-- sooner). The wait a feed's last success set (its next attempt, jittered by up to 10%, less its success)
-- stands in for the hint until its next success stores the real one: without it a feed whose ttl is
-- longer than three intervals would look stale for up to a day after the upgrade.
UPDATE poller_feeds SET first_attempt_at = last_attempt_at;
UPDATE poller_feeds SET hinted_wait_seconds = (julianday(next_attempt_at) - julianday(last_success_at)) * 86400 / 0.9
  WHERE consecutive_failures = 0 AND gone = 0 AND julianday(next_attempt_at) > julianday(last_success_at);
