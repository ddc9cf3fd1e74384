"""Secrets in the keyring, or in a private file when there is no keyring."""

from __future__ import annotations

import json
import logging
import stat
import threading
from pathlib import Path
from typing import Iterator

import keyring
import keyring.backend
import keyring.backends.fail
import pytest

from sosdesk.agent import keystore
from sosdesk.agent.keystore import CASE_TOKEN, DEVICE_ID, FileStore, KeyringStore, open_secrets


class MemoryKeyring(keyring.backend.KeyringBackend):
    """An in-memory keyring backend for tests."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.passwords.pop((service, username), None) is None:
            raise keyring.errors.PasswordDeleteError(username)


@pytest.fixture
def restore_keyring() -> Iterator[None]:
    previous = keyring.get_keyring()
    yield
    keyring.set_keyring(previous)


def test_keyring_backend_is_used_with_the_company_service(tmp_path: Path, restore_keyring: None) -> None:
    memory = MemoryKeyring()
    keyring.set_keyring(memory)
    secrets = open_secrets("muller-it", tmp_path)
    assert isinstance(secrets.store, KeyringStore)
    device = secrets.device_id()
    assert secrets.device_id() == device and 16 <= len(device) <= 128
    secrets.save_case_token("tok")
    assert memory.passwords == {("sosdesk:muller-it", DEVICE_ID): device,
                                ("sosdesk:muller-it", CASE_TOKEN): "tok"}
    secrets.forget_case_token("other")  # only the token it was asked about
    assert secrets.case_token() == "tok"
    secrets.forget_case_token()
    secrets.forget_case_token()
    assert secrets.case_token() is None
    assert not list(tmp_path.glob("secrets-*.json"))


def test_fail_backend_falls_back_to_a_private_file(tmp_path: Path, restore_keyring: None,
                                                   caplog: pytest.LogCaptureFixture,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    keyring.set_keyring(keyring.backends.fail.Keyring())
    monkeypatch.setattr(keystore, "_fallback_logged", False)
    caplog.set_level(logging.INFO, logger="sosdesk.agent")
    secrets = open_secrets("muller-it", tmp_path)
    open_secrets("muller-it", tmp_path)
    assert isinstance(secrets.store, FileStore)
    device = secrets.device_id()
    secrets.save_case_token("tok")
    path = tmp_path / "secrets-muller-it.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == {DEVICE_ID: device, CASE_TOKEN: "tok"}
    fallbacks = [r for r in caplog.records if "no keyring" in r.getMessage()]
    assert len(fallbacks) == 1  # said once
    assert device not in caplog.text and "tok" not in caplog.text
    assert not list(tmp_path.glob("*.tmp"))


def test_no_keyring_error_also_falls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> None:
        raise keyring.errors.NoKeyringError("none")

    monkeypatch.setattr(keyring, "get_keyring", broken)
    assert isinstance(open_secrets("x", tmp_path).store, FileStore)


def test_a_corrupt_file_is_replaced_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "secrets-x.json"
    path.write_text("{not json")
    store = FileStore(path)
    assert store.get(DEVICE_ID) is None
    store.set(DEVICE_ID, "d" * 20)
    assert store.get(DEVICE_ID) == "d" * 20 and stat.S_IMODE(path.stat().st_mode) == 0o600


def test_concurrent_first_use_creates_one_device_id(tmp_path: Path, restore_keyring: None) -> None:
    keyring.set_keyring(keyring.backends.fail.Keyring())
    ids: list[str] = []
    threads = [threading.Thread(target=lambda: ids.append(open_secrets("x", tmp_path).device_id()))
               for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(ids) == 16 and len(set(ids)) == 1
