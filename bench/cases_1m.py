"""Queue listing and the expiry sweep with a million cases, over HTTP on loopback.

    python bench/cases_1m.py [--rows 1000000] [--samples 200] [--db PATH] [--keep]

1. Builds a fresh database with ``server_stub.store.Store`` (the real schema)
   and fills it with direct SQL: a realistic mix of statuses, groups and
   creation times over a year (open cases are the newest day's).
2. Starts the real server (``python -m sosdesk.server_stub serve``) and measures p50/p99
   of the first page of the queue: open cases, by status, by group, and one
   case by code.
3. Stops it, makes ``--due`` cases due (1,000,000 by default: every open case,
   and closed ones reopened until there are that many), starts it again and
   times the expiry sweep while three clients keep calling the API (the open
   queue's first page, a case by code, /healthz); reports the worst latency
   seen during the sweep, and then the time and worst latency of the release
   pass that frees the expired cases' codes and devices (schema v4's holds;
   reopened cases are given their holds first, as open cases have them).

Every figure is printed as a table. Loopback only; every loop is bounded.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sosdesk.server_stub import portfile  # noqa: E402
from sosdesk.server_stub.store import Store  # noqa: E402

OPEN = ("new", "pending", "in_progress")
# (status, share of all cases)
STATUS_MIX = (("new", 0.12), ("pending", 0.10), ("in_progress", 0.08),
              ("closed", 0.50), ("expired", 0.20))
GROUPS = ["default"] + [f"team-{n:02d}" for n in range(1, 20)]
GROUP_WEIGHTS = [40] + [60 / 19] * 19
DAY, YEAR = 86400, 365 * 86400
#: The newest cases the sweep's backlog leaves alone (made after the downtime).
KEPT_OPEN = 20_000


def generate(db: Path, rows: int, seed: int = 1) -> tuple[str, list[str]]:
    """A database with *rows* cases; returns (expert API token, some open codes)."""
    store = Store(str(db))
    _, token = store.add_expert("bench", "bench password", int(time.time()))
    store.close()
    rng = random.Random(seed)
    now = int(time.time())
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA synchronous = OFF")
    # Drop the indexes, insert, and recreate them from their own SQL: same schema, much faster.
    indexes = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                           "AND tbl_name IN ('cases', 'case_events')").fetchall()
    for (sql,) in indexes:
        name = re.search(r"INDEX\s+(\w+)", sql).group(1)
        conn.execute(f"DROP INDEX {name}")
    codes = rng.sample(range(10**8), rows)
    statuses = rng.choices([s for s, _ in STATUS_MIX], [w for _, w in STATUS_MIX], k=rows)
    groups = rng.choices(GROUPS, GROUP_WEIGHTS, k=rows)
    created_at = [now - rng.randrange(60, DAY - 3600) if status in OPEN
                  else now - rng.randrange(DAY, YEAR) for status in statuses]
    # Ids grow with creation time, as they do on a server (AUTOINCREMENT, now).
    order = sorted(range(rows), key=created_at.__getitem__)
    statuses = [statuses[i] for i in order]
    created_at = [created_at[i] for i in order]

    def case_rows():
        for i in range(rows):
            status = statuses[i]
            is_open = status in OPEN
            created = created_at[i]
            by_customer = i % 5 < 3
            expert = None if status == "new" else 1
            yield (i + 1, f"{codes[i]:08d}", status, groups[i], f"case {i}: printer", "", "",
                   expert, created + 30 if expert else None, "customer" if by_customer else "expert:1",
                   hashlib.sha256(str(i).encode()).hexdigest() if by_customer else None,
                   "PC-%d" % (i % 999), "Windows 11", "user",
                   created + 30 if expert else None,
                   created + 10 if status in ("in_progress",) or (status == "pending" and by_customer) else None,
                   created, created + DAY, None if is_open else created + rng.randrange(60, DAY),
                   i + 1)

    def event_rows():
        for i in range(rows):
            status = statuses[i]
            yield (i + 1, now, "customer", "create", None, "new")
            if status not in OPEN:
                yield (i + 1, now, "system" if status == "expired" else "expert:1",
                       "expire" if status == "expired" else "close", "new", status)

    started = time.perf_counter()
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO cases (id, code, status, groupid, description, customer_name, customer_email,"
        " assigned_userid, assigned_at, created_by, device_hash, device_hostname, device_os,"
        " device_user, expert_started_at, customer_started_at, created_at, valid_until, closed_at,"
        " version) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", case_rows())
    conn.executemany("INSERT INTO case_events (case_id, at, actor, event, from_status, to_status)"
                     " VALUES (?,?,?,?,?,?)", event_rows())
    for (sql,) in indexes:
        conn.execute(sql)
    # Each group a row of its own, as the server makes them (schema v3).
    conn.executemany("INSERT OR IGNORE INTO groups (name, created_at) VALUES (?, ?)",
                     [(group, now - YEAR) for group in GROUPS])
    conn.execute("COMMIT")
    conn.execute("ANALYZE")  # an operator would, and the planner needs it at this size
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    open_codes = [row[0] for row in conn.execute(
        "SELECT code FROM cases WHERE status IN ('new','pending','in_progress') LIMIT 2000")]
    conn.close()
    print(f"generated {rows:,} cases in {time.perf_counter() - started:.1f}s "
          f"({db.stat().st_size / 2**20:.0f} MiB)")
    return token, open_codes


class Server:
    def __init__(self, db: Path) -> None:
        port_file = db.with_name(db.name + ".port.json")
        port_file.unlink(missing_ok=True)  # left by a server that did not stop gracefully
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sosdesk.server_stub", "--db", str(db), "serve", "--port", "0",
             "--quiet", "--sos-limit", "100000", "--port-file", str(port_file)],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.log: list[tuple[float, str]] = []
        threading.Thread(target=self._read_log, daemon=True).start()
        self.url = portfile.wait(port_file, self.proc)["url"]
        self.ready_at = time.monotonic()

    def _read_log(self) -> None:
        for line in self.proc.stderr:
            self.log.append((time.monotonic(), line.rstrip()))

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(30)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def measure(http: requests.Session, url: str, samples: int) -> list[float]:
    took = []
    for _ in range(samples):
        started = time.perf_counter()
        response = http.get(url, timeout=120)
        took.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text[:300]
    return took


def table(title: str, header: tuple[str, ...], rows: list[tuple]) -> None:
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows)]
    print(f"\n{title}")
    print("  ".join(str(h).ljust(w) for h, w in zip(header, widths)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(str(x).ljust(w) for x, w in zip(row, widths)))


def bench_listing(db: Path, token: str, codes: list[str], samples: int) -> None:
    server = Server(db)
    rng = random.Random(2)
    try:
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {token}"
        # 100 a page, as before the default page became TeamViewer's 1,000, so that the
        # figures stay comparable with earlier runs; "all" needs state=open,closed now.
        queries = [
            ("open cases, first page (100)", "/api/v1/sessions?state=open&limit=100"),
            ("status=new", "/api/v1/sessions?status=new&limit=100"),
            ("status=in_progress", "/api/v1/sessions?status=in_progress&limit=100"),
            ("status=closed", "/api/v1/sessions?status=closed&limit=100"),
            ("groupid=team-07", "/api/v1/sessions?groupid=team-07&state=open,closed&limit=100"),
            ("groupid=team-07&state=open", "/api/v1/sessions?groupid=team-07&state=open&limit=100"),
            ("all, first page", "/api/v1/sessions?state=open,closed&limit=100"),
            ("console's page (25, all, count=false)",
             "/api/v1/sessions?state=open,closed&limit=25&count=false"),
            ("the same, counted", "/api/v1/sessions?state=open,closed&limit=25"),
        ]
        # Baseline in the same run: /healthz on the same server and connection does
        # no database work, so "x base" is what the database costs per request.
        measure(http, server.url + "/healthz", 3)
        base = measure(http, server.url + "/healthz", samples)
        base_p50 = percentile(base, 50)
        rows = [("baseline: GET /healthz", len(base), f"{base_p50 * 1000:.1f}",
                 f"{percentile(base, 99) * 1000:.1f}", f"{max(base) * 1000:.1f}", "1.0")]

        def row(name: str, took: list[float]) -> tuple:
            return (name, len(took), f"{percentile(took, 50) * 1000:.1f}",
                    f"{percentile(took, 99) * 1000:.1f}", f"{max(took) * 1000:.1f}",
                    f"{percentile(took, 50) / base_p50:.1f}")

        for name, path in queries:
            measure(http, server.url + path, 3)  # warm the page cache
            rows.append(row(name, measure(http, server.url + path, samples)))
        by_code = []
        for _ in range(samples):
            code = rng.choice(codes)
            started = time.perf_counter()
            assert http.get(f"{server.url}/api/v1/sessions/{code}", timeout=120).status_code == 200
            by_code.append(time.perf_counter() - started)
        rows.append(row("one case by code (GET)", by_code))
        table("queue listing over HTTP (ms)", ("request", "n", "p50", "p99", "max", "p50 x base"),
              rows)
    finally:
        server.stop()


def bench_sweep(db: Path, token: str, codes: list[str], due_target: int) -> None:
    now = int(time.time())
    conn = sqlite3.connect(db, isolation_level=None)
    open_count = conn.execute(
        "SELECT COUNT(*) FROM cases WHERE status IN ('new','pending','in_progress')").fetchone()[0]
    conn.execute("BEGIN")
    # *due_target* cases are made due, as after downtime: all but the newest
    # KEPT_OPEN (made since, still open) down from there. Closed ones are reopened
    # (their codes and device hashes are unique in the generated data, so the
    # unique indexes on open cases hold) and every deadline is moved back by the
    # same amount, so deadlines keep the order of creation.
    newest = conn.execute("SELECT created_at FROM cases ORDER BY created_at DESC, id DESC"
                          " LIMIT 1 OFFSET ?", (KEPT_OPEN,)).fetchone()[0]
    conn.execute("UPDATE cases SET status = CASE WHEN status IN ('closed', 'expired') THEN 'new'"
                 " ELSE status END, closed_at = NULL, valid_until = created_at + ? WHERE id IN"
                 " (SELECT id FROM cases ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?)",
                 (now - 60 - newest, due_target, KEPT_OPEN))
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'holds'").fetchone():
        # Reopened cases take their holds, as open ones have (only an insert's trigger does).
        conn.execute("INSERT OR IGNORE INTO holds (key, case_id) SELECT 'code:' || code, id "
                     "FROM cases WHERE status IN ('new','pending','in_progress') ORDER BY code")
        conn.execute("INSERT OR IGNORE INTO holds (key, case_id) SELECT 'sos:' || device_hash || ':'"
                     " || COALESCE(module_id, ''), id FROM cases WHERE created_by = 'customer' AND"
                     " device_hash IS NOT NULL AND status IN ('new','pending','in_progress')")
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    due = conn.execute("SELECT COUNT(*) FROM cases WHERE status IN ('new','pending','in_progress')"
                       " AND valid_until <= ?", (now,)).fetchone()[0]
    conn.close()
    server = Server(db)
    latencies: list[tuple[float, float, str]] = []
    stop = threading.Event()

    def client(kind: str) -> None:
        rng = random.Random(kind)
        with requests.Session() as http:
            http.headers["Authorization"] = f"Bearer {token}"
            for _ in range(100_000):
                if stop.is_set():
                    return
                path = {"list": "/api/v1/sessions?state=open&limit=50",
                        "code": f"/api/v1/sessions/{rng.choice(codes)}",
                        "health": "/healthz"}[kind]
                started = time.monotonic()
                response = http.get(server.url + path, timeout=300)
                latencies.append((started, time.monotonic() - started, kind))
                assert response.status_code == 200, response.text[:200]

    threads = [threading.Thread(target=client, args=(k,), daemon=True)
               for k in ("list", "code", "health")]
    for thread in threads:
        thread.start()
    watcher = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    sweep_done = None
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        left = watcher.execute("SELECT COUNT(*) FROM cases WHERE status IN "
                               "('new','pending','in_progress') AND valid_until <= ?",
                               (now,)).fetchone()[0]
        if left == 0:
            sweep_done = time.monotonic()
            break
        time.sleep(0.05)
    # Then the release of the expired cases' holds (schema v4), by the same timer.
    released_at = None
    while sweep_done is not None and time.monotonic() < min(deadline, sweep_done + 300):
        released = [t for t, line in server.log if "released" in line and "hold" in line]
        if released:
            released_at = released[0]
            break
        if server.proc.poll() is not None:
            break
        time.sleep(0.05)
    time.sleep(0.5)
    stop.set()
    for thread in threads:
        thread.join(300)
    watcher.close()
    server.stop()
    if sweep_done is None:
        raise SystemExit("the sweep did not finish within 600 s")
    took = sweep_done - server.ready_at
    during = [lat for t, lat, _ in latencies if t <= sweep_done]
    rows = [("open cases before", f"{open_count:,}"), ("due at start", f"{due:,}"),
            ("all expired after (s, from server ready)", f"{took:.2f}"),
            ("rate (cases/s)", f"{due / took:,.0f}"),
            ("requests served during the sweep", len(during))]
    for kind in ("list", "code", "health"):
        mine = [lat for t, lat, k in latencies if t <= sweep_done and k == kind]
        if mine:
            rows.append((f"  {kind}: p50 / p99 / worst (ms)",
                         f"{percentile(mine, 50) * 1000:.1f} / {percentile(mine, 99) * 1000:.1f}"
                         f" / {max(mine) * 1000:.1f}"))
    if released_at is not None:
        rows.append(("holds released after (s, from sweep's end)", f"{released_at - sweep_done:.2f}"))
        mine = [lat for t, lat, _ in latencies if sweep_done < t <= released_at]
        if mine:
            rows.append(("  during the release: p50 / p99 / worst (ms)",
                         f"{percentile(mine, 50) * 1000:.1f} / {percentile(mine, 99) * 1000:.1f}"
                         f" / {max(mine) * 1000:.1f}"))
    sweeps = [line for _, line in server.log if "expired" in line or "released" in line]
    rows.append(("server log", "; ".join(s.split(" ", 2)[-1] for s in sweeps[:3]) or "-"))
    table("expiry sweep while serving", ("figure", "value"), rows)
    worst = max(during) * 1000 if during else float("nan")
    print(f"\ncases_1m: sweep: {due:,} cases in {took:.1f} s ({due / took:,.0f}/s), "
          f"worst request {worst:.0f} ms" + (
              f"; holds released in {released_at - sweep_done:.1f} s, worst request "
              f"{max((lat for t, lat, _ in latencies if sweep_done < t <= released_at), default=0) * 1000:.0f} ms"
              if released_at is not None else ""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="cases to generate")
    parser.add_argument("--samples", type=int, default=200, help="requests per listing figure")
    parser.add_argument("--due", type=int, default=1_000_000,
                        help="cases made due before the sweep (closed ones are reopened if needed)")
    parser.add_argument("--skip-listing", action="store_true", help="only the sweep")
    parser.add_argument("--db", type=Path, help="database file (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="sosdesk-bench-") as tmp:
        db = args.db or Path(tmp) / "cases.db"
        if db.exists():
            raise SystemExit(f"{db} exists; the benchmark needs a fresh database")
        token, codes = generate(db, args.rows)
        if not args.skip_listing:
            bench_listing(db, token, codes, args.samples)
        if args.rows < args.due + KEPT_OPEN:
            # The backlog needs more cases than the listing had: a database of its own.
            db.unlink()
            for suffix in ("-wal", "-shm"):
                db.with_name(db.name + suffix).unlink(missing_ok=True)
            token, codes = generate(db, args.due + KEPT_OPEN + args.rows // 5)
        bench_sweep(db, token, codes, args.due)
        if args.keep and not args.db:
            kept = Path.cwd() / "cases_bench.db"
            db.rename(kept)
            print(f"database kept: {kept}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
