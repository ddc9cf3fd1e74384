"""The upgrade to holds (upgrade-to-v4.sql): a version-2 database, made by the version-2
scripts from tests/test_store_upgrade.py's version-1 one, opened by today's Store.
Every row stays; every open case takes its holds; the database works on.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest

from sosdesk.server_stub import migrate
from sosdesk.server_stub.store import Store
from test_store_upgrade import DAY, DEVICES, T0, build_v1, insert, snapshot


def build_v2(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """tests/test_store_upgrade.py's version-1 database, taken to version 2 by its script."""
    build_v1(path)
    with monkeypatch.context() as patch:
        patch.setattr(migrate, "SCHEMA_VERSION", 2)
        migrate.prepare(str(path), T0)
    for backup in path.parent.glob(path.name + ".v1-backup-*"):
        backup.unlink()
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as db:
        assert db.execute("SELECT version FROM schema_version").fetchone() == (2,)
        # Version 2 let a second open SOS case of one device without a module through
        # (NULLs differ in a unique index): the upgrade must not fail on it.
        insert(db, "cases", id=7, code="77777777", status="new", version=14, groupid="default",
               created_by="customer", created_at=T0 + 7, valid_until=T0 + DAY,
               device_hash=DEVICES["b"])


@pytest.fixture
def v2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "sosdesk.db"
    build_v2(path, monkeypatch)
    return path


def test_opening_a_v2_database_gives_each_open_case_its_holds_and_keeps_every_row(v2) -> None:
    before = snapshot(v2)
    Store(str(v2)).close()
    after = snapshot(v2)
    assert after["schema_version"] == [(migrate.SCHEMA_VERSION,)]
    assert set(after) == set(before) | {"groups", "holds"}
    for table in set(before) - {"schema_version"}:
        assert after[table] == before[table], table
    assert after["holds"] == sorted([
        ("code:11111111", 2), ("code:22222222", 3), ("code:33333333", 4), ("code:77777777", 7),
        (f"sos:{DEVICES['a']}:m0123456789abcdef", 2),
        (f"sos:{DEVICES['b']}:", 7)])  # the newer of device b's two open cases
    with contextlib.closing(sqlite3.connect(v2)) as db:
        indexes = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert not indexes & {"cases_open_code", "cases_open_device"}
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def test_the_upgraded_database_keeps_codes_and_devices_to_their_open_cases(v2) -> None:
    store = Store(str(v2))
    try:
        # Device b without a module: its SOS finds the open case that holds the device.
        case, _, created = store.sos({"device_id": "device-b-000000000"}, T0 + 60)
        assert case["code"] == "s77-777-777" and not created
        with pytest.raises(sqlite3.IntegrityError):  # a held code refuses a second open case
            store._db.execute("INSERT INTO cases (code, status, groupid, created_by, created_at,"
                              " valid_until, version) VALUES ('22222222', 'new', 'default',"
                              " 'expert:1', 0, 0, 0)")
        store.expire_due(T0 + 2 * DAY)
        assert store._read("SELECT COUNT(*) FROM holds")[0][0] == 6  # expiry leaves them
        assert store.release_holds() == 6
        made = store.create_case({}, 1, T0 + 2 * DAY)
        assert made["status"] == "new"
        case, _, created = store.sos({"device_id": "device-b-000000000"}, T0 + 2 * DAY)
        assert created and case["code"] not in ("s77-777-777", made["code"])
    finally:
        store.close()
