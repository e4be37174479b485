-- Whether the article came from its agency's own wire: a feed the feeds file marks with the agency the
-- article names (or an article naming none). A takedown from a feed not so marked spares the story only
-- while such an article from another feed, not withdrawn, carries it. Rows decided before this are false,
-- whatever their feed: a takedown of a story only they carry cancels it, as it did before.
ALTER TABLE dedup_articles ADD COLUMN agency_wire INTEGER NOT NULL DEFAULT 0;
