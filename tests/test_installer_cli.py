"""``python -m sosdesk.installer``, run as a customer would: one line on error, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sosdesk.installer.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A child environment with a temporary HOME and German desktop (Linux backend)."""
    home = tmp_path / "home"
    (home / ".config").mkdir(parents=True)
    (home / "Schreibtisch").mkdir()
    (home / ".config" / "user-dirs.dirs").write_text('XDG_DESKTOP_DIR="$HOME/Schreibtisch"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "SOSDESK_"))}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"),
               XDG_DATA_HOME=str(home / ".local" / "share"), SOSDESK_INSTALLER_PLATFORM="linux",
               PYTHONPATH=str(ROOT))
    return env


@pytest.fixture
def agent(tmp_path: Path) -> Path:
    exe = tmp_path / "Mein Programm" / "sos-agent"
    exe.parent.mkdir()
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    return exe


@pytest.fixture
def branding_file(tmp_path: Path) -> Path:
    path = tmp_path / "branding.json"
    path.write_text(json.dumps({"company_name": "Müller & Söhne IT", "primary_color": "#aa0000"}),
                    encoding="utf-8")
    return path


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sosdesk.installer", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def assert_one_line_error(result: subprocess.CompletedProcess[str], code: int, words: str) -> None:
    assert result.returncode == code, result
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert words in result.stderr


def test_install_status_uninstall(env, agent, branding_file):
    home = Path(env["HOME"])
    installed = run(env, "install", "--executable", str(agent), "--config", str(branding_file))
    assert installed.returncode == 0, installed.stderr
    assert "Müller & Söhne IT: installed, 4 files changed" in installed.stdout
    assert (home / "Schreibtisch" / "Müller & Söhne IT Support.desktop").is_file()

    shown = run(env, "status", "--config", str(branding_file))
    assert shown.returncode == 0
    assert "installed (intact)" in shown.stdout and str(agent) in shown.stdout

    removed = run(env, "uninstall", "--config", str(branding_file))
    assert removed.returncode == 0
    assert "4 files removed" in removed.stdout
    assert list((home / "Schreibtisch").iterdir()) == []
    assert "not installed" in run(env, "status", "--config", str(branding_file)).stdout


def test_bad_usage_exits_2_with_one_line(env):
    assert_one_line_error(run(env), 2, "required: COMMAND")


@pytest.mark.parametrize("args, words", [
    (["frobnicate"], "invalid choice"),
    (["install"], "--executable is required"),
    (["install", "--executable", "/no/such/agent"], "no such file"),
    (["install", "--bogus"], "unrecognized arguments"),
])
def test_every_usage_error_is_one_line(capsys, args, words):
    # In-process, to keep the suite fast; the subprocess tests cover the real exit.
    assert main(args) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and words in err


def test_a_broken_branding_file_exits_2(env, agent, tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert_one_line_error(run(env, "install", "--executable", str(agent), "--config", str(broken)),
                          2, "not JSON")
    missing = tmp_path / "missing.json"
    assert_one_line_error(run(env, "status", "--config", str(missing)), 2, "cannot read branding file")


def test_a_failed_install_exits_1_with_one_line(env, agent):
    (Path(env["HOME"]) / ".config" / "autostart").write_text("a file where the folder belongs")
    assert_one_line_error(run(env, "install", "--executable", str(agent)), 1, "autostart")


def test_a_missing_desktop_folder_is_a_note_not_a_failure(env, agent):
    (Path(env["HOME"]) / "Schreibtisch").rmdir()
    installed = run(env, "install", "--executable", str(agent))
    assert installed.returncode == 0, installed.stderr
    assert "sosdesk: installed, 3 files changed" in installed.stdout
    assert "note: skipped the sosdesk Support desktop shortcut: the desktop folder" in installed.stdout


def test_the_shortcuts_keep_the_branding_file_and_status_finds_them_without_it(env, agent, branding_file,
                                                                               tmp_path):
    home = Path(env["HOME"])
    # A relative --config, as typed: the shortcut must name it absolutely (it starts elsewhere).
    installed = subprocess.run([sys.executable, "-m", "sosdesk.installer", "install", "--executable", str(agent),
                                "--config", branding_file.name], env=env, cwd=tmp_path,
                               capture_output=True, text=True, timeout=60)
    assert installed.returncode == 0, installed.stderr
    exec_line = next(line for line in (home / "Schreibtisch" / "Müller & Söhne IT Support.desktop")
                     .read_text(encoding="utf-8").splitlines() if line.startswith("Exec="))
    assert exec_line == f'Exec="{agent}" --config {branding_file} sos'

    shown = run(env, "status")  # no --config, no --executable: every company installed here
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0] == f"muller-sohne-it: installed (intact), starts '{agent}' --config {branding_file}"
    assert len(lines) == 5 and all(line.startswith("  intact ") for line in lines[1:])
    assert run(env, "status", "--executable", str(agent)).stdout == shown.stdout

    run(env, "uninstall", "--config", str(branding_file))
    shown = run(env, "status")
    assert shown.returncode == 0 and shown.stdout.startswith("not installed (nothing recorded in ")


def test_an_unknown_forced_platform_exits_1(env, agent):
    env["SOSDESK_INSTALLER_PLATFORM"] = "beos"
    assert_one_line_error(run(env, "install", "--executable", str(agent)), 1, "SOSDESK_INSTALLER_PLATFORM")


def test_main_can_be_called_by_the_agent_under_its_own_name(capsys):
    assert main(["uninstall", "--nonsense"], prog="sos-agent") == 2
    assert capsys.readouterr().err.startswith("sos-agent: unrecognized arguments: --nonsense")
