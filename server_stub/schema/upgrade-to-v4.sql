-- sosdesk schema upgrade: open cases hold their code and SOS device in the table
-- `holds` instead of two partial unique indexes on cases (see the newest vN.sql).
-- Run by server_stub.migrate: with sqlite3's executescript, inside the one
-- transaction that applies every upgrade a database needs (so no BEGIN or
-- COMMIT here), with foreign keys off, after a copy of the file was kept, and
-- committed only if PRAGMA foreign_key_check then finds nothing.
--
-- Self-contained (it reads and writes only cases, holds and schema_version),
-- so it can move to another version number; it sets the version it makes as
-- one more than the database had.
--
-- Every open case takes its holds. The old index on devices let two open SOS
-- cases of one device without a module through (NULLs differ in a unique
-- index); should a database have such, the newest case holds the device.

CREATE TABLE holds (
  key     TEXT PRIMARY KEY,              -- 'code:<8 digits>' or 'sos:<device_hash>:<module_id or empty>'
  case_id INTEGER NOT NULL               -- the case holding it (open, or ended and not yet released)
) WITHOUT ROWID;

INSERT INTO holds (key, case_id)
  SELECT 'code:' || code, id FROM cases WHERE status IN ('new', 'pending', 'in_progress');
INSERT OR IGNORE INTO holds (key, case_id)
  SELECT 'sos:' || device_hash || ':' || COALESCE(module_id, ''), id FROM cases
  WHERE created_by = 'customer' AND device_hash IS NOT NULL
    AND status IN ('new', 'pending', 'in_progress')
  ORDER BY id DESC;

DROP INDEX cases_open_code;
DROP INDEX cases_open_device;

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

UPDATE schema_version SET version = version + 1;
