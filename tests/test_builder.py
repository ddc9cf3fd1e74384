"""The builder without PyInstaller: inputs, registration, stamping, icons, manifest, cache.

A small fake base (an ELF or PE header plus PyInstaller's archive cookie) stands
in for the real one; tests/test_builder_e2e.py builds and runs the real thing.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from sosdesk.common.stamp import read_stamp, strip_stamp
from sosdesk.builder import base as base_module
from sosdesk.builder import cli
from sosdesk.builder.options import PYINSTALLER_COOKIE, output_stem

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


# -- bad inputs: exit 2, one line per problem, nothing written ---------------

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

BAD_INPUTS = [
    # (id, extra args replacing the good ones by name, expected words in the one stderr line)
    ("missing logo", ["--logo", "{missing}"], "cannot read the logo"),
    ("logo not an image", ["--logo", "{text}"], "not a readable PNG or JPEG"),
    ("tiny logo", ["--logo", "{tiny}"], "31x100 pixels; it must be at least 32x32"),
    ("gif logo", ["--logo", "{gif}"], "GIF image: use PNG or JPEG"),
    ("svg logo", ["--logo", "{svg}"], "is an SVG"),
    ("colour word", ["--color", "blue"], "the colour (--color) must look like #1f6feb, not 'blue'"),
    ("colour short", ["--color", "#12345"], "must look like #1f6feb, not '#12345'"),
    ("ftp url", ["--server", "ftp://support.acme.example"], "must be an http(s) URL, not 'ftp:"),
    ("no scheme", ["--server", "support.acme.example"], "must be an http(s) URL, not 'supp"),
    ("plain http", ["--server", "http://support.acme.example"], "use https, or pass --insecure"),
    ("out is a file", ["--out", "{file}"], "is not a folder"),
    ("out under a file", ["--out", "{file}/sub"], "cannot be created"),
    ("no company", ["--company", " "], "no company name"),
    ("bad group", ["--group", "a/b"], "group 'a/b' must be"),
    ("bad module id", ["--module-id", "m 1!"], "module id 'm 1!' (--module-id) must be"),
    ("long welcome", ["--welcome", "x" * 1001], "welcome text (--welcome) must be at most 1000"),
    # The server's own rules (sosdesk.common.rules): refused here, not after a build.
    ("group starting with a dot", ["--group", "."], "group '.' must be"),
    ("group starting with a dash", ["--group", "-x"], "group '-x' must be"),
    ("group starting with a space", ["--group", " x"], "group ' x' must be"),
    ("long company", ["--company", "x" * 101], "company name (--company) must be at most 100"),
    ("company of two lines", ["--company", "ACME\nCorp"], "must be one line"),
    ("base not an agent", ["--base", "{good}"], "is not a base agent"),
    ("target os mismatch", ["--target-os", "windows"], "does not match the base"),
]


def with_args(extra: list[str], paths: dict[str, Path]) -> list[str]:
    """The good arguments with those named in *extra* replaced, plus the fake base and out."""
    args = {"--base": str(paths["base"]), "--out": str(paths["out"])}
    for flag, value in zip(GOOD[::2], GOOD[1::2]):
        args[flag] = value
    for flag, value in zip(extra[::2], extra[1::2]):
        args[flag] = value.format(**paths)
    return [f"{flag}={value}" for flag, value in args.items()]  # "=": a value may start with "-"


@pytest.mark.parametrize("extra,expected", [case[1:] for case in BAD_INPUTS],
                         ids=[case[0] for case in BAD_INPUTS])
def test_a_bad_input_gives_its_message_and_no_output(inputs, extra, expected):
    result = run_builder(*with_args(extra, inputs), cwd=inputs["tmp"])
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert expected in lines[0]
    assert lines[0].startswith("sos-builder: ")
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert files_in(inputs["out"]) == []


def test_every_problem_is_listed_one_per_line(inputs):
    result = run_builder("--company", "", "--server", "ftp://x", "--logo", str(inputs["tiny"]),
                         "--color", "blue", "--out", f"{inputs['file']}/sub", cwd=inputs["tmp"])
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert [line.split(":")[0] for line in lines] == ["sos-builder"] * 6, result.stderr
    joined = "\n".join(lines)
    for expected in ("no company name", "ftp://x", "31x100", "'blue'", "no API token",
                     "cannot be created"):
        assert expected in joined
    assert "Traceback" not in result.stderr


def test_a_read_only_output_folder_is_refused(inputs, make_read_only):
    locked = inputs["tmp"] / "locked"
    locked.mkdir()
    make_read_only(locked)
    result = run_builder(*with_args(["--out", str(locked)], inputs), cwd=inputs["tmp"])
    assert result.returncode == 2
    assert "is not writable" in result.stderr
    assert files_in(locked) == []


def test_plain_http_to_this_machine_or_with_insecure_is_fine(inputs):
    for server, extra in (("http://127.0.0.1:8080", []), ("http://localhost:8080", []),
                          ("http://[::1]:8080", []), ("http://support.lan", ["--insecure"])):
        result = run_builder(*with_args(["--server", server], inputs), *extra, "-q",
                             cwd=inputs["tmp"])
        assert result.returncode == 0, (server, result.stderr)


def test_the_toml_file_is_read_and_flags_override_it(inputs):
    config = inputs["tmp"] / "acme.toml"
    config.write_text(
        'company = "ACME from file"\nserver = "https://support.acme.example"\n'
        'logo = "logo.png"\ncolor = "#ABC"\nlanguage = "de"\nmodule-id = "m77"\n'
        'shortcut = false\nwelcome = "Hallo"\nout = "out"\n'
        f'base = "{inputs["base"].name}"\n', "utf-8")
    result = run_builder("--config", str(config), "--company", "ACME", "-q", cwd=ROOT)
    assert result.returncode == 0, result.stderr
    branding = read_stamp(inputs["out"] / "ACME-QuickSupport")
    assert branding.company_name == "ACME"
    assert (branding.primary_color, branding.language, branding.module_id) == ("#aabbcc", "de", "m77")
    assert branding.create_shortcut is False and branding.welcome_text == "Hallo"
    assert branding.logo_png.startswith(b"\x89PNG")


@pytest.mark.parametrize("content,expected", [
    ('company = "A"\ntoken = "secret-token"\n', "do not put the API token in the config file"),
    ('company = "A"\ncolour_scheme = "dark"\n', "unknown setting 'colour_scheme'"),
    ('company = "A\n', "is not valid TOML"),
    ('company = 5\n', "company must be a text"),
    ('shortcut = "yes"\n', "shortcut must be true or false"),
])
def test_a_bad_toml_file_is_reported(inputs, content, expected):
    config = inputs["tmp"] / "bad.toml"
    config.write_text(content, "utf-8")
    args = with_args([], inputs)
    args = [arg for arg in args if not arg.startswith("--company=")]  # the file's company is used
    result = run_builder("--config", str(config), *args, cwd=inputs["tmp"])
    assert result.returncode == 2
    assert expected in result.stderr
    assert "secret-token" not in result.stderr
    assert files_in(inputs["out"]) == []


# -- a build against a real server --------------------------------------------

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
    assert (module["name"], module["groupid"], module["active"]) == ("ACME Corp", "acme", True)
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
    module = live_server.api("POST", "/api/v1/modules", json={"name": "ACME", "groupid": "g1"}).json()
    ok = run_builder(*with_args(["--module-id", module["module_id"], "--server", live_server.url],
                                inputs), "-q", token=live_server.token, cwd=inputs["tmp"])
    assert ok.returncode == 0, ok.stderr
    manifest = json.loads((inputs["out"] / "ACME-QuickSupport.manifest.json").read_text())
    assert manifest["group"] == "g1"

    mismatch = run_builder(*with_args(["--module-id", module["module_id"], "--group", "other",
                                       "--server", live_server.url, "--out",
                                       str(inputs["tmp"] / "o2")], inputs),
                           token=live_server.token, cwd=inputs["tmp"])
    assert mismatch.returncode == 2 and "puts its cases in group 'g1'" in mismatch.stderr

    live_server.api("DELETE", f"/api/v1/modules/{module['module_id']}")
    for module_id, expected in ((module["module_id"], "was revoked"), ("m0000", "no such module")):
        out = inputs["tmp"] / f"out-{module_id}"
        refused = run_builder(*with_args(["--module-id", module_id, "--server", live_server.url,
                                          "--out", str(out)], inputs),
                              token=live_server.token, cwd=inputs["tmp"])
        assert refused.returncode == 1 and expected in refused.stderr
        assert "Traceback" not in refused.stderr
        assert files_in(out) == []


def test_a_wrong_token_or_no_server_fails_cleanly(live_server, inputs):
    common = ["--company", "ACME", "--base", str(inputs["base"]), "--out", str(inputs["out"])]
    wrong = run_builder(*common, "--server", live_server.url, token="not-the-token",
                        cwd=inputs["tmp"])
    assert wrong.returncode == 1 and "refused the API token" in wrong.stderr
    assert "not-the-token" not in wrong.stderr + wrong.stdout
    with socket.socket() as sock:  # a port nobody listens on once closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    nobody = run_builder(*common, "--server", f"http://127.0.0.1:{port}", token="tok",
                         cwd=inputs["tmp"])
    assert nobody.returncode == 1 and "cannot reach the server" in nobody.stderr
    assert "Traceback" not in wrong.stderr + nobody.stderr
    assert files_in(inputs["out"]) == []


@pytest.fixture
def watched(monkeypatch, inputs):
    """Records each base build (PyInstaller, faked by the test's base) and each server request."""
    import sosdesk.builder.base as base_module
    from sosdesk.builder.server import ModuleClient

    seen: dict[str, list] = {"builds": [], "requests": []}
    real_call = ModuleClient._call

    def ensure_base(**kwargs):
        seen["builds"].append(kwargs)
        return inputs["base"]

    def call(self, method, path, *args, **kwargs):
        seen["requests"].append((method, path))
        return real_call(self, method, path, *args, **kwargs)

    monkeypatch.setattr(base_module, "ensure_base", ensure_base)
    monkeypatch.setattr(ModuleClient, "_call", call)
    return seen


@pytest.mark.parametrize("extra", [["--group=-x"], ["--group=."], ["--group= x"],
                                   ["--company=" + "x" * 101], ["--welcome=" + "x" * 1001]],
                         ids=["-x", ".", "space x", "long company", "long welcome"])
def test_a_bad_input_is_refused_before_any_request_or_build(live_server, inputs, watched,
                                                            monkeypatch, capsys, extra):
    monkeypatch.setenv(TOKEN_ENV, live_server.token)
    code = cli.main(["--company=ACME", f"--server={live_server.url}", f"--out={inputs['out']}",
                     *extra])
    assert code == 2, capsys.readouterr().err
    assert watched == {"builds": [], "requests": []}
    assert live_server.api("GET", "/api/v1/modules").json()["modules"] == []


def test_what_the_server_refuses_is_asked_before_the_base_is_built(live_server, inputs, watched,
                                                                   monkeypatch, capsys):
    module = live_server.api("POST", "/api/v1/modules", json={"name": "ACME", "groupid": "g1"}).json()
    common = ["--company=ACME", f"--server={live_server.url}", f"--out={inputs['out']}"]
    refusals = [
        ("not-the-token", [], 1, "refused the API token"),
        (live_server.token, ["--module-id=m0000"], 1, "no such module"),
        (live_server.token, [f"--module-id={module['module_id']}", "--group=g2"], 2,
         "puts its cases in group 'g1'"),
    ]
    for token, extra, expected_code, expected in refusals:
        monkeypatch.setenv(TOKEN_ENV, token)
        assert cli.main([*common, *extra]) == expected_code
        assert expected in capsys.readouterr().err
        assert watched["builds"] == [], extra
    assert files_in(inputs["out"]) == []

    monkeypatch.setenv(TOKEN_ENV, live_server.token)
    watched["requests"].clear()
    assert cli.main([*common, "--group=g2", "-q"]) == 0, capsys.readouterr().err
    assert len(watched["builds"]) == 1
    # The token is checked before the build; the module is registered after it, so a
    # failed build leaves none behind.
    assert watched["requests"] == [("GET", "/api/v1/me"), ("POST", "/api/v1/modules")]


def test_a_failed_write_leaves_nothing_and_revokes_the_new_module(live_server, inputs,
                                                                  monkeypatch, capsys):
    import sosdesk.builder.stamping as stamping_module

    def disk_full(base, out, branding):
        Path(out).write_bytes(b"half an executable")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(stamping_module, "write_stamp", disk_full)
    monkeypatch.setenv(TOKEN_ENV, live_server.token)
    code = cli.main(["--company", "ACME", "--server", live_server.url, "--base",
                     str(inputs["base"]), "--out", str(inputs["out"]), "-q"])
    assert code == 1
    assert "No space left on device" in capsys.readouterr().err
    assert files_in(inputs["out"]) == []
    modules = live_server.api("GET", "/api/v1/modules").json()["modules"]
    assert len(modules) == 1 and modules[0]["active"] is False


# -- icons ----------------------------------------------------------------------

def test_without_a_logo_the_icons_show_the_initials_in_the_brand_colour(inputs):
    result = run_builder(*with_args(["--color", "#00aa00"], inputs), "-q", cwd=inputs["tmp"])
    assert result.returncode == 0, result.stderr
    out = inputs["out"]
    with Image.open(out / "ACME-QuickSupport-256.png") as icon:
        assert icon.size == (256, 256)
        assert icon.convert("RGB").getpixel((8, 128)) == (0, 170, 0)
    with Image.open(out / "ACME-QuickSupport.ico") as ico:
        assert {(256, 256), (16, 16), (48, 48)} <= set(ico.info["sizes"])
    from sosdesk.common.icons import can_write_icns

    assert (out / "ACME-QuickSupport.icns").is_file() == can_write_icns()
    sizes = sorted(int(p.stem.rsplit("-", 1)[1]) for p in out.glob("ACME-QuickSupport-*.png"))
    assert sizes == [16, 24, 32, 48, 64, 128, 256, 512]


def test_a_jpeg_logo_is_stamped_as_png_and_drawn_into_the_icons(inputs):
    jpeg = image(inputs["tmp"] / "logo.jpg", (300, 300), colour=(10, 20, 250), fmt="JPEG")
    result = run_builder(*with_args(["--logo", str(jpeg)], inputs), "-q", cwd=inputs["tmp"])
    assert result.returncode == 0, result.stderr
    assert read_stamp(inputs["out"] / "ACME-QuickSupport").logo_png.startswith(b"\x89PNG")
    with Image.open(inputs["out"] / "ACME-QuickSupport-64.png") as icon:
        r, g, b = icon.convert("RGB").getpixel((32, 32))
        assert b > 200 and r < 40


@pytest.mark.parametrize("company,stem", [
    ("ACME", "ACME-QuickSupport"),
    ("Müller & Söhne IT", "Muller-Sohne-IT-QuickSupport"),
    ("  a/b\\c  ", "a-b-c-QuickSupport"),
    ("日本", "QuickSupport"),
])
def test_the_output_is_named_after_the_company(company, stem):
    assert output_stem(company) == stem


# -- what goes into the base, and its cache -----------------------------------------

def test_the_dynamic_imports_are_derived_from_the_installed_packages():
    import importlib.metadata

    backends = base_module.pystray_backends()
    assert {"pystray._xorg", "pystray._win32", "pystray._darwin", "pystray._dummy"} <= set(backends)
    assert "pystray._base" not in backends and "pystray._util" not in backends
    inputs = base_module.pynput_backends()
    assert {f"pynput.{p}._{b}" for p in ("keyboard", "mouse") for b in ("xorg", "win32", "darwin")} <= set(inputs)
    assert "pynput.keyboard._base" not in inputs and "pynput.keyboard._uinput" in inputs
    modules, distributions = base_module.keyring_backends()
    assert modules == sorted({ep.module for ep in importlib.metadata.entry_points(
        group="keyring.backends")})
    assert "keyring" in distributions
    hidden = base_module.hidden_imports()
    assert "sosdesk.installer._linux" in hidden and "sosdesk.installer._windows" in hidden
    assert set(backends) | set(inputs) | set(modules) <= set(hidden)
    assert not [name for name in hidden if name.endswith("__main__")]


def test_only_what_sosdesk_requires_goes_into_the_base():
    import importlib.metadata

    needed = base_module.agent_distributions()
    assert {"requests", "pillow", "keyring", "pystray", "platformdirs", "urllib3", "mss", "pynput"} <= needed
    assert "pytest" not in needed and "pyinstaller" not in needed
    excluded = set(base_module.excluded_modules())
    assert {"pytest", "PyInstaller"} <= excluded  # installed here for the tests, never frozen
    installed = importlib.metadata.packages_distributions()
    if "numpy" in installed:  # Pillow's type hints name it; the agent never imports it
        assert "numpy" in excluded
    assert not {"requests", "PIL", "keyring", "pystray", "sosdesk", "mss", "pynput", "Xlib"} & excluded


class RecordingBuild:
    """Stands in for PyInstaller: records each build and writes a fake base."""

    def __init__(self) -> None:
        self.builds: list[Path] = []

    def __call__(self, folder: Path, *, report, fingerprint=None) -> Path:
        self.builds.append(folder)
        folder.mkdir(parents=True, exist_ok=True)
        exe = fake_base(folder / base_module.base_file_name())
        (folder / "base.json").write_text(json.dumps({"fingerprint": fingerprint}))
        return exe


def test_the_base_is_cached_per_version_and_platform(tmp_path, monkeypatch):
    build = RecordingBuild()
    monkeypatch.setattr(base_module, "build_base", build)
    monkeypatch.setenv(base_module.CACHE_ENV, str(tmp_path))
    lines: list[str] = []

    first = base_module.ensure_base(report=lines.append)
    assert first.parent == tmp_path / "base" / f"{base_module.agent_version()}-{base_module.platform_tag()}"
    assert base_module.ensure_base(report=lines.append) == first
    assert len(build.builds) == 1 and any("cached" in line for line in lines)

    base_module.ensure_base(rebuild=True)
    assert len(build.builds) == 2

    (first.parent / "base.json").write_text(json.dumps({"fingerprint": "older agent"}))
    base_module.ensure_base(report=lines.append)
    assert len(build.builds) == 3 and "the agent changed" in lines[-1]


def test_the_fingerprint_follows_indirect_dependencies(monkeypatch):
    import importlib.metadata

    from packaging.requirements import Requirement

    direct = {Requirement(r).name.lower() for r in importlib.metadata.requires("sosdesk") or []}
    assert "urllib3" in base_module.agent_distributions() and "urllib3" not in direct  # via requests
    real_version = importlib.metadata.version
    bumped = {"urllib3": "999.0"}

    def version(name: str) -> str:
        return bumped.get(name) or real_version(name)

    before = base_module._fingerprint()
    assert base_module._fingerprint() == before  # stable while nothing changes
    monkeypatch.setattr(importlib.metadata, "version", version)
    assert base_module._fingerprint() != before
