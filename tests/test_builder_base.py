"""The base agent, without PyInstaller: what goes into it (the dynamic imports and only
the distributions the agent needs) and its cache per version and platform.
"""

from __future__ import annotations

import json
from pathlib import Path

from sosdesk.builder import base as base_module
from builder_helpers import fake_base


def test_the_dynamic_imports_are_derived_from_the_installed_packages():
    import importlib.metadata

    backends = base_module.pystray_backends()
    assert {"pystray._xorg", "pystray._win32", "pystray._darwin", "pystray._dummy"} <= set(backends)
    assert "pystray._base" not in backends and "pystray._util" not in backends
    inputs = base_module.pynput_backends()
    assert {f"pynput.{p}._{b}" for p in ("keyboard", "mouse") for b in ("xorg", "win32", "darwin")} <= set(inputs)
    assert "pynput.keyboard._base" not in inputs and "pynput.keyboard._uinput" in inputs
    modules, distributions = base_module.keyring_backends()
    assert modules == sorted({ep.module for ep in importlib.metadata.entry_points(
        group="keyring.backends")})
    assert "keyring" in distributions
    hidden = base_module.hidden_imports()
    assert "sosdesk.installer._linux" in hidden and "sosdesk.installer._windows" in hidden
    assert set(backends) | set(inputs) | set(modules) <= set(hidden)
    assert not [name for name in hidden if name.endswith("__main__")]


def test_only_what_sosdesk_requires_goes_into_the_base():
    import importlib.metadata

    needed = base_module.agent_distributions()
    assert {"requests", "pillow", "keyring", "pystray", "platformdirs", "urllib3", "mss", "pynput"} <= needed
    assert "pytest" not in needed and "pyinstaller" not in needed
    excluded = set(base_module.excluded_modules())
    assert {"pytest", "PyInstaller"} <= excluded  # installed here for the tests, never frozen
    installed = importlib.metadata.packages_distributions()
    if "numpy" in installed:  # Pillow's type hints name it; the agent never imports it
        assert "numpy" in excluded
    assert not {"requests", "PIL", "keyring", "pystray", "sosdesk", "mss", "pynput", "Xlib"} & excluded


class RecordingBuild:
    """Stands in for PyInstaller: records each build and writes a fake base."""

    def __init__(self) -> None:
        self.builds: list[Path] = []

    def __call__(self, folder: Path, *, report, fingerprint=None) -> Path:
        self.builds.append(folder)
        folder.mkdir(parents=True, exist_ok=True)
        exe = fake_base(folder / base_module.base_file_name())
        (folder / "base.json").write_text(json.dumps({"fingerprint": fingerprint}))
        return exe


def test_the_base_is_cached_per_version_and_platform(tmp_path, monkeypatch):
    build = RecordingBuild()
    monkeypatch.setattr(base_module, "build_base", build)
    monkeypatch.setenv(base_module.CACHE_ENV, str(tmp_path))
    lines: list[str] = []

    first = base_module.ensure_base(report=lines.append)
    assert first.parent == tmp_path / "base" / f"{base_module.agent_version()}-{base_module.platform_tag()}"
    assert base_module.ensure_base(report=lines.append) == first
    assert len(build.builds) == 1 and any("cached" in line for line in lines)

    base_module.ensure_base(rebuild=True)
    assert len(build.builds) == 2

    (first.parent / "base.json").write_text(json.dumps({"fingerprint": "older agent"}))
    base_module.ensure_base(report=lines.append)
    assert len(build.builds) == 3 and "the agent changed" in lines[-1]


def test_the_fingerprint_follows_indirect_dependencies(monkeypatch):
    import importlib.metadata

    from packaging.requirements import Requirement

    direct = {Requirement(r).name.lower() for r in importlib.metadata.requires("sosdesk") or []}
    assert "urllib3" in base_module.agent_distributions() and "urllib3" not in direct  # via requests
    real_version = importlib.metadata.version
    bumped = {"urllib3": "999.0"}

    def version(name: str) -> str:
        return bumped.get(name) or real_version(name)

    before = base_module._fingerprint()
    assert base_module._fingerprint() == before  # stable while nothing changes
    monkeypatch.setattr(importlib.metadata, "version", version)
    assert base_module._fingerprint() != before
