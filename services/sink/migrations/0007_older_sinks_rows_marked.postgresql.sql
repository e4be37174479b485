-- During a rolling update the first new sink applies the migrations while older replicas keep writing, and
-- a sink older than 0006 names no agency_key in its INSERT: its rows took NULL, which also means "no
-- agency", so the agency filter never found them and nothing knew to fix them. The column's default now
-- marks such a row as not keyed yet (''), which no agency's key is (the filter matches nothing for an empty
-- name, and the store writes NULL for an article naming none). The sink keys those rows (and moves those an
-- older sink stored as nb to no) soon after: store.py's key_stragglers, through articles_agency, which holds
-- '' since it is not NULL. A default changes no stored row: metadata only, under the migration lock. It is
-- applied in the same transaction as 0006 when a sink from before both starts, so no row written between
-- them can be missed (ALTER TABLE holds the older replicas' inserts until the commit).
ALTER TABLE articles ALTER COLUMN agency_key SET DEFAULT '';
