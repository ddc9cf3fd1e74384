"""How much faster personalizing is than building: both measured in the same run.

    python3 bench/builder.py [--personalizations 5]

1. a full base build: PyInstaller freezes the agent (``ensure_base(rebuild=True)``)
   into a fresh cache folder;
2. personalizations of that base, in process (stamp + icons + manifest, with a
   logo) and as the expert runs it (``sos-builder`` in a new process, offline
   ``--module-id``, the base from the builder's cache); the median of each is
   reported. The first in-process run draws the icons (and fills the cache),
   the others are re-brands of the same logo, as an expert making agents for
   several companies or groups.

Aim: a re-brand by CLI under 0.6 s and at least 50x faster than the full build.
The last line: ``builder: full build F s, re-brand R s, ratio X, size M MB``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from sosdesk.builder.base import ensure_base  # noqa: E402
from sosdesk.builder.options import parse_options  # noqa: E402
from sosdesk.builder.stamping import personalize  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--personalizations", type=int, default=5, metavar="N")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sosdesk-bench-") as tmp:
        work = Path(tmp)
        logo = work / "logo.png"
        Image.radial_gradient("L").convert("RGB").resize((400, 300)).save(logo)

        # The builder's cache for this run: the base, the re-encoded logo, the icons.
        os.environ["SOSDESK_BUILDER_CACHE"] = str(work / "cache")
        print("full base build (PyInstaller) ...", flush=True)
        started = time.perf_counter()
        base = ensure_base(rebuild=True, root=work / "cache")
        build_seconds = time.perf_counter() - started
        print(f"  {build_seconds:.1f} s, {base.stat().st_size / 1e6:.1f} MB", flush=True)

        in_process = []
        for i in range(args.personalizations):
            started = time.perf_counter()
            options = parse_options({"company": f"Company {i}", "server": "https://support.example",
                                     "logo": logo, "module_id": f"m{i:04d}",
                                     "out": work / f"out-{i}", "base": base}, token_given=False)
            personalize(base, options, options.module_id)
            in_process.append(time.perf_counter() - started)

        cli = []
        env = dict(os.environ, PYTHONPATH=str(ROOT), SOSDESK_BUILDER_CACHE=str(work / "cache"))
        env.pop("SOSDESK_TOKEN", None)
        for i in range(args.personalizations):
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "sosdesk.builder", "-q", "--company", f"Cli {i}", "--server",
                 "https://support.example", "--logo", str(logo), "--module-id", f"c{i:04d}",
                 "--out", str(work / f"cli-{i}")],
                env=env, check=True, capture_output=True)
            cli.append(time.perf_counter() - started)
        size_mb = base.stat().st_size / 1e6

    one = statistics.median(in_process)
    one_cli = statistics.median(cli)
    print()
    print(f"{'step':<42}{'seconds':>10}{'x faster':>10}")
    print(f"{'full base build (PyInstaller)':<42}{build_seconds:>10.2f}{'1':>10}")
    print(f"{'personalization, in process (median)':<42}{one:>10.2f}{build_seconds / one:>10.0f}")
    print(f"{'  the first, a new logo (draws the icons)':<42}{in_process[0]:>10.2f}"
          f"{build_seconds / in_process[0]:>10.0f}")
    print(f"{'re-brand, sos-builder CLI (median)':<42}{one_cli:>10.2f}"
          f"{build_seconds / one_cli:>10.0f}")
    ok = one_cli < 0.6 and build_seconds / one_cli >= 50
    print(f"\naim (re-brand under 0.6 s and at least 50x faster, CLI): {'met' if ok else 'NOT met'}")
    print(f"builder: full build {build_seconds:.1f} s, re-brand {one_cli:.2f} s, "
          f"ratio {build_seconds / one_cli:.0f}, size {size_mb:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
