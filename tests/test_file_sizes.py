"""No Python file over 450 lines and no JavaScript file over 400: a file that grows past
its limit is split by topic (a test file too: what its parts share goes to a helper
module).

Every file git tracks counts (``git ls-files``): the packages, the console's scripts,
the tests and the benchmarks."""

from __future__ import annotations

import subprocess
from pathlib import Path

from conftest import ROOT, require_tool, skip_missing

MAX_LINES = {".py": 450, ".js": 400}


def tracked(suffix: str) -> list[Path]:
    """Every file git tracks whose name ends with *suffix*, as it is in the worktree now."""
    git = require_tool("git")
    listed = subprocess.run([git, "ls-files", "-z", "--", f"*{suffix}"], cwd=ROOT,
                            capture_output=True, text=True)
    if listed.returncode != 0:
        skip_missing(f"the git checkout is missing, so its files cannot be listed: {listed.stderr.strip()}")
    # A file deleted in the worktree but not yet committed is no longer there to count.
    return [ROOT / name for name in listed.stdout.split("\0") if name and (ROOT / name).is_file()]


def too_long(files: list[Path], limit: int) -> dict[Path, int]:
    """The files of *files* longer than *limit* lines, with their number of lines."""
    lengths = {path: len(path.read_text("utf-8").splitlines()) for path in files}
    return {path: n for path, n in sorted(lengths.items()) if n > limit}


def _report(found: dict[Path, int], limit: int) -> str:
    names = {path.relative_to(ROOT).as_posix(): n for path, n in found.items()}
    return f"split these by topic (at most {limit} lines each): {names}"


def test_every_tracked_python_and_javascript_file_is_listed() -> None:
    python, javascript = tracked(".py"), tracked(".js")
    assert ROOT / "tests" / "conftest.py" in python, "wrong folder or pattern?"
    assert ROOT / "bench" / "server_load.py" in python and ROOT / "server_stub" / "cli.py" in python
    assert ROOT / "server_stub" / "static" / "app.js" in javascript
    assert {path.suffix for path in python} == {".py"} and {path.suffix for path in javascript} == {".js"}


def test_lines_are_counted_as_an_editor_shows_them(tmp_path: Path) -> None:
    at_limit, over = tmp_path / "at_limit.py", tmp_path / "over.py"
    at_limit.write_text("x = 1\n" * 450)
    over.write_text("x = 1\n" * 450 + "y = 2")  # a last line without its newline counts too
    assert too_long([at_limit, over], 450) == {over: 451}


def test_no_python_file_is_over_450_lines() -> None:
    found = too_long(tracked(".py"), MAX_LINES[".py"])
    assert not found, _report(found, MAX_LINES[".py"])


def test_no_javascript_file_is_over_400_lines() -> None:
    found = too_long(tracked(".js"), MAX_LINES[".js"])
    assert not found, _report(found, MAX_LINES[".js"])
