-- When each organization's bundle was last signed and put into KV: the cron trigger signs it
-- again well before it expires, even when nothing changed.
ALTER TABLE orgs ADD COLUMN published_at INTEGER NOT NULL DEFAULT 0;
