"""One way to run a server: ``server.running``, in this process and off the main thread."""

from __future__ import annotations

import http.client
import socket
import sqlite3
import threading
import time
from pathlib import Path

import pytest
import requests

from sosdesk.server_stub.app import App, Settings
from sosdesk.server_stub.server import CannotListen, running
from sosdesk.server_stub.store import Store
from servers import EXPERT_PASSWORD


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

    def held_list_groups() -> list[str]:
        entered.set()
        release.wait(30)
        return list_groups()  # the store is still open

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
    assert answers["groups"].json() == {"groups": ["default"]}
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
