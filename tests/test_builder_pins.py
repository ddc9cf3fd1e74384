"""``sos-builder --pin`` and ``--pin-from``: the server's key pinned into the agent.

The builder runs as the expert runs it (a process; on a terminal where it asks),
against the real server serving TLS in this process, with certificates made here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

from servers import LiveServer, in_process
from sosdesk.common.stamp import read_stamp
from sosdesk.server_stub.tls import Certificate
from builder_helpers import ROOT, TOKEN_ENV, fake_base, files_in, run_builder
from tls_certs import Issued, TestCA, key_pin, new_key, self_signed

from sosdesk.builder import base as base_module

OTHER_PIN = "sha256/" + "A" * 43 + "="
NEXT_PIN = "sha256/" + "B" * 42 + "A="


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[tuple[LiveServer, Issued]]:
    """The real server over TLS with a self-signed certificate (a lab's)."""
    issued = self_signed(tmp_path / "lab", "lab")
    with in_process(tmp_path / "lab.db", tls=Certificate(issued.cert, issued.key)) as live:
        live.verify = str(issued.cert)
        yield live, issued


@pytest.fixture
def paths(tmp_path: Path) -> dict[str, Path]:
    return {"base": fake_base(tmp_path / "base"), "out": tmp_path / "out", "tmp": tmp_path}


def common(paths: dict[str, Path], server: str) -> list[str]:
    return ["--company", "ACME", "--server", server, "--base", str(paths["base"]),
            "--out", str(paths["out"])]


def modules_on(live: LiveServer) -> list[dict]:
    return live.api("GET", "/api/v1/modules").json()["modules"]


def test_pins_given_are_stamped_and_listed_in_the_manifest(paths: dict[str, Path]) -> None:
    result = run_builder(*common(paths, "https://support.acme.example"), "--module-id", "m1",
                         "--pin", OTHER_PIN, "--pin", NEXT_PIN, "-q", cwd=paths["tmp"])
    assert result.returncode == 0, result.stderr
    assert read_stamp(paths["out"] / "ACME-QuickSupport").pins == (OTHER_PIN, NEXT_PIN)
    manifest = json.loads((paths["out"] / "ACME-QuickSupport.manifest.json").read_text())
    assert manifest["pins"] == [OTHER_PIN, NEXT_PIN]


@pytest.mark.parametrize("args, expected", [
    (["--pin", "sha256/abc"], "is not a key pin"),
    (["--pin", OTHER_PIN, "--pin", NEXT_PIN, "--pin", "sha256/" + "C" * 42 + "A="], "at most 2 pins"),
    (["--server", "http://127.0.0.1:8080", "--pin", OTHER_PIN], "pinning needs an https --server"),
    (["--pin-from", "http://127.0.0.1:8080"], "--pin-from needs an https:// address"),
])
def test_a_bad_pin_is_refused_before_anything_is_done(paths: dict[str, Path], args: list[str],
                                                      expected: str) -> None:
    result = run_builder(*common(paths, "https://support.acme.example"), "--module-id", "m1", *args,
                         cwd=paths["tmp"])
    assert result.returncode == 2 and expected in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and files_in(paths["out"]) == []


def test_pin_from_reads_the_servers_key_and_registers_over_the_pinned_connection(
        lab: tuple[LiveServer, Issued], paths: dict[str, Path]) -> None:
    live, issued = lab
    result = run_builder(*common(paths, live.url), "--pin-from", "--yes", token=live.token,
                         cwd=paths["tmp"])
    assert result.returncode == 0, result.stderr
    # What the expert compares with the server's own line before trusting it.
    assert f"key pin          {issued.pin}" in result.stderr
    assert "certificate for  127.0.0.1" in result.stderr and "CA-trusted       no:" in result.stderr
    branding = read_stamp(paths["out"] / "ACME-QuickSupport")
    assert branding.pins == (issued.pin,)
    # A self-signed server, yet the module was registered: the builder trusted the pinned key.
    assert [m["module_id"] for m in modules_on(live)] == [branding.module_id]


def test_pin_from_adds_to_a_given_next_pin(lab: tuple[LiveServer, Issued], paths: dict[str, Path]) -> None:
    live, issued = lab
    result = run_builder(*common(paths, live.url), "--pin", NEXT_PIN, "--pin-from", live.url, "-y",
                         "-q", token=live.token, cwd=paths["tmp"])
    assert result.returncode == 0, result.stderr
    assert read_stamp(paths["out"] / "ACME-QuickSupport").pins == (NEXT_PIN, issued.pin)


def run_on_terminal(args: list[str], answer: str, token: str, cwd: Path) -> subprocess.CompletedProcess:
    """The builder with a terminal as its stdin (where it may ask), typing *answer*."""
    leader, follower = os.openpty()
    env = {k: v for k, v in os.environ.items() if k != TOKEN_ENV}
    env.update({TOKEN_ENV: token, "PYTHONPATH": str(ROOT), base_module.CACHE_ENV: str(cwd / "no-cache")})
    try:
        os.write(leader, answer.encode() + b"\n")
        return subprocess.run([sys.executable, "-m", "sosdesk.builder", *args], stdin=follower, cwd=cwd,
                              env=env, capture_output=True, text=True, timeout=120)
    finally:
        os.close(follower)
        os.close(leader)


@pytest.mark.parametrize("answer", ["y", "n"])
def test_pin_from_asks_on_a_terminal(lab: tuple[LiveServer, Issued], paths: dict[str, Path],
                                     answer: str) -> None:
    live, issued = lab
    result = run_on_terminal([*common(paths, live.url), "--pin-from"], answer, live.token, paths["tmp"])
    assert "Pin this key into the agent? [y/N]" in result.stderr
    if answer == "y":
        assert result.returncode == 0, result.stderr
        assert read_stamp(paths["out"] / "ACME-QuickSupport").pins == (issued.pin,)
    else:
        assert result.returncode == 2 and "the key was not confirmed; nothing was built" in result.stderr
        assert files_in(paths["out"]) == [] and modules_on(live) == []


def test_pin_from_without_a_terminal_or_yes_refuses(lab: tuple[LiveServer, Issued],
                                                    paths: dict[str, Path]) -> None:
    live, issued = lab
    result = run_builder(*common(paths, live.url), "--pin-from", token=live.token, cwd=paths["tmp"])
    assert result.returncode == 2
    assert f"no terminal to ask on: check the pin above, then pass --yes (or --pin {issued.pin})" \
        in result.stderr
    assert files_in(paths["out"]) == [] and modules_on(live) == []


def test_a_server_without_the_pinned_key_gets_no_token(lab: tuple[LiveServer, Issued],
                                                       paths: dict[str, Path]) -> None:
    live, issued = lab
    result = run_builder(*common(paths, live.url), "--pin", key_pin(new_key()), token=live.token,
                         cwd=paths["tmp"])
    assert result.returncode == 1
    assert f"it presents the key {issued.pin}, which is none of the pins" in result.stderr
    assert files_in(paths["out"]) == [] and modules_on(live) == []


def test_pin_from_a_server_that_is_not_there_fails_in_one_line(paths: dict[str, Path]) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = run_builder(*common(paths, f"https://127.0.0.1:{port}"), "--module-id", "m1",
                         "--pin-from", "--yes", cwd=paths["tmp"])
    assert result.returncode == 1 and f"cannot read the certificate of 127.0.0.1:{port}" in result.stderr
    assert result.stderr.count("\n") == 1 and files_in(paths["out"]) == []


def test_pin_from_names_a_ca_trusted_certificate_so(tmp_path: Path, paths: dict[str, Path],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """With the CA trusted (SSL_CERT_FILE), the builder says the certificate is CA-trusted."""
    ca = TestCA(tmp_path / "ca")
    issued = ca.issue("server")
    with in_process(tmp_path / "ca.db", tls=Certificate(issued.cert, issued.key)) as live:
        monkeypatch.setenv("SSL_CERT_FILE", str(ca.bundle))  # run_builder passes it on
        result = run_builder(*common(paths, live.url), "--module-id", "m1", "--pin-from", "-y",
                             cwd=paths["tmp"])
        assert result.returncode == 0, result.stderr
        assert "CA-trusted       yes" in result.stderr and "issued by        sosdesk test CA" in result.stderr
