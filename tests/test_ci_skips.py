"""Under CI=true a test may not skip for a missing module or tool (tests/ci_skips.py).

A real pytest run on small test files, once as on a developer's machine and
once as CI, with the same hooks tests/conftest.py uses.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

TESTS = Path(__file__).resolve().parent

SAMPLE = '''
import pytest
from ci_skips import require_module, require_tool, skip_missing


def test_plain_importorskip():
    pytest.importorskip("no_such_module_sosdesk")


def test_require_module():
    require_module("no_such_module_sosdesk")


def test_require_tool():
    require_tool("no-such-tool-sosdesk")


def test_skip_missing():
    skip_missing("Pillow with .icns support is not installed")


@pytest.fixture
def needs_a_tool():
    pytest.skip("frobnicate is not installed")


def test_a_fixture_skips_for_a_tool(needs_a_tool):
    pass


def test_a_skip_for_another_reason():
    pytest.skip("cannot mount a tmpfs here (needs root)")
'''

MODULE_LEVEL = '''
import pytest

pytest.importorskip("no_such_module_sosdesk")


def test_never_collected():
    pass
'''


def run_pytest(tmp_path: Path, ci: bool) -> dict[str, str]:
    """Run the samples with the ci_skips hooks; each test's (or module's) outcome by name."""
    (tmp_path / "conftest.py").write_text(
        "from ci_skips import pytest_make_collect_report, pytest_runtest_makereport  # noqa: F401\n")
    (tmp_path / "test_sample.py").write_text(SAMPLE)
    (tmp_path / "test_module_level.py").write_text(MODULE_LEVEL)
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_ADDOPTS")}
    env["PYTHONPATH"] = str(TESTS)
    if ci:
        env["CI"] = "true"
    report = tmp_path / "report.xml"
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                           "--continue-on-collection-errors", f"--junitxml={report}", "--rootdir",
                           str(tmp_path), str(tmp_path)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == (1 if ci else 0), done.stdout + done.stderr
    outcomes = {}
    for case in ElementTree.parse(report).iter("testcase"):
        kinds = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        outcomes[case.get("name")] = kinds[0] if kinds else "passed"
    return outcomes


def test_on_a_developer_machine_missing_things_are_skipped(tmp_path: Path) -> None:
    outcomes = run_pytest(tmp_path, ci=False)
    assert len(outcomes) == 7 and set(outcomes.values()) == {"skipped"}, outcomes


def test_under_ci_every_skip_for_a_missing_module_or_tool_fails(tmp_path: Path) -> None:
    outcomes = run_pytest(tmp_path, ci=True)
    assert outcomes == {
        "test_plain_importorskip": "failure",
        "test_require_module": "failure",
        "test_require_tool": "failure",
        "test_skip_missing": "failure",
        "test_a_fixture_skips_for_a_tool": "error",  # failed in its setup
        "test_module_level": "error",  # failed while collecting
        "test_a_skip_for_another_reason": "skipped",  # not about something missing
    }, outcomes


@pytest.mark.parametrize("path", sorted(TESTS.glob("test_*.py")), ids=lambda p: p.name)
def test_no_test_skips_around_the_ci_rule(path: Path) -> None:
    """The suite asks for modules through require_module, not importorskip or a skipif on an import."""
    source = path.read_text(encoding="utf-8")
    if path.name == Path(__file__).name:
        source = source.split("SAMPLE = ", 1)[0]
    assert "importorskip(" not in source
    assert not re.search(r"skipif\([^)]*(import|find_spec|which|can_write)", source)


def test_ci_installs_tkinter_and_the_readme_names_it() -> None:
    """Debian's python3 has no tkinter without python3-tk: the window tests need it, so CI installs it."""
    packages = (TESTS.parent / ".ci" / "run").read_text(encoding="utf-8").split()
    assert {"python3-tk", "python3-venv", "libglib2.0-bin", "desktop-file-utils"} <= set(packages)
    readme = " ".join((TESTS.parent / "README.md").read_text(encoding="utf-8").split())
    assert "`python3-venv` and `python3-tk`" in readme
