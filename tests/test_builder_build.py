"""Builds without PyInstaller, on a fake base: registration with a real server, the
branding stamped and restamped, the manifest, the target OS, a given module id.
"""

from __future__ import annotations

import hashlib
import io
import json
import os

from PIL import Image

from sosdesk.common.stamp import read_stamp, strip_stamp
from builder_helpers import fake_base, files_in, inputs, run_builder, with_args  # noqa: F401 (a fixture)


def test_a_build_registers_the_module_and_stamps_the_branding(live_server, inputs):
    result = run_builder("--company", "ACME Corp", "--server", live_server.url, "--group", "acme",
                         "--logo", str(inputs["good"]), "--color", "#FF6600",
                         "--welcome", "Welcome to ACME", "--waiting", "An expert is coming",
                         "--language", "en", "--no-shortcut", "--base", str(inputs["base"]),
                         "--out", str(inputs["out"]), token=live_server.token, cwd=inputs["tmp"])
    assert result.returncode == 0, result.stderr
    exe = inputs["out"] / "ACME-Corp-QuickSupport"
    manifest = json.loads((inputs["out"] / "ACME-Corp-QuickSupport.manifest.json").read_text())
    branding = read_stamp(exe)

    module = live_server.api("GET", f"/api/v1/modules/{branding.module_id}").json()
    assert (module["name"], module["groupname"], module["active"]) == ("ACME Corp", "acme", True)
    assert branding.company_name == "ACME Corp" and branding.server_url == live_server.url
    assert (branding.primary_color, branding.welcome_text, branding.waiting_text) == (
        "#ff6600", "Welcome to ACME", "An expert is coming")
    assert branding.create_shortcut is False and branding.language == "en"
    with Image.open(io.BytesIO(branding.logo_png)) as logo:
        assert (logo.format, logo.size) == ("PNG", (120, 80))
    assert strip_stamp(exe.read_bytes()) == inputs["base"].read_bytes()
    assert os.access(exe, os.X_OK)

    assert manifest["company"] == "ACME Corp" and manifest["module_id"] == branding.module_id
    assert manifest["server"] == live_server.url and manifest["agent_version"] == "0.1.0"
    assert manifest["sha256"] == hashlib.sha256(exe.read_bytes()).hexdigest()
    assert manifest["size"] == exe.stat().st_size
    for name in manifest["icons"]:
        assert (inputs["out"] / name).is_file()
    assert str(exe) in result.stdout and "MB" in result.stdout

    token = live_server.token.encode()
    for path in inputs["out"].iterdir():
        assert token not in path.read_bytes(), path
    assert live_server.token not in result.stdout + result.stderr
    assert not [p for p in inputs["out"].iterdir() if p.name.endswith(".partial")]


def test_a_stamped_agent_can_be_restamped(inputs):
    first = run_builder(*with_args(["--company", "First"], inputs), "-q", cwd=inputs["tmp"])
    assert first.returncode == 0, first.stderr
    stamped = inputs["out"] / "First-QuickSupport"
    second = run_builder(*with_args(["--company", "Second", "--base", str(stamped),
                                     "--module-id", "m456"], inputs), "-q", cwd=inputs["tmp"])
    assert second.returncode == 0, second.stderr
    again = inputs["out"] / "Second-QuickSupport"
    assert read_stamp(again).company_name == "Second" and read_stamp(again).module_id == "m456"
    assert strip_stamp(again.read_bytes()) == inputs["base"].read_bytes()


def test_a_signed_agent_can_be_restamped_and_a_damaged_one_is_refused(inputs):
    first = run_builder(*with_args(["--company", "First"], inputs), "-q", cwd=inputs["tmp"])
    assert first.returncode == 0, first.stderr
    stamped = inputs["out"] / "First-QuickSupport"
    with open(stamped, "ab") as f:
        f.write(b"\x00" * 512)  # what code signing appends
    second = run_builder(*with_args(["--company", "Second", "--base", str(stamped)], inputs), "-q",
                         cwd=inputs["tmp"])
    assert second.returncode == 0, second.stderr
    assert strip_stamp((inputs["out"] / "Second-QuickSupport").read_bytes()) == inputs["base"].read_bytes()

    damaged = inputs["tmp"] / "damaged"
    damaged.write_bytes(stamped.read_bytes().replace(b'"First"', b'"Firsx"'))
    out = inputs["tmp"] / "out2"
    third = run_builder(*with_args(["--company", "Third", "--base", str(damaged), "--out", str(out)],
                                   inputs), "-q", cwd=inputs["tmp"])
    assert third.returncode == 1 and "Traceback" not in third.stderr
    assert third.stderr.strip() == (
        f"sos-builder: the base {damaged} cannot be stamped: it carries a damaged branding stamp "
        "(its checksum does not match its content), so where the program ends is not known; use a "
        "base agent (sos-builder --base-only) or a personalized one in one piece")
    assert files_in(out) == []


def test_the_target_os_comes_from_the_base(inputs):
    windows = fake_base(inputs["tmp"] / "base.exe", header=b"MZ")
    result = run_builder(*with_args(["--base", str(windows)], inputs), "-q", cwd=inputs["tmp"])
    assert result.returncode == 0, result.stderr
    assert (inputs["out"] / "ACME-QuickSupport.exe").is_file()
    manifest = json.loads((inputs["out"] / "ACME-QuickSupport.exe.manifest.json").read_text())
    assert manifest["target_os"] == "windows" and manifest["file"] == "ACME-QuickSupport.exe"


def test_a_given_module_id_is_checked_with_the_server(live_server, inputs):
    module = live_server.api("POST", "/api/v1/modules", json={"name": "ACME", "groupname": "team-1"}).json()
    ok = run_builder(*with_args(["--module-id", module["module_id"], "--server", live_server.url],
                                inputs), "-q", token=live_server.token, cwd=inputs["tmp"])
    assert ok.returncode == 0, ok.stderr
    manifest = json.loads((inputs["out"] / "ACME-QuickSupport.manifest.json").read_text())
    assert manifest["group"] == "team-1"

    mismatch = run_builder(*with_args(["--module-id", module["module_id"], "--group", "other",
                                       "--server", live_server.url, "--out",
                                       str(inputs["tmp"] / "o2")], inputs),
                           token=live_server.token, cwd=inputs["tmp"])
    assert mismatch.returncode == 2 and "puts its cases in group 'team-1'" in mismatch.stderr

    live_server.api("DELETE", f"/api/v1/modules/{module['module_id']}")
    for module_id, expected in ((module["module_id"], "was revoked"), ("m0000", "no such module")):
        out = inputs["tmp"] / f"out-{module_id}"
        refused = run_builder(*with_args(["--module-id", module_id, "--server", live_server.url,
                                          "--out", str(out)], inputs),
                              token=live_server.token, cwd=inputs["tmp"])
        assert refused.returncode == 1 and expected in refused.stderr
        assert "Traceback" not in refused.stderr
        assert files_in(out) == []
