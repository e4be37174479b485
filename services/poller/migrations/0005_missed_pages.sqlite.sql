-- Older pages that failed during a poll, as a JSON list of URLs, oldest first: a failed page no longer
-- fails the poll (the newer pages are published at once), so several may wait to be read again.
ALTER TABLE poller_feeds ADD COLUMN missed_pages TEXT NOT NULL DEFAULT '[]';
UPDATE poller_feeds SET missed_pages = json_array(missed_page_url) WHERE missed_page_url IS NOT NULL;
ALTER TABLE poller_feeds DROP COLUMN missed_page_url;
