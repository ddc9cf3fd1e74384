"""How the agent starts itself: one command for the tray's window, the SOS shortcut and the autostart."""

from __future__ import annotations

import json
import os
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from sosdesk.agent import cli
from sosdesk.common.branding import Branding
from sosdesk.common.launch import agent_command, agent_program
from sosdesk.common.stamp import load_branding


@pytest.fixture
def not_frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(sys, "frozen", raising=False)


def test_an_installed_agent_is_this_python_with_dash_m(not_frozen: None,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nowhere")  # a plain venv: no sos-agent on PATH
    assert agent_program() == [os.path.abspath(sys.executable), "-P", "-m", "sosdesk.agent"]


def test_a_frozen_agent_is_its_executable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert agent_program() == [os.path.abspath(sys.executable)]


def test_a_windows_venv_starts_without_a_console_window(tmp_path: Path, not_frozen: None,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("python.exe", "pythonw.exe"):
        (tmp_path / name).write_bytes(b"MZ")
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python.exe"))
    assert agent_program() == [str(tmp_path / "pythonw.exe"), "-P", "-m", "sosdesk.agent"]


def test_the_branding_file_and_the_language_travel_with_the_command(tmp_path: Path, not_frozen: None,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "acme.json").write_text(json.dumps({"company_name": "ACME"}))
    monkeypatch.chdir(tmp_path)
    branding = load_branding("acme.json")  # relative, as typed
    assert agent_command(branding, "acme.json", "de") == [
        *agent_program(), "--config", str(tmp_path / "acme.json"), "--language", "de"]
    assert agent_command(branding, "acme.json") == [*agent_program(), "--config", str(tmp_path / "acme.json")]


def test_an_embedded_or_sidecar_branding_needs_no_option(not_frozen: None) -> None:
    # --config was given but lost to the branding the program carries: passing it on would mislead.
    for source in ("embedded", "sidecar /opt/acme/branding.json"):
        branding = Branding(company_name="ACME", source=source)
        assert agent_command(branding, "other.json", "en") == [*agent_program(), "--language", "en"]
    assert agent_command(Branding(), None, None) == agent_program()


def test_a_given_program_replaces_this_one() -> None:
    branding = Branding(company_name="ACME", source="config /srv/acme.json")
    assert agent_command(branding, "/srv/acme.json", program=["/opt/acme/agent"]) == [
        "/opt/acme/agent", "--config", "/srv/acme.json"]


def test_tray_window_shortcut_and_autostart_start_the_same_command(tmp_path: Path, not_frozen: None,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The tray (Agent.argv), the first start and ``sos-agent install`` all get one answer."""
    monkeypatch.setenv("SOSDESK_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "acme.json").write_text(json.dumps({"company_name": "ACME"}))
    installed: list[list[str]] = []

    def install(branding: Branding, command: list[str]) -> Any:
        installed.append(command)
        return types.SimpleNamespace(files=[], notes=())

    fake = types.ModuleType("sosdesk.installer")
    fake.install = install  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "sosdesk.installer", fake)
    trays: list[Any] = []
    monkeypatch.setattr(cli, "run_tray", lambda agent, headless, **options: trays.append(agent) or 0)

    assert cli.main(["--config", "acme.json", "--language", "de", "--headless"]) == 0  # first start + tray
    assert cli.main(["--config", "acme.json", "--language", "de", "install"]) == 0

    expected = [*agent_program(), "--config", str(tmp_path / "acme.json"), "--language", "de"]
    assert trays[0].argv == expected
    assert installed == [expected, expected]
