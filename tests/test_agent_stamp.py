"""The stamp in a real executable (a copy of /bin/true): found behind appended data,
checked by its checksum, and a damaged one stops the agent (exit 2), never the defaults."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from sosdesk.common.branding import Branding, BrandingError
from sosdesk.common.stamp import STAMP_BEGIN, STAMP_END, load_branding, read_stamp, strip_stamp, write_stamp
from agent_helpers import AgentProcess, agent_env, queue_of
from conftest import ROOT

ACME = Branding(company_name="ACME", server_url="https://support.acme.example:8443",
                create_shortcut=False, language="en")
#: Runs the agent's real entry the way a frozen (PyInstaller) executable does: the
#: branding is looked up from sys.executable, here the stamped file given first.
FROZEN = ("import sys; sys.frozen = True; sys.executable = sys.argv.pop(1); "
          "from agent.cli import main; sys.exit(main(sys.argv[1:]))")


@pytest.fixture
def base(tmp_path: Path) -> Path:
    """A real executable to stamp."""
    path = tmp_path / "base"
    shutil.copyfile(shutil.which("true") or "/bin/true", path)
    path.chmod(0o755)
    return path


@pytest.fixture
def stamped(tmp_path: Path, base: Path) -> Path:
    out = tmp_path / "ACME-QuickSupport"
    write_stamp(base, out, ACME)
    return out


def run_frozen(exe: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", FROZEN, str(exe), *args], cwd=ROOT,
                          env=agent_env(tmp_path), capture_output=True, text=True, timeout=60)


def signature() -> bytes:
    """What Windows code signing appends: a certificate table, here of made-up bytes."""
    return struct.pack("<IHH", 4096, 0x0200, 0x0002) + bytes(range(256)) * 16


def test_a_stamped_executable_still_runs_and_carries_its_branding(base: Path, stamped: Path) -> None:
    assert subprocess.run([str(stamped)], timeout=10).returncode == 0
    found = load_branding(None, executable=stamped)
    assert (found.company_name, found.server_url, found.source) == (
        "ACME", "https://support.acme.example:8443", "embedded")
    assert strip_stamp(stamped.read_bytes()) == base.read_bytes()


@pytest.mark.parametrize("appended", [b"\0", signature()], ids=["one byte", "a signature"])
def test_data_appended_after_the_stamp_is_tolerated(stamped: Path, base: Path, appended: bytes) -> None:
    with open(stamped, "ab") as f:
        f.write(appended)
    assert load_branding(None, executable=stamped).company_name == "ACME"
    # Stamped, then signed: stripping drops the signature too (it covered the old stamp).
    assert strip_stamp(stamped.read_bytes()) == base.read_bytes()


def test_a_signed_base_keeps_its_signature_when_stamped_and_restamped(tmp_path: Path, base: Path) -> None:
    signed = tmp_path / "signed-base"
    signed.write_bytes(base.read_bytes() + signature())
    first, second = tmp_path / "first", tmp_path / "second"
    write_stamp(signed, first, ACME)
    with open(first, "ab") as f:  # and the personalized agent is signed again
        f.write(signature())
    write_stamp(first, second, Branding(company_name="Second", create_shortcut=False))
    assert read_stamp(second).company_name == "Second"
    assert strip_stamp(second.read_bytes()) == signed.read_bytes()


def edit(path: Path, old: bytes, new: bytes, occurrence: int = -1) -> None:
    """Replace one occurrence of *old* (the last by default) with *new*, same length."""
    data = path.read_bytes()
    at = data.rfind(old) if occurrence == -1 else data.find(old)
    assert at >= 0 and len(old) == len(new)
    path.write_bytes(data[:at] + new + data[at + len(old):])


def json_length(n: int) -> bytes:
    return struct.pack(">Q", n)


DAMAGES = {
    "company edited": (lambda p: edit(p, b'"ACME"', b'"ACMD"'), "checksum"),
    "port edited": (lambda p: edit(p, b":8443", b":8444"), "checksum"),
    "end marker damaged": (lambda p: edit(p, STAMP_END, STAMP_END[:-1] + b"X"), "end marker"),
    "start marker damaged": (lambda p: edit(p, STAMP_BEGIN, b"X" + STAMP_BEGIN[1:]), "start marker"),
    "trailer length broken": (lambda p: edit(p, json_length(len(ACME.to_json())) + STAMP_END,
                                             json_length(len(ACME.to_json()) + 1) + STAMP_END), "length"),
    "trailer length huge": (lambda p: edit(p, json_length(len(ACME.to_json())) + STAMP_END,
                                           b"\xff" * 8 + STAMP_END), "length"),
    "head length broken": (lambda p: edit(p, STAMP_BEGIN + json_length(len(ACME.to_json())),
                                          STAMP_BEGIN + json_length(7)), "length"),
    "cut off": (lambda p: p.write_bytes(p.read_bytes()[:-40]), "cut off"),
    "last byte lost": (lambda p: p.write_bytes(p.read_bytes()[:-1]), "cut off"),
    "edited, then signed": (lambda p: (edit(p, b'"ACME"', b'"ACMD"'),
                                       p.write_bytes(p.read_bytes() + signature())), "checksum"),
    "end damaged, then signed": (lambda p: (edit(p, STAMP_END, b"X" * len(STAMP_END)),
                                            p.write_bytes(p.read_bytes() + signature())), "end marker"),
}


@pytest.mark.parametrize("damage, problem", DAMAGES.values(), ids=DAMAGES.keys())
def test_a_damaged_stamp_is_refused_never_the_defaults(stamped: Path, damage, problem: str) -> None:
    (stamped.parent / "branding.json").write_text(json.dumps({"company_name": "Sidecar"}))
    damage(stamped)
    with pytest.raises(BrandingError) as caught:
        load_branding(None, executable=stamped)
    message = str(caught.value)
    assert f"the branding stamped into {stamped} is damaged" in message and problem in message
    with pytest.raises(BrandingError):
        strip_stamp(stamped.read_bytes())  # nor is it re-stamped as if it were a base


@pytest.mark.parametrize("where", ["middle", "end of a string"])
def test_the_markers_in_the_middle_of_a_file_are_no_stamp(tmp_path: Path, base: Path, where: str) -> None:
    # The agent's own code holds these constants; bytes next to them are no length.
    data = base.read_bytes()
    middle = len(data) // 2
    if where == "middle":
        planted = data[:middle] + STAMP_END + STAMP_BEGIN + data[middle:]
    else:  # like C strings in .rodata: text, a zero byte, the next string
        planted = data[:middle] + b"version\0" + STAMP_END + b"\0" + STAMP_BEGIN + b"\0abc" + data[middle:]
    exe = tmp_path / "exe"
    exe.write_bytes(planted)
    assert read_stamp(exe) is None and strip_stamp(planted) == planted
    sidecar = exe.with_name("branding.json")
    sidecar.write_text(json.dumps({"company_name": "Sidecar"}))
    assert load_branding(None, executable=exe).company_name == "Sidecar"


def test_a_marker_with_a_plausible_length_in_the_middle_is_a_damaged_stamp(tmp_path: Path,
                                                                           base: Path) -> None:
    # The structure claims a stamp there (a length of 100 before the end marker): a
    # stamp that was cut apart, not an accident, so it is refused.
    data = base.read_bytes()
    exe = tmp_path / "exe"
    exe.write_bytes(data[:1000] + json_length(100) + STAMP_END + data[1000:])
    with pytest.raises(BrandingError, match="damaged"):
        read_stamp(exe)


def test_markers_inside_the_branding_text_do_not_confuse_the_search(tmp_path: Path, base: Path) -> None:
    tricky = Branding(company_name="ACME", welcome_text=(STAMP_END + STAMP_BEGIN).decode() * 3,
                      waiting_text=STAMP_BEGIN.decode(), create_shortcut=False)
    out = tmp_path / "tricky"
    write_stamp(base, out, tricky)
    assert read_stamp(out) == tricky
    with open(out, "ab") as f:
        f.write(signature())
    assert read_stamp(out) == tricky and strip_stamp(out.read_bytes()) == base.read_bytes()


def test_a_format_1_stamp_is_refused_but_can_be_restamped(tmp_path: Path, base: Path) -> None:
    payload = ACME.to_json()
    old = tmp_path / "old"
    old.write_bytes(base.read_bytes() + payload + struct.pack(">Q", len(payload)) + b"SOSDESK-BRANDING-1")
    with pytest.raises(BrandingError, match=r"older sos-builder \(format 1, without a checksum\)"):
        load_branding(None, executable=old)
    assert strip_stamp(old.read_bytes()) == base.read_bytes()
    write_stamp(old, tmp_path / "new", ACME)
    assert read_stamp(tmp_path / "new") == ACME


# -- the real agent entry, looking up its own executable ------------------------------

def test_the_agent_stops_on_a_damaged_stamp_with_exit_2(stamped: Path, tmp_path: Path) -> None:
    edit(stamped, b'"ACME"', b'"ACMD"')
    with open(stamped, "ab") as f:
        f.write(b"\0")
    result = run_frozen(stamped, tmp_path, "-vv", "--headless", "sos")
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""  # no case, no "notice cannot reach support": it never started
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert lines[0] == (f"sos-agent: the branding stamped into {stamped} is damaged (its checksum "
                        "does not match its content). Please download this support program again "
                        "from the company that gave it to you.")


def test_a_signed_agent_files_its_case_with_the_stamped_server(base: Path, tmp_path: Path,
                                                               server_process, agents: list) -> None:
    exe = tmp_path / "Test-IT-QuickSupport"
    write_stamp(base, exe, Branding(company_name="Test IT", server_url=server_process.url,
                                    create_shortcut=False, language="en"))
    with open(exe, "ab") as f:
        f.write(signature())
    agent = AgentProcess(["--headless", "sos"], agent_env(tmp_path), program=[sys.executable, "-c", FROZEN, str(exe)])
    agents.append(agent)
    agent.expect("status pending")
    [case] = queue_of(server_process)
    assert case["status"] == "pending"
