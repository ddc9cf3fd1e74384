-- sosdesk schema upgrade, version 2 -> 3. Run by server_stub.migrate: with
-- sqlite3's executescript, inside the one transaction that applies every
-- upgrade a database needs (so no BEGIN or COMMIT here), with foreign keys off,
-- after a copy of the file was kept, and committed only if PRAGMA
-- foreign_key_check then finds nothing.
--
-- Groups become rows of their own (see v3.sql): one for every name a module or
-- a case uses, and the default group, which comes first (g1). The others are
-- numbered in the order they were first used. Cases and modules keep naming
-- their group (groups.name), so no other table changes.

CREATE TABLE groups (
  id         INTEGER PRIMARY KEY,        -- shown in the API as 'g<id>' (groupid)
  name       TEXT NOT NULL UNIQUE,       -- the name cases.groupid and modules.groupid hold (groupname)
  created_at INTEGER NOT NULL            -- when the group was first used
);

INSERT INTO groups (name, created_at)
  SELECT name, MIN(at) FROM (
    SELECT 'default' AS name, CAST(strftime('%s', 'now') AS INTEGER) AS at
    UNION ALL SELECT groupid, created_at FROM modules
    UNION ALL SELECT groupid, created_at FROM cases)
  GROUP BY name
  ORDER BY name = 'default' DESC, MIN(at), name;

UPDATE schema_version SET version = 3;
