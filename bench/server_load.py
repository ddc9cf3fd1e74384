"""Load on the real server next to a bare stdlib handler, measured in the same run.

    python bench/server_load.py [--load auto|wrk|python] [--seconds S] [--requests N] [--levels 1,8,32]

Drives SOS creation (POST /api/v1/customer/sos, a new device each time) and
queue reads as the console makes them (GET /api/v1/queue?state=open&sort=waiting&order=asc&total=true&limit=50;
TeamViewer's counted page is measured by bench/cases_1m.py) over keep-alive
connections at each concurrency level, against

* sosdesk: the real ``sos-server`` process on a fresh SQLite file, and
* bare: a ThreadingHTTPServer with the same HTTP settings (HTTP/1.1, Nagle
  off) whose handler reads the body and answers a fixed JSON, i.e. the
  ceiling that http.server itself allows on this machine.

Prints req/s and p50/p99 latency for both and the ratio sosdesk/bare. Both
servers run as separate processes, measured in turns with the same load.

The load comes from ``wrk`` (C, epoll: it needs a fraction of a core) when it
is on PATH, else from Python threads in this process (``--load python``).
Python threads on the same two cores are the slower party: their "bare
ceiling" is the generator's own limit, so their ratios understate the server.
The table and the summary line say which generator ran. wrk is given a Lua
script that makes each SOS body unique (a new device per request) and prints
its figures as one JSON line.

Then SOS creation over TLS (``sos-server serve --tls-cert --tls-key``, an EC
P-256 certificate made with the ``openssl`` command, TLS 1.3, keep-alive: one
handshake per connection) against the plain-HTTP sosdesk, measured in turns
in the same run, with the ratio TLS/plain.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable

from sosdesk.server_stub import portfile
from sosdesk.server_stub.store import Store

ROOT = Path(__file__).resolve().parent.parent

BARE_SERVER = r"""
import json, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Bare(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = b'{"status": "ok"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    do_GET = do_POST = _answer
    def log_message(self, *args):
        pass

class Server(ThreadingHTTPServer):
    request_queue_size = 256
    daemon_threads = True
    def handle_error(self, request, client_address):
        pass  # wrk closing its connections at the end: not worth a traceback

server = Server(("127.0.0.1", 0), Bare)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


def start_sosdesk(db: Path, *extra: str) -> tuple[subprocess.Popen, int, str]:
    """The real ``sos-server serve`` on a free port: (process, port, an expert's API token)."""
    store = Store(str(db))
    _, token = store.add_expert("bench", "bench password", int(time.time()))
    store.close()
    port_file = db.with_name(db.name + ".port.json")
    port_file.unlink(missing_ok=True)  # left by a server that did not stop gracefully
    proc = subprocess.Popen(
        [sys.executable, "-m", "sosdesk.server_stub", "--db", str(db), "serve", "--port", "0", "--quiet",
         "--sos-limit", "1000000000", "--port-file", str(port_file), *extra],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, portfile.wait(port_file, proc)["port"], token


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed EC P-256 certificate for 127.0.0.1 and its key, made with openssl."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise SystemExit("the TLS measurement needs the openssl command")
    cert, key = folder / "bench.pem", folder / "bench.key"
    subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def plain(port: int) -> Callable[[], http.client.HTTPConnection]:
    """Opens keep-alive HTTP connections to 127.0.0.1:*port*."""
    return lambda: http.client.HTTPConnection("127.0.0.1", port, timeout=30)


def tls(port: int, cert: Path) -> Callable[[], http.client.HTTPConnection]:
    """Opens keep-alive HTTPS connections to 127.0.0.1:*port*, trusting *cert*."""
    context = ssl.create_default_context(cafile=str(cert))
    return lambda: http.client.HTTPSConnection("127.0.0.1", port, timeout=30, context=context)


def start_bare() -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen([sys.executable, "-c", BARE_SERVER], stdout=subprocess.PIPE, text=True)
    return proc, int(proc.stdout.readline())


WRK_SCRIPT = r"""
-- One connection per wrk thread group: each thread numbers its own requests.
local threads, next_id = {}, 0
function setup(thread)
  next_id = next_id + 1
  thread:set("thread_id", next_id)
end
function init(args)
  kind, prefix, token = args[1], args[2] .. "-" .. thread_id .. "-device", args[3]
  counter = 0
end
function request()
  if kind == "sos" then
    counter = counter + 1
    local body = '{"device_id": "' .. prefix .. '-' .. counter ..
      '", "device": {"hostname": "bench", "os": "Linux", "user": "b"}}'
    return wrk.format("POST", "/api/v1/customer/sos", {["Content-Type"] = "application/json"}, body)
  elseif kind == "queue" then
    return wrk.format("GET", "/api/v1/queue?state=open&sort=waiting&order=asc&total=true&limit=50",
                      {["Authorization"] = "Bearer " .. token})
  elseif kind == "bare_post" then
    counter = counter + 1
    local body = '{"device_id": "' .. prefix .. '-' .. counter ..
      '", "device": {"hostname": "bench", "os": "Linux", "user": "b"}}'
    return wrk.format("POST", "/bare", {["Content-Type"] = "application/json"}, body)
  else
    return wrk.format("GET", "/bare?state=open&limit=50", {["Authorization"] = "Bearer x"})
  end
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK-JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"errors": %d}\n', summary.requests, summary.duration, latency:percentile(50),
    latency:percentile(99), e.connect + e.read + e.write + e.status + e.timeout))
end
"""


class Wrk:
    """Load from the wrk command: *seconds* per measurement, the figures from its JSON line."""

    name = "wrk"

    def __init__(self, seconds: float, folder: Path) -> None:
        self.seconds = seconds
        self.script = folder / "load.lua"
        self.script.write_text(WRK_SCRIPT)
        self.run_id = f"bench{os.getpid()}"

    def __call__(self, url: str, concurrency: int, kind: str, token: str = "x",
                 seconds: float | None = None) -> dict:
        self.run_id += "x"  # every run its own device ids
        command = ["wrk", "-t", str(min(2, concurrency)), "-c", str(concurrency),
                   "-d", f"{max(1, round(seconds or self.seconds))}s", "--timeout", "30s", "-s", str(self.script),
                   url, "--", kind, self.run_id, token]
        out = subprocess.run(command, capture_output=True, text=True, timeout=120).stdout
        found = re.search(r"^WRK-JSON (.*)$", out, re.M)
        if found is None:
            raise SystemExit(f"wrk printed no figures:\n{out}")
        figures = json.loads(found.group(1))
        if figures["errors"]:
            raise SystemExit(f"{figures['errors']} of wrk's {kind} requests failed:\n{out}")
        return {"rps": figures["requests"] / (figures["duration_us"] / 1e6),
                "p50": figures["p50_us"] / 1000, "p99": figures["p99_us"] / 1000}


class PythonLoad:
    """Load from Python threads in this process (the fallback when wrk is missing)."""

    name = "python"

    def __init__(self, requests: int, make: dict[str, Callable], connect: Callable) -> None:
        self.requests, self.make, self.connect = requests, make, connect

    def __call__(self, url: str, concurrency: int, kind: str, token: str = "x",
                 seconds: float | None = None) -> dict:
        total = self.requests if seconds is None else min(200, self.requests)
        return drive(self.connect(url), concurrency, total, self.make[kind])


def drive(connect: Callable[[], http.client.HTTPConnection], concurrency: int, total: int,
          make_request) -> dict:
    """Send *total* requests over *concurrency* keep-alive connections (Python threads)."""
    latencies: list[float] = []
    lock = threading.Lock()
    per_thread = total // concurrency
    barrier = threading.Barrier(concurrency + 1)
    errors = []

    def worker(worker_id: int) -> None:
        conn = connect()
        conn.connect()  # the handshake (TLS) happens before the clock starts, once
        mine = []
        barrier.wait()
        for n in range(per_thread):
            method, path, body, headers = make_request(worker_id, n)
            started = time.perf_counter()
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            mine.append(time.perf_counter() - started)
            if response.status >= 300:
                errors.append(response.status)
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise SystemExit(f"{len(errors)} requests failed, e.g. status {errors[0]}")
    latencies.sort()
    return {"rps": len(latencies) / elapsed,
            "p50": statistics.median(latencies) * 1000,
            "p99": latencies[int(len(latencies) * 0.99) - 1] * 1000}


def ratio_rows(rows: list[tuple], name: str, level: int) -> float | None:
    for row_name, row_level, s, b in rows:
        if row_name == name and row_level == level:
            return s["rps"] / b["rps"]
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--load", choices=("auto", "wrk", "python"), default="auto",
                        help="the load generator (auto: wrk when on PATH, else Python threads)")
    parser.add_argument("--seconds", type=float, default=3.0, help="seconds per measurement (wrk)")
    parser.add_argument("--requests", type=int, default=3000,
                        help="requests per measurement (Python threads)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="measurements of each server in turns; the figures are their median")
    parser.add_argument("--levels", default="1,8,32", help="concurrency levels")
    parser.add_argument("--no-tls", action="store_true", help="skip the TLS measurement")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    use_wrk = args.load == "wrk" or (args.load == "auto" and shutil.which("wrk"))
    if args.load == "wrk" and not shutil.which("wrk"):
        raise SystemExit("--load wrk: the wrk command is not on PATH (Debian: apt-get install wrk)")

    with tempfile.TemporaryDirectory() as tmp:
        cert, key = make_certificate(Path(tmp))
        sos_proc, sos_port, token = start_sosdesk(Path(tmp) / "bench.db")
        tls_proc = None
        if not args.no_tls:
            tls_proc, tls_port, _ = start_sosdesk(Path(tmp) / "bench-tls.db", "--tls-cert",
                                                  str(cert), "--tls-key", str(key))
        bare_proc, bare_port = start_bare()
        run_id = os.getpid()
        try:
            def sos_request(worker: int, n: int):
                body = json.dumps({"device_id": f"bench-{run_id}-{worker}-{n}-{time.time_ns()}",
                                   "device": {"hostname": "bench", "os": "Linux", "user": "b"}})
                return "POST", "/api/v1/customer/sos", body, {"Content-Type": "application/json"}

            def queue_request(worker: int, n: int):
                return ("GET", "/api/v1/queue?state=open&sort=waiting&order=asc&total=true&limit=50", None,
                        {"Authorization": f"Bearer {token}"})

            def bare_post(worker: int, n: int):
                method, _, body, headers = sos_request(worker, n)
                return method, "/bare", body, headers

            def bare_get(worker: int, n: int):
                return "GET", "/bare?state=open&limit=50", None, {"Authorization": "Bearer x"}

            makers = {"sos": sos_request, "queue": queue_request, "bare_post": bare_post,
                      "bare_get": bare_get}

            def connect(url: str) -> Callable[[], http.client.HTTPConnection]:
                port = int(url.rsplit(":", 1)[1].rstrip("/"))
                return tls(port, cert) if url.startswith("https") else plain(port)

            load = (Wrk(args.seconds, Path(tmp)) if use_wrk
                    else PythonLoad(args.requests, makers, connect))
            print(f"load generator: {load.name}"
                  + ("" if use_wrk else " (wrk not found: Python threads on the same cores)"),
                  flush=True)
            sos_url, bare_url = f"http://127.0.0.1:{sos_port}", f"http://127.0.0.1:{bare_port}"

            def median_of(runs: list[dict]) -> dict:
                return {key: statistics.median(r[key] for r in runs) for key in runs[0]}

            rows = []
            for name, real, bare in (("SOS creation", "sos", "bare_post"),
                                     ("queue read", "queue", "bare_get")):
                for level in levels:
                    load(bare_url, level, bare, seconds=1)  # warm-up
                    load(sos_url, level, real, token, seconds=1)
                    b_runs, s_runs = [], []
                    for _ in range(args.rounds):  # in turns: both see the same moments
                        b_runs.append(load(bare_url, level, bare))
                        s_runs.append(load(sos_url, level, real, token))
                    rows.append((name, level, median_of(s_runs), median_of(b_runs)))
            tls_rows = []
            if tls_proc is not None:
                tls_url = f"https://127.0.0.1:{tls_port}"
                for level in levels:
                    load(tls_url, level, "sos", seconds=1)  # warm-up
                    p = load(sos_url, level, "sos")
                    t = load(tls_url, level, "sos")
                    tls_rows.append((level, t, p))
        finally:
            for proc in (sos_proc, tls_proc, bare_proc):
                if proc is not None:
                    proc.terminate()
                    proc.wait(10)

    print(f"{'workload':<14}{'conc':>5}  {'sosdesk req/s':>13}{'p50 ms':>8}{'p99 ms':>8}"
          f"  {'bare req/s':>10}{'p50 ms':>8}{'p99 ms':>8}  {'ratio':>6}")
    for name, level, s, b in rows:
        print(f"{name:<14}{level:>5}  {s['rps']:>13.0f}{s['p50']:>8.2f}{s['p99']:>8.2f}"
              f"  {b['rps']:>10.0f}{b['p50']:>8.2f}{b['p99']:>8.2f}  {s['rps'] / b['rps']:>6.2f}")
    if tls_rows:
        print()
        print("SOS creation over TLS (keep-alive) against plain HTTP, the same sosdesk server code:")
        print(f"{'workload':<14}{'conc':>5}  {'TLS req/s':>13}{'p50 ms':>8}{'p99 ms':>8}"
              f"  {'plain req/s':>11}{'p50 ms':>8}{'p99 ms':>8}  {'TLS/plain':>9}")
        for level, t, p in tls_rows:
            print(f"{'SOS over TLS':<14}{level:>5}  {t['rps']:>13.0f}{t['p50']:>8.2f}"
                  f"{t['p99']:>8.2f}  {p['rps']:>11.0f}{p['p50']:>8.2f}{p['p99']:>8.2f}"
                  f"  {t['rps'] / p['rps']:>9.2f}")
    first, last = levels[0], levels[-1]

    def fmt(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    print(f"\nserver_load: sos ratio c{first} {fmt(ratio_rows(rows, 'SOS creation', first))} "
          f"c{last} {fmt(ratio_rows(rows, 'SOS creation', last))}; "
          f"queue ratio c{first} {fmt(ratio_rows(rows, 'queue read', first))} "
          f"c{last} {fmt(ratio_rows(rows, 'queue read', last))} (load: {load.name})")


if __name__ == "__main__":
    main()
