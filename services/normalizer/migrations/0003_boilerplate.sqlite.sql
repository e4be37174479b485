CREATE TABLE boilerplate_sources (
  feed_id TEXT PRIMARY KEY,
  counts TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
