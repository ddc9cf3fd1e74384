"""``sos-server`` and ``make run`` as a user runs them: real processes, the README's commands.

Each test gets its own home folder, so "the user's data folder" is a fresh one
and nothing touches the real user's database.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests

from conftest import IN_CI, ROOT, free_port, require_tool

PASSWORD = "a good password"


def user_env(home: Path) -> dict[str, str]:
    """The environment of a user whose home is *home* (data folder inside it, on every OS)."""
    env = {k: v for k, v in os.environ.items() if k not in ("XDG_DATA_HOME", "LOCALAPPDATA")}
    env["HOME"] = str(home)
    if sys.platform == "win32":
        env["LOCALAPPDATA"] = str(home / "AppData" / "Local")
    return env


def venv_bin() -> Path:
    """The folder of the sos-server this test run installed (make's $(BIN))."""
    folder = Path(sys.prefix) / ("Scripts" if sys.platform == "win32" else "bin")
    if not (folder / "sos-server").exists():
        message = f"no sos-server in {folder}: run the tests from the venv `make install` made"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return folder


def sos_server(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([str(venv_bin() / "sos-server"), *args], env=env, input=stdin,
                          capture_output=True, text=True, timeout=60)


def first_lines_until(proc: subprocess.Popen, marker: str, limit: float = 30) -> str:
    """The process's stdout up to the line with *marker* (or its exit, or *limit* s)."""
    lines: list[str] = []

    def read() -> None:
        for line in proc.stdout:
            lines.append(line)
            if marker in line:
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(limit)
    return "".join(lines)


def test_an_expert_added_as_the_readme_says_logs_in_to_make_run(tmp_path: Path) -> None:
    """`sos-server expert add NAME`, then `make run`: the same database, so the login works."""
    make = require_tool("make")
    home = tmp_path / "home"
    home.mkdir()
    env = user_env(home)
    added = sos_server(env, "expert", "add", "carla", stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    database = home / ".local" / "share" / "sosdesk" / "sosdesk.db"
    if sys.platform == "darwin":
        database = home / "Library" / "Application Support" / "sosdesk" / "sosdesk.db"
    elif sys.platform == "win32":
        database = home / "AppData" / "Local" / "sosdesk" / "sosdesk.db"
    assert f"added (database: {database})" in added.stdout

    port = free_port()
    # `make run` from a folder of its own (a database "in the current folder" lands
    # there); -o: the venv of this test run is installed already.
    server = subprocess.Popen(
        [make, "-f", str(ROOT / "Makefile"), "-o", f"{sys.prefix}/.installed-base", "run",
         f"PORT={port}", f"VENV={sys.prefix}"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        started = first_lines_until(server, "listening on")
        assert f"database: {database}" in started, started
        assert "No expert account existed" not in started  # carla is there already
        login = requests.post(f"http://127.0.0.1:{port}/api/v1/login", timeout=30,
                              json={"name": "carla", "password": PASSWORD})
        assert login.status_code == 200, login.text
        assert login.json()["expert"]["name"] == "carla"
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # make and the server it started
        server.wait(30)
    assert not list(tmp_path.glob("*.db")), "make run made a database of its own"


@pytest.mark.slow
def test_make_run_installs_the_server_without_the_test_tools(tmp_path: Path) -> None:
    """`make run` on a fresh machine: a new venv with sosdesk, not pytest or Playwright."""
    make = require_tool("make")
    home = tmp_path / "home"
    home.mkdir()
    venv = tmp_path / "venv"
    port = free_port()
    server = subprocess.Popen(
        [make, "-f", str(ROOT / "Makefile"), "run", f"VENV={venv}", f"PORT={port}",
         f"PYTHON={sys.executable}"], cwd=ROOT, env=user_env(home), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        started = first_lines_until(server, "listening on", limit=300)
        assert f"listening on http://127.0.0.1:{port}" in started, (started, server.poll())
        assert "name:      admin" in started  # the first login, printed once
        python = venv / ("Scripts" if sys.platform == "win32" else "bin") / "python"
        probe = "import importlib.util as u; print([m for m in ('pytest', 'playwright', " \
                "'PyInstaller', 'hypothesis') if u.find_spec(m)])"
        found = subprocess.run([str(python), "-c", probe], capture_output=True, text=True,
                               timeout=60)
        assert found.stdout.strip() == "[]", found.stdout + found.stderr
        assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=30).json()["status"] == "ok"
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # make and the server it started
        server.wait(30)


def test_every_command_says_which_database_it_uses(tmp_path: Path) -> None:
    env = user_env(tmp_path)
    db = tmp_path / "elsewhere" / "cases.db"

    missing = sos_server(env, "--db", str(db), "expert", "list")
    assert missing.returncode == 1 and missing.stderr.count("\n") == 1
    assert f"no database at {db}" in missing.stderr and "Traceback" not in missing.stderr
    assert not db.exists()  # a wrong path does not become an empty database

    added = sos_server(env, "--db", str(db), "expert", "add", "dora", stdin=PASSWORD + "\n")
    assert added.returncode == 0 and f"(database: {db})" in added.stdout, added.stdout
    listed = sos_server(env, "--db", str(db), "expert", "list")
    assert listed.stderr == f"database: {db} (1 expert)\n"
    assert listed.stdout.split("\t")[:2] == ["u1", "dora"]  # stdout stays one line per expert
    token = sos_server(env, "--db", str(db), "expert", "token", "dora")
    assert token.stderr == f"database: {db}\n" and token.stdout.startswith("sdx_")
    removed = sos_server(env, "--db", str(db), "expert", "remove", "dora")
    assert removed.stdout == f"expert dora removed (database: {db})\n"

    # A relative --db is shown as the absolute path it is.
    server = subprocess.Popen([str(venv_bin() / "sos-server"), "--db", "cases.db", "serve",
                               "--port", str(free_port())], cwd=db.parent, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        started = first_lines_until(server, "listening on")
    finally:
        server.terminate()
        assert server.wait(30) == 0
    assert f"No expert account existed in {db}" in started  # dora was removed
    assert f"(database: {db};" in started, started


def test_bytes_that_are_no_utf8_get_one_line_not_a_traceback(tmp_path: Path) -> None:
    """Arguments and stdin may carry any bytes; each is refused in one line."""
    env = user_env(tmp_path)
    db = str(tmp_path / "cases.db").encode()
    sos = str(venv_bin() / "sos-server").encode()
    cases = [
        ([sos, b"--db", db, b"expert", b"add", b"anna"], b"\xff\xfe password\n"),
        ([sos, b"--db", db, b"expert", b"add", b"\xff"], b"a good password\n"),
        ([sos, b"--db", db, b"expert", b"remove", b"\xffanna"], b""),
        ([sos, b"--db", db, b"expert", b"token", b"\xff"], b""),
    ]
    sos_server(env, "--db", str(tmp_path / "cases.db"), "expert", "add", "ben",
               stdin=PASSWORD + "\n")
    for argv, stdin in cases:
        done = subprocess.run(argv, env=env, input=stdin, capture_output=True, timeout=60)
        assert done.returncode == 1, (argv, done.stdout, done.stderr)
        assert done.stderr.count(b"\n") == 1 and b"Traceback" not in done.stderr, done.stderr
