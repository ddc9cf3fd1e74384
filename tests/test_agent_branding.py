"""Branding lookup order: embedded stamp, sidecar, --config, defaults; one clear error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sosdesk.common.branding import DEFAULT_SERVER_URL, Branding, BrandingError
from sosdesk.common.stamp import load_branding, write_stamp
from sosdesk.agent.cli import main


def branding_file(path: Path, name: str, **extra: object) -> Path:
    path.write_text(json.dumps({"company_name": name, "server_url": "https://support.example", **extra}))
    return path


@pytest.fixture
def exe(tmp_path: Path) -> Path:
    path = tmp_path / "sos-agent"
    path.write_bytes(b"\x7fELF base executable")
    path.chmod(0o755)
    return path


def test_embedded_stamp_wins(tmp_path: Path, exe: Path) -> None:
    stamped = tmp_path / "stamped"
    write_stamp(exe, stamped, Branding(company_name="Embedded GmbH"))
    branding_file(stamped.with_name("branding.json"), "Sidecar")
    config = branding_file(tmp_path / "c.json", "Config")
    found = load_branding(config, executable=stamped)
    assert found.company_name == "Embedded GmbH" and found.source == "embedded"


def test_sidecar_wins_over_config(tmp_path: Path, exe: Path) -> None:
    branding_file(exe.with_name(exe.name + ".branding.json"), "Sidecar 1")
    branding_file(exe.with_name("branding.json"), "Sidecar 2")
    found = load_branding(branding_file(tmp_path / "c.json", "Config"), executable=exe)
    assert found.company_name == "Sidecar 1" and found.source.startswith("sidecar")


def test_config_then_defaults(tmp_path: Path, exe: Path) -> None:
    config = branding_file(tmp_path / "c.json", "Config", language="de")
    assert load_branding(config, executable=exe).company_name == "Config"
    defaults = load_branding(None, executable=exe)
    assert defaults.server_url == DEFAULT_SERVER_URL == "http://127.0.0.1:8080"
    assert defaults.source == "defaults"


@pytest.mark.parametrize("content, expected", [
    ("{not json", "not JSON"),
    ('{"company_name": ""}', "company_name must be a non-empty text"),
    ('{"colour": "red"}', "unknown field(s) colour"),
    ('{"server_url": "ftp://x"}', "server_url must be an http(s) URL"),
])
def test_invalid_branding_is_one_message_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                content: str, expected: str) -> None:
    config = tmp_path / "bad.json"
    config.write_text(content)
    assert main(["--config", str(config), "--headless", "sos"]) == 2
    err = capsys.readouterr().err
    assert expected in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_missing_config_file_is_one_message(tmp_path: Path, capsys: pytest.CaptureFixture,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("DISPLAY", "WAYLAND_DISPLAY"):  # no display: stderr only, no message box
        monkeypatch.delenv(variable, raising=False)
    assert main(["--config", str(tmp_path / "nope.json"), "sos"]) == 2
    assert "cannot read branding file" in capsys.readouterr().err


PIN_A = "sha256/" + "A" * 43 + "="
PIN_B = "sha256/" + "B" * 42 + "A="


def test_pins_travel_in_the_stamp(tmp_path: Path, exe: Path) -> None:
    branding = Branding(company_name="ACME", server_url="https://support.acme.example",
                        pins=(PIN_A, PIN_B))
    stamped = tmp_path / "stamped"
    write_stamp(exe, stamped, branding)
    loaded = load_branding(executable=stamped)
    assert loaded.pins == (PIN_A, PIN_B) and loaded == branding
    assert json.loads(branding.to_json())["pins"] == [PIN_A, PIN_B]
    assert Branding.from_dict({"server_url": "https://x.example", "pins": [PIN_A]}).pins == (PIN_A,)


@pytest.mark.parametrize("fields, problem", [
    ({"pins": ["sha256/short"]}, "is not a key pin"),
    ({"pins": [PIN_A + " "]}, "blanks"),
    ({"pins": [PIN_A, PIN_B, "sha256/" + "C" * 42 + "A="]}, "at most 2 pins"),
    ({"pins": [PIN_A, PIN_A]}, "the same pin twice"),
    ({"pins": [PIN_A], "server_url": "http://support.acme.example"}, "pins need an https server_url"),
    ({"pins": [PIN_A], "ca_bundle": "/etc/ca.pem"}, "pins or ca_bundle, not both"),
    ({"pins": "sha256/x"}, "pins must be a list"),
])
def test_bad_pins_are_refused(fields: dict, problem: str) -> None:
    data = {"server_url": "https://support.acme.example", **fields}
    with pytest.raises(BrandingError, match=problem):
        Branding.from_dict(data)
