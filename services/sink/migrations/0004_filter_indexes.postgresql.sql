-- One agency's copy (`--agency`, `?agency=`), page by page, newest first, without reading the stored
-- JSON of every article back to the first match: a rare agency's page otherwise reads the whole table.
-- Most articles name no agency, so only those that do are indexed. The expression is the one the
-- agency filter writes (store.py's _AGENCY); another spelling would leave the index unused.
CREATE INDEX IF NOT EXISTS articles_agency ON articles (lower(payload ->> 'agency'), published_at, article_id)
  WHERE lower(payload ->> 'agency') IS NOT NULL;
-- One language's articles (`--language`, `?language=`) the same way: every article has a language, so
-- this one holds them all (about 70 bytes each; writing measured no slower).
CREATE INDEX IF NOT EXISTS articles_language ON articles (language, published_at, article_id);
