"""``sos-builder``: a company's personalized QuickSupport agent as one executable.

Exit codes: 0 done, 1 the server or the build failed, 2 bad inputs (every
problem is listed, one per line on stderr, and nothing is written).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path
from typing import Any, Sequence

from .errors import BuilderError, InputError, ServerError

__all__ = ["main", "TOKEN_ENV"]

TOKEN_ENV = "SOSDESK_TOKEN"
EXIT_FAILED, EXIT_USAGE = 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sos-builder",
        description="Build a company's personalized QuickSupport agent: one executable to hand "
                    "to customers. Settings come from --config FILE.toml (same names as the "
                    "flags, e.g. company = \"ACME\", module_id = \"...\") and flags override it.",
        epilog=f"The expert's API token comes from ${TOKEN_ENV} (preferred: flags show up in "
               "the process list) or --token; it is never printed or put into the agent.")
    add = parser.add_argument
    add("--config", metavar="FILE.toml", type=Path, help="read settings from a TOML file")
    add("--company", help="company name shown to customers; names the output file")
    add("--server", metavar="URL", help="the sosdesk server the agent talks to (https://...)")
    add("--logo", metavar="FILE", type=Path, help="logo, PNG or JPEG, at least 32x32 pixels "
        "(without it, the icon shows the company's initials)")
    add("--color", "--colour", dest="color", metavar="#RRGGBB", help="primary colour")
    add("--welcome", metavar="TEXT", help="welcome text in the agent's window")
    add("--waiting", metavar="TEXT", help="text while the customer waits for an expert")
    add("--language", choices=("en", "de", "auto"), help="the agent's language (default: auto, "
        "from the customer's system)")
    add("--group", help="the queue (group) the agent's cases land in (default: default)")
    add("--shortcut", action=argparse.BooleanOptionalAction, default=None,
        help="whether the agent puts an SOS shortcut on the desktop (default: yes)")
    add("--out", metavar="DIR", type=Path, help="output folder (default: the current folder)")
    add("--token", help=f"the expert's API token (better: ${TOKEN_ENV})")
    add("--module-id", dest="module_id", metavar="ID",
        help="use a module registered before instead of registering a new one; checked "
             "with the server when a token is given, else an offline build")
    add("--insecure", action="store_const", const=True, default=None,
        help="allow a plain http:// server that is not on this machine")
    add("--base", metavar="FILE", type=Path,
        help="stamp this base agent (built on another machine or OS) instead of the cached one")
    add("--target-os", dest="target_os", choices=("windows", "macos", "linux"),
        help="the OS of the --base (normally detected; picks the .exe suffix)")
    add("--pin", dest="pins", action="append", metavar="sha256/BASE64",
        help="pin the server's key: the agent then talks only to a server presenting this key "
             "(as `sos-server serve` prints it); give it twice for the current and the next key")
    add("--pin-from", dest="pin_from", nargs="?", const=True, metavar="https://HOST",
        help="pin the key the server at this address (default: --server) presents now, after "
             "showing its fingerprint and asking you to confirm it")
    add("-y", "--yes", action="store_true",
        help="with --pin-from: pin without asking (check the printed pin yourself)")
    add("--publish", action="store_const", const=True, default=None,
        help="upload the agent to the server as well: the page a session's end_customer_link "
             "opens offers it to the customer, named so that it joins that session by itself")
    add("--rebuild", action="store_true", help="rebuild the cached base agent with PyInstaller")
    add("--base-only", action="store_true",
        help="only build (or find) the base agent for this OS and print its path")
    add("-q", "--quiet", action="store_true", help="no progress lines, only the result")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the builder; returns the exit code."""
    args = _parser().parse_args(argv)
    report = (lambda line: None) if args.quiet else _progress
    try:
        if args.base_only:
            from .base import ensure_base

            exe = ensure_base(rebuild=args.rebuild, report=report)
            print(exe)
            return 0
        return _build(args, report)
    except InputError as exc:
        for problem in exc.problems:
            print(f"sos-builder: {problem}", file=sys.stderr)
        return EXIT_USAGE
    except BuilderError as exc:
        print(f"sos-builder: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("sos-builder: interrupted; nothing was written", file=sys.stderr)
        return 130


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _build(args: argparse.Namespace, report: Any) -> int:
    from .options import TOML_KEYS, load_toml, parse_options

    settings: dict[str, Any] = {}
    problems: list[str] = []
    if args.config is not None:
        settings, problems = load_toml(args.config.expanduser().resolve())
    flags = {key: getattr(args, key) for key in TOML_KEYS if getattr(args, key) is not None}
    settings.update(flags)
    token = args.token or os.environ.get(TOKEN_ENV) or None
    options = parse_options(settings, token_given=token is not None, problems=problems)
    if options.pin_from is not None:
        # Asked first: the question should not wait behind a base build of minutes.
        from .pins import confirm_pin, fetch_certificate

        options = options.with_pin(confirm_pin(fetch_certificate(options.pin_from), args.yes))

    # Ask the server whatever it can refuse before the base is built: that build can
    # take minutes, and a wrong token or module should not wait for it.
    # With pins, the server is asked only over a connection to the pinned key (a lab's
    # self-signed server too). Imported only then: an offline re-brand needs no HTTP
    # client (requests is a sixth of its time).
    client = None
    if token:
        from .server import ModuleClient

        client = ModuleClient(options.server_url, token, pins=options.pins)
    if options.module_id is not None and client is None:
        report(f"offline build: module {options.module_id} was not checked with the server")
    elif options.module_id is not None and client is not None:
        module = client.get(options.module_id)
        server_group = str(module.get("groupname", options.group))
        if "group" in settings and settings["group"] != server_group:
            raise InputError([f"module {options.module_id} puts its cases in group "
                              f"{server_group!r}, not {settings['group']!r}: leave out --group "
                              "or register a new module"])
        options = dataclasses.replace(options, group=server_group)
    elif client is not None:
        client.check_access()

    if options.base is None:
        from .base import ensure_base

        base = ensure_base(rebuild=args.rebuild, report=report)
    else:
        base = options.base

    registered = False
    if options.module_id is None:
        assert client is not None  # parse_options insists on a token without --module-id
        # Registered only now, so a failed build leaves no module behind; the company
        # and group were checked against the server's own rules in parse_options.
        module = client.register(options.company, options.group)
        module_id = str(module["module_id"])
        registered = True
        report(f"registered module {module_id} for {options.company!r}, group {options.group!r}")
    else:
        module_id = options.module_id

    from .stamping import personalize

    try:
        result = personalize(base, options, module_id)
    except BaseException as exc:
        if registered and client is not None:
            # A module nobody will ever use should not linger on the server.
            try:
                client.revoke(module_id)
            except ServerError:
                pass
        if isinstance(exc, OSError):
            raise BuilderError(f"cannot write to {options.out_dir}: {exc.strerror or exc}; "
                               "nothing was written") from None
        raise
    print(f"{result.executable}  ({result.size / 1e6:.1f} MB, agent {result.agent_version}, "
          f"module {result.module_id})")
    print(f"manifest: {result.manifest}")
    print(f"icons:    {', '.join(p.name for p in result.icons)}")
    print(f"sha256:   {result.sha256}")
    if options.publish:
        assert client is not None  # parse_options insists on a token with --publish
        report(f"publishing {result.executable.name} to {options.server_url} ...")
        published = client.publish(module_id, result.executable)
        print(f"published: {published.get('target_os')} agent of module {module_id} "
              f"({int(published.get('size', 0)) / 1e6:.1f} MB) on {options.server_url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
