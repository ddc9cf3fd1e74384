"""``sos-agent``: what the customer runs (also ``python -m sosdesk.agent``).

This module parses the command line and picks the view (window, tray or
headless lines); the application they share, and the words for every error,
are agent.app's.

Commands::

    sos-agent [options]              the tray icon (started at login); ``tray --no-window``:
                                     without opening the window where the icon has no menu
    sos-agent [options] sos          SOS: reuse this device's open case or create one,
                                     start the session, show the QuickSupport window
    sos-agent [options] join CODE    join the case an expert created and read out
    sos-agent [options] install      put the SOS shortcut and the tray autostart in place
    sos-agent [options] uninstall    remove them again

Options: ``--config FILE`` (a branding JSON file; an embedded or sidecar
branding wins over it), ``--headless`` (no window, no tray), ``--language
en|de``, ``--no-install`` (skip the first-start installation), ``-v``.

Headless output: one line per event on stdout, flushed at once, always in
English; a script must ignore line kinds it does not know::

    code s12-345-678                   the session code (again if it changes)
    status new                         the status, each time it changes:
    status pending                       new, pending, in_progress, closed, expired
    status in_progress expert=anna     expert= once an expert pressed Connect
                                       (the name percent-encoded, e.g. Anna%20B)
    notice cannot reach support, retrying
    notice connected to support again
    notice support is busy, retrying in 30 s
    notice support request no longer exists
    error module_revoked               a fatal error's stable code (the server's, or
                                       agent's own, e.g. certificate_refused,
                                       certificate_not_pinned for a server whose key
                                       is none of the branding's pins, or
                                       unexpected_error for a bug); the human
                                       message goes to stderr

``sos-agent --headless`` without a command follows the stored open case (if
any) like ``sos`` and exits 0 when there is none.

A personalized agent downloaded from a session's end_customer_link carries the
session's code in its file name (``ACME-QuickSupport-s12-345-678.exe``, see
``sosdesk.common.executables``). Started without a command, it joins that
session, as ``join CODE`` would, and installs nothing: it is a one-off for that
session, not the company's agent for every day (whose shortcut and autostart
would run a file in the Downloads folder, named after a case long closed). ``install`` and
``uninstall`` print ``installed PATH`` / ``removed PATH`` / ``note TEXT``.

Exit status: 0 the case was closed or expired (or nothing to do); 1 a
failure (wrong code, case taken or removed, a refused certificate, installer
error); 2 invalid or damaged branding, or usage; 3 this agent's module was
revoked; 130 interrupted. Invalid or damaged branding is also shown in a small
window until the customer closes it, where there is a display and no
``--headless`` (the customer who double-clicked the agent reads no stderr).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

from sosdesk.common.branding import LANGUAGES, Branding, BrandingError, default_language
from sosdesk.common.executables import code_in_name
from sosdesk.common.launch import agent_command
from sosdesk.common.stamp import load_branding, running_executable

from . import __version__
from .app import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, Agent, Start, drive, failure, resume
from .device import device_info
from .errors import AgentError, NoDisplay
from . import unpacked
from .firststart import FIRST_START_DONE, first_start, load_installer, repoint
from .headless import HeadlessView
from .i18n import text
from .keystore import open_secrets
from .storage import State

__all__ = ["main", "build_parser", "command_of", "run_case", "run_tray"]

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(
        prog="sos-agent", description="sosdesk remote support for customers",
        epilog="The branding file's fields (--config FILE, or a branding.json next to the agent), "
               "each with an example: docs/branding.md in sosdesk's documentation. On Linux the tray "
               "icon's menu needs python3-gi and gir1.2-ayatanaappindicator3-0.1 (README: Tray on Linux).")
    parser.add_argument("--config", metavar="FILE", help="branding JSON file (its fields: docs/branding.md)")
    parser.add_argument("--headless", action="store_true", help="no window or tray; print one line per event")
    parser.add_argument("--language", choices=LANGUAGES, help="language of the texts (default: from the OS)")
    parser.add_argument("--no-install", action="store_true", help="skip the first-start installation")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more (to stderr)")
    parser.add_argument("--version", action="version", version=f"sos-agent {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("sos", help="ask for support now (the SOS shortcut)")
    join = commands.add_parser("join", help="join the case with the code an expert gave you")
    join.add_argument("code", help="the session code, e.g. s12-345-678")
    tray = commands.add_parser("tray", help="the tray icon (the default)")
    tray.add_argument("--no-window", action="store_true",
                      help="do not open the QuickSupport window at start where the icon has no menu "
                           "(the window just closed and left the request to the tray)")
    commands.add_parser("install", help="install the SOS shortcut and the tray autostart")
    commands.add_parser("uninstall", help="remove the SOS shortcut and the tray autostart")
    return parser


def command_of(args: argparse.Namespace, executable: Any) -> tuple[str, str | None]:
    """(command, session code to join): the one given, else the session the executable's
    file name carries (a download from an end_customer_link), else the tray."""
    if args.command is not None:
        return args.command, getattr(args, "code", None)
    code = code_in_name(executable) if executable is not None else None
    return ("join", code) if code else ("tray", None)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the agent; returns the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING - 10 * min(args.verbose, 2),
                        format="sos-agent: %(levelname)s: %(message)s", stream=sys.stderr)
    if args.verbose < 2:  # pystray logs a traceback each time an icon finds no tray host yet
        logging.getLogger("pystray").setLevel(logging.CRITICAL)
    command, code = command_of(args, running_executable())
    one_off = command == "join" and args.command is None  # installs nothing (module docstring)
    try:
        branding = load_branding(args.config)
        if args.language:
            branding = dataclasses.replace(branding, language=args.language)
    except BrandingError as exc:
        failed = failure(exc, args.language or default_language())
        print(f"sos-agent: {failed.message}", file=sys.stderr, flush=True)
        # A customer who double-clicked the agent reads no stderr: show it in a window too.
        if not args.headless and command not in ("install", "uninstall"):
            _show_message(args.language or default_language(), failed.message)
        return failed.exit_status
    # A one-file agent installs its unpacked copy (agent.unpacked), and the shortcut and
    # the autostart run that copy: no unpacking on later SOS clicks.
    installed = None
    if not args.no_install and command != "uninstall" and unpacked.running_onefile():
        installed = _install_copy(branding)
    # The one answer to "how do I start myself": for the shortcut, the autostart and the tray's window.
    own_command = agent_command(branding, args.config, args.language, program=_own_program(installed))
    if command in ("install", "uninstall"):
        return _install_command(command, branding, own_command)
    if installed is not None and installed.made:
        repoint(branding, own_command)  # shortcuts installed before run the new copy
    agent = Agent(branding, open_secrets(branding.app_id), State(branding.app_id), device_info(), own_command)
    try:
        if not args.no_install and not one_off:
            first_start(branding, agent.state, own_command)
        if command == "sos":
            return run_case(agent, lambda flow: flow.request_support(), args.headless)
        if command == "join":
            assert code is not None
            return run_case(agent, lambda flow: flow.join(code), args.headless, join_code=code)
        return run_tray(agent, args.headless, window_at_start=not getattr(args, "no_window", False))
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except AgentError as exc:  # outside a flow, e.g. the config folder cannot be written
        failed = failure(exc, branding.lang, branding.company_name)
        print(f"sos-agent: {failed.message}", file=sys.stderr, flush=True)
        return failed.exit_status


def _install_copy(branding: Branding) -> "unpacked.Installed | None":
    """This one-file agent's installed copy (made now if needed); None if it cannot be made."""
    sidecar = branding.source.split(" ", 1)[1] if branding.source.startswith("sidecar ") else None
    try:
        return unpacked.ensure_installed(branding.app_id, sidecar=Path(sidecar) if sidecar else None)
    except (unpacked.InstallError, OSError) as exc:  # never stop an SOS: run as we are
        log.warning("could not install the agent for faster starts: %s", exc)
        return None


def _own_program(installed: "unpacked.Installed | None") -> list[str] | None:
    """The program the shortcuts run: the installed copy, or for a frozen copy its stable name."""
    if installed is not None:
        return [str(installed.program)]
    if getattr(sys, "frozen", False):
        return [str(unpacked.stable_program(Path(sys.executable)))]
    return None


def _show_message(lang: str, message: str) -> None:
    """*message* in a small window until the customer closes it, where there is a display."""
    try:
        from .window import show_message  # imported late: tkinter may be missing
    except ImportError as exc:
        log.debug("no message box: %s", exc)
        return
    show_message(lang, message)


def _window(agent: Agent) -> Any:
    from .window import QuickSupportWindow  # imported late: tkinter may be missing

    return QuickSupportWindow(agent)


def _tray(agent: Agent) -> Any:
    from .tray import Tray  # imported late: pystray picks its backend on import

    return Tray(agent)


def _on_screen(agent: Agent, open_view: Callable[[Agent], Any]) -> Any:
    """The view *open_view* makes (window or tray), or None with a one-line notice
    when there is no display for it."""
    try:
        return open_view(agent)
    except (ImportError, NoDisplay) as exc:
        log.debug("no %s: %s", open_view.__name__.lstrip("_"), exc)
        print(f"sos-agent: {text(agent.lang, 'notice.no_display')}", file=sys.stderr, flush=True)
        return None


def _headless(agent: Agent, start: Start) -> int:
    """Follow the case *start* gets, one line per event on stdout."""
    view = HeadlessView()
    return drive(agent, agent.flow(view), start, lambda failed: view.error(failed.code, failed.message))


def run_case(agent: Agent, start: Start, headless: bool, join_code: str | None = None) -> int:
    """SOS or join (*join_code*): the QuickSupport window, or headless lines."""
    window = None if headless else _on_screen(agent, _window)
    if window is not None:
        return window.run(start, join_code)
    return _headless(agent, start)


def run_tray(agent: Agent, headless: bool, window_at_start: bool = True) -> int:
    """The tray icon; headless: follow the stored open case, if any."""
    tray = None if headless else _on_screen(agent, _tray)
    if tray is not None:
        tray.window_at_start = window_at_start
        return tray.run()
    return _headless(agent, resume)


def _install_command(command: str, branding: Branding, own_command: list[str]) -> int:
    try:
        installer = load_installer()
        if command == "install":
            status = installer.install(branding, own_command)
            lines = [f"installed {f.path}" for f in status.files]
        else:
            status = installer.uninstall(branding)
            lines = [f"removed {path}" for path in status.changed]
            lines += [f"removed {path}" for path in unpacked.remove_installed(branding.app_id)]
    except (ImportError, AttributeError) as exc:
        print(f"sos-agent: the installer is not available: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except Exception as exc:  # InstallerError and OSError: the message is for the user
        print(f"sos-agent: {exc}", file=sys.stderr)
        return EXIT_FAILED
    for line in [*lines, *(f"note {n}" for n in getattr(status, "notes", ()))]:
        print(line, flush=True)
    # Either way the customer decided: the first start must not install (again).
    try:
        State(branding.app_id).set(FIRST_START_DONE, True)
    except AgentError as exc:
        print(f"sos-agent: {exc}", file=sys.stderr, flush=True)
        return EXIT_FAILED
    return EXIT_OK
