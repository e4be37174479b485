-- The older page a burst gave up on (it failed several polls in a row): retried at later polls until it
-- answers (its items are then published) or is gone (404, 410).
ALTER TABLE poller_feeds ADD COLUMN missed_page_url TEXT;
