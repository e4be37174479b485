-- When each article's raw item was fetched: an item sending again a text it had sent before, after the
-- story moved on (a withheld story released, an edit reverted), is told from a replay of the old message.
ALTER TABLE dedup_articles ADD COLUMN fetched_at TIMESTAMPTZ;
