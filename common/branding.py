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

from . import rules
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
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


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
        return [f"{field} {problem}" for field, problem in self.field_problems().items()]

    def field_problems(self) -> dict[str, str]:
        """Every problem with these values by field, e.g. {"primary_color": "must look like ..."}.

        The rules the server shares (company name, module id, text limits) come
        from sosdesk.common.rules, so the builder cannot stamp what the server refuses.
        """
        problems: dict[str, str] = {}
        company = rules.company_problem(self.company_name)
        if company:
            problems["company_name"] = company
        scheme = urlsplit(self.server_url).scheme if isinstance(self.server_url, str) else ""
        if scheme not in ("http", "https") or not urlsplit(self.server_url).hostname:
            problems["server_url"] = f"must be an http(s) URL, not {self.server_url!r}"
        module_id = None if self.module_id is None else rules.module_id_problem(self.module_id)
        if module_id:
            problems["module_id"] = module_id
        if self.logo_png is not None:
            if not isinstance(self.logo_png, bytes) or not self.logo_png.startswith(b"\x89PNG"):
                problems["logo_png"] = "must be PNG bytes"
            elif len(self.logo_png) > MAX_LOGO_BYTES:
                problems["logo_png"] = f"must be at most {MAX_LOGO_BYTES // 1024} KiB"
        if not isinstance(self.primary_color, str) or not _COLOUR.fullmatch(self.primary_color):
            problems["primary_color"] = f"must look like #1f6feb, not {self.primary_color!r}"
        for name in ("welcome_text", "waiting_text"):
            text = rules.text_problem(getattr(self, name), rules.LIMITS[name])
            if text:
                problems[name] = text
        if self.language is not None and self.language not in LANGUAGES:
            problems["language"] = f"must be one of {', '.join(LANGUAGES)}"
        if not isinstance(self.create_shortcut, bool):
            problems["create_shortcut"] = "must be true or false"
        if self.ca_bundle is not None and not isinstance(self.ca_bundle, str):
            problems["ca_bundle"] = "must be a file path"
        pins = self._pin_problems(scheme)
        if pins:
            problems["pins"] = "; ".join(pins)
        return problems

    @classmethod
    def problems_of(cls, **values: Any) -> dict[str, str]:
        """The field_problems() a Branding of *values* would have, without raising (the builder's check)."""
        draft = object.__new__(cls)
        for field in dataclasses.fields(cls):
            object.__setattr__(draft, field.name, values.get(field.name, field.default))
        return draft.field_problems()

    def _pin_problems(self, scheme: str) -> list[str]:
        """The problems with ``pins``, each worded to follow the field's name."""
        if not isinstance(self.pins, tuple):
            return ["must be a list of key pins"]
        if not self.pins:
            return []
        problems = []
        for pin in self.pins:
            try:
                if parse_pin(pin) != pin:
                    raise PinError(f"{pin!r} has blanks around it")
            except PinError as exc:
                problems.append(str(exc))
        if len(self.pins) > MAX_PINS:
            problems.append(f"may hold at most {MAX_PINS} pins (the server's key and the next one), "
                            f"not {len(self.pins)}")
        if len(set(self.pins)) != len(self.pins):
            problems.append("name the same pin twice")
        if scheme != "https":
            problems.append("need an https server_url (a pin is checked in the TLS handshake)")
        if self.ca_bundle is not None:
            problems.append("or ca_bundle, not both: pins replace the CA checks")
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
