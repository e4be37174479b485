-- The agency filter matches in any case of any alphabet, alike on both engines: it compares agency_key, the
-- article's agency as services/core/db.py's fold_case gives it (Unicode's lowercase, final sigma as sigma,
-- a dotted i as i), which the sink writes with each article. SQLite's lower() lowers ASCII only, so ČTK and
-- čtk, or ΚΥΠΕ and κυπε, matched on PostgreSQL and not here. Articles stored before are given the same key
-- through the same function (registered as wirefeed_fold on the connections wirefeed opens; the schema
-- itself calls no function of wirefeed's, so the sqlite3 shell, a dump or VACUUM still work). Only the
-- articles that name an agency are read and written (found through 0004's index, which the new one then
-- replaces); no full-text trigger fires on an update.
ALTER TABLE articles ADD COLUMN agency_key TEXT;
UPDATE articles SET agency_key = wirefeed_fold(json_extract(payload, '$.agency'))
  WHERE lower(json_extract(payload, '$.agency')) IS NOT NULL;
DROP INDEX IF EXISTS articles_agency;
CREATE INDEX articles_agency ON articles (agency_key, published_at, article_id) WHERE agency_key IS NOT NULL;
