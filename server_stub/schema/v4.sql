-- sosdesk server schema, version 4: what a new database is made from. Run by
-- server_stub.migrate with sqlite3's executescript inside one transaction.
-- An older database is brought here by the upgrade-to-vN.sql scripts instead;
-- the statements below must stay exactly as those scripts leave the schema
-- (tests/test_store_upgrade.py compares the two).
-- Times are integer seconds since the Unix epoch (UTC).
--
-- Since version 1: case_events has a column `detail`, and its comment no longer
-- names an 'assign' event (none was ever written).
-- Since version 2: groups are rows of their own (`groups`), with the ids the API
-- shows as 'g<id>' (TeamViewer's form); cases and modules still name theirs.

CREATE TABLE schema_version (
  version INTEGER NOT NULL               -- the schema version this database has
);

CREATE TABLE meta (
  key   TEXT PRIMARY KEY,                -- setting name, e.g. 'customer_token_key'
  value TEXT NOT NULL                    -- its value (secrets are random, never logged)
);

CREATE TABLE experts (
  id            INTEGER PRIMARY KEY,     -- shown in the API as 'u<id>' (assigned_userid)
  name          TEXT NOT NULL UNIQUE,    -- login name
  password_hash TEXT NOT NULL,           -- 'scrypt$n$r$p$salt_hex$hash_hex' (hashlib.scrypt)
  created_at    INTEGER NOT NULL         -- when the account was made
);

CREATE TABLE api_tokens (
  token_hash TEXT PRIMARY KEY,           -- sha256 hex of the bearer token (the token itself is never stored)
  expert_id  INTEGER NOT NULL REFERENCES experts(id) ON DELETE CASCADE, -- whose token
  created_at INTEGER NOT NULL            -- when it was issued
);

CREATE TABLE web_sessions (
  session_hash TEXT PRIMARY KEY,         -- sha256 hex of the session cookie value
  expert_id    INTEGER NOT NULL REFERENCES experts(id) ON DELETE CASCADE, -- who logged in
  csrf_token   TEXT NOT NULL,            -- must come back as X-CSRF-Token on mutating requests
  created_at   INTEGER NOT NULL,         -- login time
  expires_at   INTEGER NOT NULL          -- the session ends here: login + 12 h, not extended by use
);

CREATE TABLE groups (
  id         INTEGER PRIMARY KEY,        -- shown in the API as 'g<id>' (groupid)
  name       TEXT NOT NULL UNIQUE,       -- the name cases.groupid and modules.groupid hold (groupname)
  created_at INTEGER NOT NULL            -- when the group was first used
);

CREATE TABLE modules (
  id         TEXT PRIMARY KEY,           -- module id baked into a personalized agent, e.g. 'm3f9a...'
  name       TEXT NOT NULL,              -- the company or product name shown to experts
  groupid    TEXT NOT NULL,              -- the queue (group) its cases land in
  created_by INTEGER REFERENCES experts(id) ON DELETE SET NULL, -- expert who registered it
  created_at INTEGER NOT NULL,           -- registration time
  revoked_at INTEGER                     -- set when revoked: the module can create no more cases
);

CREATE TABLE cases (
  id                  INTEGER PRIMARY KEY AUTOINCREMENT, -- internal id, never reused; customer tokens are bound to it
  code                TEXT NOT NULL,     -- 8 digits; shown as 's12-345-678'; unique among open cases
  status              TEXT NOT NULL,     -- new | pending | in_progress | closed | expired (core.STATUSES)
  groupid             TEXT NOT NULL,     -- the queue it is in
  description         TEXT NOT NULL DEFAULT '', -- the problem, in the customer's or expert's words
  customer_name       TEXT NOT NULL DEFAULT '', -- end_customer.name (<= 100)
  customer_email      TEXT NOT NULL DEFAULT '', -- end_customer.email (<= 254)
  assigned_userid     INTEGER REFERENCES experts(id) ON DELETE SET NULL, -- expert working on it
  assigned_at         INTEGER,           -- when it was assigned
  waiting_message     TEXT NOT NULL DEFAULT '', -- shown to the customer while waiting
  custom_api          TEXT NOT NULL DEFAULT '', -- free text for integrations (<= 4000)
  module_id           TEXT REFERENCES modules(id) ON DELETE SET NULL, -- the agent that created it, if any
  created_by          TEXT NOT NULL,     -- 'customer' (agent SOS) or 'expert:<id>'
  device_hash         TEXT,              -- sha256 hex of the device id of the customer's agent
  device_hostname     TEXT NOT NULL DEFAULT '', -- device info from the agent
  device_os           TEXT NOT NULL DEFAULT '',
  device_user         TEXT NOT NULL DEFAULT '',
  expert_started_at   INTEGER,           -- when the expert side started (Connect)
  customer_started_at INTEGER,           -- when the customer side started
  created_at          INTEGER NOT NULL,  -- creation time
  valid_until         INTEGER NOT NULL,  -- not closed by then -> expired
  closed_at           INTEGER,           -- when it became closed or expired
  version             INTEGER NOT NULL   -- bumped on every change; long-polls wait for it
);

-- The queue, newest first: all cases, by one status, or by group. A query for
-- several statuses at once (state=open) walks cases_created and stops at the
-- page's end, which beats sorting every open case (see Cases.list_cases in cases.py).
CREATE INDEX cases_created ON cases(created_at DESC, id DESC);
CREATE INDEX cases_status_created ON cases(status, created_at DESC, id DESC);
CREATE INDEX cases_group_created ON cases(groupid, created_at DESC, id DESC);
-- A case by its code (GET/PUT/DELETE /sessions/{code}, bulk delete, history):
-- codes repeat among closed cases and the newest wins. Without it each lookup
-- scanned the table: 135 ms p50 with 1,000,000 cases (bench/cases_1m.py).
CREATE INDEX cases_code ON cases(code, id DESC);
-- The expiry sweep and the expiry-on-read checks: due cases per open status.
CREATE INDEX cases_status_deadline ON cases(status, valid_until);

CREATE TABLE case_events (
  id          INTEGER PRIMARY KEY,       -- order of events
  case_id     INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE, -- which case
  at          INTEGER NOT NULL,          -- when
  actor       TEXT NOT NULL,             -- 'customer', 'expert:<id>' or 'system'
  event       TEXT NOT NULL,             -- create | start | close | expire | edit
  from_status TEXT,                      -- status before (NULL for create)
  to_status   TEXT NOT NULL,             -- status after
  detail      TEXT                       -- what the event alone does not say, as a JSON object
                                         -- (e.g. a remote session's events); NULL: nothing more
);
CREATE INDEX case_events_case ON case_events(case_id, id);

-- Every database has the default group, the first.
INSERT INTO groups (id, name, created_at)
  VALUES (1, 'default', CAST(strftime('%s', 'now') AS INTEGER));

-- One open case per code, and one open SOS case per device and module (a second
-- SOS from the same device returns the open case instead of making another; a
-- device may also have joined expert-made cases besides): every open case holds
-- its keys here, and a key is held once. The trigger below takes the holds when
-- a case is made (no case opens again once ended: core.TRANSITIONS; a trigger on
-- updates would run for every case the sweep expires). A case that ends keeps
-- them until the release pass (Expiry.release_holds, after the sweep, in key
-- order) or the next SOS of its device lets them go. So expiring a case writes nothing here: the sweep's
-- cost was deleting its entries from two indexes on random keys (~80%).
CREATE TABLE holds (
  key     TEXT PRIMARY KEY,              -- 'code:<8 digits>' or 'sos:<device_hash>:<module_id or empty>'
  case_id INTEGER NOT NULL               -- the case holding it (open, or ended and not yet released)
) WITHOUT ROWID;

CREATE TRIGGER cases_hold_new AFTER INSERT ON cases
  WHEN NEW.status IN ('new', 'pending', 'in_progress')
BEGIN
  INSERT INTO holds (key, case_id) VALUES ('code:' || NEW.code, NEW.id);
  INSERT INTO holds (key, case_id)
    SELECT 'sos:' || NEW.device_hash || ':' || COALESCE(NEW.module_id, ''), NEW.id
    WHERE NEW.created_by = 'customer' AND NEW.device_hash IS NOT NULL;
END;
CREATE TRIGGER cases_release_deleted AFTER DELETE ON cases
BEGIN
  DELETE FROM holds WHERE case_id = OLD.id AND key IN (
    'code:' || OLD.code, 'sos:' || OLD.device_hash || ':' || COALESCE(OLD.module_id, ''));
END;

INSERT INTO schema_version (version) VALUES (4);
