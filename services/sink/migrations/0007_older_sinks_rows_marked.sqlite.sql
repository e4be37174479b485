-- During a rolling update the first new sink applies the migrations while older replicas keep writing, and
-- a sink older than 0006 names no agency_key in its INSERT: its rows took NULL, which also means "no
-- agency", so the agency filter never found them and nothing knew to fix them. Such a row is now marked as
-- not keyed yet (''), which no agency's key is (the filter matches nothing for an empty name, and the store
-- writes NULL for an article naming none). SQLite cannot change a column's default, so a trigger marks it:
-- an article that names an agency and came without its key. The sink's own rows carry the key, so for them
-- the condition stops at agency_key; for those naming no agency it reads the JSON's agency (built-in
-- json_extract only: the sqlite3 shell and dumps still work). The sink keys the marked rows (and moves
-- those an older sink stored as nb to no) soon after: store.py's key_stragglers, through articles_agency,
-- which holds '' since it is not NULL. No full-text trigger fires on an update. Applied with 0006 in one
-- transaction when a sink from before both starts, under SQLite's write lock: no row in between is missed.
CREATE TRIGGER articles_older_sink_unkeyed AFTER INSERT ON articles
  WHEN new.agency_key IS NULL AND json_extract(new.payload, '$.agency') IS NOT NULL
BEGIN
  UPDATE articles SET agency_key = '' WHERE rowid = new.rowid;
END;
