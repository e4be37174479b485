-- Every published article's id, kept as long as its story's row (four windows): an item sending a text
-- it sent before, after the window forgot the article, is a repeat whichever version of its story that
-- text was (and whichever story the item joined), not a new version under an id consumers hold already.
CREATE TABLE dedup_published (
  article_id TEXT PRIMARY KEY,
  story_id TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX dedup_published_created ON dedup_published (created_at);
-- The articles published before this migration, still in the window: without them, a middle version sent
-- again after the window would still be a new version under an id the sink holds, for up to a window after
-- the upgrade. Under the migration lock, so no replica of this version marks any in between.
INSERT INTO dedup_published (article_id, story_id, created_at)
  SELECT article_id, story_id, created_at FROM dedup_articles WHERE published
  ON CONFLICT (article_id) DO NOTHING;
-- An original arriving late after an update its wire numbered takes version 1 even when the original holds
-- it (a corrected original): every other number is one the wire's own late update may claim, or the latest.
DROP INDEX dedup_articles_story_version;
CREATE UNIQUE INDEX dedup_articles_story_version ON dedup_articles (story_id, version)
  WHERE kind NOT IN ('copy', 'late_original');
