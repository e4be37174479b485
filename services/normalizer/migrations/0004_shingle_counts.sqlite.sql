-- How many distinct shingles each article has: with two signatures' Jaccard estimate it gives how much
-- of the smaller text lies inside the larger (excerpts). NULL for articles indexed before.
ALTER TABLE dedup_articles ADD COLUMN shingles INTEGER;
