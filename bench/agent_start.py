"""From the SOS click to the session code: the frozen agent, installed and downloaded.

    python bench/agent_start.py [--runs 20] [--base FILE]

1. Builds the base agent with PyInstaller (or takes ``--base``) and, in the
   same run, a one-file hello world with the same options (the floor: what
   any one-file Python program costs to start and print a line here).
2. Starts the real server on a loopback port and stamps an agent for it.
3. Times, from the process start to its ``code ...`` line (``--headless sos``;
   the shortcut runs ``sos`` with a window, the same start before the code):
   - the SOS click: the installed copy (``.../current/sosdesk-agent``), as the
     shortcut runs it after the first start;
   - the first start of the downloaded file on a fresh machine (a new home
     each time): it unpacks itself, installs its copy and the shortcuts;
   - the downloaded file with ``--no-install`` on every start (what every
     click cost before the installed copy);
   - the floor.
   Each case is closed through the API after its code, so every run files a
   new SOS. Medians of ``--runs``.

Prints the sizes (one file, unpacked, installed program) and a table; last:
``agent_start: sos click p50 A s (floor B s); first start p50 C s``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sosdesk.builder.base import ensure_base  # noqa: E402
from sosdesk.common.branding import Branding  # noqa: E402
from sosdesk.common.stamp import read_stamp, write_stamp  # noqa: E402
from sosdesk.server_stub import portfile  # noqa: E402
from sosdesk.server_stub.store import Store  # noqa: E402

HELLO = "import sys\nprint('code s00-000-000', flush=True)\n"


def build_floor(work: Path) -> Path:
    """A one-file hello world, frozen with the options the agent gets (one file, stripped)."""
    work.mkdir(parents=True, exist_ok=True)
    script = work / "hello.py"
    script.write_text(HELLO)
    command = [sys.executable, "-m", "PyInstaller", "--onefile", "--noconfirm", "--log-level", "WARN",
               "--name", "hello", "--distpath", str(work / "dist"), "--workpath", str(work / "build"),
               "--specpath", str(work)]
    if sys.platform != "win32":
        command.append("--strip")
    subprocess.run(command + [str(script)], check=True, capture_output=True, timeout=600)
    return work / "dist" / ("hello.exe" if sys.platform == "win32" else "hello")


def agent_env(home: Path) -> dict[str, str]:
    """A customer's environment confined to *home*: no display, no keyring service."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS")
           and not k.startswith(("PYTHON", "SOSDESK_"))}
    home.mkdir(parents=True, exist_ok=True)
    (home / "Desktop").mkdir(exist_ok=True)
    env.update(HOME=str(home), SOSDESK_CONFIG_DIR=str(home / "sosdesk-config"),
               XDG_CONFIG_HOME=str(home / ".config"), XDG_DATA_HOME=str(home / ".local/share"),
               XDG_CACHE_HOME=str(home / ".cache"), XDG_DESKTOP_DIR=str(home / "Desktop"),
               LANG="C.UTF-8")
    return env


class Server:
    """The real sos-server on a free loopback port, and an expert's token to close cases."""

    def __init__(self, folder: Path) -> None:
        db = folder / "bench.db"
        store = Store(str(db))
        _, self.token = store.add_expert("bench", "bench password", int(time.time()))
        store.close()
        port_file = folder / "port.json"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sosdesk.server_stub", "--db", str(db), "serve", "--port", "0",
             "--quiet", "--sos-limit", "1000000", "--port-file", str(port_file)],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = portfile.wait(port_file, self.proc)["url"]

    def close_case(self, code: str) -> None:
        request = urllib.request.Request(
            f"{self.url}/api/v1/sessions/{code}", data=json.dumps({"state": "closed"}).encode(),
            method="PUT", headers={"Authorization": f"Bearer {self.token}",
                                   "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as answer:
            answer.read()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


def click(command: list[str], env: dict[str, str], server: Server | None) -> float:
    """Seconds from starting *command* to its ``code`` line; its case is closed after."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None
    took = None
    for line in proc.stdout:
        if line.startswith("code "):
            took = time.perf_counter() - started
            if server is not None:
                server.close_case(line.split()[1])
            break
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if took is None:
        raise SystemExit(f"{command[0]} printed no code: {proc.stderr.read()[-2000:]}")
    return took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="starts per figure (median)")
    parser.add_argument("--base", type=Path, help="a base agent built before (default: build one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sosdesk-bench-") as tmp:
        work = Path(tmp)
        print("building the one-file hello world (the floor) ...", flush=True)
        floor_exe = build_floor(work / "floor")
        if args.base is None:
            print("building the base agent (PyInstaller) ...", flush=True)
            base = ensure_base(rebuild=True, root=work / "cache")
        else:
            base = args.base
        server = Server(work)
        try:
            agent = work / "download" / "ACME-QuickSupport"
            agent.parent.mkdir()
            write_stamp(base, agent, Branding(company_name="ACME", server_url=server.url,
                                              language="en"))
            app_id = read_stamp(agent).app_id
            sos = ["--headless", "sos"]

            first = [click([str(agent), *sos], agent_env(work / f"first-{n}"), server)
                     for n in range(args.runs)]
            home = work / "first-0"  # a machine where the first start installed the copy
            installed = (home / ".local/share/sosdesk/agent" / app_id / "current" /
                         "sosdesk-agent")
            if not installed.is_file():
                raise SystemExit(f"the first start installed no copy at {installed}")
            clicks = [click([str(installed), *sos], agent_env(home), server)
                      for _ in range(args.runs)]
            every = [click([str(agent), "--no-install", *sos], agent_env(work / "no-install"),
                           server) for _ in range(args.runs)]
            floor = [click([str(floor_exe)], agent_env(work / "floor-home"), None)
                     for _ in range(args.runs)]
            unpacked = sum(p.stat().st_size for p in installed.resolve().parent.rglob("*")
                           if p.is_file())
            sizes = (agent.stat().st_size, unpacked, installed.resolve().stat().st_size,
                     floor_exe.stat().st_size)
        finally:
            server.stop()

    def row(name: str, values: list[float]) -> str:
        ordered = sorted(values)
        return (f"{name:<52}{statistics.median(values):>8.2f}{ordered[0]:>8.2f}"
                f"{ordered[-1]:>8.2f}")

    print(f"\none file {sizes[0] / 1e6:.1f} MB, installed copy {sizes[1] / 1e6:.1f} MB "
          f"(its program {sizes[2] / 1e6:.1f} MB), hello-world one file {sizes[3] / 1e6:.1f} MB")
    print(f"\n{'start to code printed, ' + str(args.runs) + ' runs (s)':<52}{'p50':>8}{'min':>8}"
          f"{'max':>8}")
    print(row("SOS click: the installed copy (the shortcut)", clicks))
    print(row("first start of the download (installs the copy)", first))
    print(row("the download on every start (--no-install)", every))
    print(row("floor: one-file hello world", floor))
    print(f"\nagent_start: sos click p50 {statistics.median(clicks):.2f} s "
          f"(floor {statistics.median(floor):.2f} s); first start p50 {statistics.median(first):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
