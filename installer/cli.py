"""The installer's command line, also behind ``sos-agent install|uninstall|status``.

    python -m sosdesk.installer install   [--executable AGENT] [--config BRANDING.json]
    python -m sosdesk.installer uninstall [--executable AGENT] [--config BRANDING.json]
    python -m sosdesk.installer status    [--executable AGENT] [--config BRANDING.json]

The branding is found as the agent finds it (stamp in AGENT, sidecar file,
--config, defaults). The shortcuts install makes run AGENT, with ``--config``
(as an absolute path) when the branding came from that file. ``status``
without a branding of its own (no stamp, sidecar or --config) shows every
company installed for this user, each with the command its shortcuts run, so
what ``sos-agent --config acme.json install`` made is found without repeating
--config. Exit status: 0 done; 1 failed; 2 the command line, or a file it
names, is wrong. Every error is one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
from typing import NoReturn, Sequence, TextIO

from sosdesk.common.branding import BrandingError
from sosdesk.common.launch import agent_command
from sosdesk.common.stamp import load_branding

from .api import Status, install, installed, status, uninstall
from .manifest import manifests_dir
from .errors import InstallerError

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class _UsageError(Exception):
    """The command line is wrong; the message says how."""


class _Parser(argparse.ArgumentParser):
    # argparse prints the whole usage and exits; we want one line and a return code.
    def error(self, message: str) -> NoReturn:
        raise _UsageError(message)


def main(argv: Sequence[str] | None = None, prog: str = "python -m sosdesk.installer") -> int:
    """Run the installer command line; returns the exit status."""
    parser = _parser(prog)
    try:
        args = parser.parse_args(argv)
        executable = _executable(args.executable, required=args.command == "install")
        branding = load_branding(config=args.config, executable=executable)
    except (_UsageError, BrandingError) as exc:
        _say(f"{prog}: {exc} (see {prog} --help)", sys.stderr)
        return EXIT_USAGE
    try:
        if args.command == "install":
            command = agent_command(branding, args.config, program=[os.path.abspath(executable)])
            result = install(branding, command)
            changed = _count(result.changed, "file")
            shown = [(f"{branding.company_name}: installed, {changed} changed", result)]
        elif args.command == "uninstall":
            result = uninstall(branding)
            shown = [(f"{branding.company_name}: {_count(result.changed, 'file')} removed", result)]
        elif branding.source == "defaults":  # no company named: every one installed for this user
            shown = [(f"{result.app_id}: {_summary(result)}", result) for result in installed()]
        else:
            result = status(branding)
            shown = [(f"{branding.company_name}: {_summary(result)}", result)]
    except InstallerError as exc:
        _say(f"{prog}: {exc}", sys.stderr)
        return EXIT_FAILED
    except Exception as exc:  # a bug: still one line, as promised to the customer
        _say(f"{prog}: unexpected error: {exc!r}", sys.stderr)
        return EXIT_FAILED
    if not shown:
        _say(f"not installed (nothing recorded in {manifests_dir()})", sys.stdout)
    for headline, result in shown:
        _say(headline, sys.stdout)
        for file in result.files:
            _say(f"  {file.state:<8} {file.kind:<34} {file.path}", sys.stdout)
        for note in result.notes:
            _say(f"note: {note}", sys.stdout)
    return EXIT_OK


def _parser(prog: str) -> _Parser:
    parser = _Parser(prog=prog, description="Put the SOS desktop shortcut and the tray "
                     "autostart on this computer for the current user, or remove them.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, text in (("install", "install or update the shortcut and autostart"),
                       ("uninstall", "remove what install put in place"),
                       ("status", "show what is installed")):
        command = commands.add_parser(name, help=text, description=text)
        command.add_argument("--executable", metavar="AGENT",
                             help="the agent program the shortcuts start (default: this program when built)")
        command.add_argument("--config", metavar="BRANDING.json",
                             help="branding file, used when AGENT carries no branding of its own")
    return parser


def _executable(given: str | None, required: bool) -> str | None:
    """The agent program: --executable, else the running built agent."""
    if given is not None:
        if not os.path.isfile(given):
            raise _UsageError(f"--executable {given}: no such file")
        return given
    if getattr(sys, "frozen", False):
        return sys.executable
    if required:
        raise _UsageError("--executable is required (this is not a built agent)")
    return None


def _summary(result: Status) -> str:
    if not result.installed:
        return "not installed"
    state = "intact" if result.intact else "some files changed or missing"
    return f"installed ({state}), starts {_shown(result.command or ())}"


def _shown(command: Sequence[str]) -> str:
    """*command* as the user would type it on this OS."""
    return subprocess.list2cmdline(command) if os.name == "nt" else shlex.join(command)


def _count(items: Sequence[object], noun: str) -> str:
    return f"{len(items)} {noun}{'' if len(items) == 1 else 's'}"


def _say(text: str, stream: TextIO) -> None:
    """Print *text*; a console that cannot show a character gets an escape, not a crash."""
    try:
        print(text, file=stream)
    except UnicodeEncodeError:
        encoding = getattr(stream, "encoding", None) or "ascii"
        print(text.encode(encoding, "backslashreplace").decode(encoding), file=stream)
