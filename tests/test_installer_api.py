"""The OS-independent parts: names, backend choice, the manifest's location."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from sosdesk.common.branding import Branding
from sosdesk.installer import UnsupportedPlatformError, platform_name, status, uninstall
from sosdesk.installer.artefacts import safe_filename, shortcut_name
from sosdesk.installer.manifest import manifest_path


@pytest.mark.parametrize("name, expected", [
    ("ACME Support", "ACME Support"),
    ("Müller & Söhne IT Support", "Müller & Söhne IT Support"),
    ('ACME: "Best" <IT> Support', "ACME Best IT Support"),
    ("a/b\\c|d?e*f", "abcdef"),
    ("Trailing dots...", "Trailing dots"),
    ("  spaced   out  . ", "spaced out"),
    ("tab\tand\nnewline", "tab and newline"),
    ("CON", "CON_"),
    ("nul.txt", "nul.txt_"),
    ("???", "sosdesk"),
    ("Mu\u0308ller", "Müller"),  # decomposed (as macOS file names are) becomes composed
])
def test_safe_filename_is_valid_on_every_os(name, expected):
    assert safe_filename(name) == expected


def test_safe_filename_stays_within_file_system_limits():
    name = safe_filename("Ü" * 150 + " Support")
    assert len(name.encode("utf-8")) <= 200


@pytest.mark.parametrize("company, expected", [
    ("ACME", "ACME Support"),
    ("Müller & Söhne IT", "Müller & Söhne IT Support"),
    ("ACME Support", "ACME Support"),
    ("acme IT-support", "acme IT-support"),
])
def test_the_shortcut_is_named_after_the_company(company, expected):
    assert shortcut_name(Branding(company_name=company)) == expected


@pytest.mark.parametrize("forced", ["linux", "windows", "macos"])
def test_the_platform_can_be_forced(monkeypatch, forced):
    monkeypatch.setenv("SOSDESK_INSTALLER_PLATFORM", forced)
    assert platform_name() == forced


def test_an_unknown_forced_platform_is_refused(monkeypatch):
    monkeypatch.setenv("SOSDESK_INSTALLER_PLATFORM", "amiga")
    with pytest.raises(UnsupportedPlatformError, match="linux, windows, macos"):
        platform_name()


@pytest.mark.parametrize("sys_platform, expected", [
    ("linux", "linux"), ("win32", "windows"), ("darwin", "macos"), ("freebsd14", "linux"),
])
def test_the_platform_follows_sys_platform(monkeypatch, sys_platform, expected):
    monkeypatch.delenv("SOSDESK_INSTALLER_PLATFORM", raising=False)
    monkeypatch.setattr(sys, "platform", sys_platform)
    assert platform_name() == expected


def test_an_unsupported_os_gets_a_clear_message(monkeypatch):
    monkeypatch.delenv("SOSDESK_INSTALLER_PLATFORM", raising=False)
    monkeypatch.setattr(sys, "platform", "emscripten")
    with pytest.raises(UnsupportedPlatformError, match="not supported on emscripten"):
        platform_name()


def test_the_manifest_lives_in_the_config_folder_per_company(tmp_path, monkeypatch):
    monkeypatch.setenv("SOSDESK_CONFIG_DIR", str(tmp_path / "cfg"))
    path = manifest_path(Branding(company_name="Müller & Söhne IT").app_id)
    assert path == tmp_path / "cfg" / "installed" / "muller-sohne-it.json"


def test_status_and_uninstall_when_nothing_is_installed(tmp_path, monkeypatch):
    monkeypatch.setenv("SOSDESK_CONFIG_DIR", str(tmp_path / "cfg"))
    branding = Branding(company_name="ACME")
    assert not status(branding).installed
    result = uninstall(branding)
    assert result.changed == () and "not installed" in result.notes[0]
    assert not Path(tmp_path / "cfg").exists()
