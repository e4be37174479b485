-- Outlets seen by the sink. article_count counts the articles currently stored (retention decrements it);
-- first_seen / last_seen are when the sink first / last stored one of the feed's articles.
CREATE TABLE sources (
  feed_id TEXT PRIMARY KEY,
  name TEXT,
  url TEXT,
  first_seen TIMESTAMPTZ NOT NULL,
  last_seen TIMESTAMPTZ NOT NULL,
  article_count BIGINT NOT NULL
);
INSERT INTO sources (feed_id, name, url, first_seen, last_seen, article_count)
  SELECT feed_id, MAX(payload -> 'source' ->> 'name'), MAX(payload -> 'source' ->> 'url'),
         MIN(stored_at), MAX(stored_at), COUNT(*)
  FROM articles GROUP BY feed_id;
-- Retention deletes by stored_at, oldest first, in small batches.
CREATE INDEX articles_stored ON articles (stored_at);
-- The latest version of every story, one row each.
CREATE VIEW story_latest AS
  SELECT s.story_id, s.latest_version, s.first_stored_at, s.updated_at, a.article_id, a.feed_id, a.title,
         a.published_at, a.payload
  FROM stories s JOIN articles a ON a.article_id = s.latest_article_id;
-- lz4 compresses the large values (payload, body) several times faster than the default pglz; it applies
-- to values written from now on. Only where the server was built with lz4.
DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) THEN ALTER TABLE articles ALTER COLUMN payload SET COMPRESSION lz4, ALTER COLUMN body_text SET COMPRESSION lz4; END IF; END $$;
