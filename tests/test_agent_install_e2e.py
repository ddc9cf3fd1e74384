"""End to end: ``sos-agent --config FILE install`` as a customer runs it, then the shortcut
it made, started exactly as a desktop would start it, against the real server process.

No ``sos-agent`` is on PATH (agent_helpers.agent_env), as on a fresh machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from agent_helpers import AgentProcess, agent_env, queue_of
from conftest import ROOT, ServerProcess
from desktop_entry import entry_values, parse_exec


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


def test_the_shortcut_starts_the_branded_agent_in_the_installers_language(
        server_process: ServerProcess, tmp_path: Path, agents: list) -> None:
    module = server_process.api("POST", "/api/v1/modules", json={"name": "ACME", "groupid": "acme"})
    assert module.status_code == 201, module.text
    module_id = module.json()["module_id"]
    branding = acme_branding(tmp_path, server_process.url, module_id=module_id)
    env = agent_env(tmp_path)
    home = Path(env["HOME"])
    (home / "Desktop").mkdir()

    # As typed in the folder holding the file: a relative --config.
    installed = run_sos_agent(env, branding.parent, "--config", "acme.json", "--language", "de", "install")
    assert installed.returncode == 0, installed.stderr
    assert installed.stderr == ""

    launcher = home / "Desktop" / "ACME Support.desktop"
    assert f"installed {launcher}" in installed.stdout.splitlines()
    shortcut = parse_exec(entry_values(launcher)["Exec"])
    menu = parse_exec(entry_values(home / ".local/share/applications/sosdesk-acme.desktop")["Exec"])
    autostart = parse_exec(entry_values(home / ".config/autostart/sosdesk-acme-tray.desktop")["Exec"])
    assert menu == shortcut and autostart == shortcut[:-1]

    # A double click: the exact command, started in the home folder, without a display.
    clicked = AgentProcess([], env, program=shortcut, cwd=home)
    agents.append(clicked)
    code = clicked.expect("code").split()[1]  # an unbranded agent would try 127.0.0.1:8080 instead
    clicked.expect("status pending")
    [case] = queue_of(server_process)
    assert (case["code"], case["groupname"], case["custom_module_id"]) == (code, "acme", module_id)
    server_process.api("PUT", f"/api/v1/sessions/{code}", json={"state": "closed"})
    clicked.expect("status closed")
    assert clicked.wait() == 0
    assert clicked.stderr_text == "sos-agent: Keine Anzeige verfügbar: ohne Fenster weiter.\n"  # German
    assert [p.name for p in (home / "Desktop").iterdir()] == ["ACME Support.desktop"]  # no second shortcut
    assert os.path.samefile(shortcut[0], sys.executable)  # this venv's Python, not a name on PATH
    assert shortcut[1:] == ["-P", "-m", "sosdesk.agent", "--config", str(branding), "--language", "de", "sos"]

    # What install made is found without repeating --config.
    status = subprocess.run(
        [sys.executable, "-m", "sosdesk.installer", "status", "--executable", str(sos_agent_script())],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert status.returncode == 0, status.stderr
    assert status.stdout.startswith("acme: installed (intact), starts ")
    assert f"--config '{branding}' --language de" in status.stdout.splitlines()[0]


def test_install_without_a_desktop_folder_installs_the_rest_and_says_what_it_skipped(
        tmp_path: Path) -> None:
    branding = acme_branding(tmp_path, "http://127.0.0.1:9")
    env = {**agent_env(tmp_path), "PYSTRAY_BACKEND": "gtk"}  # a tray with a menu: only the desktop's note
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


def test_install_says_when_the_tray_icon_will_have_no_menu(tmp_path: Path) -> None:
    # A plain venv without python3-gi: pystray's bare xorg icon, which takes no clicks.
    branding = acme_branding(tmp_path, "http://127.0.0.1:9")
    env = {**agent_env(tmp_path), "PYSTRAY_BACKEND": "xorg"}
    (Path(env["HOME"]) / "Desktop").mkdir()

    installed = run_sos_agent(env, tmp_path, "--config", str(branding), "install")

    assert installed.returncode == 0 and installed.stderr == "", installed.stderr
    [note] = [line for line in installed.stdout.splitlines() if line.startswith("note ")]
    assert note.startswith("note the tray icon will have no menu on this desktop"), note
    assert "install python3-gi and gir1.2-ayatanaappindicator3-0.1" in note
