-- The agency filter matches in any case of any alphabet, alike on both engines: it compares agency_key, the
-- article's agency as services/core/db.py's fold_case gives it (Unicode's lowercase, final sigma as sigma,
-- a dotted i as i), which the sink writes with each article. lower() followed the database's locale, and
-- SQLite's lowers ASCII only, so ČTK and čtk, ΚΥΠΕ and κυπε, İHA and iha matched on one engine and not the
-- other. Articles stored before are given the same key here: ICU's lowercase (whatever the locale) is
-- Python's, then the same two replacements. Only the articles that name an agency are read and written
-- (found through 0004's index, which the new one then replaces), once, under the migration lock.
ALTER TABLE articles ADD COLUMN agency_key TEXT;
UPDATE articles
  SET agency_key = replace(translate(lower((payload ->> 'agency') COLLATE "und-x-icu"), U&'\03C2', U&'\03C3'),
                           U&'i\0307', 'i')
  WHERE lower(payload ->> 'agency') IS NOT NULL;
DROP INDEX IF EXISTS articles_agency;
CREATE INDEX articles_agency ON articles (agency_key, published_at, article_id) WHERE agency_key IS NOT NULL;
