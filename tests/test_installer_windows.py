"""The Windows installer on Linux: the platform forced, folders in a temporary profile.

PowerShell does not run here, so ``run_powershell`` is replaced by a fake that
writes the script where the .lnk would be; the tests then read what each
shortcut would say.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image

from sosdesk.common.branding import Branding
from sosdesk.installer import ConflictError, InstallerError, install, status, uninstall
from sosdesk.installer import _windows
from sosdesk.common.icons import ICO_SIZES

COMPANY = "Müller & Söhne IT"
LNK = "Müller & Söhne IT Support.lnk"


@pytest.fixture
def profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user profile like C:\\Users\\Jörg Müller, with the usual folders."""
    profile = tmp_path / "Users" / "Jörg Müller"
    (profile / "Desktop").mkdir(parents=True)
    (profile / "AppData" / "Local").mkdir(parents=True)
    (profile / "AppData" / "Roaming").mkdir(parents=True)
    monkeypatch.setenv("SOSDESK_INSTALLER_PLATFORM", "windows")
    monkeypatch.setenv("USERPROFILE", str(profile))
    monkeypatch.setenv("APPDATA", str(profile / "AppData" / "Roaming"))
    monkeypatch.setenv("LOCALAPPDATA", str(profile / "AppData" / "Local"))
    monkeypatch.setenv("SOSDESK_CONFIG_DIR", str(profile / "AppData" / "Local" / "sosdesk"))
    return profile


@pytest.fixture
def scripts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Replace PowerShell by writing the script to the file it should create."""
    ran: list[str] = []

    def fake_run_powershell(script: str, creates: Path) -> None:
        ran.append(script)
        creates.write_text(script, encoding="utf-8")

    monkeypatch.setattr(_windows, "run_powershell", fake_run_powershell)
    return ran


@pytest.fixture
def agent(tmp_path: Path) -> Path:
    exe = tmp_path / "Program Files" / "Müller's Support" / "sos-agent.exe"
    exe.parent.mkdir(parents=True)
    exe.write_bytes(b"MZ not really")
    return exe


def startup(profile: Path) -> Path:
    return profile / "AppData" / "Roaming" / "Microsoft" / "Windows" / "Start Menu" / "Programs" / "Startup"


def ps_unquote(literal: str) -> str:
    """The value of a PowerShell single-quoted string literal."""
    assert literal[0] == "'" and literal[-1] == "'", literal
    body = literal[1:-1]
    quotes = "'\u2018\u2019\u201a\u201b"
    value, i = [], 0
    while i < len(body):
        if body[i] in quotes:
            assert i + 1 < len(body) and body[i + 1] in quotes, f"unescaped quote in {literal!r}"
            i += 1
        value.append(body[i])
        i += 1
    return "".join(value)


def shortcut_fields(script: str) -> dict[str, str]:
    """What the script sets on the shortcut, plus the .lnk path as ``lnk``."""
    fields = {"lnk": ps_unquote(re.search(r"CreateShortcut\((.*)\)\r$", script, re.M).group(1))}
    for key, literal in re.findall(r"^\$shortcut\.(\w+) = ('.*')\r$", script, re.M):
        fields[key] = ps_unquote(literal)
    assert script.rstrip().endswith("$shortcut.Save()")
    return fields


def test_desktop_shortcut_runs_the_agent_in_sos_mode(profile, scripts, agent):
    install(Branding(company_name=COMPANY), agent)

    lnk = profile / "Desktop" / LNK
    fields = shortcut_fields(lnk.read_bytes().decode("utf-8"))
    icon = profile / "AppData" / "Local" / "sosdesk" / "icons" / "muller-sohne-it.ico"
    assert fields["lnk"] == str(lnk)
    assert fields["TargetPath"] == str(agent)
    assert fields["Arguments"] == "sos"
    assert fields["WorkingDirectory"] == str(agent.parent)
    assert fields["IconLocation"] == f"{icon},0"
    assert COMPANY in fields["Description"]


def test_startup_shortcut_runs_the_tray(profile, scripts, agent):
    install(Branding(company_name=COMPANY), agent)
    fields = shortcut_fields((startup(profile) / LNK).read_bytes().decode("utf-8"))
    assert fields["TargetPath"] == str(agent)
    assert fields["Arguments"] == ""
    assert fields["WorkingDirectory"] == str(agent.parent)


def test_ico_holds_every_size(profile, scripts, agent):
    install(Branding(company_name=COMPANY, primary_color="#0a7d32"), agent)
    ico = profile / "AppData" / "Local" / "sosdesk" / "icons" / "muller-sohne-it.ico"
    with Image.open(ico) as image:
        assert image.format == "ICO"
        assert image.info["sizes"] == {(s, s) for s in ICO_SIZES}
        for size in ICO_SIZES:
            image.size = (size, size)
            image.load()
            assert image.size == (size, size)


def test_install_is_idempotent_and_uninstall_removes_everything(profile, scripts, agent):
    before = sorted(p for p in profile.rglob("*"))
    branding = Branding(company_name=COMPANY)
    install(branding, agent)
    assert install(branding, agent).changed == ()
    assert len(scripts) == 2  # the second run did not remake the shortcuts
    assert status(branding).intact

    uninstall(branding)
    assert sorted(p for p in profile.rglob("*")) == before


def test_a_new_agent_path_remakes_the_shortcuts(profile, scripts, agent, tmp_path):
    branding = Branding(company_name=COMPANY)
    install(branding, agent)
    moved = tmp_path / "D" / "Tools" / "sos-agent.exe"
    moved.parent.mkdir(parents=True)
    moved.write_bytes(b"MZ")
    result = install(branding, moved)
    assert set(result.changed) == {profile / "Desktop" / LNK, startup(profile) / LNK}
    assert shortcut_fields((profile / "Desktop" / LNK).read_bytes().decode("utf-8"))["TargetPath"] == str(moved)


def test_a_users_own_shortcut_is_not_replaced(profile, scripts, agent):
    own = profile / "Desktop" / LNK
    own.write_bytes(b"the user's own shortcut")
    with pytest.raises(ConflictError, match=re.escape(str(own))):
        install(Branding(company_name=COMPANY), agent)
    assert own.read_bytes() == b"the user's own shortcut"
    assert scripts == []


def test_a_powershell_failure_rolls_everything_back(profile, monkeypatch, agent):
    def failing_on_the_desktop(script: str, creates: Path) -> None:
        if creates.parent.name == "Desktop":
            raise InstallerError(f"PowerShell could not create {creates}: access denied")
        creates.write_text(script, encoding="utf-8")

    monkeypatch.setattr(_windows, "run_powershell", failing_on_the_desktop)
    before = sorted(p for p in profile.rglob("*"))
    with pytest.raises(InstallerError, match="access denied; nothing was changed"):
        install(Branding(company_name=COMPANY), agent)
    assert sorted(p for p in profile.rglob("*")) == before


def test_missing_profile_variable_is_a_clear_error(profile, scripts, agent, monkeypatch):
    monkeypatch.delenv("USERPROFILE")
    with pytest.raises(InstallerError, match="USERPROFILE"):
        install(Branding(company_name=COMPANY), agent)


def test_running_powershell_where_there_is_none_is_an_installer_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("SystemRoot", str(tmp_path / "no-windows"))
    with pytest.raises(InstallerError, match="cannot run PowerShell"):
        _windows.run_powershell("Write-Output 1", creates=tmp_path / "x.lnk")


@pytest.mark.parametrize("value", [
    r"C:\Program Files\ACME\sos-agent.exe",
    r"C:\Users\O'Brien\Desktop\ACME Support.lnk",
    "C:\\Users\\D\u2019Angelo\\x",       # PowerShell ends a string at a typographic quote too
    "\u2018\u201a\u201b''",
    "Müller & Söhne $env:TEMP `n \"quoted\"",  # nothing expands in single quotes
    "",
])
def test_powershell_quoting_round_trips(value):
    assert ps_unquote(_windows.ps_quote(value)) == value


def test_the_script_quotes_every_value():
    shortcut = _windows.Shortcut(
        lnk=r"C:\Users\O'Brien\Desktop\O'Brien IT Support.lnk",
        target=r"C:\Program Files (x86)\O'Brien\sos-agent.exe",
        arguments="sos", working_dir=r"C:\Program Files (x86)\O'Brien",
        icon=r"C:\Users\O'Brien\AppData\Local\sosdesk\icons\o-brien-it.ico",
        description="Start a remote support session with O'Brien IT",
    )
    fields = shortcut_fields(_windows.shortcut_script(shortcut))
    assert fields == {
        "lnk": shortcut.lnk, "TargetPath": shortcut.target, "Arguments": "sos",
        "WorkingDirectory": shortcut.working_dir, "IconLocation": shortcut.icon + ",0",
        "Description": shortcut.description,
    }


def test_a_windows_agent_path_gives_a_windows_working_folder(profile):
    exe = r"C:\Program Files\Müller & Söhne\sos-agent.exe"
    artefacts = _windows.plan(Branding(company_name=COMPANY), [exe]).artefacts
    desktop = next(a for a in artefacts if a.kind == "desktop shortcut")
    fields = shortcut_fields(desktop.data.decode("utf-8"))
    assert fields["TargetPath"] == exe
    assert fields["WorkingDirectory"] == r"C:\Program Files\Müller & Söhne"



def command_line_to_argv(line: str) -> list[str]:
    """Split a command line as the Microsoft C runtime (and CommandLineToArgvW) do, after the program."""
    args: list[str] = []
    current: list[str] = []
    in_quotes = started = False
    i = 0
    while i < len(line):
        c = line[i]
        if c == "\\":
            run = len(line[i:]) - len(line[i:].lstrip("\\"))
            if i + run < len(line) and line[i + run] == '"':
                current.append("\\" * (run // 2))
                if run % 2:
                    current.append('"')
                    i += run + 1
                else:
                    i += run
                started = True
                continue
            current.append("\\" * run)
            i += run
            started = True
            continue
        if c == '"':
            in_quotes = not in_quotes
            started = True
        elif c in " \t" and not in_quotes:
            if started:
                args.append("".join(current))
            current, started = [], False
        else:
            current.append(c)
            started = True
        i += 1
    if started:
        args.append("".join(current))
    return args


#: What a Python agent in a venv passes: a config path with spaces, quotes and a trailing backslash folder.
OPTIONS = ["-P", "-m", "sosdesk.agent", "--config", r'C:\Users\Jörg Müller\Müller "SOS" IT\acme.json',
           "--language", "de", "C:\\trailing slash\\", ""]


def test_both_shortcuts_run_the_whole_agent_command(profile, scripts, agent):
    python = agent.with_name("pythonw.exe")
    python.write_bytes(b"MZ")
    install(Branding(company_name=COMPANY), [python, *OPTIONS])

    desktop = shortcut_fields((profile / "Desktop" / LNK).read_bytes().decode("utf-8"))
    tray = shortcut_fields((startup(profile) / LNK).read_bytes().decode("utf-8"))
    assert desktop["TargetPath"] == tray["TargetPath"] == str(python)
    assert command_line_to_argv(desktop["Arguments"]) == [*OPTIONS, "sos"]
    assert command_line_to_argv(tray["Arguments"]) == OPTIONS
    assert status(Branding(company_name=COMPANY)).command == (str(python), *OPTIONS)


@pytest.mark.parametrize("line, expected", [
    ('a "b c" d', ["a", "b c", "d"]),
    (r'"a\"b"', ['a"b']),
    (r'a\\\"b', ['a\\"b']),
    (r'"c:\x\\" y', ["c:\\x\\", "y"]),
    ('""', [""]),
])
def test_the_command_line_splitter_follows_the_c_runtime(line, expected):
    # The examples of Microsoft's "Parsing C command-line arguments".
    assert command_line_to_argv(line) == expected


def test_a_missing_desktop_skips_only_the_desktop_shortcut(profile, scripts, agent):
    (profile / "Desktop").rmdir()
    result = install(Branding(company_name=COMPANY), agent)
    assert [f.kind for f in result.files] == ["icon", "autostart entry"]
    [note] = result.notes
    assert "skipped the Müller & Söhne IT Support desktop shortcut" in note
    assert str(profile / "Desktop") in note
