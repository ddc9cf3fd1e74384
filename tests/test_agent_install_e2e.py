"""End to end: ``sos-agent --config FILE install`` as a customer runs it."""

from __future__ import annotations

import json
import subprocess
import sysconfig
from pathlib import Path

import pytest

from agent_helpers import agent_env


def sos_agent_script() -> Path:
    """The ``sos-agent`` command pip put beside this Python (not looked up on PATH)."""
    script = Path(sysconfig.get_path("scripts")) / "sos-agent"
    if not script.is_file():
        pytest.fail(f"{script} is missing: install sosdesk into this Python (make install)")
    return script


def run_sos_agent(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(sos_agent_script()), *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=60)


def acme_branding(tmp_path: Path, server_url: str, **fields: object) -> Path:
    """ACME's branding file in a folder whose name needs quoting in a desktop entry."""
    path = tmp_path / "ACME files (2026)" / "acme.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"company_name": "ACME", "server_url": server_url, **fields}))
    return path


def test_install_without_a_desktop_folder_installs_the_rest_and_says_what_it_skipped(
        tmp_path: Path) -> None:
    branding = acme_branding(tmp_path, "http://127.0.0.1:9")
    env = agent_env(tmp_path)
    home = Path(env["HOME"])
    assert not (home / "Desktop").exists()  # a fresh account, or a server

    installed = run_sos_agent(env, tmp_path, "--config", str(branding), "install")

    assert installed.returncode == 0, installed.stderr
    assert installed.stderr == ""
    assert installed.stdout.splitlines() == [
        f"installed {home / '.local/share/icons/hicolor/256x256/apps/sosdesk-acme.png'}",
        f"installed {home / '.local/share/applications/sosdesk-acme.desktop'}",
        f"installed {home / '.config/autostart/sosdesk-acme-tray.desktop'}",
        f"note skipped the ACME Support desktop shortcut: the desktop folder {home / 'Desktop'} does not "
        "exist (create it and install again to add the shortcut)",
    ]
    assert not (home / "Desktop").exists()
