"""Schema upgrades: a version-1 database, as servers before upgrades wrote it, opened
by today's Store. Every row stays, a copy is kept, foreign keys check clean, a
failing upgrade leaves the file as it was, and a newer database is refused.

The version-1 database is made from schema/v1.sql and plain SQL, not by today's
code (which writes the newest version): rows in every table, cases in every
status. Going from it to today's version runs every upgrade script in turn
(v2: case_events.detail; v3: groups as rows; v4: holds).
tests/test_store_upgrade_holds.py takes a version-2 database to the holds of v4.
"""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
import stat
import time
from pathlib import Path

import pytest
import requests

from conftest import ServerProcess, free_port
from sosdesk.server_stub import auth, cli, migrate
from sosdesk.server_stub.errors import StorageUnavailable
from sosdesk.server_stub.store import Store

T0 = 1_700_000_000
DAY = 24 * 3600
TOKEN_KEY = "ab" * 32
PASSWORDS = {"anna": "password-anna", "ben": "password-ben", "carl": "password-carl"}
DEVICES = {name: hashlib.sha256(f"device-{name}-000000000".encode()).hexdigest()
           for name in ("a", "b", "c", "d")}


def insert(db: sqlite3.Connection, table: str, **columns: object) -> None:
    db.execute(f"INSERT INTO {table} ({', '.join(columns)}) "
               f"VALUES ({', '.join('?' for _ in columns)})", tuple(columns.values()))


def case(db: sqlite3.Connection, t0: int, case_id: int, code: str, status: str, version: int,
         events: list[tuple[int, str, str, str | None, str]], **columns: object) -> None:
    """A case row and its events: (at, actor, event, from, to)."""
    base = {"groupid": "default", "created_by": "customer", "created_at": t0,
            "valid_until": t0 + DAY}
    insert(db, "cases", id=case_id, code=code, status=status, version=version,
           **{**base, **columns})
    for at, actor, event, before, after in events:
        insert(db, "case_events", case_id=case_id, at=at, actor=actor, event=event,
               from_status=before, to_status=after)


def build_v1(path: Path, t0: int = T0) -> dict[str, str]:
    """A version-1 database at *path* (WAL, as the server ran it); returns the tokens in it.

    Open cases are due a day after *t0*.
    """
    tokens = {name: f"sdx_v1-token-for-{name}" for name in PASSWORDS}
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA foreign_keys = ON")
    db.executescript(migrate.schema_script(1))
    insert(db, "meta", key="customer_token_key", value=TOKEN_KEY)
    for expert_id, name in enumerate(PASSWORDS, start=1):
        insert(db, "experts", id=expert_id, name=name,
               password_hash=auth.hash_password(PASSWORDS[name]), created_at=t0 - 100 + expert_id)
        insert(db, "api_tokens", token_hash=auth.token_hash(tokens[name]), expert_id=expert_id,
               created_at=t0 - 50)
    insert(db, "web_sessions", session_hash=auth.token_hash("cookie-anna"), expert_id=1,
           csrf_token="csrf-anna", created_at=t0, expires_at=t0 + 12 * 3600)
    insert(db, "modules", id="m0123456789abcdef", name="ACME", groupid="acme", created_by=1,
           created_at=t0 - 10)
    insert(db, "modules", id="mfedcba9876543210", name="Old Co", groupid="old", created_by=2,
           created_at=t0 - 9, revoked_at=t0 - 5)
    insert(db, "modules", id="m00000000000000ff", name="Orphan", groupid="default",
           created_by=None, created_at=t0 - 8)
    create = (t0, "customer", "create", None, "new")
    # An old closed case with the code the new one has now (codes repeat once closed).
    case(db, t0, 1, "11111111", "closed", 2, [(t0 - 900, "customer", "create", None, "new"),
                                           (t0 - 800, "customer", "close", "new", "closed")],
         created_at=t0 - 900, valid_until=t0 - 900 + DAY, closed_at=t0 - 800,
         device_hash=DEVICES["d"], description="printer, again")
    case(db, t0, 2, "11111111", "new", 3, [create], module_id="m0123456789abcdef", groupid="acme",
         device_hash=DEVICES["a"], device_hostname="PC-A", device_os="Linux", device_user="ann",
         description="my screen is black")
    case(db, t0, 3, "22222222", "pending", 5, [create, (t0 + 5, "customer", "start", "new", "pending")],
         device_hash=DEVICES["b"], device_hostname="PC-B", customer_started_at=t0 + 5)
    case(db, t0, 4, "33333333", "in_progress", 9,
         [(t0, "expert:1", "create", None, "new"), (t0 + 1, "expert:1", "edit", "new", "new"),
          (t0 + 2, "expert:2", "start", "new", "pending"),
          (t0 + 3, "customer", "start", "pending", "in_progress")],
         created_by="expert:1", assigned_userid=2, assigned_at=t0 + 2, expert_started_at=t0 + 2,
         customer_started_at=t0 + 3, device_hash=DEVICES["c"], customer_name="Cora",
         customer_email="cora@example.com", waiting_message="one moment", custom_api='{"t": 7}')
    case(db, t0, 5, "44444444", "closed", 11, [create, (t0 + 9, "expert:3", "close", "new", "closed")],
         created_by="customer", device_hash=DEVICES["d"], closed_at=t0 + 9)
    case(db, t0, 6, "55555555", "expired", 12,
         [(t0 - DAY, "expert:2", "create", None, "new"),
          (t0, "system", "expire", "new", "expired")],
         created_by="expert:2", created_at=t0 - DAY, valid_until=t0, closed_at=t0)
    db.close()  # the last connection: the log goes into the file, as when a server stops
    return tokens


def snapshot(path: Path) -> dict[str, list[tuple]]:
    """Every table's rows, in order."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: db.execute(f"SELECT * FROM {t} ORDER BY {'1' if t == 'holds' else 'rowid'}")
                .fetchall() for t in tables}  # holds: WITHOUT ROWID, in key order


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def schema_of(path: Path) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(path)) as db:
        return db.execute("SELECT type, name, tbl_name, sql FROM sqlite_master "
                          "ORDER BY type, name").fetchall()


@pytest.fixture
def v1(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    path = tmp_path / "sosdesk.db"
    return path, build_v1(path)


def backups(path: Path) -> list[Path]:
    return sorted(path.parent.glob(path.name + ".v*-backup-*"))


def test_opening_a_v1_database_upgrades_it_and_keeps_every_row(v1) -> None:
    path, tokens = v1
    before = snapshot(path)
    assert {t: len(rows) for t, rows in before.items() if t != "sqlite_sequence"} == {
        "schema_version": 1, "meta": 1, "experts": 3, "api_tokens": 3, "web_sessions": 1,
        "modules": 3, "cases": 6, "case_events": 13}
    store = Store(str(path))
    store.close()
    after = snapshot(path)
    assert after["schema_version"] == [(migrate.SCHEMA_VERSION,)]
    assert set(after) == set(before) | {"groups", "holds"}
    for table in set(before) - {"schema_version", "case_events"}:
        assert after[table] == before[table], table
    # Every group a module or case named is a row; the default group first, the others
    # in the order they were first used (acme's module before old's, then the cases).
    assert [row[:2] for row in after["groups"]] == [(1, "default"), (2, "acme"), (3, "old")]
    assert after["groups"][1][2] == T0 - 10  # when acme was first used: its module
    # Each open case holds its code, and each open SOS case its device and module (v4).
    assert sorted(after["holds"]) == sorted([
        ("code:11111111", 2), ("code:22222222", 3), ("code:33333333", 4),
        (f"sos:{DEVICES['a']}:m0123456789abcdef", 2), (f"sos:{DEVICES['b']}:", 3)])
    # case_events: the same rows, ids and order, each with the new column empty.
    assert [row[:-1] for row in after["case_events"]] == before["case_events"]
    assert {row[-1] for row in after["case_events"]} == {None}
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def test_the_upgraded_database_works_with_the_old_credentials(v1) -> None:
    path, tokens = v1
    store = Store(str(path))
    assert store.check_password("anna", PASSWORDS["anna"]) == {"id": 1, "name": "anna"}
    assert store.expert_by_token(tokens["carl"]) == {"id": 3, "name": "carl"}
    assert store.expert_by_session("cookie-anna", T0 + 60) == ({"id": 1, "name": "anna"},
                                                               "csrf-anna")
    # The customer token key was kept: a token issued before the upgrade still works.
    old_token = auth.case_token(bytes.fromhex(TOKEN_KEY), 3, DEVICES["b"])
    assert store.customer_case_id(old_token) == 3
    assert store.get_case("s11-111-111", T0 + 60)["description"] == "my screen is black"
    assert [e["event"] for e in store.history("s33-333-333", T0 + 60)] == [
        "create", "edit", "start", "start"]
    assert store.get_case("s33-333-333", T0 + 60)["assigned_name"] == "ben"
    queue = store.list_cases({"state": "open"}, T0 + 60)["sessions"]
    assert sorted(c["status"] for c in queue) == ["in_progress", "new", "pending"]
    # Groups have TeamViewer's ids now; cases and modules show them with their names.
    assert {(c["groupid"], c["groupname"]) for c in queue} == {("g1", "default"), ("g2", "acme")}
    assert [(g["id"], g["name"]) for g in store.list_groups()] == [
        ("g1", "default"), ("g2", "acme"), ("g3", "old")]
    assert store.get_module("mfedcba9876543210")["groupid"] == "g3"
    assert store.list_cases({"groupid": "g2"}, T0 + 60)["sessions"][0]["code"] == "s11-111-111"
    # New changes go on from the newest version and id the old server wrote.
    made = store.create_case({"description": "after the upgrade"}, 1, T0 + 60)
    assert made["version"] == 13
    assert store.history(made["code"], T0 + 60)[0]["event"] == "create"
    store.close()
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("SELECT MAX(id) FROM cases").fetchone() == (7,)


def test_a_copy_of_the_v1_file_is_kept_beside_it(v1) -> None:
    path, _ = v1
    before = snapshot(path)
    path.chmod(0o600)
    Store(str(path)).close()
    [backup] = backups(path)
    assert backup.name.startswith("sosdesk.db.v1-backup-")
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600  # it holds the same secrets
    assert snapshot(backup) == before
    with contextlib.closing(sqlite3.connect(backup)) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    Store(str(path)).close()  # already at the newest version: no second copy
    assert backups(path) == [backup]


def test_an_upgraded_database_has_exactly_the_schema_of_a_new_one(v1, tmp_path: Path) -> None:
    path, _ = v1
    Store(str(path)).close()
    fresh = tmp_path / "fresh.db"
    Store(str(fresh)).close()
    assert schema_of(path) == schema_of(fresh)
    assert "assign" not in dict(((t, n), s) for t, n, _, s in schema_of(path))[
        ("table", "case_events")]


@pytest.mark.parametrize("bad_sql, words", [
    ("INSERT INTO api_tokens VALUES ('orphan', 999, 0);",
     "1 row(s) referring to rows that do not exist (first: api_tokens row"),
    ("UPDATE cases SET module_id = 'mgone' WHERE id = 2;", "(first: cases row 2 -> modules)"),
    ("ALTER TABLE no_such_table ADD COLUMN x;", "no such table: no_such_table"),
])
def test_a_failing_upgrade_leaves_the_file_as_it_was(v1, monkeypatch, bad_sql: str,
                                                     words: str) -> None:
    path, _ = v1
    before, files = digest(path), sorted(p.name for p in path.parent.iterdir())
    real = migrate.upgrade_script
    monkeypatch.setattr(migrate, "upgrade_script", lambda version: real(version) + (
        bad_sql if version == migrate.SCHEMA_VERSION else ""))  # after every script but its own
    with pytest.raises(StorageUnavailable) as info:
        Store(str(path))
    assert info.value.code == "schema_upgrade_failed"
    assert (f"from schema version 1 to {migrate.SCHEMA_VERSION}, and left it as it was"
            in info.value.message)
    assert words in info.value.message
    assert digest(path) == before
    assert sorted(p.name for p in path.parent.iterdir()) == files  # no copy, no journal left
    monkeypatch.setattr(migrate, "upgrade_script", real)
    Store(str(path)).close()  # with the real scripts it goes through
    assert snapshot(path)["schema_version"] == [(migrate.SCHEMA_VERSION,)]


def test_upgrade_scripts_run_whole_with_semicolons_and_dashes_in_strings(v1, monkeypatch) -> None:
    """executescript runs each script as SQLite parses it (a hand split broke on these)."""
    path, _ = v1
    real = migrate.upgrade_script
    note = "INSERT INTO meta VALUES ('note', 'one; two -- three');\n"
    monkeypatch.setattr(migrate, "upgrade_script", lambda version: real(version) + (
        note if version == migrate.SCHEMA_VERSION else ""))
    Store(str(path)).close()
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'note'").fetchone() == (
            "one; two -- three",)


def test_no_upgrade_while_another_program_has_the_file_open(v1, monkeypatch) -> None:
    path, _ = v1
    before = digest(path)
    monkeypatch.setattr(migrate, "LOCK_WAIT_MS", 50)
    other = sqlite3.connect(path)  # e.g. an old server still running on it
    assert other.execute("SELECT COUNT(*) FROM cases").fetchone() == (6,)
    try:
        with pytest.raises(StorageUnavailable) as info:
            Store(str(path))
        assert "another program has it open" in info.value.message
    finally:
        other.close()
    assert digest(path) == before and backups(path) == []


def test_no_one_writes_between_the_copy_and_the_upgrade(v1, monkeypatch) -> None:
    """The upgrade holds the file's lock from before the copy to its commit."""
    path, _ = v1
    real_backup, tries = migrate._backup, []

    def backup_then_try_to_write(*args):
        made = real_backup(*args)
        with contextlib.closing(sqlite3.connect(path, timeout=0, isolation_level=None)) as other:
            with pytest.raises(sqlite3.OperationalError) as info:
                other.execute("INSERT INTO meta VALUES ('sneaked', 'in')")
            tries.append(info.value.sqlite_errorname)
        return made

    monkeypatch.setattr(migrate, "_backup", backup_then_try_to_write)
    Store(str(path)).close()
    assert tries == ["SQLITE_BUSY"]
    assert snapshot(path)["meta"] == snapshot(backups(path)[0])["meta"]


def test_a_database_from_a_newer_server_is_refused(tmp_path: Path, capsys) -> None:
    path = tmp_path / "sosdesk.db"
    Store(str(path)).close()
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as db:
        db.execute("UPDATE schema_version SET version = ?", (migrate.SCHEMA_VERSION + 1,))
    before = digest(path)
    with pytest.raises(StorageUnavailable) as info:
        Store(str(path))
    assert info.value.code == "schema_too_new"
    assert f"has schema version {migrate.SCHEMA_VERSION + 1}, from a newer sosdesk" in str(
        info.value)
    assert digest(path) == before and backups(path) == []
    # What the person running the server sees: one line, no traceback.
    assert cli.main(["--db", str(path), "expert", "list"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "from a newer sosdesk" in err and "Traceback" not in err


def test_a_file_that_is_no_sosdesk_database_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE notes (text TEXT)")
    before = digest(path)
    with pytest.raises(StorageUnavailable) as info:
        Store(str(path))
    assert info.value.code == "not_a_sosdesk_database"
    assert digest(path) == before


def test_sos_server_serves_an_upgraded_database(v1) -> None:
    """The real server process on a version-1 file: the old token and cases work."""
    path = v1[0]
    path.unlink()
    tokens = build_v1(path, t0=int(time.time()))  # its open cases are not due yet
    server = ServerProcess(path, free_port()).start()
    try:
        response = requests.get(server.url + "/api/v1/sessions?state=open", timeout=10,
                                headers={"Authorization": f"Bearer {tokens['anna']}"})
        assert response.status_code == 200, response.text
        codes = sorted(c["code"] for c in response.json()["sessions"])
        assert codes == ["s11-111-111", "s22-222-222", "s33-333-333"]
        assert "API token" not in server.first_output  # experts exist: no new admin
    finally:
        assert server.stop() == 0
    assert len(backups(path)) == 1
