-- sosdesk schema upgrade, version 1 -> 2. Run by server_stub.migrate: with
-- sqlite3's executescript, inside the one transaction that applies every
-- upgrade a database needs (so no BEGIN or COMMIT here), with foreign keys off
-- as SQLite's procedure for changing a table asks, after a copy of the file was
-- kept, and committed only if PRAGMA foreign_key_check then finds nothing.
--
-- case_events gets a column `detail` (see v2.sql) and its comment loses the
-- 'assign' event that no code ever wrote. SQLite stores a table's definition
-- with its comments, so the table is rebuilt rather than altered: afterwards
-- it is defined word for word as in v2.sql. Every row is copied, ids included
-- (detail NULL); the old table's index goes with it and is made again.

ALTER TABLE case_events RENAME TO case_events_v1;

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

INSERT INTO case_events (id, case_id, at, actor, event, from_status, to_status)
  SELECT id, case_id, at, actor, event, from_status, to_status FROM case_events_v1;
DROP TABLE case_events_v1;
CREATE INDEX case_events_case ON case_events(case_id, id);

UPDATE schema_version SET version = 2;
