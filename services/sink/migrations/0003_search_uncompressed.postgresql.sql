-- The stored tsvector (positions for every word, ~3.4 KB for a 2 KB body) barely compresses, yet pglz
-- tried on every insert: about a tenth of PostgreSQL's CPU per article. EXTERNAL keeps it out of line
-- without compressing. Applies to rows written from now on; metadata only, so it is instant on a big
-- table, and setting it again is harmless.
ALTER TABLE articles ALTER COLUMN search SET STORAGE EXTERNAL;
