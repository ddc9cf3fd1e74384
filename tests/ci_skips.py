"""Under CI=true nothing the tests need may be missing: such a skip is a failure.

On a developer's machine a test that needs a system tool or an optional module
is skipped, with the reason shown. In CI (``.ci/run`` installs everything) the
same test fails instead, so a missing package can never turn into a green run
with fewer tests. Tests call :func:`require_tool`, :func:`require_module` or
:func:`skip_missing`; the two hooks below catch what does not (a plain
``pytest.importorskip``, a skip whose reason says something is not installed),
in a test and while collecting a module. ``tests/conftest.py`` takes them in.
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
from types import ModuleType
from typing import Any, Iterator, NoReturn

import pytest

__all__ = ["in_ci", "skip_missing", "require_tool", "require_module",
           "pytest_runtest_makereport", "pytest_make_collect_report"]

#: Skip reasons that say a module or tool is missing: pytest.importorskip's
#: "could not import", and this module's and the usual wordings.
_MISSING = re.compile(r"could not import|no module named|is not installed|not found on path|"
                      r"cannot import|is missing", re.IGNORECASE)


def in_ci() -> bool:
    """Whether this run is CI (``CI=true``), where nothing may be missing."""
    return os.environ.get("CI", "").lower() == "true"


def skip_missing(message: str) -> NoReturn:
    """Skip this test because *message* names something missing; fail instead in CI."""
    if in_ci():
        pytest.fail(f"{message} (CI must have it: .ci/run installs it)", pytrace=False)
    pytest.skip(message)


def require_tool(name: str) -> str:
    """The path of system tool *name*; skips the test without it (fails in CI)."""
    path = shutil.which(name)
    if path is None:
        skip_missing(f"{name} is not installed (.ci/run installs it)")
    return path


def require_module(name: str) -> ModuleType:
    """Module *name*, imported; skips the test without it (fails in CI)."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        skip_missing(f"could not import {name!r}: {exc}")


def _missing_reason(report: Any) -> str | None:
    """The reason of a skip that is about something missing, else None."""
    if not report.skipped or not isinstance(report.longrepr, tuple):
        return None
    reason = str(report.longrepr[2])
    return reason if _MISSING.search(reason) else None


def _fail_in_ci(report: Any) -> None:
    reason = _missing_reason(report) if in_ci() else None
    if reason is not None:
        report.outcome = "failed"
        report.longrepr = (f"{reason}\nunder CI=true a missing module or tool fails the test "
                           "instead of skipping it")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """A test (or its setup) skipped for something missing fails under CI."""
    outcome = yield
    _fail_in_ci(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Iterator[None]:
    """A module skipped while collected (a module-level importorskip) fails under CI."""
    outcome = yield
    _fail_in_ci(outcome.get_result())
