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
  published_at TEXT NOT NULL,
  fetched_at TEXT NOT NULL,
  stored_at TEXT NOT NULL,
  payload TEXT NOT NULL
);
CREATE INDEX articles_story ON articles (story_id, version);
CREATE INDEX articles_published ON articles (published_at);
CREATE INDEX articles_feed ON articles (feed_id, published_at);
CREATE TABLE stories (
  story_id TEXT PRIMARY KEY,
  latest_article_id TEXT NOT NULL,
  latest_version INTEGER NOT NULL,
  first_stored_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE sink_offsets (
  topic TEXT NOT NULL,
  partition INTEGER NOT NULL,
  next_offset INTEGER NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (topic, partition)
);
CREATE VIRTUAL TABLE articles_fts USING fts5(title, body_text, content='articles', content_rowid='rowid');
CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN
  INSERT INTO articles_fts (rowid, title, body_text) VALUES (new.rowid, new.title, new.body_text);
END;
CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
  INSERT INTO articles_fts (articles_fts, rowid, title, body_text) VALUES ('delete', old.rowid, old.title, old.body_text);
END;
