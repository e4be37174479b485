-- Each article's release status when it is not the usual one (usable now): a kill, a withhold or a
-- moved embargo sent with the same text is told from a repeat by it. NULL: usable, or indexed before.
ALTER TABLE dedup_articles ADD COLUMN status TEXT;
