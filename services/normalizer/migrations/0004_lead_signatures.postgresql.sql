-- The MinHash of each article's lead (its body's first 100 words) and its shingle count: an excerpt is
-- a lead mostly inside another's. NULL for articles indexed before.
ALTER TABLE dedup_articles ADD COLUMN lead_signature BYTEA;
ALTER TABLE dedup_articles ADD COLUMN lead_shingles INTEGER;
