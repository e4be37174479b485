-- Stories: near-duplicate copies from other outlets join an existing story, so a story is no longer one
-- item. The row numbers versions (its lock serialises concurrent versions) and records cancellation.
CREATE TABLE dedup_stories (
  story_id TEXT PRIMARY KEY,
  first_article_id TEXT NOT NULL,
  latest_version INTEGER NOT NULL,
  canceled BOOLEAN NOT NULL DEFAULT FALSE,
  created_at TIMESTAMPTZ NOT NULL,
  updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX dedup_stories_updated ON dedup_stories (updated_at);
-- LSH band keys of MinHash signatures: a key belongs to the first story that claimed it.
CREATE TABLE dedup_bands (
  band_index SMALLINT NOT NULL,
  band_hash BIGINT NOT NULL,
  story_id TEXT NOT NULL,
  article_id TEXT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (band_index, band_hash)
);
CREATE INDEX dedup_bands_created ON dedup_bands (created_at);
-- Copies share their story's version number, so (story_id, version) is unique for versions only.
ALTER TABLE dedup_articles DROP CONSTRAINT IF EXISTS dedup_articles_story_id_version_key;
ALTER TABLE dedup_articles ADD COLUMN kind TEXT NOT NULL DEFAULT 'story';
ALTER TABLE dedup_articles ADD COLUMN feed_id TEXT;
ALTER TABLE dedup_articles ADD COLUMN duplicate_of TEXT;
ALTER TABLE dedup_articles ADD COLUMN similarity REAL;
ALTER TABLE dedup_articles ADD COLUMN signature BYTEA;
CREATE UNIQUE INDEX dedup_articles_story_version ON dedup_articles (story_id, version) WHERE kind <> 'copy';
CREATE INDEX dedup_articles_story_feed ON dedup_articles (story_id, feed_id);
-- Stories and item claims for what 0001 already recorded (there, a story id was its item's own id).
INSERT INTO dedup_stories (story_id, first_article_id, latest_version, canceled, created_at, updated_at)
SELECT a.story_id,
       (SELECT f.article_id FROM dedup_articles f WHERE f.story_id = a.story_id ORDER BY f.version LIMIT 1),
       MAX(a.version), FALSE, MIN(a.created_at), MAX(a.created_at)
FROM dedup_articles a GROUP BY a.story_id;
INSERT INTO dedup_fingerprints (kind, fingerprint, article_id, story_id, created_at)
SELECT 'item', story_id, first_article_id, story_id, updated_at FROM dedup_stories
ON CONFLICT (kind, fingerprint) DO NOTHING;
