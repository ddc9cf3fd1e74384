"""docs/branding.md is the admin's reference for the branding file: every field the
agent reads is in it, its example is a valid branding, and ``sos-agent --help`` points
to it."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys

from sosdesk.common.branding import Branding
from conftest import ROOT

DOC = ROOT / "docs" / "branding.md"


def test_every_field_of_the_branding_file_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| `([a-z_0-9]+)` \|", text, flags=re.M))
    assert rows == set(Branding().to_dict()), "fields of the file and rows of docs/branding.md differ"


def test_the_documented_example_is_a_valid_branding() -> None:
    [example] = re.findall(r"```json\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    branding = Branding.from_json(example.encode())
    assert branding.company_name == "ACME GmbH" and branding.waiting_text
    assert {f.name for f in dataclasses.fields(Branding)} - {"source", "logo_png"} <= set(
        Branding.from_json(example.encode()).to_dict())


def test_sos_agent_help_points_to_the_branding_doc() -> None:
    shown = subprocess.run([sys.executable, "-m", "sosdesk.agent", "--help"], capture_output=True, text=True,
                           timeout=60, cwd=ROOT)
    assert shown.returncode == 0, shown.stderr
    assert "docs/branding.md" in shown.stdout
    tray = subprocess.run([sys.executable, "-m", "sosdesk.agent", "tray", "--help"], capture_output=True,
                          text=True, timeout=60, cwd=ROOT)
    assert "--no-window" in tray.stdout
