-- When each article's raw item was fetched, and for a text its item sent again after the story moved on
-- (a withheld story released, an edit reverted), the article id it sends again: such a sending is told
-- from a replay of the old message, and from the item sending the story's latest text once more.
ALTER TABLE dedup_articles ADD COLUMN fetched_at TEXT;
ALTER TABLE dedup_articles ADD COLUMN restores TEXT;
