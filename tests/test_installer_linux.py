"""The Linux installer, for real: a temporary HOME with German XDG folders.

The "agent" is a tiny shell script in a folder whose name needs every kind of
quoting; it writes the arguments it was started with to a file, so a test can
run a launcher's Exec line and see that it really starts the agent.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import time
from pathlib import Path

import pytest
from PIL import Image

from sosdesk.common.branding import Branding
from conftest import require_tool
from desktop_entry import entry_values, parse_exec
from sosdesk.installer import ConflictError, InstallerError, install, status, uninstall
from sosdesk.installer import _linux
from sosdesk.installer._linux import desktop_dir, escape_value, exec_line

COMPANY = "Müller & Söhne IT"
#: Kept before the autouse fixture below replaces it.
REAL_MARK_TRUSTED = _linux.mark_trusted
#: Spaces, quotes, $, %, backtick, backslash, '=', non-ASCII: all legal in a Linux path.
ODD_FOLDER = "Programme (x86)/Müller's \"SOS\" $HOME 100% `tools` a\\b=c"
#: Options after the program, as the agent passes its branding file and language on.
ODD_OPTIONS = ["-P", "-m", "sosdesk.agent", "--config", f"/home/jörg/{ODD_FOLDER}/acme.json", "--language", "de"]


# -- fixtures and helpers --------------------------------------------------

@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh HOME with a German desktop folder, as xdg-user-dirs writes it."""
    home = tmp_path / "home" / "jörg"
    (home / ".config").mkdir(parents=True)
    (home / "Schreibtisch").mkdir()
    (home / ".config" / "user-dirs.dirs").write_text(
        '# written by xdg-user-dirs-update\nXDG_DESKTOP_DIR="$HOME/Schreibtisch"\n'
        'XDG_DOWNLOAD_DIR="$HOME/Downloads"\n', encoding="utf-8")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("SOSDESK_INSTALLER_PLATFORM", "linux")
    # The manifest goes to platformdirs' folder, i.e. inside this HOME.
    monkeypatch.delenv("SOSDESK_CONFIG_DIR", raising=False)
    monkeypatch.delenv("XDG_DESKTOP_DIR", raising=False)
    # A desktop whose tray has a menu (GTK or AppIndicator for Python): no note about it.
    monkeypatch.setenv("PYSTRAY_BACKEND", "appindicator")
    return home


@pytest.fixture(autouse=True)
def trusted(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Launchers marked trusted; gio itself would reach the real session's metadata store."""
    marked: list[Path] = []
    monkeypatch.setattr(_linux, "mark_trusted", marked.append)
    return marked


def make_agent(folder: Path) -> Path:
    """An executable "agent" that writes its arguments, one per line, to argv.txt beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    agent = folder / "sos agent"
    agent.write_text('#!/bin/sh\nfor arg in "$@"; do printf "%s\\n" "$arg"; done > "$(dirname "$0")/argv.txt"\n',
                     encoding="utf-8")
    agent.chmod(0o755)
    return agent


@pytest.fixture
def agent(tmp_path: Path) -> Path:
    return make_agent(tmp_path / ODD_FOLDER)


@pytest.fixture
def branding() -> Branding:
    return Branding(company_name=COMPANY, primary_color="#c0392b")


def snapshot(root: Path, with_times: bool = False) -> dict[str, tuple]:
    """Every folder and file under *root*: kind, permissions, contents (and mtime)."""
    tree: dict[str, tuple] = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            info = path.lstat()
            entry: tuple = (stat.S_IFMT(info.st_mode), stat.S_IMODE(info.st_mode))
            if path.is_file():
                entry += (path.read_bytes(),)
            if with_times:
                entry += (info.st_mtime_ns,)
            tree[str(path.relative_to(root))] = entry
    return tree


def run_exec(entry: Path, agent: Path) -> list[str]:
    """Run *entry*'s Exec line as a launcher would; the arguments the agent saw."""
    argv = parse_exec(entry_values(entry)["Exec"])
    (agent.parent / "argv.txt").unlink(missing_ok=True)
    subprocess.run(argv, check=True, timeout=10)
    return (agent.parent / "argv.txt").read_text(encoding="utf-8").splitlines()


def paths(home: Path) -> dict[str, Path]:
    data = home / ".local" / "share"
    return {
        "menu": data / "applications" / "sosdesk-muller-sohne-it.desktop",
        "desktop": home / "Schreibtisch" / "Müller & Söhne IT Support.desktop",
        "autostart": home / ".config" / "autostart" / "sosdesk-muller-sohne-it-tray.desktop",
        "icon": data / "icons" / "hicolor" / "256x256" / "apps" / "sosdesk-muller-sohne-it.png",
        "manifest": home / ".config" / "sosdesk" / "installed" / "muller-sohne-it.json",
    }


# -- what install puts where ------------------------------------------------

def test_install_puts_every_file_in_its_xdg_folder(home, agent, branding):
    result = install(branding, agent)

    where = paths(home)
    assert {f.path for f in result.files} == {where[k] for k in ("menu", "desktop", "autostart", "icon")}
    assert all(f.state == "intact" for f in result.files)
    assert where["manifest"].is_file()
    assert not (home / "Desktop").exists()  # the desktop is what user-dirs.dirs says
    assert where["desktop"].stat().st_mode & 0o111 == 0o111  # a click may start it
    with Image.open(where["icon"]) as icon:
        assert icon.format == "PNG" and icon.size == (256, 256)
    launcher = entry_values(where["desktop"])
    assert launcher["Name"] == "Müller & Söhne IT Support"
    assert launcher["Icon"] == str(where["icon"])
    assert launcher["Terminal"] == "false"
    assert status(branding).intact


def test_only_the_desktop_launcher_is_marked_trusted(home, agent, branding, trusted):
    install(branding, agent)
    assert trusted == [paths(home)["desktop"]]


def test_mark_trusted_sets_gnome_and_xfce_metadata_through_gio(tmp_path, monkeypatch):
    log = tmp_path / "gio.log"
    fake = tmp_path / "bin" / "gio"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\nprintf "%s|" "$@" >> "{log}"\necho >> "{log}"\nexit 1\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(fake.parent))
    launcher = tmp_path / "ACME Support.desktop"
    launcher.write_bytes(b"[Desktop Entry]\n")
    checksum = hashlib.sha256(b"[Desktop Entry]\n").hexdigest()

    REAL_MARK_TRUSTED(launcher)  # gio failing (exit 1) is not an error

    assert log.read_text().splitlines() == [
        f"set|-t|string|{launcher}|metadata::trusted|true|",
        f"set|-t|string|{launcher}|metadata::xfce-exe-checksum|{checksum}|",
    ]


def test_every_entry_passes_desktop_file_validate(home, agent, branding):
    validate = require_tool("desktop-file-validate")
    install(branding, agent)
    for key in ("menu", "desktop", "autostart"):
        result = subprocess.run([validate, str(paths(home)[key])], capture_output=True, text=True)
        assert result.returncode == 0 and result.stdout.strip() == "", (key, result.stdout)


def test_launcher_exec_starts_the_agent_in_sos_mode(home, agent, branding):
    install(branding, agent)
    where = paths(home)
    assert run_exec(where["desktop"], agent) == ["sos"]
    assert run_exec(where["menu"], agent) == ["sos"]
    assert run_exec(where["autostart"], agent) == []  # tray mode: no arguments


def test_gio_launch_starts_the_agent_from_the_launcher(home, agent, branding):
    # A second opinion from GLib, which is what GNOME's desktop itself uses.
    gio = require_tool("gio")
    install(branding, [agent, *ODD_OPTIONS])
    subprocess.run([gio, "launch", str(paths(home)["desktop"])], check=True, timeout=10,
                   capture_output=True)
    argv_file = agent.parent / "argv.txt"
    deadline = time.monotonic() + 60  # ends when the agent writes; the bound only catches a hang
    while not (argv_file.exists() and argv_file.read_text()) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert argv_file.read_text(encoding="utf-8").splitlines() == [*ODD_OPTIONS, "sos"]


def test_every_entry_runs_the_whole_agent_command(home, agent, branding):
    """``python -m sosdesk.agent --config FILE --language de``: every option reaches the agent intact."""
    install(branding, [agent, *ODD_OPTIONS])
    where = paths(home)
    assert run_exec(where["desktop"], agent) == [*ODD_OPTIONS, "sos"]
    assert run_exec(where["menu"], agent) == [*ODD_OPTIONS, "sos"]
    assert run_exec(where["autostart"], agent) == ODD_OPTIONS
    assert status(branding).command == (str(agent), *ODD_OPTIONS)


def test_a_new_option_updates_the_entries_in_place(home, agent, branding):
    install(branding, agent)
    result = install(branding, [agent, "--language", "de"])
    assert set(result.changed) == {paths(home)[k] for k in ("menu", "desktop", "autostart")}
    assert run_exec(paths(home)["desktop"], agent) == ["--language", "de", "sos"]


def test_without_create_shortcut_there_is_no_desktop_launcher(home, agent):
    result = install(Branding(company_name=COMPANY, create_shortcut=False), agent)
    assert [p for p in (home / "Schreibtisch").iterdir()] == []
    assert {f.kind for f in result.files} == {"icon", "menu entry", "autostart entry"}


# -- idempotency, updates, uninstall ---------------------------------------

def test_uninstall_leaves_the_folders_exactly_as_they_were(home, agent, branding):
    before = snapshot(home)
    install(branding, agent)
    assert snapshot(home) != before

    result = uninstall(branding)

    assert snapshot(home) == before
    assert len(result.changed) == 4 and result.notes == ()
    assert not status(branding).installed


def test_uninstall_keeps_existing_folders_and_other_files(home, agent, branding):
    applications = home / ".local" / "share" / "applications"
    applications.mkdir(parents=True)
    (applications / "firefox.desktop").write_text("[Desktop Entry]\n")
    before = snapshot(home)
    install(branding, agent)
    uninstall(branding)
    assert snapshot(home) == before


def test_installing_twice_changes_nothing(home, agent, branding):
    install(branding, agent)
    first = snapshot(home, with_times=True)
    time.sleep(0.01)  # so that a rewrite would show in the modification times

    again = install(branding, agent)

    assert again.changed == ()
    assert snapshot(home, with_times=True) == first


def test_a_new_agent_path_updates_the_entries_in_place(home, tmp_path, agent, branding):
    install(branding, agent)
    files_before = sorted(str(p.relative_to(home)) for p in home.rglob("*") if p.is_file())
    new_agent = make_agent(tmp_path / "Neue Version 2.0")

    result = install(branding, new_agent)

    assert set(result.changed) == {paths(home)[k] for k in ("menu", "desktop", "autostart")}
    assert sorted(str(p.relative_to(home)) for p in home.rglob("*") if p.is_file()) == files_before
    assert run_exec(paths(home)["desktop"], new_agent) == ["sos"]
    assert status(branding).executable == str(new_agent)


def test_turning_the_shortcut_off_removes_the_launcher_on_update(home, agent, branding):
    install(branding, agent)
    result = install(Branding(company_name=COMPANY, create_shortcut=False), agent)
    assert paths(home)["desktop"] in result.changed
    assert not paths(home)["desktop"].exists()
    assert paths(home)["menu"].exists()


# -- the user's own files -----------------------------------------------------

def test_a_users_own_file_of_the_same_name_is_never_overwritten(home, agent, branding):
    own = paths(home)["desktop"]
    own.write_text("[Desktop Entry]\nName=my own\n", encoding="utf-8")
    before = snapshot(home)

    with pytest.raises(ConflictError) as caught:
        install(branding, agent)

    assert str(own) in str(caught.value)
    assert caught.value.paths == [own]
    assert snapshot(home) == before


def test_a_file_changed_by_the_user_survives_uninstall_and_blocks_reinstall(home, agent, branding):
    install(branding, agent)
    menu = paths(home)["menu"]
    menu.write_text(menu.read_text(encoding="utf-8") + "NoDisplay=true\n", encoding="utf-8")
    assert {f.path: f.state for f in status(branding).files}[menu] == "changed"

    with pytest.raises(ConflictError):
        install(branding, agent)
    result = uninstall(branding)

    assert menu.exists()
    assert any(str(menu) in note for note in result.notes)
    assert not paths(home)["desktop"].exists() and not paths(home)["icon"].exists()
    assert not paths(home)["manifest"].exists()


def test_a_file_deleted_by_the_user_is_put_back_by_install(home, agent, branding):
    install(branding, agent)
    paths(home)["desktop"].unlink()
    assert not status(branding).intact
    assert install(branding, agent).changed == (paths(home)["desktop"],)
    assert status(branding).intact


# -- failures -----------------------------------------------------------------

def test_read_only_desktop_fails_clearly_and_leaves_nothing(home, agent, branding, make_read_only):
    make_read_only(home / "Schreibtisch")
    before = snapshot(home)

    with pytest.raises(InstallerError) as caught:
        install(branding, agent)

    message = str(caught.value)
    assert "Schreibtisch" in message and "read-only" in message and "nothing was changed" in message
    assert snapshot(home) == before


def test_failed_update_restores_the_previous_files(home, tmp_path, agent, branding, make_read_only):
    install(branding, agent)
    make_read_only(home / "Schreibtisch")
    before = snapshot(home)

    with pytest.raises(InstallerError):
        install(branding, make_agent(tmp_path / "other"))

    assert snapshot(home) == before
    assert run_exec(paths(home)["menu"], agent) == ["sos"]


def test_a_missing_desktop_folder_skips_only_the_launcher_and_says_so(home, agent, branding):
    (home / "Schreibtisch").rmdir()  # a fresh account, or a server: no desktop folder yet

    result = install(branding, agent)

    where = paths(home)
    assert {f.path for f in result.files} == {where[k] for k in ("menu", "autostart", "icon")}
    assert not (home / "Schreibtisch").exists()  # not created behind the user's back
    assert result.notes == (f"skipped the Müller & Söhne IT Support desktop shortcut: the desktop folder "
                            f"{home / 'Schreibtisch'} does not exist (create it and install again to add "
                            "the shortcut)",)
    assert run_exec(where["menu"], agent) == ["sos"]
    # Once the folder exists, installing again adds the launcher.
    (home / "Schreibtisch").mkdir()
    assert install(branding, agent).changed == (where["desktop"],)


@pytest.mark.parametrize("backend", ["xorg", "", "gtk"])
def test_a_desktop_without_a_tray_menu_is_said_with_what_to_install(home, agent, branding, backend,
                                                                   monkeypatch):
    # pystray's backend: PYSTRAY_BACKEND, else AppIndicator or GTK through python3-gi, else
    # the bare xorg icon, which has no menu. Empty: what this Python finds (no gi: xorg).
    monkeypatch.setenv("PYSTRAY_BACKEND", backend)
    import importlib.util

    menu_less = backend == "xorg" or (not backend and importlib.util.find_spec("gi") is None)
    result = install(branding, agent)
    assert len(result.files) == 4  # the tray is installed either way
    notes = result.notes
    if menu_less:
        assert len(notes) == 1 and notes[0].startswith("the tray icon will have no menu on this desktop")
        assert "python3-gi" in notes[0] and "gir1.2-ayatanaappindicator3-0.1" in notes[0]
    else:
        assert notes == ()


def test_unwritable_autostart_folder_rolls_back_what_was_written(home, agent, branding):
    (home / ".config" / "autostart").write_text("not a folder")  # works even for root
    before = snapshot(home)
    with pytest.raises(InstallerError, match="autostart"):
        install(branding, agent)
    assert snapshot(home) == before


def test_missing_agent_program_is_refused(home, tmp_path, branding):
    with pytest.raises(InstallerError, match="does not exist"):
        install(branding, tmp_path / "nowhere" / "agent")


def test_a_record_from_before_commands_means_the_program_alone(home, agent, branding):
    install(branding, [agent, "--language", "de"])
    record = json.loads(paths(home)["manifest"].read_text(encoding="utf-8"))
    assert record["command"] == [str(agent), "--language", "de"] and record["executable"] == str(agent)
    del record["command"]
    paths(home)["manifest"].write_text(json.dumps(record), encoding="utf-8")
    assert status(branding).command == (str(agent),)
    # Installing over it brings the entries up to date.
    assert set(install(branding, agent).changed) == {paths(home)[k] for k in ("menu", "desktop", "autostart")}
    assert run_exec(paths(home)["desktop"], agent) == ["sos"]


def test_damaged_manifest_gives_a_clear_message(home, agent, branding):
    install(branding, agent)
    paths(home)["manifest"].write_text("{not json", encoding="utf-8")
    with pytest.raises(InstallerError, match="list of installed files .* is damaged"):
        status(branding)


# -- the pieces ----------------------------------------------------------------

@pytest.mark.parametrize("line, expected", [
    ('XDG_DESKTOP_DIR="$HOME/Schreibtisch"', "HOME/Schreibtisch"),
    ('XDG_DESKTOP_DIR="$HOME/Mein \\"Desktop\\""', 'HOME/Mein "Desktop"'),
    ('XDG_DESKTOP_DIR="/srv/desk"', "/srv/desk"),
    ('XDG_DESKTOP_DIR="$HOME/"', "HOME"),
    ("", "HOME/Desktop"),  # no entry: GLib's default
    ('XDG_DESKTOP_DIR="relative/ignored"', "HOME/Desktop"),
])
def test_desktop_folder_comes_from_user_dirs(tmp_path, monkeypatch, line, expected):
    monkeypatch.delenv("XDG_DESKTOP_DIR", raising=False)
    (tmp_path / "user-dirs.dirs").write_text(f"# comment\n{line}\n", encoding="utf-8")
    home = tmp_path / "home"
    assert desktop_dir(home, tmp_path) == Path(expected.replace("HOME", str(home)))


@pytest.mark.parametrize("argv, expected", [
    (["/usr/bin/agent", "sos"], "/usr/bin/agent sos"),
    (["/opt/My Agent/agent"], '"/opt/My Agent/agent"'),
    (['/a"b$c`d\\e'], '"/a\\"b\\$c\\`d\\\\e"'),
    (["/100%/agent"], "/100%%/agent"),
    (["/a&b/agent"], '"/a&b/agent"'),
])
def test_exec_quoting_follows_the_spec(argv, expected):
    assert exec_line(argv) == expected


@pytest.mark.parametrize("arg", [
    "/plain/path", "/with space/a", "/ü/ß/€", "/q'uote", '/d"q', "/$HOME", "/`cmd`", "/a\\b",
    "/100%", "/%f", "/tab\there", "/new\nline", " /leading space", "/semi;colon", "/hash#", "/a=b",
])
def test_exec_line_round_trips_through_a_spec_parser(arg):
    assert parse_exec(escape_value(exec_line([arg, "sos"]))) == [arg, "sos"]
