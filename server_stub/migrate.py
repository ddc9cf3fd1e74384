"""The schema's versions: make a new database, upgrade an older one, refuse a newer one.

``schema/vN.sql`` is the whole schema at version N (a new database is made from
the newest); ``schema/upgrade-to-vN.sql`` takes a database from N-1 to N, as in
magic-wormhole's mailbox server. An upgrade runs every script a database needs
in one transaction, on a connection that holds the file's lock exclusively from
before the copy it first keeps (``<file>.v<N>-backup-<time>``) to the end, with
foreign keys off as SQLite's procedure for changing tables asks; it commits only
if ``PRAGMA foreign_key_check`` then finds nothing. Any failure rolls it back:
the file stays as it was, and the copy (identical, then) is removed again.
"""

from __future__ import annotations

import contextlib
import importlib.resources
import logging
import os
import secrets
import sqlite3
import stat
import time
from pathlib import Path

from .errors import StorageUnavailable

log = logging.getLogger("sosdesk.store")

#: The version this server reads and writes; schema/v<SCHEMA_VERSION>.sql must exist.
SCHEMA_VERSION = 4
#: How long to wait for another connection's lock before giving up (SQLite's busy timeout).
LOCK_WAIT_MS = 5000


def schema_script(version: int) -> str:
    """The whole schema at *version*: schema/v<version>.sql."""
    return _script(f"v{version}.sql")


def upgrade_script(version: int) -> str:
    """The script that takes a database from *version* - 1 to *version*."""
    return _script(f"upgrade-to-v{version}.sql")


def _script(name: str) -> str:
    return importlib.resources.files(__package__).joinpath("schema", name).read_text("utf-8")


def version_of(db: sqlite3.Connection, path: str) -> int | None:
    """The schema version of the database; None while it is empty (no tables at all)."""
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not tables:
        return None
    row = (db.execute("SELECT version FROM schema_version").fetchone()
           if "schema_version" in tables else None)
    if row is None or not isinstance(row[0], int):
        raise StorageUnavailable(f"{path} is not a sosdesk database (it has tables, but no "
                                 "schema version); give sos-server another --db",
                                 code="not_a_sosdesk_database")
    return row[0]


def prepare(path: str, now: float) -> None:
    """Make the database file *path* ready for this server: create, upgrade or refuse it.

    *now* names the backup an upgrade keeps. The usual case, a database at this
    version, costs one read and takes no lock beyond it.
    """
    with contextlib.closing(_connect(path)) as db:
        version = version_of(db, path)
    _refuse_newer(path, version)
    if version == SCHEMA_VERSION:
        return
    with contextlib.closing(_connect(path)) as db:
        # EXCLUSIVE locking mode keeps each lock this connection gets until it
        # closes: what it read under BEGIN IMMEDIATE cannot change before the
        # upgrade, and no one reads a half-made schema. (executescript commits
        # an open transaction first, so a transaction alone could not hold it.)
        db.execute("PRAGMA locking_mode = EXCLUSIVE")
        db.execute("PRAGMA foreign_keys = OFF")
        try:
            db.execute("BEGIN IMMEDIATE")
            version = version_of(db, path)  # another server may have got here first
            db.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            raise _locked_error(path, exc) from None
        _refuse_newer(path, version)
        if version is None:
            create(db)
        elif version < SCHEMA_VERSION:
            upgrade(db, path, version, now)


def create(db: sqlite3.Connection) -> None:
    """Make the newest schema in the empty database *db*, in one transaction."""
    try:
        db.executescript("BEGIN IMMEDIATE;\n" + schema_script(SCHEMA_VERSION))
        db.execute("INSERT INTO meta VALUES ('customer_token_key', ?)", (secrets.token_hex(32),))
        db.execute("COMMIT")
    except BaseException:
        _rollback(db)
        raise


def upgrade(db: sqlite3.Connection, path: str, version: int, now: float) -> Path:
    """Bring *db* from *version* to SCHEMA_VERSION in one transaction; returns the backup kept.

    *db* holds the file's lock exclusively and has foreign keys off.
    """
    scripts = "\n".join(upgrade_script(v) for v in range(version + 1, SCHEMA_VERSION + 1))
    failed = f"could not upgrade the database {path} from schema version {version} to " \
             f"{SCHEMA_VERSION}, and left it as it was"
    try:
        backup = _backup(db, path, version, now)
    except (OSError, sqlite3.Error) as exc:
        raise StorageUnavailable(f"{failed}: no copy of it could be kept first ({exc})",
                                 code="schema_upgrade_failed") from None
    try:
        db.executescript("BEGIN IMMEDIATE;\n" + scripts)
        orphans = db.execute("PRAGMA foreign_key_check").fetchall()
        if orphans:
            table, rowid, parent, _ = orphans[0]
            raise StorageUnavailable(
                f"{failed}: the upgrade left {len(orphans)} row(s) referring to rows that do "
                f"not exist (first: {table} row {rowid} -> {parent})", code="schema_upgrade_failed")
        reached = version_of(db, path)
        if reached != SCHEMA_VERSION:
            raise StorageUnavailable(f"{failed}: the upgrade scripts reached version {reached}",
                                     code="schema_upgrade_failed")
        db.execute("COMMIT")
    except BaseException as exc:
        _rollback(db)
        # The file is as it was, so the copy is too: keeping one per failed start
        # (a service manager restarting the server) could fill the disk.
        with contextlib.suppress(OSError):
            backup.unlink()
        if isinstance(exc, sqlite3.Error):
            raise StorageUnavailable(f"{failed}: {exc}", code="schema_upgrade_failed") from None
        raise
    log.warning("upgraded the database %s from schema version %d to %d; the file as it was "
                "is kept as %s", path, version, SCHEMA_VERSION, backup)
    return backup


def backup_name(path: str, version: int, now: float) -> str:
    """Where the copy kept before upgrading *path* from *version* goes (UTC time in the name)."""
    return f"{path}.v{version}-backup-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(now))}"


def _backup(db: sqlite3.Connection, path: str, version: int, now: float) -> Path:
    """Copy the database with SQLite's backup API into a new file beside it."""
    name = backup_name(path, version, now)
    mode = stat.S_IMODE(os.stat(path).st_mode)  # it holds what the database holds
    for suffix in ["", *(f"-{n}" for n in range(2, 100))]:
        target = Path(name + suffix)
        try:
            os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode))
            break
        except FileExistsError:
            continue
    else:
        raise FileExistsError(f"{name} and 98 more like it exist already")
    try:
        with contextlib.closing(sqlite3.connect(target)) as copy:
            db.backup(copy)
    except BaseException:
        target.unlink()
        raise
    return target


def _refuse_newer(path: str, version: int | None) -> None:
    if version is not None and version > SCHEMA_VERSION:
        raise StorageUnavailable(
            f"the database {path} has schema version {version}, from a newer sosdesk; this "
            f"server knows versions up to {SCHEMA_VERSION}. Run the newer server, or this one "
            f"on the copy that upgrade kept ({path}.v{SCHEMA_VERSION}-backup-...)",
            code="schema_too_new")


def _locked_error(path: str, exc: sqlite3.OperationalError) -> StorageUnavailable:
    if exc.sqlite_errorcode & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        reason = "another program has it open (another sos-server?); stop it and start again"
    else:
        reason = str(exc)
    return StorageUnavailable(f"cannot prepare the database {path}: {reason}",
                              code="schema_upgrade_failed")


def _rollback(db: sqlite3.Connection) -> None:
    if db.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")


def _connect(path: str) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute(f"PRAGMA busy_timeout = {int(LOCK_WAIT_MS)}")
    return db
