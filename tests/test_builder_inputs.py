"""The builder's inputs, without PyInstaller: each bad input gives its one-line message
(exit 2, nothing written), every problem is listed, the TOML file and the flags.
"""

from __future__ import annotations

import pytest

from sosdesk.common.stamp import read_stamp
from builder_helpers import ROOT, files_in, inputs, run_builder, with_args  # noqa: F401 (a fixture)

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
