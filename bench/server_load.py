"""Load on the real server next to a bare stdlib handler, measured in the same run.

    python bench/server_load.py [--requests N] [--levels 1,8,32]

Drives SOS creation (POST /api/v1/customer/sos, a new device each time) and
queue reads (GET /api/v1/sessions?state=open&limit=50) over keep-alive
connections at each concurrency level, against

* sosdesk: the real ``sos-server`` process on a fresh SQLite file, and
* bare: a ThreadingHTTPServer with the same HTTP settings (HTTP/1.1, Nagle
  off) whose handler reads the body and answers a fixed JSON, i.e. the
  ceiling that http.server itself allows on this machine.

Prints req/s and p50/p99 latency for both and the ratio sosdesk/bare. Both
servers run as separate processes; the client is one process with a thread
per connection, the same for both, so the ratio is fair on a shared machine.

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


def drive(connect: Callable[[], http.client.HTTPConnection], concurrency: int, total: int,
          make_request) -> dict:
    """Send *total* requests over *concurrency* keep-alive connections."""
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=3000, help="requests per measurement")
    parser.add_argument("--levels", default="1,8,32", help="concurrency levels")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]

    with tempfile.TemporaryDirectory() as tmp:
        cert, key = make_certificate(Path(tmp))
        sos_proc, sos_port, token = start_sosdesk(Path(tmp) / "bench.db")
        tls_proc, tls_port, _ = start_sosdesk(Path(tmp) / "bench-tls.db", "--tls-cert", str(cert),
                                              "--tls-key", str(key))
        bare_proc, bare_port = start_bare()
        run_id = os.getpid()
        try:
            def sos_request(worker: int, n: int):
                body = json.dumps({"device_id": f"bench-{run_id}-{worker}-{n}-{time.time_ns()}",
                                   "device": {"hostname": "bench", "os": "Linux", "user": "b"}})
                return "POST", "/api/v1/customer/sos", body, {"Content-Type": "application/json"}

            def queue_request(worker: int, n: int):
                return ("GET", "/api/v1/sessions?state=open&limit=50", None,
                        {"Authorization": f"Bearer {token}"})

            def bare_post(worker: int, n: int):
                method, _, body, headers = sos_request(worker, n)
                return method, "/bare", body, headers

            def bare_get(worker: int, n: int):
                return "GET", "/bare?state=open&limit=50", None, {"Authorization": "Bearer x"}

            rows = []
            for name, real, bare in (("SOS creation", sos_request, bare_post),
                                     ("queue read", queue_request, bare_get)):
                for level in levels:
                    drive(plain(bare_port), level, min(200, args.requests), bare)  # warm-up
                    b = drive(plain(bare_port), level, args.requests, bare)
                    s = drive(plain(sos_port), level, args.requests, real)
                    rows.append((name, level, s, b))
            tls_rows = []
            for level in levels:
                drive(tls(tls_port, cert), level, min(200, args.requests), sos_request)  # warm-up
                # In turns, so both see the same moment of a shared machine.
                p = drive(plain(sos_port), level, args.requests, sos_request)
                t = drive(tls(tls_port, cert), level, args.requests, sos_request)
                tls_rows.append((level, t, p))
        finally:
            for proc in (sos_proc, tls_proc, bare_proc):
                proc.terminate()
                proc.wait(10)

    print(f"{'workload':<14}{'conc':>5}  {'sosdesk req/s':>13}{'p50 ms':>8}{'p99 ms':>8}"
          f"  {'bare req/s':>10}{'p50 ms':>8}{'p99 ms':>8}  {'ratio':>6}")
    for name, level, s, b in rows:
        print(f"{name:<14}{level:>5}  {s['rps']:>13.0f}{s['p50']:>8.2f}{s['p99']:>8.2f}"
              f"  {b['rps']:>10.0f}{b['p50']:>8.2f}{b['p99']:>8.2f}  {s['rps'] / b['rps']:>6.2f}")
    print()
    print("SOS creation over TLS (keep-alive) against plain HTTP, the same sosdesk server code:")
    print(f"{'workload':<14}{'conc':>5}  {'TLS req/s':>13}{'p50 ms':>8}{'p99 ms':>8}"
          f"  {'plain req/s':>11}{'p50 ms':>8}{'p99 ms':>8}  {'TLS/plain':>9}")
    for level, t, p in tls_rows:
        print(f"{'SOS over TLS':<14}{level:>5}  {t['rps']:>13.0f}{t['p50']:>8.2f}{t['p99']:>8.2f}"
              f"  {p['rps']:>11.0f}{p['p50']:>8.2f}{p['p99']:>8.2f}  {t['rps'] / p['rps']:>9.2f}")


if __name__ == "__main__":
    main()
