-- Whether a headline prefix numbered each article (Reuters' UPDATE 1-): such a wire sends a story's
-- original unprefixed, so an original arriving after its own numbered update is told from an edit and
-- takes version 1 instead of the story's next number. Rows decided before this are NULL: not numbered.
ALTER TABLE dedup_articles ADD COLUMN headline_numbered INTEGER;
