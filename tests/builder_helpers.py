"""What the builder's tests share: a fake base, logo images, the builder run as a process,
and the good arguments with some replaced.

A small fake base (an ELF or PE header plus PyInstaller's archive cookie) stands
in for the real one; tests/test_builder_e2e.py builds and runs the real thing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from sosdesk.builder import base as base_module
from sosdesk.builder.options import PYINSTALLER_COOKIE

ROOT = Path(__file__).resolve().parent.parent
TOKEN_ENV = "SOSDESK_TOKEN"


def fake_base(path: Path, header: bytes = b"\x7fELF") -> Path:
    """A file the builder accepts as a base: an executable header and PyInstaller's cookie."""
    path.write_bytes(header + b"\0" * 4000 + b"sosdesk-0.1.0.dist-info/METADATA" + PYINSTALLER_COOKIE
                     + b"\0" * 88)
    path.chmod(0o755)
    return path


def image(path: Path, size: tuple[int, int], colour=(200, 30, 30), fmt: str | None = None) -> Path:
    Image.new("RGB", size, colour).save(path, format=fmt)
    return path


def run_builder(*args: str, token: str | None = None, cwd: Path | None = None,
                cache: Path | None = None) -> subprocess.CompletedProcess:
    """``python -m sosdesk.builder ARGS`` in a fresh process, as the expert runs it."""
    env = {k: v for k, v in os.environ.items() if k != TOKEN_ENV}
    if token is not None:
        env[TOKEN_ENV] = token
    env["PYTHONPATH"] = str(ROOT)
    # A test that wrongly got past validation must not start a real PyInstaller build.
    env[base_module.CACHE_ENV] = str(cache or (cwd or ROOT) / "no-cache")
    return subprocess.run([sys.executable, "-m", "sosdesk.builder", *args], cwd=cwd or ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.fixture
def inputs(tmp_path: Path) -> dict[str, Path]:
    """Logo files good and bad, a fake base and an output folder that does not exist yet."""
    (tmp_path / "not-an-image.png").write_text("hello")
    (tmp_path / "logo.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    (tmp_path / "a-file").write_text("not a folder")
    return {
        "good": image(tmp_path / "logo.png", (120, 80)),
        "tiny": image(tmp_path / "tiny.png", (31, 100)),
        "gif": image(tmp_path / "logo.gif", (64, 64)),
        "text": tmp_path / "not-an-image.png",
        "svg": tmp_path / "logo.svg",
        "missing": tmp_path / "missing.png",
        "file": tmp_path / "a-file",
        "base": fake_base(tmp_path / "base"),
        "out": tmp_path / "out",
        "tmp": tmp_path,
    }


GOOD = ["--company", "ACME", "--server", "https://support.acme.example", "--module-id", "m123"]


def with_args(extra: list[str], paths: dict[str, Path]) -> list[str]:
    """The good arguments with those named in *extra* replaced, plus the fake base and out."""
    args = {"--base": str(paths["base"]), "--out": str(paths["out"])}
    for flag, value in zip(GOOD[::2], GOOD[1::2]):
        args[flag] = value
    for flag, value in zip(extra[::2], extra[1::2]):
        args[flag] = value.format(**paths)
    return [f"{flag}={value}" for flag, value in args.items()]  # "=": a value may start with "-"
