"""A config folder the agent cannot write: one line for the customer, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sosdesk.agent.errors import AgentError, StorageError
from sosdesk.agent.filelock import locked
from sosdesk.agent.storage import State
from agent_helpers import ROOT, agent_env, write_branding


def unwritable_folder(tmp_path: Path) -> Path:
    """A folder that cannot be created, even by root: its parent is a regular file."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    return blocker / "config"


def test_lock_in_an_unwritable_folder_is_a_storage_error(tmp_path: Path) -> None:
    folder = unwritable_folder(tmp_path)
    with pytest.raises(StorageError, match=f"cannot use the folder {folder}"):
        with locked(folder / ".lock"):
            pass


def test_errors_inside_the_lock_pass_unchanged(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        with locked(tmp_path / ".lock"):
            raise FileNotFoundError("not the lock's")


def test_state_set_in_an_unwritable_folder_is_a_storage_error(tmp_path: Path) -> None:
    state = State("acme", unwritable_folder(tmp_path))
    assert state.get("x") is None  # reading still works: nothing stored
    with pytest.raises(StorageError, match="cannot save .*state-acme.json") as caught:
        state.set("x", True)
    assert isinstance(caught.value, AgentError)


@pytest.mark.parametrize("command", [["sos"], ["join", "s12-345-678"], []],
                         ids=["sos", "join", "tray"])
def test_cli_says_one_line_and_exits_1(tmp_path: Path, command: list[str]) -> None:
    env = agent_env(tmp_path)
    env["SOSDESK_CONFIG_DIR"] = str(unwritable_folder(tmp_path))
    config = write_branding(tmp_path, "http://127.0.0.1:9")  # never reached: the folder fails first
    result = subprocess.run([sys.executable, "-m", "sosdesk.agent", "--config", str(config), "--headless",
                             "--no-install", *command], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert "Traceback" not in result.stderr
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines() == [
        f"sos-agent: cannot use the folder {env['SOSDESK_CONFIG_DIR']}: Not a directory"]
    assert result.stdout.splitlines() == ["error agent_error"]
