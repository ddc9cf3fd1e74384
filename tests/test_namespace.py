"""One import namespace: sosdesk.agent, sosdesk.installer, ... and never a bare top-level name.

PyPA's wheel installer is also called ``installer``; the test extras install it
into the same venv as sosdesk, so the whole suite (and the frozen agent's build)
runs beside it.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT

PACKAGES = ("common", "agent", "installer", "builder", "server_stub")
SOURCES = [path for folder in (*PACKAGES, "tests", "bench") for path in (ROOT / folder).rglob("*.py")]


def test_pypa_installer_and_sosdesk_import_side_by_side(tmp_path: Path) -> None:
    probe = ("import installer, installer.destinations, sosdesk.installer, sosdesk.agent.cli, "
             "sosdesk.server_stub.app, sosdesk.builder\n"
             "print(installer.__file__); print(sosdesk.installer.__file__)")
    # From a folder of its own: the project root on sys.path would hide the question.
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    pypa, ours = (Path(line) for line in result.stdout.splitlines())
    assert "site-packages" in pypa.parts and pypa.parent.name == "installer"
    assert ours == ROOT / "installer" / "__init__.py"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_imports_a_bare_top_level_name(path: Path) -> None:
    bare = []
    for node in ast.walk(ast.parse(path.read_bytes())):
        names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                 else [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module
                 else [])
        bare += [name for name in names if name.split(".")[0] in PACKAGES]
    assert not bare, f"import these as sosdesk.<name>: {bare}"


@pytest.mark.slow
def test_the_wheel_holds_everything_under_sosdesk_only(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                    "-w", str(tmp_path), str(ROOT)], check=True, timeout=300, capture_output=True)
    [wheel] = tmp_path.glob("sosdesk-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert tops == {"sosdesk"}
    for needed in ("sosdesk/common/__init__.py", "sosdesk/agent/cli.py", "sosdesk/installer/api.py", "sosdesk/builder/cli.py",
                   "sosdesk/server_stub/schema/v1.sql", "sosdesk/server_stub/schema/upgrade-to-v2.sql",
                   "sosdesk/server_stub/static/index.html"):
        assert needed in names
    assert "sosdesk/__init__.py" not in names  # a namespace: nothing else may claim it
