"""The macOS installer on Linux: the platform forced, HOME a temporary folder.

The bundle's launcher is a plain POSIX shell script, so it is run for real here.
"""

from __future__ import annotations

import plistlib
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from sosdesk.common.branding import Branding
from conftest import skip_missing
from sosdesk.installer import ConflictError, install, status, uninstall
from sosdesk.common.icons import can_write_icns

COMPANY = "Müller & Söhne IT"
BUNDLE = "Müller & Söhne IT Support.app"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "Users" / "jörg"
    (home / "Desktop").mkdir(parents=True)
    (home / "Library").mkdir()  # LaunchAgents is missing on a fresh account
    monkeypatch.setenv("SOSDESK_INSTALLER_PLATFORM", "macos")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("SOSDESK_CONFIG_DIR", str(home / "Library" / "Application Support" / "sosdesk"))
    return home


@pytest.fixture
def agent(tmp_path: Path) -> Path:
    """An agent in a folder like an app bundle's, writing its arguments to argv.txt."""
    exe = tmp_path / "Applications" / "Müller's \"SOS\" $Agent.app" / "Contents" / "MacOS" / "sos agent"
    exe.parent.mkdir(parents=True)
    exe.write_text('#!/bin/sh\nfor arg in "$@"; do printf "%s\\n" "$arg"; done > "$(dirname "$0")/argv.txt"\n',
                   encoding="utf-8")
    exe.chmod(0o755)
    return exe


def launch_agent(home: Path) -> Path:
    return home / "Library" / "LaunchAgents" / "com.sosdesk.muller-sohne-it.tray.plist"


def test_launch_agent_starts_the_tray_at_login(home, agent):
    install(Branding(company_name=COMPANY), agent)
    with open(launch_agent(home), "rb") as f:
        plist = plistlib.load(f)
    assert plist["Label"] == "com.sosdesk.muller-sohne-it.tray"
    assert plist["ProgramArguments"] == [str(agent)]
    assert plist["RunAtLoad"] is True


def test_desktop_bundle_opens_the_sos_mode(home, agent):
    install(Branding(company_name=COMPANY), agent)
    contents = home / "Desktop" / BUNDLE / "Contents"
    with open(contents / "Info.plist", "rb") as f:
        info = plistlib.load(f)
    assert info["CFBundleName"] == "Müller & Söhne IT Support"
    assert info["CFBundlePackageType"] == "APPL"
    launcher = contents / "MacOS" / info["CFBundleExecutable"]
    assert launcher.stat().st_mode & 0o111 == 0o111

    subprocess.run([str(launcher)], check=True, timeout=10)

    assert (agent.parent / "argv.txt").read_text(encoding="utf-8").splitlines() == ["sos"]


def test_icns_opens_at_every_size(home, agent):
    if not can_write_icns():
        skip_missing("Pillow with .icns support is not installed (pip install -U Pillow)")
    install(Branding(company_name=COMPANY, primary_color="#6f42c1"), agent)
    contents = home / "Desktop" / BUNDLE / "Contents"
    with open(contents / "Info.plist", "rb") as f:
        icon = contents / "Resources" / plistlib.load(f)["CFBundleIconFile"]
    with Image.open(icon) as image:
        sizes = image.info["sizes"]
    assert {w * scale for w, _, scale in sizes} >= {32, 64, 256, 512, 1024}
    for width, height, scale in sizes:
        with Image.open(icon) as image:
            image.size = (width, height)
            image.load(scale=scale)
            assert image.size == (width * scale, height * scale)


def test_install_is_idempotent_and_uninstall_removes_the_whole_bundle(home, agent):
    before = sorted(home.rglob("*"))
    branding = Branding(company_name=COMPANY)
    install(branding, agent)
    assert install(branding, agent).changed == ()
    assert status(branding).intact

    uninstall(branding)

    assert sorted(home.rglob("*")) == before


def test_a_users_own_app_of_the_same_name_is_left_alone(home, agent):
    own = home / "Desktop" / BUNDLE / "Contents" / "Info.plist"
    own.parent.mkdir(parents=True)
    own.write_bytes(b"<plist>the user's own</plist>")
    with pytest.raises(ConflictError, match="Info.plist"):
        install(Branding(company_name=COMPANY), agent)
    assert own.read_bytes() == b"<plist>the user's own</plist>"
    assert not launch_agent(home).exists()


def test_without_create_shortcut_only_the_launch_agent_is_installed(home, agent):
    result = install(Branding(company_name=COMPANY, create_shortcut=False), agent)
    assert [f.path for f in result.files] == [launch_agent(home)]
    assert list((home / "Desktop").iterdir()) == []


#: What a Python agent passes on: the branding file (a path needing shell quoting) and the language.
OPTIONS = ["-P", "-m", "sosdesk.agent", "--config", "/Users/jörg/Müller's \"SOS\" $HOME `x` 100%/acme.json",
           "--language", "de"]


def test_launch_agent_and_bundle_run_the_whole_agent_command(home, agent):
    install(Branding(company_name=COMPANY), [agent, *OPTIONS])
    with open(launch_agent(home), "rb") as f:
        assert plistlib.load(f)["ProgramArguments"] == [str(agent), *OPTIONS]

    subprocess.run([str(home / "Desktop" / BUNDLE / "Contents" / "MacOS" / "sos")], check=True, timeout=10)

    assert (agent.parent / "argv.txt").read_text(encoding="utf-8").splitlines() == [*OPTIONS, "sos"]


def test_a_missing_desktop_skips_only_the_bundle_and_says_so(home, agent):
    (home / "Desktop").rmdir()
    result = install(Branding(company_name=COMPANY), agent)
    assert [f.path for f in result.files] == [launch_agent(home)]
    assert not (home / "Desktop").exists()
    assert len(result.notes) == 1 and str(home / "Desktop") in result.notes[0]
