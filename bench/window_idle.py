"""How often the customer's window wakes up while nothing changes.

    python bench/window_idle.py [--seconds 10]

Starts Xvfb (a display it picks itself), the real server on a loopback port
and the agent's QuickSupport window (``sos-agent sos``, the Python agent)
for a new case; once the window shows the code and the case is quiet (no
expert, nothing to show), counts the context switches of each of the agent's
threads over ``--seconds`` (/proc/<pid>/task/*/status): every timer that
fires and every poll that returns is one. The threads that wait on the
server (long-polls) sleep in a socket read; the window's thread is the one
the figure is about. Linux only.

Last line: ``window_idle: wake-ups/s window thread W, whole process P``.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sosdesk.server_stub import portfile  # noqa: E402
from sosdesk.server_stub.store import Store  # noqa: E402


def start_xvfb() -> tuple[subprocess.Popen, str]:
    """Xvfb on a display it picks itself (-displayfd), and its name."""
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        raise SystemExit("this benchmark needs Xvfb")
    read, write = os.pipe()
    try:
        proc = subprocess.Popen([xvfb, "-displayfd", str(write), "-nolisten", "tcp", "-screen", "0",
                                 "1024x768x24"], pass_fds=(write,), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
    finally:
        os.close(write)
    number = b""
    deadline = time.monotonic() + 10
    while not number.endswith(b"\n") and time.monotonic() < deadline:
        if select.select([read], [], [], 0.1)[0]:
            chunk = os.read(read, 16)
            if not chunk:
                break
            number += chunk
    os.close(read)
    if not number.strip():
        proc.kill()
        raise SystemExit("Xvfb did not start")
    return proc, ":" + number.decode().strip()


def switches(pid: int) -> dict[str, int]:
    """Context switches so far of each thread of *pid*, by "name/tid"."""
    found = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            status = (task / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
        found[f"{fields['Name'].strip()}/{task.name}"] = (
            int(fields["voluntary_ctxt_switches"]) + int(fields["nonvoluntary_ctxt_switches"]))
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="how long to count")
    args = parser.parse_args()
    if not sys.platform.startswith("linux"):
        raise SystemExit("this benchmark reads /proc: Linux only")
    with tempfile.TemporaryDirectory(prefix="sosdesk-bench-") as tmp:
        work = Path(tmp)
        xvfb, display = start_xvfb()
        db = work / "bench.db"
        store = Store(str(db))
        _, token = store.add_expert("bench", "bench password", int(time.time()))
        store.close()
        server = subprocess.Popen(
            [sys.executable, "-m", "sosdesk.server_stub", "--db", str(db), "serve", "--port", "0",
             "--quiet", "--port-file", str(work / "port.json")],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        agent = None
        try:
            url = portfile.wait(work / "port.json", server)["url"]
            (work / "branding.json").write_text(json.dumps(
                {"company_name": "ACME", "server_url": url, "language": "en"}))
            home = work / "home"
            home.mkdir()
            env = {k: v for k, v in os.environ.items()
                   if k not in ("WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS")
                   and not k.startswith("SOSDESK_")}
            env.update(DISPLAY=display, HOME=str(home), SOSDESK_CONFIG_DIR=str(home / "config"),
                       XDG_CONFIG_HOME=str(home / ".config"), XDG_DATA_HOME=str(home / "data"),
                       LANG="C.UTF-8")
            agent = subprocess.Popen(
                [sys.executable, "-m", "sosdesk.agent", "--config", str(work / "branding.json"),
                 "--no-install", "sos"], env=env, cwd=home, stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE, text=True)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                request = urllib.request.Request(f"{url}/api/v1/sessions?state=open",
                                                 headers={"Authorization": f"Bearer {token}"})
                with urllib.request.urlopen(request, timeout=10) as answer:
                    if json.loads(answer.read())["sessions"]:
                        break
                if agent.poll() is not None:
                    raise SystemExit(f"the agent ended: {agent.stderr.read()[-2000:]}")
                time.sleep(0.2)
            else:
                raise SystemExit("the agent filed no case within 60 s")
            time.sleep(3)  # the window is up, the long-polls are waiting
            before = switches(agent.pid)
            time.sleep(args.seconds)
            after = switches(agent.pid)
        finally:
            if agent is not None:
                agent.terminate()
                try:
                    agent.wait(10)
                except subprocess.TimeoutExpired:
                    agent.kill()
            server.terminate()
            server.wait(10)
            xvfb.terminate()
            xvfb.wait(10)

    rates = {name: (after[name] - before.get(name, 0)) / args.seconds for name in after}
    main_thread = f"python/{agent.pid}" if f"python/{agent.pid}" in rates else next(
        (name for name in rates if name.endswith(f"/{agent.pid}")), None)
    print(f"{'thread':<36}{'wake-ups/s':>12}")
    for name, rate in sorted(rates.items(), key=lambda item: -item[1]):
        print(f"{name + (' (the window)' if name == main_thread else ''):<36}{rate:>12.1f}")
    total = sum(rates.values())
    window = rates.get(main_thread, float("nan"))
    print(f"\nwindow_idle: wake-ups/s window thread {window:.1f}, whole process {total:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
