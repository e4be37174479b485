-- When the last pass forgetting unlisted items ended (any poller), so that a poller restarted more
-- often than the passes' interval still forgets: it schedules its first pass from this, not from start.
CREATE TABLE poller_forgetting_passes (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  ended_at TEXT NOT NULL
);
