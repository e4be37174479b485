-- A feed that names a new hub (or topic) asks the old hub to unsubscribe; the old pair is kept until
-- that hub confirms, so its verification can be answered.
ALTER TABLE poller_websub ADD COLUMN retired_hub_url TEXT;
ALTER TABLE poller_websub ADD COLUMN retired_topic_url TEXT;
