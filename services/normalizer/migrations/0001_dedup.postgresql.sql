CREATE TABLE dedup_fingerprints (
  kind TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  article_id TEXT NOT NULL,
  story_id TEXT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (kind, fingerprint)
);
CREATE INDEX dedup_fingerprints_created ON dedup_fingerprints (created_at);
CREATE TABLE dedup_articles (
  article_id TEXT PRIMARY KEY,
  story_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  published BOOLEAN NOT NULL DEFAULT FALSE,
  created_at TIMESTAMPTZ NOT NULL,
  UNIQUE (story_id, version)
);
CREATE INDEX dedup_articles_created ON dedup_articles (created_at);
