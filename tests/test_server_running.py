"""One way to run a server: ``server.running`` in this process (off the main thread
too), and ``sos-server serve --port-file`` for programs that start it."""

from __future__ import annotations

import http.client
import json
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from sosdesk.server_stub import portfile
from sosdesk.server_stub.app import App, Settings
from sosdesk.server_stub.server import CannotListen, running
from sosdesk.server_stub.store import Store
from servers import EXPERT_PASSWORD, ROOT


def make_app(tmp_path: Path, idle_timeout: float = 60.0) -> tuple[App, str]:
    store = Store(str(tmp_path / "running.db"))
    _, token = store.add_expert("anna", EXPERT_PASSWORD, int(time.time()))
    return App(store, Settings(idle_timeout=idle_timeout)), token


def test_a_server_runs_off_the_main_thread_and_stops_gracefully(tmp_path: Path) -> None:
    """Leaving the block: the request in flight finishes, the long-poll answers at once,
    the idle keep-alive connection closes, then the store; nothing listens after."""
    app, token = make_app(tmp_path)
    auth = {"Authorization": f"Bearer {token}"}
    entered, release = threading.Event(), threading.Event()
    answers: dict[str, requests.Response] = {}
    list_groups = app.store.list_groups

    def held_list_groups(*args: object) -> list[dict]:
        entered.set()
        release.wait(30)
        return list_groups(*args)  # the store is still open

    app.store.list_groups = held_list_groups  # type: ignore[method-assign]
    serving, leave, left = threading.Event(), threading.Event(), threading.Event()
    where: dict = {}

    def lifecycle() -> None:  # not the main thread: no signal handler may be needed
        with running(app, "127.0.0.1", 0, sweep_every=1.0) as server:
            where["server"], where["url"], where["port"] = server, server.url, server.server_address[1]
            serving.set()
            leave.wait(30)
        left.set()

    runner = threading.Thread(target=lifecycle)
    runner.start()
    assert serving.wait(30)
    url = where["url"]
    keep_alive = http.client.HTTPConnection("127.0.0.1", where["port"], timeout=20)
    keep_alive.request("GET", "/healthz")
    first = keep_alive.getresponse()
    assert first.status == 200 and first.read() and not first.will_close
    idle = keep_alive.sock  # open, waiting for the next request
    version = requests.get(url + "/api/v1/changes", headers=auth, timeout=10).json()["version"]

    def call(name: str, path: str) -> None:
        answers[name] = requests.get(url + path, headers=auth, timeout=60)

    slow = threading.Thread(target=call, args=("groups", "/api/v1/groups"))
    poll = threading.Thread(target=call, args=("poll", f"/api/v1/changes?since={version}&wait=30"))
    slow.start()
    poll.start()
    assert entered.wait(30)
    deadline = time.monotonic() + 30
    while where["server"].in_flight < 2 and time.monotonic() < deadline:  # the poll is in too
        time.sleep(0.01)
    assert where["server"].in_flight == 2
    leave.set()
    poll.join(20)  # long before its 30 s wait: stopping wakes it
    assert not poll.is_alive() and answers["poll"].json() == {"version": version}
    assert idle.recv(65536) == b""  # closed by the server, not after its 60 s idle timeout
    keep_alive.close()
    assert not left.wait(0.5), "the server stopped with a request in flight"
    release.set()
    slow.join(20)
    runner.join(20)
    assert left.is_set() and answers["groups"].status_code == 200
    assert [g["name"] for g in answers["groups"].json()["groups"]] == ["default"]
    with pytest.raises(sqlite3.ProgrammingError):  # closed once the requests were done
        app.store.list_experts()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", where["port"]), timeout=5).close()


def test_an_address_in_use_is_one_clear_error_and_starts_nothing(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        threads = threading.active_count()
        with pytest.raises(CannotListen, match=f"cannot listen on 127.0.0.1:{port}: "):
            with running(app, "127.0.0.1", port):
                pytest.fail("the block ran without a listener")
        assert threading.active_count() == threads
    assert app.store.list_experts()[0]["name"] == "anna"  # the store is the caller's still
    app.store.close()


def test_port_file_says_where_the_process_listens_and_goes_with_it(tmp_path: Path) -> None:
    port_file = tmp_path / "ready" / "server.json"
    port_file.parent.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "sosdesk.server_stub", "--db",
                             str(tmp_path / "p.db"), "serve", "--port", "0", "--quiet",
                             "--port-file", str(port_file)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        ready = portfile.wait(port_file, proc, timeout=30)
        assert set(ready) == {"url", "host", "port", "pid"} and ready["pid"] == proc.pid
        assert ready["host"] == "127.0.0.1" and ready["port"] > 0
        assert ready["url"] == f"http://127.0.0.1:{ready['port']}"
        assert json.loads(port_file.read_text()) == ready
        assert [p.name for p in port_file.parent.iterdir()] == ["server.json"]  # no temp file left
        # Ready means answering: no retry needed, and SIGTERM at once is handled (exit 0).
        assert requests.get(ready["url"] + "/healthz", timeout=10).json()["status"] == "ok"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not port_file.exists()  # a graceful stop takes its signal back


def test_a_signal_as_soon_as_the_port_file_is_there_stops_gracefully(tmp_path: Path) -> None:
    port_file = tmp_path / "server.json"
    for sig in (signal.SIGTERM, signal.SIGINT):
        proc = subprocess.Popen([sys.executable, "-m", "sosdesk.server_stub", "--db",
                                 str(tmp_path / "s.db"), "serve", "--port", "0",
                                 "--port-file", str(port_file)], cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        portfile.wait(port_file, proc, timeout=30)
        proc.send_signal(sig)
        assert proc.wait(30) == 0
        stderr = proc.stderr.read()
        assert f"stopping (signal {int(sig)})" in stderr and "stopped" in stderr
        assert "Traceback" not in stderr and not port_file.exists()


def test_a_port_file_that_cannot_be_written_is_one_line_and_the_server_stops(tmp_path: Path) -> None:
    missing = tmp_path / "no such folder" / "server.json"
    done = subprocess.run([sys.executable, "-m", "sosdesk.server_stub", "--db",
                           str(tmp_path / "w.db"), "serve", "--port", "0", "--quiet",
                           "--port-file", str(missing)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith("sos-server:")]
    assert errors == [f"sos-server: cannot write the port file {missing}: "
                      "No such file or directory"], done.stderr
    assert "Traceback" not in done.stderr


def test_wait_reports_a_server_that_exits_before_it_listens(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        proc = subprocess.Popen([sys.executable, "-m", "sosdesk.server_stub", "--db",
                                 str(tmp_path / "x.db"), "serve", "--port",
                                 str(taken.getsockname()[1]), "--port-file",
                                 str(tmp_path / "server.json")],
                                cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                text=True)
        with pytest.raises(portfile.NotReady, match="exited with 1 before it listened"):
            portfile.wait(tmp_path / "server.json", proc, timeout=60)
        assert "cannot listen on" in proc.stderr.read()
