CREATE TABLE articles (
  article_id TEXT PRIMARY KEY,
  story_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  feed_id TEXT NOT NULL,
  url TEXT,
  canonical_url TEXT,
  title TEXT NOT NULL,
  body_text TEXT NOT NULL,
  language TEXT,
  published_at TIMESTAMPTZ NOT NULL,
  fetched_at TIMESTAMPTZ NOT NULL,
  stored_at TIMESTAMPTZ NOT NULL,
  payload JSONB NOT NULL,
  search tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('simple', coalesce(title, '')), 'A') || to_tsvector('simple', coalesce(body_text, ''))
  ) STORED
);
CREATE INDEX articles_story ON articles (story_id, version);
CREATE INDEX articles_published ON articles (published_at);
CREATE INDEX articles_feed ON articles (feed_id, published_at);
CREATE INDEX articles_search ON articles USING GIN (search);
CREATE TABLE stories (
  story_id TEXT PRIMARY KEY,
  latest_article_id TEXT NOT NULL,
  latest_version INTEGER NOT NULL,
  first_stored_at TIMESTAMPTZ NOT NULL,
  updated_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE sink_offsets (
  topic TEXT NOT NULL,
  partition INTEGER NOT NULL,
  next_offset BIGINT NOT NULL,
  updated_at TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (topic, partition)
);
