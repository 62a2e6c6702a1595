-- The control plane's state: one organization's policy, row by row, and its audit log.
-- Every table is keyed by the organization first; `doc` columns hold one element of the
-- policy source as JSON, exactly as a policy file spells it.

-- An organization: its bundle version (the last committed change) and the version last put
-- into the gateway's KV; `settings` holds the declared permissions, routes and subject
-- aliases of its policy.
CREATE TABLE orgs (
  id TEXT PRIMARY KEY,
  name TEXT,
  version INTEGER NOT NULL,
  published INTEGER NOT NULL DEFAULT 0,
  settings TEXT NOT NULL,
  created_at INTEGER NOT NULL
);

-- Roles are identified by scope and id; `shared` roles come from the top level of a policy
-- file (the same for every organization), the others are the organization's own.
CREATE TABLE roles (
  org TEXT NOT NULL,
  scope TEXT NOT NULL CHECK (scope IN ('org', 'env')),
  id TEXT NOT NULL,
  shared INTEGER NOT NULL DEFAULT 0,
  doc TEXT NOT NULL,
  PRIMARY KEY (org, scope, id)
);

CREATE TABLE issuers (
  org TEXT NOT NULL,
  iss TEXT NOT NULL,
  doc TEXT NOT NULL,
  PRIMARY KEY (org, iss)
);

CREATE TABLE environments (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  org TEXT NOT NULL,
  id TEXT NOT NULL,
  doc TEXT NOT NULL,
  UNIQUE (org, id)
);

CREATE TABLE member_groups (
  org TEXT NOT NULL,
  id TEXT NOT NULL,
  doc TEXT NOT NULL,
  PRIMARY KEY (org, id)
);

-- Users, with who created and last changed them and when (Unix seconds).
CREATE TABLE users (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  org TEXT NOT NULL,
  id TEXT NOT NULL,
  doc TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  created_by TEXT NOT NULL,
  modified_at INTEGER NOT NULL,
  modified_by TEXT NOT NULL,
  UNIQUE (org, id)
);

-- Which user belongs to which group.
CREATE TABLE group_members (
  org TEXT NOT NULL,
  grp TEXT NOT NULL,
  user TEXT NOT NULL,
  PRIMARY KEY (org, user, grp)
);

CREATE TABLE services (
  org TEXT NOT NULL,
  id TEXT NOT NULL,
  client_id TEXT NOT NULL,
  doc TEXT NOT NULL,
  PRIMARY KEY (org, id),
  UNIQUE (org, client_id)
);

-- Role bindings of users, groups and services, org- or env-scoped, possibly time-bound;
-- `rule` is the id decisions name (the binding's `id`, or `holder:role[@env]`).
CREATE TABLE bindings (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  org TEXT NOT NULL,
  rule TEXT NOT NULL,
  role TEXT NOT NULL,
  user TEXT,
  grp TEXT,
  service TEXT,
  env TEXT,
  doc TEXT NOT NULL,
  UNIQUE (org, rule)
);
CREATE INDEX bindings_by_user ON bindings (org, user);

-- Roles every member holds.
CREATE TABLE defaults (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  org TEXT NOT NULL,
  rule TEXT NOT NULL,
  doc TEXT NOT NULL,
  UNIQUE (org, rule)
);

-- Resource overrides (allow or deny on selected resources), possibly time-bound.
CREATE TABLE overrides (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  org TEXT NOT NULL,
  id TEXT NOT NULL,
  user TEXT,
  grp TEXT,
  service TEXT,
  doc TEXT NOT NULL,
  UNIQUE (org, id)
);

CREATE TABLE resources (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  org TEXT NOT NULL,
  type TEXT NOT NULL,
  id TEXT NOT NULL,
  doc TEXT NOT NULL,
  UNIQUE (org, type, id)
);

-- Revoked token ids, and subjects whose tokens issued before `before` are refused.
CREATE TABLE revoked_tokens (
  org TEXT NOT NULL,
  jti TEXT NOT NULL,
  PRIMARY KEY (org, jti)
);
CREATE TABLE revoked_subjects (
  org TEXT NOT NULL,
  sub TEXT NOT NULL,
  before INTEGER NOT NULL,
  PRIMARY KEY (org, sub)
);

-- Append-only: one row per accepted change, numbered by the bundle version it made. A change
-- commits in one batch (a transaction): it moves `orgs.version` from the version it was
-- decided on to the next, then appends its audit row. The trigger refuses the row unless the
-- organization is at exactly that version (the move found the version it expected), and the
-- primary key refuses a second row with one version: of two changes decided on one version,
-- one commits and the other fails whole.
CREATE TABLE audit (
  org TEXT NOT NULL,
  version INTEGER NOT NULL,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT,
  before TEXT,
  after TEXT,
  PRIMARY KEY (org, version)
);
CREATE INDEX audit_by_target ON audit (org, target);

CREATE TRIGGER audit_follows_version BEFORE INSERT ON audit
WHEN (SELECT version FROM orgs WHERE id = NEW.org) IS NOT NEW.version
BEGIN SELECT RAISE(ABORT, 'version_conflict'); END;
CREATE TRIGGER audit_append_only_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_append_only_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
