-- 0007's trigger took a row for an older sink's (agency_key '', not keyed yet) when it came without a key
-- and its JSON's agency was not NULL. An article whose agency is '' names none, and the sink writes NULL
-- for it as for one naming none: each such row was marked, and the stragglers chore keyed it minutes later
-- (counted in older_sink_rows_keyed). PostgreSQL never marks one: its default applies only to an INSERT
-- that names no agency_key, as an older sink's does. Now only a row whose agency has a key is marked: the
-- condition is unknown for a NULL agency and false for ''. An older sink's row naming '' then keeps NULL,
-- which is its key. Rows marked so far for an empty agency are given their key here, found through
-- articles_agency (which holds ''); an older sink's rows naming an agency stay marked for the sink to key.
DROP TRIGGER articles_older_sink_unkeyed;
CREATE TRIGGER articles_older_sink_unkeyed AFTER INSERT ON articles
  WHEN new.agency_key IS NULL AND json_extract(new.payload, '$.agency') <> ''
BEGIN
  UPDATE articles SET agency_key = '' WHERE rowid = new.rowid;
END;
UPDATE articles SET agency_key = NULL WHERE agency_key = '' AND json_extract(payload, '$.agency') = '';
