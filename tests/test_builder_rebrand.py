"""Re-branding fast: the logo and icons cached by content, the base's fingerprint
checked without hashing when nothing changed, no HTTP client for an offline build,
and the stamped copy written in one pass with its hash.

Without PyInstaller: a small fake base stands in (as in tests/test_builder.py).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from sosdesk.builder import base as base_module
from sosdesk.builder import images
from sosdesk.builder.options import PYINSTALLER_COOKIE, parse_options
from sosdesk.builder.stamping import personalize
from sosdesk.common.branding import Branding
from sosdesk.common.stamp import read_stamp, strip_stamp, write_stamp

ROOT = Path(__file__).resolve().parent.parent


def fake_base(path: Path) -> Path:
    path.write_bytes(b"\x7fELF" + os.urandom(300_000) + b"sosdesk-0.1.0.dist-info/METADATA"
                     + PYINSTALLER_COOKIE + b"\0" * 88)
    path.chmod(0o755)
    return path


@pytest.fixture
def cache(tmp_path: Path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    folder.mkdir()
    monkeypatch.setenv(base_module.CACHE_ENV, str(folder))
    return folder


def _options(tmp_path: Path, logo: Path, company: str = "ACME", colour: str = "#ff6600"):
    return parse_options({"company": company, "server": "https://support.example", "logo": logo,
                          "color": colour, "module_id": "m1", "out": tmp_path / f"out-{company}",
                          "base": tmp_path / "base"}, token_given=False)


def _logo(tmp_path: Path) -> Path:
    Image.radial_gradient("L").convert("RGB").resize((300, 200)).save(tmp_path / "logo.png")
    return tmp_path / "logo.png"


def _outputs(result) -> dict[str, bytes]:
    return {p.name.split("-QuickSupport")[-1]: p.read_bytes() for p in result.icons}


def test_icons_are_drawn_once_per_look_and_then_read_from_the_cache(tmp_path, cache, monkeypatch):
    fake_base(tmp_path / "base")
    logo = _logo(tmp_path)
    first = personalize(tmp_path / "base", _options(tmp_path, logo), "m1")
    assert list((cache / "icons").iterdir())

    def no_drawing(branding):
        raise AssertionError("the icons were drawn again")

    monkeypatch.setattr(images, "_draw_icons", no_drawing)
    again = personalize(tmp_path / "base", _options(tmp_path, logo, company="Other Co"), "m2")
    assert _outputs(again) == _outputs(first)
    assert {p.name for p in again.icons} == {p.name.replace("ACME", "Other-Co")
                                             for p in first.icons}
    monkeypatch.undo()
    monkeypatch.setenv(base_module.CACHE_ENV, str(cache))
    # Another logo is another picture; without a logo, the initials and colour are.
    Image.new("RGB", (64, 64), (0, 0, 255)).save(tmp_path / "blue.png")
    personalize(tmp_path / "base", _options(tmp_path, tmp_path / "blue.png", company="Blue"), "m3")
    assert len(list((cache / "icons").iterdir())) == 2
    plain = parse_options({"company": "Blue", "server": "https://support.example", "color": "#0000ff",
                           "module_id": "m4", "out": tmp_path / "plain", "base": tmp_path / "base"},
                          token_given=False)
    personalize(tmp_path / "base", plain, "m4")
    personalize(tmp_path / "base", dataclasses.replace(plain, primary_color="#00ff00"), "m4")
    assert len(list((cache / "icons").iterdir())) == 4


def test_a_damaged_cache_entry_is_drawn_again(tmp_path, cache):
    fake_base(tmp_path / "base")
    logo = _logo(tmp_path)
    first = personalize(tmp_path / "base", _options(tmp_path, logo), "m1")
    (entry,) = (cache / "icons").iterdir()
    (entry / "icon-256.png").unlink()
    again = personalize(tmp_path / "base", _options(tmp_path, logo, company="Again"), "m2")
    assert _outputs(again) == _outputs(first)
    assert (entry / "icon-256.png").is_file()


def test_without_a_cache_folder_nothing_is_cached(tmp_path, monkeypatch):
    monkeypatch.setenv(base_module.CACHE_ENV, str(tmp_path / "no-cache"))
    fake_base(tmp_path / "base")
    personalize(tmp_path / "base", _options(tmp_path, _logo(tmp_path)), "m1")
    assert not (tmp_path / "no-cache").exists()


def test_a_cached_logo_and_icons_need_no_pillow(tmp_path, cache):
    fake_base(tmp_path / "base")
    logo = _logo(tmp_path)
    first = personalize(tmp_path / "base", _options(tmp_path, logo), "m1")
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from sosdesk.builder.options import parse_options\n"
        "from sosdesk.builder.stamping import personalize\n"
        f"tmp = Path({str(tmp_path)!r})\n"
        "options = parse_options({'company': 'ACME', 'server': 'https://support.example',"
        " 'logo': tmp / 'logo.png', 'color': '#ff6600', 'module_id': 'm1',"
        " 'out': tmp / 'again', 'base': tmp / 'base'}, token_given=False)\n"
        "personalize(tmp / 'base', options, 'm1')\n"
        "print(sorted(m for m in sys.modules if m == 'PIL' or m.startswith('PIL.')))\n")
    env = dict(os.environ, **{base_module.CACHE_ENV: str(cache)})
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                         timeout=60, check=True).stdout
    assert out.strip() == "[]"
    assert {p.name: p.read_bytes() for p in (tmp_path / "again").glob("*.png")} == {
        p.name: p.read_bytes() for p in first.icons if p.suffix == ".png"}


def test_a_cached_logo_is_the_same_png_and_bad_logos_are_still_refused(tmp_path, cache):
    logo = _logo(tmp_path)
    made = images.load_logo(logo)
    assert images.load_logo(logo) == made
    assert len(list((cache / "logos").iterdir())) == 1
    (tmp_path / "bad.png").write_text("not an image")
    with pytest.raises(images.LogoProblem):
        images.load_logo(tmp_path / "bad.png")
    with pytest.raises(images.LogoProblem):
        images.load_logo(tmp_path / "bad.png")  # a refusal is never cached
    (tmp_path / "logo.svg").write_bytes(logo.read_bytes())  # cached bytes, refused name
    with pytest.raises(images.LogoProblem, match="SVG"):
        images.load_logo(tmp_path / "logo.svg")


def test_the_stamped_copy_reports_its_size_and_hash(tmp_path):
    base = fake_base(tmp_path / "base")
    once = tmp_path / "once"
    size, digest = write_stamp(base, once, Branding(company_name="First"))
    data = once.read_bytes()
    assert (size, digest) == (len(data), hashlib.sha256(data).hexdigest())
    again = tmp_path / "again"  # re-stamping a stamped file replaces its stamp
    size, digest = write_stamp(once, again, Branding(company_name="Second"))
    data = again.read_bytes()
    assert (size, digest) == (len(data), hashlib.sha256(data).hexdigest())
    assert strip_stamp(data) == base.read_bytes()
    assert read_stamp(again).company_name == "Second"


def test_an_unchanged_agent_is_not_hashed_again(tmp_path, monkeypatch):
    monkeypatch.setenv(base_module.CACHE_ENV, str(tmp_path))
    calls: list[str] = []
    real = base_module._fingerprint

    def counting() -> str:
        calls.append("hash")
        return real()

    def build(folder: Path, *, report=lambda line: None, fingerprint=None) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        fake_base(folder / base_module.base_file_name())
        (folder / "base.json").write_text(json.dumps({"fingerprint": fingerprint}))
        return folder / base_module.base_file_name()

    monkeypatch.setattr(base_module, "_fingerprint", counting)
    monkeypatch.setattr(base_module, "build_base", build)
    exe = base_module.ensure_base()
    assert calls == ["hash"]
    assert base_module.ensure_base() == exe and base_module.ensure_base() == exe
    assert calls == ["hash"]  # names, sizes and times as they were: no file read
    # A changed source file (newer time) is hashed again; same content: the cached base stays.
    source = Path(base_module.__file__).resolve().parent.parent / "common" / "rules.py"
    stat = source.stat()
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    try:
        assert base_module.ensure_base() == exe
        assert calls == ["hash", "hash"]
        assert base_module.ensure_base() == exe
        assert calls == ["hash", "hash"]
    finally:
        os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_an_offline_re_brand_imports_no_http_client(tmp_path):
    fake_base(tmp_path / "base")
    logo = _logo(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "SOSDESK_TOKEN"}
    env[base_module.CACHE_ENV] = str(tmp_path / "no-cache")
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "sosdesk.builder", "-q", "--company", "ACME",
         "--server", "https://support.example", "--logo", str(logo), "--module-id", "m1",
         "--base", str(tmp_path / "base"), "--out", str(tmp_path / "out")],
        env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines()
                if line.startswith("import time:")}
    assert "requests" not in imported and "sosdesk.builder.server" not in imported
