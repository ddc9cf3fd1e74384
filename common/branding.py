"""The branding schema: what the builder writes, the installer draws and the agent shows.

A ``Branding`` is one company's settings for its personalized agent: name,
server, module id, logo, colour, texts, language. ``problems()`` says what is
wrong with one, ``to_json()``/``from_json()`` are the form it travels in (the
stamp, a sidecar file, ``--config``; see ``sosdesk.common.stamp``).

Standard library only: the server may import it too.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import locale
import os
import re
import unicodedata
from typing import Any
from urllib.parse import urlsplit

from .pins import PinError, parse_pin

__all__ = [
    "Branding",
    "BrandingError",
    "DEFAULT_SERVER_URL",
    "LANGUAGES",
    "MAX_LOGO_BYTES",
    "MAX_PINS",
    "default_language",
]

MAX_LOGO_BYTES = 2 * 1024 * 1024
DEFAULT_SERVER_URL = "http://127.0.0.1:8080"
LANGUAGES = ("en", "de")
#: The server's current key and the next one (rotation without rebuilding the agents).
MAX_PINS = 2
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


class BrandingError(Exception):
    """The branding (embedded, sidecar or --config) is missing, damaged or invalid.

    The message is written for the person who reads it (customer or expert).
    """


def default_language() -> str:
    """The customer's language from the OS locale: German for de_*, else English."""
    for variable in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        value = os.environ.get(variable)
        if value:
            return "de" if value.lower().startswith("de") else "en"
    try:
        code = locale.getlocale()[0] or ""
    except ValueError:
        code = ""
    return "de" if code.lower().startswith("de") else "en"


@dataclasses.dataclass(frozen=True)
class Branding:
    """Everything a personalized QuickSupport agent knows about its company."""

    company_name: str = "sosdesk"
    server_url: str = DEFAULT_SERVER_URL
    #: The module id the server issued for this agent (``POST /api/v1/modules``).
    module_id: str | None = None
    #: The logo as PNG bytes (the builder converts other formats).
    logo_png: bytes | None = None
    primary_color: str = "#1f6feb"
    welcome_text: str = ""
    waiting_text: str = ""
    #: ``en`` or ``de``; ``None`` means: from the OS locale at run time.
    language: str | None = None
    #: Whether the first start puts an SOS shortcut on the desktop.
    create_shortcut: bool = True
    #: Optional CA bundle (path) for a server with a private certificate.
    ca_bundle: str | None = None
    #: Key pins (``sha256/BASE64``, see sosdesk.common.pins) of the server: when given,
    #: the agent talks only to a server presenting one of these keys, and CA checks
    #: no longer count (docs/security.md).
    pins: tuple[str, ...] = ()
    #: Where this branding came from: embedded, sidecar, config or defaults.
    source: str = dataclasses.field(default="defaults", compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.pins, list):  # as JSON has it
            object.__setattr__(self, "pins", tuple(self.pins))
        problems = self.problems()
        if problems:
            raise BrandingError("invalid branding: " + "; ".join(problems))

    def problems(self) -> list[str]:
        """Every problem with these values, one sentence each (empty when valid)."""
        problems = []
        if not isinstance(self.company_name, str) or not self.company_name.strip():
            problems.append("company_name must be a non-empty text")
        elif len(self.company_name) > 100:
            problems.append("company_name must be at most 100 characters")
        scheme = urlsplit(self.server_url).scheme if isinstance(self.server_url, str) else ""
        if scheme not in ("http", "https") or not urlsplit(self.server_url).hostname:
            problems.append(f"server_url must be an http(s) URL, not {self.server_url!r}")
        if self.module_id is not None and not (
            isinstance(self.module_id, str) and re.fullmatch(r"[A-Za-z0-9_-]{1,64}", self.module_id)
        ):
            problems.append("module_id must be 1-64 letters, digits, '-' or '_'")
        if self.logo_png is not None:
            if not isinstance(self.logo_png, bytes) or not self.logo_png.startswith(b"\x89PNG"):
                problems.append("logo must be PNG bytes")
            elif len(self.logo_png) > MAX_LOGO_BYTES:
                problems.append(f"logo must be at most {MAX_LOGO_BYTES // 1024} KiB")
        if not isinstance(self.primary_color, str) or not _COLOUR.match(self.primary_color):
            problems.append(f"primary_color must look like #1f6feb, not {self.primary_color!r}")
        for name in ("welcome_text", "waiting_text"):
            value = getattr(self, name)
            if not isinstance(value, str) or len(value) > 1000:
                problems.append(f"{name} must be a text of at most 1000 characters")
        if self.language is not None and self.language not in LANGUAGES:
            problems.append(f"language must be one of {', '.join(LANGUAGES)}")
        if not isinstance(self.create_shortcut, bool):
            problems.append("create_shortcut must be true or false")
        if self.ca_bundle is not None and not isinstance(self.ca_bundle, str):
            problems.append("ca_bundle must be a file path")
        problems += self._pin_problems(scheme)
        return problems

    def _pin_problems(self, scheme: str) -> list[str]:
        if not isinstance(self.pins, tuple):
            return ["pins must be a list of key pins"]
        if not self.pins:
            return []
        problems = []
        for pin in self.pins:
            try:
                if parse_pin(pin) != pin:
                    raise PinError(f"{pin!r} has blanks around it")
            except PinError as exc:
                problems.append(f"pins: {exc}")
        if len(self.pins) > MAX_PINS:
            problems.append(f"at most {MAX_PINS} pins (the server's key and the next one), "
                            f"not {len(self.pins)}")
        if len(set(self.pins)) != len(self.pins):
            problems.append("pins: the same pin twice")
        if scheme != "https":
            problems.append("pins need an https server_url (a pin is checked in the TLS handshake)")
        if self.ca_bundle is not None:
            problems.append("give pins or ca_bundle, not both: pins replace the CA checks")
        return problems

    @property
    def lang(self) -> str:
        """The language to show: the branding's, else the OS locale's."""
        return self.language or default_language()

    @property
    def app_id(self) -> str:
        """A file-name-safe ASCII id for this company, e.g. ``muller-sohne-it``."""
        ascii_name = (
            unicodedata.normalize("NFKD", self.company_name).encode("ascii", "ignore").decode()
        )
        slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
        return slug[:48] or "sosdesk"

    @property
    def initials(self) -> str:
        """Up to two initials of the company name, for a drawn icon."""
        words = [w for w in re.split(r"[\s&+-]+", self.company_name) if w and w[0].isalnum()]
        return "".join(w[0] for w in words[:2]).upper() or "S"

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (the logo as base64), as written by the builder."""
        data = dataclasses.asdict(self)
        data.pop("source")
        logo = data.pop("logo_png")
        data["logo_png_base64"] = base64.b64encode(logo).decode() if logo else None
        return data

    def to_json(self) -> bytes:
        """The JSON form as UTF-8 bytes, keys sorted (what a stamp or sidecar file holds)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True).encode("utf-8")

    @classmethod
    def from_dict(cls, data: Any, source: str = "config") -> "Branding":
        """Validate a JSON object and build a Branding from it."""
        if not isinstance(data, dict):
            raise BrandingError(f"invalid branding ({source}): expected a JSON object")
        data = dict(data)
        fields = {f.name for f in dataclasses.fields(cls)} - {"source", "logo_png"}
        unknown = set(data) - fields - {"logo_png_base64"}
        if unknown:
            raise BrandingError(
                f"invalid branding ({source}): unknown field(s) {', '.join(sorted(unknown))}"
            )
        logo_b64 = data.pop("logo_png_base64", None)
        logo = None
        if logo_b64 is not None:
            try:
                logo = base64.b64decode(logo_b64, validate=True)
            except (binascii.Error, TypeError, ValueError):
                raise BrandingError(f"invalid branding ({source}): logo_png_base64 is not base64") from None
        try:
            return cls(**data, logo_png=logo, source=source)
        except BrandingError as exc:
            raise BrandingError(f"{exc} ({source})") from None
        except TypeError as exc:
            raise BrandingError(f"invalid branding ({source}): {exc}") from None

    @classmethod
    def from_json(cls, raw: bytes, source: str = "config") -> "Branding":
        """Parse and validate branding JSON bytes; BrandingError says what is wrong."""
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BrandingError(f"invalid branding ({source}): not JSON ({exc})") from None
        return cls.from_dict(data, source)
