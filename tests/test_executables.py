"""An agent's file names (sosdesk.common.executables): the server names a customer's
download with the session's code, and the agent, started without a command, joins
the session its own file name carries (agent.cli.command_of)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sosdesk.agent.cli import build_parser, command_of
from sosdesk.common.executables import code_in_name, detect_os, file_name, quicksupport_stem


@pytest.mark.parametrize("name,code", [
    ("ACME-QuickSupport-s12-345-678", "s12-345-678"),
    ("ACME-QuickSupport-s12-345-678.exe", "s12-345-678"),
    ("ACME-QuickSupport-s12-345-678 (1).exe", "s12-345-678"),  # a browser's second download
    ("ACME-QuickSupport-s12-345-678(2)", "s12-345-678"),
    ("QuickSupport-s00-000-001", "s00-000-001"),
    # A name the company chose may look like a code: the last one counts.
    ("s11-111-111-QuickSupport-s12-345-678.exe", "s12-345-678"),
    ("ACME-QuickSupport", None), ("ACME-QuickSupport.exe", None),
    ("ACME-QuickSupport-s12-345-6789", None), ("ACME-QuickSupport-xs12-345-678", None),
    ("ACME-QuickSupport-S12-345-678", None), ("ACME-QuickSupport-12345678", None),
])
def test_the_code_in_a_file_name(name: str, code: str | None) -> None:
    assert code_in_name(name) == code
    assert code_in_name(Path("/home/bob/Downloads") / name) == code


def test_a_folders_name_carries_no_code() -> None:
    assert code_in_name("/tmp/s12-345-678/ACME-QuickSupport") is None


def test_the_names_the_server_and_the_builder_give() -> None:
    assert quicksupport_stem("Müller & Söhne GmbH") == "Muller-Sohne-GmbH-QuickSupport"
    assert file_name("ACME Support", "windows", "s12-345-678") == \
        "ACME-Support-QuickSupport-s12-345-678.exe"
    assert file_name("ACME", "linux") == "ACME-QuickSupport"
    assert file_name("株式会社", "macos", "s12-345-678") == "QuickSupport-s12-345-678"
    # What the server writes, the agent reads back.
    assert code_in_name(file_name('"; rm -rf /', "linux", "s98-765-432")) == "s98-765-432"


def test_the_os_of_an_executable() -> None:
    assert detect_os(b"MZ\x90\x00") == "windows"
    assert detect_os(b"\x7fELF") == "linux"
    assert detect_os(b"\xcf\xfa\xed\xfe") == "macos"
    assert detect_os(b"#!/bin") is None and detect_os(b"") is None


@pytest.mark.parametrize("argv,executable,expected", [
    # No command: the file name's session, joined; else the tray as always.
    ([], "/dl/ACME-QuickSupport-s12-345-678.exe", ("join", "s12-345-678")),
    (["--headless"], "/dl/ACME-QuickSupport-s12-345-678", ("join", "s12-345-678")),
    ([], "/opt/ACME-QuickSupport", ("tray", None)),
    ([], None, ("tray", None)),  # not frozen: a Python agent has no file name of its own
    # A command given wins: the SOS shortcut and the autostart name theirs.
    (["sos"], "/dl/ACME-QuickSupport-s12-345-678", ("sos", None)),
    (["tray"], "/dl/ACME-QuickSupport-s12-345-678", ("tray", None)),
    (["join", "s98-765-432"], "/dl/ACME-QuickSupport-s12-345-678", ("join", "s98-765-432")),
])
def test_the_agent_joins_the_session_its_name_carries(argv, executable, expected) -> None:
    args = build_parser().parse_args(argv)
    assert command_of(args, Path(executable) if executable else None) == expected
