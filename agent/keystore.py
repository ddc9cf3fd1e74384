"""The device id and the case token, kept in the OS keyring.

Service name ``sosdesk:<app_id>``. Where no keyring backend exists (headless
Linux), a JSON file ``secrets-<app_id>.json`` in the config folder (mode 0600)
stands in, and the agent says so once in its log. Neither value is ever
logged or printed: the device id proves the device to the server, the token
opens the case.
"""

from __future__ import annotations

import json
import logging
import secrets as _random  # the standard library module
from pathlib import Path
from typing import Protocol

import keyring
import keyring.backends.fail
import keyring.errors

from sosdesk.common.folders import config_dir

from .errors import SecretsError
from .filelock import locked
from .storage import read_json, write_private

__all__ = ["DEVICE_ID", "CASE_TOKEN", "SecretStore", "KeyringStore", "FileStore", "Secrets",
           "keyring_usable", "open_secrets"]

log = logging.getLogger(__name__)

DEVICE_ID = "device_id"
CASE_TOKEN = "case_token"
_fallback_logged = False


class SecretStore(Protocol):
    """Where named secrets of one company are kept."""

    def get(self, name: str) -> str | None: ...
    def set(self, name: str, value: str) -> None: ...
    def delete(self, name: str) -> None: ...


class KeyringStore:
    """Secrets in the OS keyring under the service ``sosdesk:<app_id>``."""

    def __init__(self, app_id: str) -> None:
        self.service = f"sosdesk:{app_id}"

    def get(self, name: str) -> str | None:
        """The secret *name*, or None."""
        try:
            return keyring.get_password(self.service, name)
        except keyring.errors.KeyringError as exc:
            raise SecretsError(f"cannot read from the keyring: {exc}") from None

    def set(self, name: str, value: str) -> None:
        """Store the secret *name*."""
        try:
            keyring.set_password(self.service, name, value)
        except keyring.errors.KeyringError as exc:
            raise SecretsError(f"cannot write to the keyring: {exc}") from None

    def delete(self, name: str) -> None:
        """Forget the secret *name* (no error when it is not there)."""
        try:
            keyring.delete_password(self.service, name)
        except keyring.errors.PasswordDeleteError:
            pass
        except keyring.errors.KeyringError as exc:
            raise SecretsError(f"cannot write to the keyring: {exc}") from None


class FileStore:
    """Secrets in a JSON file only this user can read (mode 0600)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def get(self, name: str) -> str | None:
        """The secret *name*, or None."""
        value = read_json(self.path).get(name)
        return value if isinstance(value, str) else None

    def set(self, name: str, value: str) -> None:
        """Store the secret *name*."""
        data = read_json(self.path)
        data[name] = value
        self._write(data)

    def delete(self, name: str) -> None:
        """Forget the secret *name*."""
        data = read_json(self.path)
        if data.pop(name, None) is not None:
            self._write(data)

    def _write(self, data: dict[str, str]) -> None:
        try:
            write_private(self.path, json.dumps(data).encode())
        except OSError as exc:
            raise SecretsError(f"cannot save {self.path}: {exc.strerror}") from None


def keyring_usable() -> bool:
    """Whether a real keyring backend is available (not the fail or null one)."""
    try:
        backend = keyring.get_keyring()
    except keyring.errors.NoKeyringError:
        return False
    except Exception as exc:  # a broken backend must not stop the agent
        log.debug("keyring backend unusable: %s", exc)
        return False
    if isinstance(backend, keyring.backends.fail.Keyring):
        return False
    return type(backend).__module__ != "keyring.backends.null"


class Secrets:
    """The agent's two secrets: a stable device id and the current case token."""

    def __init__(self, store: SecretStore, lock_path: Path) -> None:
        self.store = store
        self.lock_path = lock_path

    def device_id(self) -> str:
        """The device id, created once; concurrent agents all get the same one."""
        with locked(self.lock_path):
            value = self.store.get(DEVICE_ID)
            if not value:
                value = _random.token_urlsafe(32)  # 43 of A-Za-z0-9_-: what the server accepts
                self.store.set(DEVICE_ID, value)
            return value

    def case_token(self) -> str | None:
        """The token of the case this device is following, if any."""
        with locked(self.lock_path):
            return self.store.get(CASE_TOKEN)

    def save_case_token(self, token: str) -> None:
        """Remember the case token so a restarted agent follows the same case."""
        with locked(self.lock_path):
            self.store.set(CASE_TOKEN, token)

    def forget_case_token(self, token: str | None = None) -> None:
        """Forget the case token (only if it is still *token*, when given)."""
        with locked(self.lock_path):
            if token is None or self.store.get(CASE_TOKEN) == token:
                self.store.delete(CASE_TOKEN)


def open_secrets(app_id: str, folder: Path | None = None) -> Secrets:
    """The secrets of company *app_id*: in the keyring, else in a private file."""
    global _fallback_logged
    folder = folder or config_dir()
    if keyring_usable():
        store: SecretStore = KeyringStore(app_id)
    else:
        store = FileStore(folder / f"secrets-{app_id}.json")
        if not _fallback_logged:
            _fallback_logged = True
            log.info("no keyring available; keeping the agent's secrets in %s (mode 0600)",
                     store.path)
    return Secrets(store, folder / f".secrets-{app_id}.lock")
