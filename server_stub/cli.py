"""``sos-server``: run the server and manage expert accounts.

    sos-server serve [--host 127.0.0.1] [--port 8080] [--db PATH] [--port-file FILE]
                     [--tls-cert FILE --tls-key FILE [--http-redirect-port PORT]]
                     [--public-url URL] [--max-agent-mb 256]
    sos-server expert add NAME        asks for a password, prints an API token once
    sos-server expert list
    sos-server expert remove NAME
    sos-server expert token NAME      issues another API token

Every command uses the same database: --db PATH, else <user data folder>/sosdesk/
sosdesk.db (``make run`` too), and says which. Errors are one line on stderr and
a non-zero exit (2 for usage, 1 otherwise).
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import logging
import secrets
import signal
import sqlite3
import sys
import time
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

from . import __version__, core, portfile
from .app import App, Settings
from .errors import ServerError
from .paths import default_db_path
from .server import running
from .store import Store
from .tls import Certificate

log = logging.getLogger("sosdesk.server")


class CliError(Exception):
    """A problem to report in one line."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sos-server", description="sosdesk service-case server")
    parser.add_argument("--version", action="version", version=f"sosdesk {__version__}")
    parser.add_argument("--db", type=Path, default=None,
                        help=f"SQLite database file (default: {default_db_path()})")
    commands = parser.add_subparsers(dest="command", required=True)

    serve_cmd = commands.add_parser("serve", help="run the server")
    serve_cmd.add_argument("--host", default="127.0.0.1",
                           help="address to listen on (default 127.0.0.1, loopback only)")
    serve_cmd.add_argument("--port", type=int, default=8080, help="port (default 8080; 0 = any)")
    serve_cmd.add_argument("--db", type=Path, default=argparse.SUPPRESS, help="database file")
    serve_cmd.add_argument("--validity-hours", type=float, default=24.0,
                           help="how long a new case stays open before it expires (default 24)")
    serve_cmd.add_argument("--sos-limit", type=int, default=20,
                           help="new SOS cases allowed per client address per 10 minutes")
    serve_cmd.add_argument("--idle-timeout", type=float, default=15.0,
                           help="seconds a client may take to send a request (default 15)")
    serve_cmd.add_argument("--secure-cookies", action="store_true",
                           help="mark the login cookie Secure (behind an HTTPS reverse proxy; "
                                "with --tls-cert it is always Secure)")
    serve_cmd.add_argument("--tls-cert", type=Path, default=None, metavar="FILE",
                           help="serve https with this PEM certificate (the chain may follow it "
                                "in the file); renewed files are picked up without a restart")
    serve_cmd.add_argument("--tls-key", type=Path, default=None, metavar="FILE",
                           help="the certificate's private key (PEM, unencrypted)")
    serve_cmd.add_argument("--http-redirect-port", type=int, default=None, metavar="PORT",
                           help="with TLS: also listen for plain HTTP on PORT and redirect "
                                "every request to https")
    serve_cmd.add_argument("--public-url", default=None, metavar="URL",
                           help="the address customers and experts reach this server at "
                                "(https://support.example.com), for the links in a session; "
                                "default: the Host the request was sent to")
    serve_cmd.add_argument("--max-agent-mb", type=int, default=256, metavar="MB",
                           help="the largest personalized agent an expert may publish "
                                "(sos-builder --publish; default 256)")
    serve_cmd.add_argument("--quiet", action="store_true", help="no access log")
    serve_cmd.add_argument("--port-file", type=Path, default=None, metavar="FILE",
                           help="once listening, write the URL and port there as JSON "
                                "(for programs that start the server)")

    expert = commands.add_parser("expert", help="manage expert accounts")
    expert_cmds = expert.add_subparsers(dest="action", required=True)
    add = expert_cmds.add_parser("add", help="add an expert (asks for a password)")
    add.add_argument("name")
    add.add_argument("--password-stdin", action="store_true",
                     help="read the password from standard input instead of asking")
    expert_cmds.add_parser("list", help="list experts")
    remove = expert_cmds.add_parser("remove", help="remove an expert")
    remove.add_argument("name")
    token = expert_cmds.add_parser("token", help="issue another API token for an expert")
    token.add_argument("name")
    return parser


def _db_path(given: Path | None) -> Path:
    """The database every command uses: --db, else the user's data folder (absolute, to show)."""
    return (given or default_db_path()).expanduser().absolute()


def _open_store(path: Path, validity: int = core.DEFAULT_VALIDITY, create: bool = True) -> Store:
    if not create and not path.exists():
        # Making an empty database here would hide a wrong path behind "no experts".
        raise CliError(f"no database at {path}; `sos-server serve` or `sos-server expert add NAME` "
                       "creates it (the same --db for every command, or none)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return Store(str(path), default_validity=validity)
    except (OSError, sqlite3.Error, UnicodeError) as exc:  # sqlite takes UTF-8 paths only
        raise CliError(f"cannot open the database {path}: {exc}") from None


def _text(value: str, what: str) -> str:
    """*value* if it is text; arguments and stdin may carry bytes that are no UTF-8."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise CliError(f"{what} is not valid UTF-8 text") from None
    return value


def _read_password(from_stdin: bool) -> str:
    if from_stdin or not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password (8+ characters): ")
    if getpass.getpass("Repeat it: ") != first:
        raise CliError("the two passwords differ")
    return first


def _ensure_first_expert(store: Store) -> None:
    """On a new database, make an 'admin' account and say once how to log in."""
    if store.expert_count():
        return
    password = secrets.token_urlsafe(12)
    _, token = store.add_expert("admin", password, int(time.time()))
    print(f"No expert account existed in {store.path}, so one was created. "
          "This is shown only once:\n"
          f"  name:      admin\n  password:  {password}\n  API token: {token}\n"
          "Add more with: sos-server expert add NAME", flush=True)


def _write_port_file(path: Path, url: str) -> None:
    try:
        portfile.write(path, url)
    except OSError as exc:
        raise CliError(f"cannot write the port file {path}: {exc.strerror or exc}") from None


@contextlib.contextmanager
def _stop_signals() -> Iterator[list[int]]:
    """While the block runs, SIGINT and SIGTERM are noted in the list it gets (not raised)."""
    received: list[int] = []
    previous = {sig: signal.signal(sig, lambda signum, frame: received.append(signum))
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _serve(app: App, args: argparse.Namespace, tls: Certificate | None) -> None:
    """Serve until SIGINT or SIGTERM, then stop gracefully."""
    # The handlers go in first: a starter that sees the port file may signal at once.
    with _stop_signals() as received, running(app, args.host, args.port, tls=tls,
                                              redirect_port=args.http_redirect_port) as server:
        print(f"sosdesk server listening on {server.url}  (database: {app.store.path}; "
              f"open {server.url}/ to log in; Ctrl+C stops)", flush=True)
        if tls is not None:
            print(f"TLS: {tls.describe()}", flush=True)
            if tls.info is not None and tls.info.not_after.timestamp() < time.time():
                print("TLS: WARNING: this certificate has expired; clients will refuse it",
                      flush=True)
        if server.redirect is not None:
            print(f"plain HTTP on port {server.redirect.server_address[1]} redirects to https",
                  flush=True)
        if args.port_file:
            _write_port_file(args.port_file, server.url)
        try:
            while not received:
                time.sleep(0.2)  # a signal is handled between two sleeps, on every platform
        finally:
            if args.port_file:
                args.port_file.unlink(missing_ok=True)
        log.info("stopping (signal %d)", received[0])


def run(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "serve":
        if not 0 <= args.port <= 65535:
            raise CliError(f"--port must be 0-65535, not {args.port}")
        if not 0 < args.validity_hours <= 720:
            raise CliError("--validity-hours must be more than 0 and at most 720")
        if args.sos_limit < 1:
            raise CliError("--sos-limit must be at least 1 (new SOS cases per address per 10 minutes)")
        if not 0 < args.idle_timeout <= 3600:
            raise CliError("--idle-timeout must be more than 0 and at most 3600 seconds")
        if (args.tls_cert is None) != (args.tls_key is None):
            raise CliError("--tls-cert and --tls-key go together: give both (or neither, for "
                           "plain HTTP)")
        if args.http_redirect_port is not None:
            if args.tls_cert is None:
                raise CliError("--http-redirect-port redirects to https: it needs --tls-cert "
                               "and --tls-key")
            if not 0 <= args.http_redirect_port <= 65535:
                raise CliError(f"--http-redirect-port must be 0-65535, not {args.http_redirect_port}")
        public_url = (args.public_url or "").rstrip("/") or None
        if public_url is not None and not _is_base_url(public_url):
            raise CliError(f"--public-url must be an http(s) address like https://support.example.com "
                           f"(no path, query or spaces), not {args.public_url!r}")
        if not 1 <= args.max_agent_mb <= 4096:
            raise CliError("--max-agent-mb must be 1-4096")
        # Before the database: a wrong certificate path should not create one.
        tls = (Certificate(args.tls_cert.expanduser().absolute(), args.tls_key.expanduser().absolute())
               if args.tls_cert is not None else None)
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
        if args.quiet:
            logging.getLogger("sosdesk.access").setLevel(logging.WARNING)
        store = _open_store(_db_path(args.db), int(args.validity_hours * 3600))
        _ensure_first_expert(store)
        # Over TLS every cookie is Secure anyway (the handler adds it).
        settings = Settings(idle_timeout=args.idle_timeout, secure_cookies=args.secure_cookies,
                            sos_per_10min=args.sos_limit, public_url=public_url,
                            max_agent_bytes=args.max_agent_mb * 1024 * 1024)
        _serve(App(store, settings), args, tls)
        return 0
    path = _db_path(args.db)
    name = _text(args.name, "NAME") if args.action != "list" else ""
    store = _open_store(path, create=args.action == "add")
    now = int(time.time())
    # Which database, every time: the server and these commands must use the same one.
    # Where stdout is for scripts (list, token), it goes to stderr.
    if args.action == "add":
        password = _text(_read_password(args.password_stdin), "the password")
        expert, token = store.add_expert(name, password, now)
        print(f"expert {expert['name']} ({expert['id']}) added (database: {path}). "
              f"API token (shown once): {token}")
    elif args.action == "list":
        experts = store.list_experts()
        print(f"database: {path} ({len(experts)} expert{'s' * (len(experts) != 1)})",
              file=sys.stderr)
        for expert in experts:
            print(f"{expert['id']}\t{expert['name']}\t{expert['created_at']}")
    elif args.action == "remove":
        store.remove_expert(name)
        print(f"expert {name} removed (database: {path})")
    elif args.action == "token":
        token = store.issue_token(name, now)
        print(f"database: {path}", file=sys.stderr)
        print(token)
    return 0


def _is_base_url(url: str) -> bool:
    """Whether *url* is scheme://host[:port] and nothing more (links are made by appending)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for a port that is no number)
    except ValueError:
        return False
    return (parts.scheme in ("http", "https") and bool(parts.hostname) and parts.path == ""
            and not parts.query and not parts.fragment and not parts.username
            and url.isascii() and not any(c.isspace() for c in url))


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``sos-server`` console script."""
    try:
        return run(argv)
    except (CliError, ServerError) as exc:
        print(f"sos-server: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
