-- Outlets seen by the sink. article_count counts the articles currently stored (retention decrements it);
-- first_seen / last_seen are when the sink first / last stored one of the feed's articles.
CREATE TABLE sources (
  feed_id TEXT PRIMARY KEY,
  name TEXT,
  url TEXT,
  first_seen TEXT NOT NULL,
  last_seen TEXT NOT NULL,
  article_count INTEGER NOT NULL
);
INSERT INTO sources (feed_id, name, url, first_seen, last_seen, article_count)
  SELECT feed_id, MAX(json_extract(payload, '$.source.name')), MAX(json_extract(payload, '$.source.url')),
         MIN(stored_at), MAX(stored_at), COUNT(*)
  FROM articles GROUP BY feed_id;
-- Retention deletes by stored_at, oldest first, in small batches.
CREATE INDEX articles_stored ON articles (stored_at);
-- The latest version of every story, one row each.
CREATE VIEW story_latest AS
  SELECT s.story_id, s.latest_version, s.first_stored_at, s.updated_at, a.article_id, a.feed_id, a.title,
         a.published_at, a.payload
  FROM stories s JOIN articles a ON a.article_id = s.latest_article_id;
