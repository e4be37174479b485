-- Older pages that failed during a poll, as a JSON list of [url, when it first failed] pairs, oldest
-- first: a failed page no longer fails the poll (the newer pages are published at once), so several may
-- wait to be read again. The page 0004 remembered is kept, as failing since now.
ALTER TABLE poller_feeds ADD COLUMN missed_pages TEXT NOT NULL DEFAULT '[]';
UPDATE poller_feeds SET missed_pages = json_build_array(json_build_array(missed_page_url, to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS+00:00')))::text WHERE missed_page_url IS NOT NULL;
ALTER TABLE poller_feeds DROP COLUMN missed_page_url;
