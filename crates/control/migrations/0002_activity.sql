-- Activity, folded in from the gateway's decision events (a Queue): when each member was last
-- active, each distinct token they presented (an opaque digest, never the token) with when it
-- was first seen, and their newest operations.
CREATE TABLE activity (
  org TEXT NOT NULL,
  sub TEXT NOT NULL,
  last_active INTEGER NOT NULL,
  PRIMARY KEY (org, sub)
);

CREATE TABLE activity_tokens (
  org TEXT NOT NULL,
  sub TEXT NOT NULL,
  token TEXT NOT NULL,
  first_seen INTEGER NOT NULL,
  PRIMARY KEY (org, sub, token)
);

CREATE TABLE activity_operations (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  org TEXT NOT NULL,
  sub TEXT NOT NULL,
  at INTEGER NOT NULL,
  action TEXT,
  resource TEXT,
  env TEXT,
  reason TEXT NOT NULL
);
CREATE INDEX activity_operations_by_member ON activity_operations (org, sub, at);
