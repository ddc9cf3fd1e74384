"""SOS creation and queue reads while thousands of agents long-poll, in one run.

    python bench/long_poll.py [--waiters 2000] [--changes 5] [--probes 5] [--seconds 30]

The real ``sos-server`` process on a fresh SQLite file gets *waiters* customer
cases (one SOS each). Then two phases of *seconds* each, with the same load:

* an expert edits one of those cases *changes* times a second (PUT
  waiting_message), and
* two probes, *probes* times a second each, time one SOS creation (a new
  device each time, so a new case: a change too) and one expert queue read
  (GET /api/v1/sessions?limit=50).

Phase 1 has no waiting agents; in phase 2 every case has its agent's long-poll
(GET /api/v1/customer/case?since=<version>&wait=30) open, as an agent in the
tray keeps one. The waiters are raw keep-alive sockets driven by one selectors
loop in one thread, which re-issues a poll when it is answered, so the load
generator stays cheap next to the server's thread per connection. Prints p50/p99
per probe and phase, then a last line with the p99 ratios phase 2 / phase 1.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import resource
import selectors
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from server_load import start_sosdesk  # noqa: E402

LONG_POLL = 30  # seconds, as the agent asks


class Waiters:
    """Keeps one pending long-poll per case on raw sockets, from a single thread."""

    def __init__(self, port: int, cases: list[dict]) -> None:
        self.port = port
        self.cases = cases
        self.answers = 0  # polls answered because the case changed
        self.timeouts = 0  # polls answered at the end of their wait
        self.reconnects = 0
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._selector = selectors.DefaultSelector()
        self._thread = threading.Thread(target=self._loop, name="waiters", daemon=True)

    def open(self) -> None:
        """Connect every waiter and send its first poll (waits spread over LONG_POLL)."""
        rng = random.Random(1)
        for case in self.cases:
            # Spread the first waits so the polls do not all time out together.
            self._connect(case, wait=rng.randint(5, LONG_POLL))
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)
        for key in list(self._selector.get_map().values()):
            key.fileobj.close()
        self._selector.close()

    def _connect(self, case: dict, wait: int = LONG_POLL) -> None:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        state = {"case": case, "buffer": b""}
        self._selector.register(sock, selectors.EVENT_READ, state)
        self._send_poll(sock, case, wait)

    def _send_poll(self, sock: socket.socket, case: dict, wait: int = LONG_POLL) -> None:
        request = (f"GET /api/v1/customer/case?since={case['version']}&wait={wait} HTTP/1.1\r\n"
                   f"Host: bench\r\nAuthorization: Bearer {case['token']}\r\n\r\n").encode()
        sent = sock.send(request)  # a few hundred bytes into an empty send buffer
        if sent != len(request):
            raise RuntimeError("a poll did not fit into the socket's send buffer")

    def _loop(self) -> None:
        try:
            while not self._stop.is_set():
                for key, _ in self._selector.select(timeout=0.2):
                    self._on_readable(key.fileobj, key.data)
        except Exception as exc:  # reported with the results instead of dying unseen
            self.errors.append(f"the waiters' loop failed: {exc!r}")

    def _on_readable(self, sock: socket.socket, state: dict) -> None:
        try:
            chunk = sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:  # the server closed the connection: open a new one
            self._selector.unregister(sock)
            sock.close()
            self.reconnects += 1
            self._connect(state["case"])
            return
        state["buffer"] += chunk
        head, sep, rest = state["buffer"].partition(b"\r\n\r\n")
        if not sep:
            return
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if len(rest) < length:
            return
        body, state["buffer"] = rest[:length], rest[length:]
        status = int(head.split(b" ", 2)[1])
        case = state["case"]
        if status != 200:
            self.errors.append(f"{status} {body[:200]!r}")
        else:
            version = json.loads(body)["version"]
            if version > case["version"]:
                self.answers += 1
                case["version"] = version
            else:
                self.timeouts += 1
        self._send_poll(sock, case)


class Paced(threading.Thread):
    """Calls *request* *rate* times a second on one keep-alive connection; keeps latencies."""

    def __init__(self, port: int, rate: float, request, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.port, self.rate, self.request, self.stop = port, rate, request, stop
        self.latencies: list[float] = []
        self.errors: list[str] = []

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        next_at, n = time.perf_counter(), 0
        while not self.stop.is_set():
            method, path, body, headers = self.request(n)
            started = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                answer = response.read()
            except (OSError, http.client.HTTPException) as exc:
                self.errors.append(repr(exc))
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
                continue
            self.latencies.append(time.perf_counter() - started)
            if response.status >= 300:
                self.errors.append(f"{response.status} {answer[:200]!r}")
            n += 1
            next_at = max(next_at + 1 / self.rate, time.perf_counter() - 1)
            self.stop.wait(max(0.0, next_at - time.perf_counter()))
        conn.close()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * share) - 1)] * 1000 if ordered else float("nan")


def server_status(pid: int) -> tuple[int, float]:
    """The server process's (thread count, RSS in MiB) on Linux; (-1, nan) elsewhere."""
    threads, rss = -1, float("nan")
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("Threads:"):
                threads = int(line.split()[1])
            elif line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
    except OSError:
        pass
    return threads, rss


def raise_file_limit(needed: int) -> None:
    """Each waiter is a socket here and in the server (a child: it inherits the limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            raise SystemExit(f"{needed} open files are needed, the hard limit is {hard} "
                             f"(raise it, or use --waiters {max(0, hard - 200)})")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--waiters", type=int, default=2000, help="waiting agents (cases)")
    parser.add_argument("--changes", type=float, default=5.0, help="case edits per second")
    parser.add_argument("--probes", type=float, default=5.0,
                        help="SOS creations and queue reads per second (each)")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each phase")
    args = parser.parse_args()
    raise_file_limit(args.waiters + 200)

    with tempfile.TemporaryDirectory() as tmp:
        proc, port, token = start_sosdesk(Path(tmp) / "bench.db")
        expert = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        run_id = time.time_ns()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            cases = []
            for n in range(args.waiters):
                conn.request("POST", "/api/v1/customer/sos",
                             body=json.dumps({"device_id": f"waiter-{run_id}-{n:05d}"}),
                             headers={"Content-Type": "application/json"})
                response = conn.getresponse()
                made = json.loads(response.read())
                if response.status != 201:
                    raise SystemExit(f"creating a waiter's case failed: {response.status} {made}")
                cases.append({"code": made["case"]["code"], "token": made["token"],
                              "version": made["case"]["version"]})
            conn.close()

            def sos_request(n: int):
                body = json.dumps({"device_id": f"probe-{run_id}-{n}-{time.time_ns()}"})
                return "POST", "/api/v1/customer/sos", body, {"Content-Type": "application/json"}

            def queue_request(n: int):
                return "GET", "/api/v1/sessions?limit=50", None, expert

            edit_rng = random.Random(2)

            def edit_request(n: int):
                code = edit_rng.choice(cases)["code"]
                return ("PUT", f"/api/v1/sessions/{code}",
                        json.dumps({"waiting_message": f"edit {n}"}), expert)

            def phase(name: str) -> dict:
                stop = threading.Event()
                workers = {"sos": Paced(port, args.probes, sos_request, stop),
                           "queue": Paced(port, args.probes, queue_request, stop),
                           "edits": Paced(port, args.changes, edit_request, stop)}
                for worker in workers.values():
                    worker.start()
                time.sleep(args.seconds)
                threads, rss = server_status(proc.pid)
                stop.set()
                for worker in workers.values():
                    worker.join(150)
                errors = [e for w in workers.values() for e in w.errors]
                if errors:
                    raise SystemExit(f"{name}: {len(errors)} requests failed, e.g. {errors[0]}")
                return {"sos": workers["sos"].latencies, "queue": workers["queue"].latencies,
                        "edits": len(workers["edits"].latencies), "threads": threads, "rss": rss}

            base = phase("without waiters")
            waiters = Waiters(port, cases)
            waiters.open()
            time.sleep(3)  # let the server's threads take up every poll
            # Count from here: the first polls of cases edited in phase 1 answer at once.
            before = waiters.answers, waiters.timeouts, waiters.reconnects
            loaded = phase("with waiters")
            answers, timeouts, reconnects = (now - then for now, then in zip(
                (waiters.answers, waiters.timeouts, waiters.reconnects), before))
            waiter_errors = waiters.errors
            waiters.close()
        finally:
            proc.terminate()
            proc.wait(30)

    if waiter_errors:
        raise SystemExit(f"{len(waiter_errors)} long-polls failed, e.g. {waiter_errors[0]}")
    print(f"{args.waiters} cases; each phase {args.seconds:.0f} s with {args.changes:g} case "
          f"edits/s and {args.probes:g} SOS creations/s + {args.probes:g} queue reads/s")
    print(f"{'phase':<16}{'server threads':>15}{'RSS MiB':>8}{'edits':>7}{'probe':>12}{'n':>5}"
          f"{'p50 ms':>9}{'p99 ms':>9}")
    for name, result in (("no waiters", base), (f"{args.waiters} waiters", loaded)):
        for probe, label in (("sos", "SOS create"), ("queue", "queue read")):
            values = result[probe]
            print(f"{name:<16}{result['threads']:>15}{result['rss']:>8.0f}{result['edits']:>7}"
                  f"{label:>12}{len(values):>5}{percentile(values, 0.5):>9.2f}"
                  f"{percentile(values, 0.99):>9.2f}")
    print(f"long-polls answered by a change: {answers}, at the end of their wait: {timeouts}, "
          f"reconnects: {reconnects}")
    sos_ratio = percentile(loaded["sos"], 0.99) / percentile(base["sos"], 0.99)
    queue_ratio = percentile(loaded["queue"], 0.99) / percentile(base["queue"], 0.99)
    print(f"p99 with {args.waiters} waiters / without: SOS create {sos_ratio:.2f}x, "
          f"queue read {queue_ratio:.2f}x (aim <= 2x)")


if __name__ == "__main__":
    main()
