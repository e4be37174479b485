-- Older pages that failed during a poll, as a JSON list of [url, when it first failed] pairs, oldest
-- first: a failed page no longer fails the poll (the newer pages are published at once), so several may
-- wait to be read again. The page 0004 remembered is kept, as failing since now.
ALTER TABLE poller_feeds ADD COLUMN missed_pages TEXT NOT NULL DEFAULT '[]';
UPDATE poller_feeds SET missed_pages = json_array(json_array(missed_page_url, strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now'))) WHERE missed_page_url IS NOT NULL;
ALTER TABLE poller_feeds DROP COLUMN missed_page_url;
