"""The installed copy of a one-file agent (agent.unpacked), without a real build.

Archives are written by PyInstaller's own CArchiveWriter and read back by its
CArchiveReader, so the format agent.unpacked reads and writes with struct is
PyInstaller's; tests/test_builder_e2e.py runs a real installed copy.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from PyInstaller.archive.readers import CArchiveReader
from PyInstaller.archive.writers import CArchiveWriter

from sosdesk.agent import unpacked
from sosdesk.common.branding import Branding
from sosdesk.common.stamp import read_stamp, write_stamp

BOOTLOADER = b"\x7fELF" + bytes(range(256)) * 40


def fake_onefile(folder: Path, name: str = "ACME-QuickSupport", payload: bytes = b"lib") -> Path:
    """A one-file 'executable': a bootloader, then an archive with every kind of entry."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "script.py").write_text("print('hello')\n")
    (folder / "libfoo.so").write_bytes(payload + os.urandom(20_000))  # does not compress
    (folder / "data.txt").write_text("data " * 300)
    (folder / "modules.pyz").write_bytes(os.urandom(3000))
    entries = [("pyi-contents-directory _internal", "", False, "o"),
               ("script", str(folder / "script.py"), True, "s"),
               ("libfoo.so", str(folder / "libfoo.so"), True, "b"),
               ("sub/data.txt", str(folder / "data.txt"), True, "x"),
               ("PYZ.pyz", str(folder / "modules.pyz"), False, "z")]
    CArchiveWriter(str(folder / "pkg"), entries, "libpython3.11.so.1.0")
    exe = folder / name
    exe.write_bytes(BOOTLOADER + (folder / "pkg").read_bytes())
    exe.chmod(0o755)
    return exe


def fake_meipass(folder: Path) -> Path:
    """What the one-file agent unpacked for its run."""
    (folder / "sub").mkdir(parents=True, exist_ok=True)
    (folder / "libfoo.so").write_bytes(b"lib" * 5000)
    (folder / "sub" / "data.txt").write_text("data " * 300)
    return folder


@pytest.fixture
def data_home(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return tmp_path / "data"


def test_the_program_keeps_what_is_not_unpacked_as_pyinstaller_reads_it(tmp_path):
    exe = fake_onefile(tmp_path / "src")
    stamped = tmp_path / "stamped"
    write_stamp(exe, stamped, Branding(company_name="ACME"))
    program, contents = unpacked.onedir_program(stamped.read_bytes())
    assert contents == "_internal"
    assert program.startswith(BOOTLOADER)
    (tmp_path / "program").write_bytes(program)
    ours = CArchiveReader(str(tmp_path / "program"))
    theirs = CArchiveReader(str(exe))
    assert sorted(ours.toc) == ["PYZ.pyz", "script"]  # (its reader lists no options)
    assert sorted(theirs.toc) == ["PYZ.pyz", "libfoo.so", "script", "sub/data.txt"]
    assert [e.name for e in unpacked.read_archive(program).entries if e.kind == b"o"] == [
        "pyi-contents-directory _internal"]
    for name in ("PYZ.pyz", "script"):
        assert ours.extract(name) == theirs.extract(name)
    # The branding stamp goes along: the installed copy is the same company's agent.
    assert read_stamp(tmp_path / "program").company_name == "ACME"
    assert len(program) < len(stamped.read_bytes()) - 10_000  # the library is not carried


def test_a_file_without_an_archive_is_refused(tmp_path):
    with pytest.raises(unpacked.InstallError):
        unpacked.onedir_program(BOOTLOADER)
    with pytest.raises(unpacked.InstallError):
        unpacked.read_archive(BOOTLOADER + unpacked.COOKIE_MAGIC + b"\0" * 100)


def test_the_first_start_installs_a_copy_that_current_names(tmp_path, data_home):
    exe = fake_onefile(tmp_path / "download")
    found = unpacked.ensure_installed("acme", executable=exe, meipass=fake_meipass(tmp_path / "mei"))
    root = data_home / "sosdesk" / "agent" / "acme"
    assert found.made and found.folder.parent == root
    assert found.program == root / "current" / unpacked.program_name()
    assert os.readlink(root / "current") == found.folder.name
    assert (found.folder / "_internal" / "libfoo.so").read_bytes() == b"lib" * 5000
    assert (found.folder / "_internal" / "sub" / "data.txt").is_file()
    assert os.access(found.program, os.X_OK)
    marker = json.loads((found.folder / "installed.json").read_text())
    assert marker["source"]["path"] == str(exe.resolve())
    assert not [p for p in root.iterdir() if p.name.endswith(".partial")]
    # Started again: nothing to do, nothing rewritten.
    before = found.program.stat().st_mtime_ns
    again = unpacked.ensure_installed("acme", executable=exe, meipass=tmp_path / "gone")
    assert not again.made and again.program == found.program
    assert found.program.stat().st_mtime_ns == before


def test_a_different_agent_replaces_the_copy_and_keeps_the_one_before(tmp_path, data_home):
    mei = fake_meipass(tmp_path / "mei")
    first = unpacked.ensure_installed("acme", executable=fake_onefile(tmp_path / "a", payload=b"A"),
                                      meipass=mei)
    second = unpacked.ensure_installed("acme", executable=fake_onefile(tmp_path / "b", payload=b"B"),
                                       meipass=mei)
    root = first.folder.parent
    assert second.made and second.folder != first.folder
    assert os.readlink(root / "current") == second.folder.name
    assert first.folder.is_dir()  # a tray may still run it
    third = unpacked.ensure_installed("acme", executable=fake_onefile(tmp_path / "c", payload=b"C"),
                                      meipass=mei)
    assert not first.folder.exists() and second.folder.is_dir() and third.folder.is_dir()
    (root / ".junk.1234.partial").mkdir()  # left by a start that was killed while installing
    unpacked.ensure_installed("acme", executable=fake_onefile(tmp_path / "d", payload=b"D"),
                              meipass=mei)
    assert not (root / ".junk.1234.partial").exists()


def test_an_older_agent_does_not_replace_a_newer_copy(tmp_path, data_home):
    mei = fake_meipass(tmp_path / "mei")
    newer = unpacked.ensure_installed("acme", executable=fake_onefile(tmp_path / "a", payload=b"A"),
                                      meipass=mei, version="2.0.0")
    older = unpacked.ensure_installed("acme", executable=fake_onefile(tmp_path / "b", payload=b"B"),
                                      meipass=mei, version="1.9.9")
    assert not older.made and older.folder == newer.folder


def test_a_sidecar_branding_travels_with_the_copy(tmp_path, data_home):
    exe = fake_onefile(tmp_path / "download")
    sidecar = tmp_path / "download" / "branding.json"
    sidecar.write_text(Branding(company_name="Sidecar Co").to_json().decode())
    found = unpacked.ensure_installed("acme", executable=exe, meipass=fake_meipass(tmp_path / "mei"),
                                      sidecar=sidecar)
    assert (found.folder / "branding.json").read_bytes() == sidecar.read_bytes()


def test_uninstall_removes_every_copy(tmp_path, data_home):
    mei = fake_meipass(tmp_path / "mei")
    unpacked.ensure_installed("acme", executable=fake_onefile(tmp_path / "a", payload=b"A"), meipass=mei)
    unpacked.ensure_installed("acme", executable=fake_onefile(tmp_path / "b", payload=b"B"), meipass=mei)
    other = unpacked.ensure_installed("other", executable=fake_onefile(tmp_path / "c"), meipass=mei)
    removed = unpacked.remove_installed("acme")
    assert len(removed) == 2
    assert not (data_home / "sosdesk" / "agent" / "acme").exists()
    assert other.folder.is_dir()  # another company's agent stays
    assert unpacked.remove_installed("acme") == []


def test_one_file_and_one_folder_runs_are_told_apart(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "app" / "sosdesk-agent"))
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path / "_MEI1234"), raising=False)
    (tmp_path / "app" / "_internal").mkdir(parents=True)
    assert unpacked.running_onefile()
    # Run from the temporary folder itself, or from a folder above it: still one-file.
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path / "app" / "_MEI5678"))
    assert unpacked.running_onefile()
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path / "app" / "tmp" / "_MEI5678"))
    assert unpacked.running_onefile()
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path / "app" / "_internal"))
    assert not unpacked.running_onefile()
    monkeypatch.setattr(sys, "frozen", False)
    assert not unpacked.running_onefile()


def test_the_current_copy_is_named_through_current(tmp_path, data_home):
    found = unpacked.ensure_installed("acme", executable=fake_onefile(tmp_path / "a"),
                                      meipass=fake_meipass(tmp_path / "mei"))
    real = found.folder / unpacked.program_name()
    assert unpacked.stable_program(real) == found.program
    assert unpacked.stable_program(tmp_path / "a" / "ACME-QuickSupport") == \
        tmp_path / "a" / "ACME-QuickSupport"
