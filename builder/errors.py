"""The builder's errors: one root, messages written for the expert at the terminal."""

from __future__ import annotations

from typing import Any


class BuilderError(Exception):
    """Root of every error the builder raises on purpose; its message is for the user."""


class InputError(BuilderError):
    """The inputs (flags, TOML file, logo, output folder) have one or more problems."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class ServerError(BuilderError):
    """The server refused or could not be reached; carries the response when there is one."""

    def __init__(self, message: str, response: Any = None) -> None:
        super().__init__(message)
        self.response = response


class BaseBuildError(BuilderError):
    """PyInstaller could not build the base agent."""
