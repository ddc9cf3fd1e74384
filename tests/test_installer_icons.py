"""The brand icon: drawn from the logo, or from the initials in the brand colour."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from sosdesk.common.branding import Branding
from conftest import skip_missing
from sosdesk.common.icons import ICO_SIZES, can_write_icns, make_icon, write_ico, write_icns, write_png


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@pytest.mark.parametrize("size", [16, 32, 48, 256, 1024])
def test_initials_icon_is_square_rgba_in_the_brand_colour(size):
    icon = make_icon(Branding(company_name="ACME", primary_color="#0a7d32"), size)
    assert icon.mode == "RGBA" and icon.size == (size, size)
    # Near the left edge, halfway down: background, away from corners and letters.
    assert icon.getpixel((size // 8, size // 2)) == (0x0a, 0x7d, 0x32, 255)


@pytest.mark.parametrize("colour, text_is_light", [("#1f6feb", True), ("#ffd400", False)])
def test_initials_are_readable_on_the_brand_colour(colour, text_is_light):
    icon = make_icon(Branding(company_name="Müller & Söhne IT", primary_color=colour), 256)
    background = icon.getpixel((20, 128))[:3]
    pixels = (icon.getpixel((x, y)) for x in range(0, 256, 2) for y in range(0, 256, 2))
    letters = [p[:3] for p in pixels if p[3] == 255 and abs(sum(p[:3]) - sum(background)) > 200]
    assert letters, "no initials drawn"
    assert all((sum(p) > sum(background)) == text_is_light for p in letters)


def test_a_logo_is_used_and_fitted_without_distortion():
    logo = Image.new("RGBA", (200, 100), (255, 0, 0, 255))  # wide and red
    icon = make_icon(Branding(company_name="ACME", logo_png=png(logo)), 64)
    assert icon.size == (64, 64)
    assert icon.getpixel((32, 32)) == (255, 0, 0, 255)
    assert icon.getpixel((32, 2))[3] == 0  # letterboxed: transparent above the logo


def test_a_damaged_logo_falls_back_to_the_initials():
    damaged = b"\x89PNG\r\n\x1a\n" + b"not really a png"
    icon = make_icon(Branding(company_name="ACME", logo_png=damaged, primary_color="#123456"), 64)
    assert icon.getpixel((8, 32)) == (0x12, 0x34, 0x56, 255)


def test_write_helpers_produce_files_pillow_opens():
    branding = Branding(company_name="ACME")
    out = io.BytesIO()
    write_png(branding, out, 48)
    assert Image.open(io.BytesIO(out.getvalue())).size == (48, 48)

    out = io.BytesIO()
    write_ico(branding, out)
    assert Image.open(io.BytesIO(out.getvalue())).info["sizes"] == {(s, s) for s in ICO_SIZES}


def test_write_icns_accepts_a_path(tmp_path):
    if not can_write_icns():
        skip_missing("Pillow with .icns support is not installed (pip install -U Pillow)")
    path = tmp_path / "icon.icns"
    write_icns(Branding(company_name="ACME"), path)
    with Image.open(path) as image:
        assert image.format == "ICNS" and image.size == (1024, 1024)


def test_the_same_branding_draws_the_same_bytes():
    # Install compares hashes to decide "already up to date".
    branding = Branding(company_name="ACME")
    first, second = io.BytesIO(), io.BytesIO()
    write_png(branding, first)
    write_png(branding, second)
    assert first.getvalue() == second.getvalue()
