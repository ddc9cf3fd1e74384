"""The headless view: one stable, machine-readable line per event on stdout.

The format is documented in agent/cli.py's docstring; scripts and the
end-to-end tests parse it, so change it only compatibly.
"""

from __future__ import annotations

import sys
import threading
from typing import Any, TextIO
from urllib.parse import quote

from .flow import NOTICES

__all__ = ["HeadlessView", "status_line"]


def status_line(case: dict[str, Any]) -> str:
    """``status <status>`` plus ``expert=<name>`` (percent-encoded) once an expert connected."""
    line = f"status {case.get('status')}"
    if case.get("expert_name"):
        line += " expert=" + quote(str(case["expert_name"]), safe="")
    return line


class HeadlessView:
    """Prints the code, each status change and each notice, flushing every line."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        self._code: str | None = None
        self._status: str | None = None
        self._lock = threading.Lock()

    def on_case(self, case: dict[str, Any]) -> None:
        """Print ``code ...`` when the code is new and ``status ...`` when it changed."""
        code = case.get("code")
        if code and code != self._code:
            self._code = code
            self.line(f"code {code}")
        status = status_line(case)
        if status != self._status:
            self._status = status
            self.line(status)

    def on_notice(self, key: str, **values: Any) -> None:
        """Print ``notice <English text>``."""
        self.line("notice " + NOTICES[key].format(**values))

    def error(self, code: str, message: str) -> None:
        """Print ``error <code>`` (stdout) and the human message (stderr)."""
        self.line(f"error {code}")
        print(f"sos-agent: {message}", file=sys.stderr, flush=True)

    def line(self, text: str) -> None:
        """One line, flushed at once so a reading process sees it now."""
        with self._lock:
            print(text, file=self.out, flush=True)
