-- Each article's item, and each story's latest version's article: an item sending an old text again
-- restores it only when the story moved on through that same item, and an item unchanged since its
-- story's first or latest version, sent again after the window, is a repeat, not a new version.
ALTER TABLE dedup_articles ADD COLUMN item_id TEXT;
ALTER TABLE dedup_stories ADD COLUMN latest_article_id TEXT;
