"""First start: installs once through the installer package, and works without it."""

from __future__ import annotations

import logging
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from sosdesk.common.branding import Branding
from sosdesk.agent.cli import main
from sosdesk.agent.firststart import FIRST_START_DONE, first_start
from sosdesk.agent.storage import State


class InstallerError(Exception):
    pass


def fake_installer(monkeypatch: pytest.MonkeyPatch, fail: BaseException | None = None) -> list:
    """An ``installer`` module recording its calls (the real one is another team's)."""
    calls: list[tuple] = []
    module = types.ModuleType("sosdesk.installer")
    module.InstallerError = InstallerError  # type: ignore[attr-defined]

    def install(branding: Branding, command: list[str]) -> Any:
        calls.append(("install", branding.app_id, command))
        if fail:
            raise fail
        return types.SimpleNamespace(files=[types.SimpleNamespace(path="/desk/sos.desktop")], notes=())

    def uninstall(branding: Branding) -> Any:
        calls.append(("uninstall", branding.app_id))
        return types.SimpleNamespace(changed=["/desk/sos.desktop"], notes=("kept x",))

    module.install, module.uninstall = install, uninstall  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "sosdesk.installer", module)
    return calls


def test_installs_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = fake_installer(monkeypatch)
    state = State("acme", tmp_path)
    assert first_start(Branding(company_name="Acme"), state, ["/opt/sos-agent"])
    assert not first_start(Branding(company_name="Acme"), state, ["/opt/sos-agent"])
    assert calls == [("install", "acme", ["/opt/sos-agent"])] and state.get(FIRST_START_DONE)


def warnings_in(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "sosdesk.agent.firststart" and r.levelno >= logging.WARNING]


@pytest.mark.parametrize("error", [InstallerError("conflict"), OSError("read-only"),
                                   AttributeError("no install"), RuntimeError("a bug")])
def test_failures_are_logged_and_tried_again_next_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        caplog: pytest.LogCaptureFixture,
                                                        error: BaseException) -> None:
    calls = fake_installer(monkeypatch, error)
    state = State("acme", tmp_path)
    assert not first_start(Branding(), state, ["/x"])
    assert not first_start(Branding(), state, ["/x"])
    assert len(calls) == 2 and not state.get(FIRST_START_DONE)
    assert warnings_in(caplog) == [f"could not install the SOS shortcut and autostart: {error}"] * 2


def test_without_an_installer_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setitem(sys.modules, "sosdesk.installer", None)  # import raises ImportError
    caplog.set_level(logging.INFO, logger="sosdesk.agent.firststart")
    assert not first_start(Branding(), State("x", tmp_path), ["/x"])
    assert warnings_in(caplog) == []  # not bundled is no problem: no warning at every start
    assert [r.getMessage().split(":")[0] for r in caplog.records] == ["the installer is not available"]


def test_install_and_uninstall_commands_delegate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setenv("SOSDESK_CONFIG_DIR", str(tmp_path))
    calls = fake_installer(monkeypatch)
    config = tmp_path / "b.json"
    config.write_text('{"company_name": "Acme"}')
    assert main(["--config", str(config), "install"]) == 0
    assert main(["--config", str(config), "uninstall"]) == 0
    assert [c[0] for c in calls] == ["install", "uninstall"]
    assert capsys.readouterr().out.splitlines() == [
        "installed /desk/sos.desktop", "removed /desk/sos.desktop", "note kept x"]
    assert State("acme", tmp_path).get(FIRST_START_DONE)  # never reinstalled behind their back


def test_install_failure_is_one_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setenv("SOSDESK_CONFIG_DIR", str(tmp_path))
    fake_installer(monkeypatch, InstallerError("nothing installed: Desktop/x exists"))
    assert main(["install"]) == 1
    assert capsys.readouterr().err.strip() == "sos-agent: nothing installed: Desktop/x exists"


def unwritable_folder(tmp_path: Path) -> Path:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    return blocker / "config"


def test_a_first_start_that_cannot_be_recorded_is_logged_not_raised(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    calls = fake_installer(monkeypatch)
    assert not first_start(Branding(), State("x", unwritable_folder(tmp_path)), ["/x"])
    assert len(calls) == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "could not record it: cannot save" in warnings[0]


def test_install_that_cannot_be_recorded_is_one_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setenv("SOSDESK_CONFIG_DIR", str(unwritable_folder(tmp_path)))
    fake_installer(monkeypatch)
    assert main(["install"]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines() == ["installed /desk/sos.desktop"]  # it did install
    assert len(err.splitlines()) == 1 and err.startswith("sos-agent: cannot save ")
