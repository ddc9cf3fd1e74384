"""The builder's outputs, without PyInstaller: the icons (initials or the logo) and the
file names made from the company's name.
"""

from __future__ import annotations

import pytest
from PIL import Image

from sosdesk.common.stamp import read_stamp
from sosdesk.builder.options import output_stem
from builder_helpers import image, inputs, run_builder, with_args  # noqa: F401 (a fixture)


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
