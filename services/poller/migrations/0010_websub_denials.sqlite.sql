-- A hub's denial is an unauthenticated GET anyone can send, so a denied subscription is asked again after a
-- backoff that doubles with each denial in a row: denials counts them, back to 0 when the hub verifies.
ALTER TABLE poller_websub ADD COLUMN denials INTEGER NOT NULL DEFAULT 0;
-- Rows denied before count one denial: asked again an hour after the request denied (for most, at once).
UPDATE poller_websub SET denials = 1 WHERE state = 'denied';
