"""Shared fixtures: a real sosdesk server on a loopback port, in-process or as a
process, and a way to require system tools and modules (skip on a developer box,
fail in CI: see ci_skips)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

# The hooks that turn a skip for something missing into a failure under CI=true.
from ci_skips import (  # noqa: E402,F401
    in_ci,
    pytest_make_collect_report,
    pytest_runtest_makereport,
    require_module,
    require_tool,
    skip_missing,
)
from servers import (  # noqa: E402,F401
    EXPERT_PASSWORD,
    ROOT,
    LiveServer,
    ServerProcess,
    free_port,
    in_process,
)

IN_CI = in_ci()


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    """A real server in this process on 127.0.0.1:<free port>, on a fresh database."""
    with in_process(tmp_path / "sosdesk.db") as server:
        yield server


@pytest.fixture
def server_process(tmp_path: Path) -> Iterator[ServerProcess]:
    """The real ``sos-server`` process on a free loopback port with its first expert's token."""
    server = ServerProcess(tmp_path / "server.db", 0, "--quiet").start()
    try:
        yield server
    finally:
        if server.proc and server.proc.poll() is None:
            server.proc.kill()
            server.proc.wait()


@pytest.fixture
def make_read_only():
    """Make a folder read-only even for root (chmod alone does not stop root)."""
    locked: list[Path] = []

    def lock(folder: Path) -> None:
        folder.chmod(0o555)
        if os.geteuid() == 0:
            if shutil.which("chattr") is None or subprocess.run(
                    ["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
                folder.chmod(0o755)
                pytest.skip("running as root and cannot set the immutable attribute here")
        locked.append(folder)
        probe = folder / ".probe"
        try:
            probe.touch()
        except OSError:
            return
        probe.unlink()
        pytest.skip(f"cannot make {folder} read-only here")

    yield lock
    for folder in locked:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(folder)], capture_output=True)
        folder.chmod(0o755)


@pytest.fixture
def agents() -> Iterator[list]:
    """Agent processes (tests/agent_helpers.AgentProcess) a test starts; all stopped at its end."""
    started: list = []
    yield started
    for agent in started:
        agent.stop()
