"""What the expert asked for: flags and a TOML file merged, then checked all at once.

Every problem is collected before anything is built, registered or written, so
the expert fixes them in one go and a bad input never leaves a file behind.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit

from sosdesk.common import rules
from sosdesk.common.executables import TARGET_OS, detect_os, quicksupport_stem
from sosdesk.common.branding import MAX_PINS, Branding
from sosdesk.common.pins import PinError, parse_pin

from .errors import InputError
from .images import LogoProblem, load_logo

__all__ = ["BuildOptions", "TOML_KEYS", "TARGET_OS", "current_os", "load_toml", "parse_options",
           "output_stem", "detect_os"]

#: Keys a TOML file may hold; each is also a flag (``--welcome``, ``--module-id``, ...).
TOML_KEYS = ("company", "server", "logo", "color", "welcome", "waiting", "language", "group",
             "shortcut", "out", "module_id", "insecure", "base", "target_os", "pins", "pin_from",
             "publish")
#: Keys whose value is a path, taken relative to the TOML file's folder.
_PATH_KEYS = ("logo", "out", "base")
#: The colour forms the builder accepts and writes as #rrggbb (the schema checks the result).
_COLOUR = re.compile(r"#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})")
#: PyInstaller's archive cookie: its presence tells a base agent from any other file.
PYINSTALLER_COOKIE = b"MEI\014\013\012\013\016"
#: How far from its end a base's cookie is looked for first (stamp and signature after it).
_COOKIE_WINDOW = 24 << 20


@dataclasses.dataclass(frozen=True)
class BuildOptions:
    """A validated build request (the API token is kept apart, never stored here)."""

    company: str
    server_url: str
    logo_png: bytes | None
    primary_color: str
    welcome_text: str
    waiting_text: str
    language: str | None
    group: str
    create_shortcut: bool
    out_dir: Path
    module_id: str | None
    insecure: bool
    base: Path | None
    target_os: str

    #: Key pins to stamp (``--pin``); ``pin_from`` adds the confirmed key of that server.
    pins: tuple[str, ...] = ()
    pin_from: str | None = None
    #: Upload the agent to the server, for the page an end_customer_link opens.
    publish: bool = False

    def branding(self, module_id: str) -> Branding:
        """The branding to stamp, for the module the server issued."""
        return Branding(
            company_name=self.company, server_url=self.server_url, module_id=module_id,
            logo_png=self.logo_png, primary_color=self.primary_color,
            welcome_text=self.welcome_text, waiting_text=self.waiting_text,
            language=self.language, create_shortcut=self.create_shortcut, pins=self.pins,
        )

    def with_pin(self, pin: str) -> "BuildOptions":
        """These options with *pin* added (the one --pin-from confirmed); InputError past MAX_PINS."""
        pins = tuple(dict.fromkeys((*self.pins, pin)))
        if len(pins) > MAX_PINS:
            raise InputError([f"at most {MAX_PINS} pins (the server's key and the next one): "
                              f"--pin-from adds {pin} to {len(self.pins)} given with --pin"])
        return dataclasses.replace(self, pins=pins)

    @property
    def output_name(self) -> str:
        """The executable's file name, e.g. ``ACME-QuickSupport.exe``."""
        suffix = ".exe" if self.target_os == "windows" else ""
        return output_stem(self.company) + suffix


def current_os() -> str:
    """This machine's OS as a target name: linux, windows or macos."""
    if sys.platform == "win32":
        return "windows"
    if sys.platform == "darwin":
        return "macos"
    return "linux"


def output_stem(company: str) -> str:
    """``ACME-QuickSupport`` for ``ACME``: ASCII letters and digits kept, case kept."""
    return quicksupport_stem(company)


def load_toml(path: Path) -> tuple[dict[str, Any], list[str]]:
    """The settings in TOML file *path*, paths made absolute, plus its problems."""
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as exc:
        return {}, [f"cannot read the config file {path}: {exc.strerror or exc}"]
    except tomllib.TOMLDecodeError as exc:
        return {}, [f"the config file {path} is not valid TOML: {exc}"]
    settings: dict[str, Any] = {}
    problems = []
    for raw_key, value in data.items():
        key = raw_key.replace("-", "_")
        if key in ("token", "api_token"):
            # A token in a file ends up in backups and repositories; keep it in the environment.
            problems.append(f"{path}: do not put the API token in the config file; "
                            "set SOSDESK_TOKEN (or pass --token) instead")
        elif key not in TOML_KEYS:
            problems.append(f"{path}: unknown setting {raw_key!r} "
                            f"(known: {', '.join(TOML_KEYS)})")
        elif key in _PATH_KEYS and isinstance(value, str):
            settings[key] = (path.parent / Path(value).expanduser()).resolve()
        else:
            settings[key] = value
    return settings, problems


#: How messages name each Branding field: the setting (and flag) the expert fixes.
_LABELS = {
    "company_name": "the company name (--company)",
    "server_url": "the server address (--server)",
    "module_id": "module id {value!r} (--module-id)",
    "logo_png": "the logo (--logo)",
    "primary_color": "the colour (--color)",
    "welcome_text": "the welcome text (--welcome)",
    "waiting_text": "the waiting text (--waiting)",
    "language": "language {value!r} (--language: en, de or auto)",
    "create_shortcut": "shortcut (--shortcut)",
}


def parse_options(settings: Mapping[str, Any], *, token_given: bool,
                  problems: list[str] | None = None) -> BuildOptions:
    """Check merged *settings* (TOML, then flags on top); raise InputError listing every problem.

    Nothing here touches the network or builds anything. The branding's fields are
    checked by the agent's own schema (Branding.problems_of) and the group by the rule
    the server uses (sosdesk.common.rules), so whatever passes here the agent
    loads and the server accepts.
    """
    problems = list(problems or [])
    wrong_type: set[str] = set()  # said once; not said again as missing or invalid

    def text(key: str, default: str | None = None) -> str | None:
        value = settings.get(key, default)
        if value is not None and not isinstance(value, str):
            problems.append(f"{key} must be a text, not {value!r}")
            wrong_type.add(key)
            return default
        return value

    def flag(key: str, default: bool) -> bool:
        value = settings.get(key, default)
        if not isinstance(value, bool):
            problems.append(f"{key} must be true or false, not {value!r}")
            return default
        return value

    company = (text("company") or "").strip()
    if not company and "company" not in wrong_type:
        problems.append("no company name: pass --company NAME")

    insecure = flag("insecure", False)
    server_url = (text("server") or "").strip().rstrip("/")
    if not server_url and "server" not in wrong_type:
        problems.append("no server address: pass --server https://support.example.com")

    logo_png = None
    logo = settings.get("logo")
    if logo is not None:
        try:
            logo_png = load_logo(Path(logo))
        except LogoProblem as exc:
            problems.append(str(exc))

    colour = text("color", "#1f6feb") or ""
    short = _COLOUR.fullmatch(colour.strip())
    if short:  # #1F6FEB, 1f6feb, #abc: the schema's own form is #rrggbb
        digits = short.group(1)
        colour = "#" + ("".join(c * 2 for c in digits) if len(digits) == 3 else digits).lower()

    welcome, waiting = text("welcome", "") or "", text("waiting", "") or ""
    language = text("language")
    if language in ("", "auto"):
        language = None
    shortcut = flag("shortcut", True)
    module_id = text("module_id")

    branding = Branding.problems_of(
        company_name=company, server_url=server_url, module_id=module_id, logo_png=logo_png,
        primary_color=colour, welcome_text=welcome, waiting_text=waiting, language=language,
        create_shortcut=shortcut)
    missing = {"company_name": not company, "server_url": not server_url}  # said above
    for field, problem in branding.items():
        if not missing.get(field):
            value = settings.get(_SETTING.get(field, field))
            problems.append(f"{_LABELS.get(field, field).format(value=value)} {problem}")
    if server_url and "server_url" not in branding:
        problems += _url_policy_problems(server_url, insecure)

    group = text("group", rules.DEFAULT_GROUP) or ""
    group_problem = rules.group_problem(group)
    if group_problem:
        problems.append(f"group {group!r} {group_problem} (--group)")

    if module_id is None and not token_given:
        problems.append("no API token to register the module: set SOSDESK_TOKEN or pass --token "
                        "(or pass --module-id of a module registered before)")
    publish = flag("publish", False)
    if publish and not token_given:
        problems.append("--publish uploads the agent as an expert: set SOSDESK_TOKEN or pass "
                        "--token")

    out_dir = Path(settings.get("out") or ".").expanduser().resolve()
    problems += _output_problems(out_dir)

    base = settings.get("base")
    target = text("target_os")
    if target is not None and target not in TARGET_OS:
        problems.append(f"target OS {target!r} is not one of {', '.join(TARGET_OS)}")
        target = None
    if base is not None:
        base = Path(base).expanduser().resolve()
        base_problem, base_os = _base_problems(base)
        if base_problem:
            problems.append(base_problem)
        elif target is not None and base_os is not None and target != base_os:
            problems.append(f"--target-os {target} does not match the base {base}, "
                            f"which is a {base_os} executable")
        target = target or base_os or current_os()
    else:
        if target is not None and target != current_os():
            problems.append(f"cannot build a {target} agent on {current_os()}: build the base on "
                            f"{target} (sos-builder --base-only) and pass it here with --base")
        target = current_os()

    pins, pin_from = _pin_settings(settings, server_url, problems)

    if problems:
        raise InputError(problems)
    return BuildOptions(
        company=company, server_url=server_url, logo_png=logo_png, primary_color=colour,
        welcome_text=welcome, waiting_text=waiting, language=language, group=group,
        create_shortcut=shortcut, out_dir=out_dir, module_id=module_id, insecure=insecure,
        base=base, target_os=target, pins=pins, pin_from=pin_from, publish=publish,
    )


def _pin_settings(settings: Mapping[str, Any], server_url: str,
                  problems: list[str]) -> tuple[tuple[str, ...], str | None]:
    """The --pin values (checked) and the --pin-from address (True: the --server's)."""
    given = settings.get("pins") or []
    if isinstance(given, str):
        given = [given]
    pins: list[str] = []
    if not isinstance(given, list):
        problems.append(f"pins must be a list of key pins, not {given!r}")
    else:
        for pin in given:
            try:
                pins.append(parse_pin(pin))
            except PinError as exc:
                problems.append(f"--pin: {exc}")
    if len(set(pins)) > MAX_PINS:
        problems.append(f"at most {MAX_PINS} pins (the server's key and the next one), "
                        f"not {len(set(pins))}")
    pin_from = settings.get("pin_from")
    if pin_from is True:
        pin_from = server_url or None
    if pin_from is not None:
        if not isinstance(pin_from, str) or urlsplit(pin_from).scheme != "https":
            problems.append(f"--pin-from needs an https:// address, not {pin_from!r}")
            pin_from = None
    if (pins or pin_from) and server_url and urlsplit(server_url).scheme != "https":
        problems.append("pinning needs an https --server: a pin is checked in the TLS handshake")
    return tuple(dict.fromkeys(pins)), pin_from


#: The setting a Branding field comes from, where the names differ.
_SETTING = {"company_name": "company", "server_url": "server", "logo_png": "logo",
            "primary_color": "color", "welcome_text": "welcome", "waiting_text": "waiting",
            "create_shortcut": "shortcut"}


def _url_policy_problems(url: str, insecure: bool) -> list[str]:
    """What the builder asks of an http(s) URL beyond the schema: no query, https off this machine."""
    parts = urlsplit(url)
    if parts.query or parts.fragment:
        return [f"server address {url!r} must not have a query or fragment"]
    if parts.scheme == "http" and not insecure and not _is_loopback(parts.hostname or ""):
        # Customers' agents would send case tokens in clear text over the internet.
        return [f"server address {url!r} uses plain http to a host that is not this machine: "
                "use https, or pass --insecure if you really mean it"]
    return []


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _output_problems(out_dir: Path) -> list[str]:
    if out_dir.exists():
        if not out_dir.is_dir():
            return [f"output folder {out_dir} is not a folder"]
        try:
            # os.access says yes to root even on a read-only file system; try for real.
            with tempfile.TemporaryFile(dir=out_dir):
                pass
        except OSError as exc:
            return [f"output folder {out_dir} is not writable: {exc.strerror or exc}"]
        return []
    ancestor = out_dir.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        return [f"output folder {out_dir} cannot be created: {ancestor} is not a folder"]
    if not os.access(ancestor, os.W_OK | os.X_OK):
        return [f"output folder {out_dir} cannot be created: {ancestor} is not writable"]
    return []


def _base_problems(base: Path) -> tuple[str | None, str | None]:
    """(problem, OS of the executable) for a --base file."""
    try:
        with open(base, "rb") as f:
            head = f.read(4)
            # The archive's cookie ends it: look at the end first (the stamp and a
            # signature may follow), and through the whole file only if not there.
            size = f.seek(0, os.SEEK_END)
            f.seek(max(0, size - _COOKIE_WINDOW))
            found = PYINSTALLER_COOKIE in f.read()
            if not found and size > _COOKIE_WINDOW:
                f.seek(0)
                found = PYINSTALLER_COOKIE in f.read()
    except OSError as exc:
        return f"cannot read the base agent {base}: {exc.strerror or exc}", None
    if not found:
        return f"{base} is not a base agent (no PyInstaller archive in it)", None
    return None, detect_os(head)
