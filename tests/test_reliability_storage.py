"""Storage faults: a read-only or full database during writes gives a clean 503
``storage_unavailable`` with a clear message, corrupts nothing, and the service
resumes when the fault goes.

How each fault is made (root ignores permission bits, so chmod proves nothing):

* read-only: ``PRAGMA query_only = ON`` on the server's own connection, so
  SQLite answers every write with SQLITE_READONLY, as for a read-only file.
  (A remount of the filesystem read-only is refused while the server holds the
  database open for writing: "mount point is busy".)
* disk full, real: the database on a small tmpfs, filled up with a file, so
  SQLite's own writes fail with ENOSPC -> SQLITE_FULL. Needs mount rights
  (root); skipped without them.
* disk full, always: ``PRAGMA max_page_count`` at the current size, so SQLite
  answers SQLITE_FULL; runs everywhere.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from pathlib import Path
from typing import Iterator

import pytest
import requests

from api_helpers import sosdesk_code

from conftest import ServerProcess, free_port
from reliability_helpers import check_database
from servers import LiveServer, in_process

DEVICE = {"hostname": "PC", "os": "Linux", "user": "bob"}


def _sos(post, n: int) -> requests.Response:
    return post("/api/v1/customer/sos", {"device_id": f"storage-device-{n:08d}", "device": DEVICE,
                                         "description": "x" * 2000})


def _assert_storage_error(response: requests.Response, words: str) -> None:
    assert response.status_code == 503, response.text
    body = response.json()  # either shape (TeamViewer's on its routes, api_helpers)
    assert sosdesk_code(body) == "storage_unavailable", body
    assert words in body.get("message", body.get("error_description", "")), body
    assert "Traceback" not in response.text and "sqlite" not in response.text.lower()


def _in_process(tmp_path: Path) -> contextlib.AbstractContextManager[LiveServer]:
    return in_process(tmp_path / "storage.db", sos_per_10min=10**6)


def _pragma(server: LiveServer, sql: str) -> None:
    with server.store._lock:  # the server's own connection, between two requests
        server.store._db.execute(sql)


def test_read_only_database_gives_503_reads_work_and_it_resumes(tmp_path: Path) -> None:
    with _in_process(tmp_path) as server:
        api = server.api
        made = api("POST", "/api/v1/sessions", json={"description": "before"}).json()
        sos = server.sos("device-before-fault-01")
        _pragma(server, "PRAGMA query_only = ON")
        writes = {
            "create": api("POST", "/api/v1/sessions", json={"description": "during"}),
            "sos": api("POST", "/api/v1/customer/sos", token=None,
                       json={"device_id": "device-during-fault-1", "device": DEVICE}),
            "edit": api("PUT", f"/api/v1/sessions/{made['code']}", json={"description": "new"}),
            "connect": api("POST", f"/api/v1/sessions/{made['code']}/connect"),
            "delete": api("POST", "/api/v1/sessions/delete", json={"codes": [made["code"]]}),
            "customer start": api("POST", "/api/v1/customer/case/start", token=sos["token"]),
            "module": api("POST", "/api/v1/modules", json={"name": "ACME", "groupid": "acme"}),
        }
        for name, response in writes.items():
            _assert_storage_error(response, "read-only")
        # Reads keep working.
        assert api("GET", "/api/v1/sessions").status_code == 200
        assert api("GET", f"/api/v1/sessions/{made['code']}").json()["description"] == "before"
        assert api("GET", "/api/v1/customer/case", token=sos["token"]).status_code == 200
        assert api("GET", "/healthz", token=None).status_code == 200
        _pragma(server, "PRAGMA query_only = OFF")
        assert api("PUT", f"/api/v1/sessions/{made['code']}",
                   json={"description": "after"}).status_code == 204
        assert api("GET", f"/api/v1/sessions/{made['code']}").json()["description"] == "after"
        assert api("POST", "/api/v1/sessions", json={}).status_code == 201
        codes = {c["code"] for c in api("GET", "/api/v1/sessions").json()["sessions"]}
        assert len(codes) == 3  # before, the SOS, after: nothing from the fault
        db = Path(server.store.path)
    assert check_database(db)["cases"] == 3


def test_sqlite_full_gives_503_and_resumes(tmp_path: Path) -> None:
    with _in_process(tmp_path) as server:
        api = server.api
        pages = server.store._db.execute("PRAGMA page_count").fetchone()[0]
        _pragma(server, f"PRAGMA max_page_count = {pages}")
        created = full = 0
        for n in range(300):  # bounded: 2 KB per case fills the last pages quickly
            response = api("POST", "/api/v1/customer/sos", token=None,
                           json={"device_id": f"full-device-{n:010d}", "device": DEVICE,
                                 "description": "x" * 2000})
            if response.status_code == 503:
                _assert_storage_error(response, "disk is full")
                full += 1
                if full >= 5:
                    break
            else:
                assert response.status_code == 201, response.text
                created += 1
        assert full >= 5
        assert api("GET", "/api/v1/sessions?limit=1000").status_code == 200
        _pragma(server, "PRAGMA max_page_count = 1073741823")
        assert api("POST", "/api/v1/sessions", json={}).status_code == 201
        db = Path(server.store.path)
    assert check_database(db)["cases"] == created + 1


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs, unmounted afterwards; skips without mount rights."""
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount_point)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def _fill(directory: Path) -> Path:
    filler = directory / "filler"
    with open(filler, "wb") as out:
        for _ in range(10_000):  # bounded: 640 MB at most, the tmpfs is 4 MiB
            try:
                out.write(b"\0" * 65536)
                out.flush()
            except OSError:
                break
    return filler


def test_real_disk_full_gives_503_nothing_corrupted_and_resumes(small_disk: Path) -> None:
    db = small_disk / "server.db"
    server = ServerProcess(db, free_port(), "--quiet", "--sos-limit", "100000").start()
    acknowledged: set[str] = set()
    try:
        with requests.Session() as http:
            http.headers["Authorization"] = f"Bearer {server.token}"

            def post(path: str, body: dict) -> requests.Response:
                return http.post(server.url + path, json=body, timeout=30)

            for n in range(20):
                response = _sos(post, n)
                assert response.status_code == 201
                acknowledged.add(response.json()["case"]["code"])
            filler = _fill(small_disk)
            statuses: dict[int, int] = {}
            for n in range(20, 320):
                response = _sos(post, n)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                if response.status_code == 201:
                    acknowledged.add(response.json()["case"]["code"])
                else:
                    _assert_storage_error(response, "disk is full")
            print(f"\ndisk full (tmpfs, ENOSPC): SOS answers {statuses}")
            assert statuses.get(503, 0) >= 1 and set(statuses) <= {201, 503}
            listing = http.get(server.url + "/api/v1/sessions?limit=1000", timeout=30)
            assert listing.status_code == 200  # reads keep working
            os.remove(filler)
            resumed = None
            for n in range(400, 420):
                response = _sos(post, n)
                if response.status_code == 201:
                    acknowledged.add(response.json()["case"]["code"])
                    resumed = n - 400
                    break
                time.sleep(0.1)
            assert resumed is not None, "writes did not resume after the disk had room again"
            listed = {c["code"] for c in http.get(server.url + "/api/v1/sessions?limit=1000",
                                                  timeout=30).json()["sessions"]}
            assert acknowledged <= listed
    finally:
        server.stop()
    assert check_database(db)["cases"] == len(acknowledged)
