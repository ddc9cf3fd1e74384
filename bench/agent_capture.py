"""What the agent's screen sharing costs per frame, without network: capture, diff, encode.

    python bench/agent_capture.py [--size 1280x800] [--frames 40] [--idle-seconds 10]

On its own Xvfb, a window fills the screen with text (a monospace editor look)
and a coloured panel. Measured, each over *frames* frames:

* grab      mss capture of the whole monitor (the baseline the rest is compared to)
* still     grab + diff of an unchanged screen (the encoder returns nothing)
* typing    grab + diff + encode after one character was typed (a few tiles)
* scroll    grab + diff + encode after every line moved up (one full-frame JPEG)
* sharp     the re-send of settled tiles at quality 90 after a low-quality scroll
* idle CPU  the sharer's own loop on a still screen for *idle-seconds*, uploads
            going nowhere: CPU seconds per wall second, in % of one core

Prints a table (ms per frame, bytes per frame, multiple of grab) and, as its
last line, ``agent capture WxH: ...`` with the figures.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

CONTENT = r'''
import sys, tkinter as tk
width, height = int(sys.argv[1]), int(sys.argv[2])
root = tk.Tk()
root.geometry(f"{width}x{height}+0+0")
text = tk.Text(root, font=("TkFixedFont", 11), bg="white", fg="#202020", wrap="none", bd=0)
text.place(x=0, y=0, width=width - 300, height=height)
panel = tk.Canvas(root, bg="#2b3a55", highlightthickness=0)
panel.place(x=width - 300, y=0, width=300, height=height)
for i in range(12):
    panel.create_rectangle(20, 20 + i * 60, 280, 60 + i * 60, fill=["#e06c75", "#98c379", "#61afef"][i % 3])
    panel.create_text(150, 40 + i * 60, text=f"Item {i}: settings and options", fill="white")
words = "the quick brown fox jumps over a lazy dog while sosdesk shares this screen".split()
for n in range(200):
    text.insert("end", f"{n:4d}  " + " ".join(words[(n + k) % len(words)] for k in range(12)) + "\n")
def command(line):
    if line == "type":
        text.insert("3.10", "x")
    elif line == "scroll":
        text.yview_scroll(1, "units")
for line in sys.stdin:
    root.after(0, command, line.strip())
    root.after(0, lambda: print("done", flush=True))
    root.update()
'''


class Content:
    """The window on the bench's screen, told to type or scroll through stdin."""

    def __init__(self, display: str, width: int, height: int) -> None:
        env = dict(os.environ, DISPLAY=display)
        self.proc = subprocess.Popen([sys.executable, "-c", CONTENT, str(width), str(height)], env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def do(self, command: str) -> None:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        self.proc.stdout.readline()
        time.sleep(0.02)  # let the X server draw it

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


def measure(label: str, runs: list[tuple[float, int]], baseline: float) -> dict:
    times = sorted(t for t, _ in runs)
    sizes = [n for _, n in runs]
    row = {"what": label, "p50_ms": statistics.median(times) * 1000,
           "p95_ms": times[int(len(times) * 0.95) - 1] * 1000 if len(times) > 1 else times[0] * 1000,
           "bytes": int(statistics.median(sizes)) if sizes else 0}
    row["x_grab"] = row["p50_ms"] / (baseline * 1000) if baseline else 0.0
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1280x800")
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--idle-seconds", type=float, default=10.0)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        print("Xvfb is not installed", file=sys.stderr)
        return 2
    from xscreen import XScreen

    screen = XScreen(xvfb, args.size)
    os.environ["DISPLAY"] = screen.name
    content = Content(screen.name, width, height)
    try:
        return run(args, screen, content, width, height)
    finally:
        content.close()
        screen.close()


def run(args: argparse.Namespace, screen, content: Content, width: int, height: int) -> int:
    from sosdesk.agent.screen import MIN_QUALITY, FrameEncoder, MssGrabber, quality_for

    time.sleep(1.0)
    grabber = MssGrabber()
    [monitor, *_] = grabber.monitors()
    quality = quality_for(1_000_000)  # what a 1 MB/s link gets
    grabs = []
    for _ in range(args.frames):
        started = time.perf_counter()
        grabber.grab(monitor)
        grabs.append((time.perf_counter() - started, 0))
    baseline = statistics.median(t for t, _ in grabs)

    def frame_cost(change: str | None, now: float, encoder: FrameEncoder, q: int) -> tuple[float, int]:
        if change:
            content.do(change)
        started = time.perf_counter()
        frame = encoder.encode(grabber.grab(monitor), now, q)
        spent = time.perf_counter() - started
        return spent, len(frame.payload) if frame else 0

    rows = [measure("grab", grabs, baseline)]
    encoder = FrameEncoder()
    encoder.encode(grabber.grab(monitor), 0.0, 90)
    rows.append(measure("still", [frame_cost(None, 0.01 * i, encoder, quality) for i in range(args.frames)],
                        baseline))
    rows.append(measure("typing", [frame_cost("type", 0.01 * i, encoder, quality)
                                   for i in range(args.frames)], baseline))
    rows.append(measure("scroll", [frame_cost("scroll", 0.01 * i, encoder, quality)
                                   for i in range(args.frames)], baseline))
    sharp = []
    for i in range(max(3, args.frames // 4)):
        content.do("scroll")
        encoder.encode(grabber.grab(monitor), 100.0 * i, MIN_QUALITY)
        sharp.append(frame_cost(None, 100.0 * i + 1.0, encoder, MIN_QUALITY))
    rows.append(measure("sharp", sharp, baseline))
    grabber.close()
    idle = idle_cpu(args.idle_seconds)

    print(f"{'what':<8} {'p50 ms':>8} {'p95 ms':>8} {'bytes':>9} {'x grab':>7}")
    for row in rows:
        print(f"{row['what']:<8} {row['p50_ms']:8.2f} {row['p95_ms']:8.2f} {row['bytes']:9d} {row['x_grab']:7.1f}")
    print(f"idle CPU {idle:.2f} % of one core ({args.idle_seconds:.0f} s still screen, JPEG quality {quality})")
    by = {row["what"]: row for row in rows}
    print(f"agent capture {width}x{height}: grab {by['grab']['p50_ms']:.1f} ms; "
          f"still {by['still']['p50_ms']:.1f} ms; typing {by['typing']['p50_ms']:.1f} ms "
          f"{by['typing']['bytes']} B; scroll {by['scroll']['p50_ms']:.1f} ms {by['scroll']['bytes']} B "
          f"(x{by['scroll']['x_grab']:.1f} grab); sharp {by['sharp']['p50_ms']:.1f} ms; idle CPU {idle:.2f}%")
    return 0


def idle_cpu(seconds: float) -> float:
    """The sharer's loop on a still screen with a client that uploads nowhere: % of one core."""
    from sosdesk.agent.screen import MssGrabber
    from sosdesk.agent.sharing import Sharer

    class Nowhere:
        def screen_info(self, token, info):
            return {}

        def upload_frame(self, token, frame):
            return {}

    current = [True]
    sharer = Sharer(lambda: Nowhere(), "t", MssGrabber, 0, lambda s: current[0], lambda s, r: None)
    thread = threading.Thread(target=sharer.run, daemon=True)
    thread.start()
    time.sleep(2.0)  # past the first frame and the settling
    start_cpu, start = time.process_time(), time.monotonic()
    time.sleep(seconds)
    used = time.process_time() - start_cpu
    elapsed = time.monotonic() - start
    current[0] = False
    thread.join(5)
    return 100.0 * used / elapsed


if __name__ == "__main__":
    sys.exit(main())
