"""The base agent: the agent frozen once by PyInstaller, cached per version and platform.

Personalizing never runs PyInstaller: it stamps a copy of this file. The base is
rebuilt only with ``--rebuild``, for a new agent version or platform, or when the
agent's sources (or the packages it is frozen with) changed since the cached build.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import pkgutil
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from pathlib import Path
from typing import Callable

from .cache import CACHE_ENV, cache_root
from .errors import BaseBuildError
from .options import current_os

__all__ = ["BaseInfo", "agent_version", "platform_tag", "cache_root", "base_dir", "ensure_base",
           "build_base", "hidden_imports", "own_modules", "excluded_modules", "trimmed_modules",
           "pystray_backends", "pynput_backends", "keyring_backends",
           "CACHE_ENV"]

#: The packages frozen into the agent whose own files (translations, schema, ...) must ship.
AGENT_PACKAGES = ("sosdesk.common", "sosdesk.agent", "sosdesk.installer")
ENTRY_SCRIPT = Path(__file__).with_name("_agent_entry.py")
#: Seconds between two progress lines while PyInstaller runs.
PROGRESS_EVERY = 5.0

Report = Callable[[str], None]


class BaseInfo(dict):
    """What base.json records next to a cached base: version, platform, fingerprint, ..."""


def agent_version() -> str:
    """The version of the agent being frozen (sosdesk's)."""
    from sosdesk.common import __version__

    return __version__


def platform_tag() -> str:
    """``linux-x86_64``, ``windows-amd64``, ``macos-arm64``: what a base runs on."""
    return f"{current_os()}-{platform.machine().lower() or 'unknown'}"


def base_dir(root: Path | None = None) -> Path:
    """The folder of this agent version's base for this platform."""
    return (root or cache_root()) / "base" / f"{agent_version()}-{platform_tag()}"


def base_file_name() -> str:
    """The base executable's file name on this OS."""
    return "sosdesk-agent.exe" if current_os() == "windows" else "sosdesk-agent"


# -- what PyInstaller cannot see by itself -----------------------------------

def pystray_backends() -> list[str]:
    """pystray's backend modules (those binding a backend ``Icon``), found without importing pystray.

    Importing pystray picks a backend and fails without a display, which is why
    ``collect_submodules('pystray')`` finds nothing on a headless build machine.
    """
    spec = importlib.util.find_spec("pystray")
    if spec is None or not spec.submodule_search_locations:
        return []
    backends = []
    for info in pkgutil.iter_modules(spec.submodule_search_locations):
        path = Path(info.module_finder.path) / (info.name + ".py")  # type: ignore[union-attr]
        if info.ispkg or not path.is_file():
            continue
        try:
            tree = ast.parse(path.read_bytes())
        except (SyntaxError, ValueError):
            continue
        if any(_binds_backend_icon(node) for node in tree.body):
            backends.append(f"pystray.{info.name}")
    return sorted(backends)


def _binds_backend_icon(node: ast.stmt) -> bool:
    """Whether *node* makes a backend's ``Icon``: a subclass, or one imported (the dummy)."""
    if isinstance(node, ast.ClassDef) and node.name == "Icon":
        # The abstract root ``class Icon(object)`` in _base is not a backend.
        return any(not (isinstance(b, ast.Name) and b.id == "object") for b in node.bases)
    if isinstance(node, ast.ImportFrom):
        return any((alias.asname or alias.name) == "Icon" for alias in node.names)
    return False


def pynput_backends() -> list[str]:
    """pynput's backend modules (``pynput.keyboard._xorg``, ``pynput.mouse._win32``, ...), found
    without importing pynput.

    pynput picks ``pynput.<package>._<backend>`` with importlib at run time, and
    importing it needs a display (the X11 backend connects at import), so
    PyInstaller's hook finds none of them on a headless build machine.
    """
    spec = importlib.util.find_spec("pynput")  # the top package's spec: nothing of it runs
    if spec is None or not spec.submodule_search_locations:
        return []
    backends = []
    for folder in spec.submodule_search_locations:
        for package in ("keyboard", "mouse"):
            for info in pkgutil.iter_modules([str(Path(folder) / package)]):
                if info.name.startswith("_") and not info.name.startswith("__") and info.name != "_base":
                    backends.append(f"pynput.{package}.{info.name}")
    return sorted(backends)


def keyring_backends() -> tuple[list[str], list[str]]:
    """(backend modules, distributions providing them) from keyring's entry points.

    keyring finds its backends through entry points at run time, so the frozen
    agent needs both the modules and the distributions' metadata.
    """
    modules, distributions = set(), set()
    for entry in importlib.metadata.entry_points(group="keyring.backends"):
        modules.add(entry.module)
        if entry.dist is not None:
            distributions.add(entry.dist.name)
    return sorted(modules), sorted(distributions | {"keyring"})


def own_modules() -> list[str]:
    """Every module of the agent's own packages, listed from their folders without importing.

    The installer picks its per-OS backend with importlib at run time, which
    PyInstaller's import scan cannot follow.
    """
    found = []
    for package in AGENT_PACKAGES:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            continue
        found.append(package)
        for info in pkgutil.walk_packages(spec.submodule_search_locations, prefix=package + ".",
                                          onerror=lambda name: None):
            if not info.name.endswith(".__main__"):  # entry scripts, not imported by the agent
                found.append(info.name)
    return found


def stage_sources(into: Path) -> Path:
    """Copy the agent's packages into *into* as a plain ``sosdesk/`` tree; returns *into*.

    The packages live in top-level folders (``agent/``, ``installer/``) that
    setuptools maps into the ``sosdesk`` namespace; an editable install does it
    with an import hook that PyInstaller's scan of ``--paths`` cannot see. A
    real folder tree is what PyInstaller (and every other tool) understands.
    """
    for package in AGENT_PACKAGES:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise BaseBuildError(f"{package} is not installed: run pip install -e . in the sosdesk folder")
        source = Path(list(spec.submodule_search_locations)[0])
        shutil.copytree(source, into.joinpath(*package.split(".")),
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    # A regular package in the frozen agent: no namespace lookup at every start.
    into.joinpath("sosdesk", "__init__.py").write_text('"""sosdesk, as frozen into the agent."""\n')
    return into


def hidden_imports() -> list[str]:
    """Every module the agent loads dynamically, derived from the installed packages."""
    return sorted(set(own_modules()) | set(pystray_backends()) | set(pynput_backends())
                  | set(keyring_backends()[0]))


def agent_distributions() -> set[str]:
    """The distributions the agent may import: sosdesk's requirements, transitively, for this OS."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    seen: set[str] = set()
    todo = ["sosdesk"]
    while todo:
        name = canonicalize_name(todo.pop())
        if name in seen:
            continue
        seen.add(name)
        try:
            requirements = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        for line in requirements:
            requirement = Requirement(line)
            # Markers pick this OS's dependencies (the base is per OS); extras are never frozen.
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return seen


#: Modules left out of the agent although a dependency offers them: (module, why).
TRIMMED = (
    # Image formats the agent never reads or writes (it draws PNG, ICO and ICNS icons
    # and sends the screen as JPEG and PNG): libavif alone is 5 MB unpacked.
    ("PIL._avif", "AVIF"), ("PIL.AvifImagePlugin", "AVIF"),
    ("PIL._webp", "WebP"), ("PIL.WebPImagePlugin", "WebP"),
    ("PIL._imagingcms", "colour management"), ("PIL.ImageCms", "colour management"),
)
# secretstorage and cryptography (14 MB unpacked) stay in on Linux: keyring's Secret
# Service backend needs them, and the agent's secrets belong in the OS keyring there too.


def trimmed_modules() -> list[str]:
    """The modules left out of the frozen agent."""
    return [module for module, _ in TRIMMED]


def excluded_modules() -> list[str]:
    """Top-level modules of installed distributions the agent does not depend on.

    PyInstaller follows every import it sees, even optional or type-checking
    ones (Pillow's typing module names numpy), and so drags whatever the build
    machine has installed into the agent; only what sosdesk requires may go in.
    """
    from packaging.utils import canonicalize_name

    needed = agent_distributions()
    return sorted(top for top, dists in importlib.metadata.packages_distributions().items()
                  if not any(canonicalize_name(d) in needed for d in dists))


# -- the cache ----------------------------------------------------------------

def _fingerprint() -> str:
    """A hash of everything the base is made of: agent sources, dependency and tool versions."""
    digest = hashlib.sha256()
    digest.update(f"{sys.version}|{platform_tag()}".encode())
    for name in AGENT_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            continue
        for folder in spec.submodule_search_locations:
            for path in sorted(Path(folder).rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts:
                    digest.update(str(path.relative_to(folder)).encode() + b"\0")
                    digest.update(path.read_bytes())
    digest.update(ENTRY_SCRIPT.read_bytes())
    # Every distribution frozen into the base, indirect ones included, and the tools freezing it.
    for name in sorted({"pyinstaller", "pyinstaller-hooks-contrib"} | agent_distributions()):
        try:
            digest.update(f"{name}={importlib.metadata.version(name)}\n".encode())
        except importlib.metadata.PackageNotFoundError:
            digest.update(f"{name}=-\n".encode())
    return digest.hexdigest()


def _quick_signature() -> str:
    """What _fingerprint hashes, by names, sizes and times only (no file is read).

    The agent's source files (path, size, modification time), the entry script,
    and the names in every site-packages folder (a distribution installed or
    upgraded renames its dist-info folder). When this is as it was at the last
    check, nothing the fingerprint covers changed, and re-branding skips hashing.
    """
    digest = hashlib.sha256(f"{sys.version}|{platform_tag()}|{sys.executable}".encode())
    for name in AGENT_PACKAGES:
        spec = importlib.util.find_spec(name)
        for folder in (spec.submodule_search_locations or []) if spec else []:
            for path, dirs, files in sorted(os.walk(folder)):
                dirs[:] = sorted(d for d in dirs if d != "__pycache__")
                for file in sorted(files):
                    stat = os.stat(os.path.join(path, file))
                    digest.update(f"{path}/{file}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    stat = ENTRY_SCRIPT.stat()
    digest.update(f"{ENTRY_SCRIPT}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    for entry in sys.path:
        if entry.endswith("-packages") and os.path.isdir(entry):
            digest.update(("\0".join(sorted(os.listdir(entry))) + "\n").encode())
    return digest.hexdigest()


def ensure_base(*, rebuild: bool = False, root: Path | None = None,
                report: Report = lambda line: None) -> Path:
    """The cached base for this agent version and platform, built first if needed."""
    folder = base_dir(root)
    exe = folder / base_file_name()
    info = _read_info(folder)
    quick = _quick_signature()
    if not rebuild and exe.is_file() and info.get("fingerprint"):
        if info.get("quick") == quick:  # nothing changed since the last check: no hashing
            report(f"using the cached base agent {exe}")
            return exe
        fingerprint = _fingerprint()
        if info.get("fingerprint") == fingerprint:
            _write_info(folder, BaseInfo(info, quick=quick))
            report(f"using the cached base agent {exe}")
            return exe
        report("the agent changed since the cached base was built; rebuilding it")
    else:
        fingerprint = _fingerprint()
    exe = build_base(folder, report=report, fingerprint=fingerprint)
    built = _read_info(folder)
    if built.get("fingerprint") == fingerprint:
        _write_info(folder, BaseInfo(built, quick=quick))  # the next re-brand hashes nothing
    return exe


def _write_info(folder: Path, info: BaseInfo) -> None:
    """Write base.json whole (a temporary file renamed)."""
    tmp_info = folder / "base.json.partial"
    tmp_info.write_text(json.dumps(info, indent=2) + "\n", "utf-8")
    os.replace(tmp_info, folder / "base.json")


def _read_info(folder: Path) -> BaseInfo:
    try:
        return BaseInfo(json.loads((folder / "base.json").read_text("utf-8")))
    except (OSError, ValueError):
        return BaseInfo()


def build_base(folder: Path, *, report: Report = lambda line: None,
               fingerprint: str | None = None) -> Path:
    """Freeze the agent with PyInstaller into *folder* (one file, windowed); returns its path."""
    if importlib.util.find_spec("sosdesk.agent.cli") is None:
        raise BaseBuildError("the agent is not installed here (no sosdesk.agent.cli module): "
                             "run pip install -e . in the sosdesk folder")
    if importlib.util.find_spec("PyInstaller") is None:
        raise BaseBuildError("PyInstaller is not installed: pip install 'sosdesk[build]'")
    folder.mkdir(parents=True, exist_ok=True)
    name = base_file_name()
    imports = hidden_imports()
    modules, distributions = keyring_backends()
    work = Path(tempfile.mkdtemp(prefix=".build-", dir=folder))
    log_path = folder / "build.log"
    command = [
        sys.executable, "-m", "PyInstaller", "--onefile", "--windowed", "--noconfirm", "--noupx",
        "--log-level", "INFO", "--name", Path(name).stem,
        "--distpath", str(work / "dist"), "--workpath", str(work / "work"),
        "--specpath", str(work),
        "--paths", str(stage_sources(work / "src")),
        "--copy-metadata", "sosdesk",
    ]
    for module in imports:
        command += ["--hidden-import", module]
    for distribution in distributions:
        command += ["--copy-metadata", distribution]
    for package in AGENT_PACKAGES:
        command += ["--collect-data", package]
    excluded = [name for name in excluded_modules() if name not in imports] + trimmed_modules()
    for module in excluded:
        command += ["--exclude-module", module]
    if current_os() != "windows":
        # Symbols are most of libpython (23 MB of a pyenv build, 5.7 MB stripped);
        # Windows DLLs carry none and PyInstaller advises against it there.
        command.append("--strip")
    command.append(str(ENTRY_SCRIPT))
    report(f"building the base agent {agent_version()} for {platform_tag()} with PyInstaller "
           "(a minute or two; done once per version) ...")
    started = time.monotonic()
    try:
        _run_with_progress(command, work, log_path, report, started)
        built = work / "dist" / name
        if not built.is_file():
            raise BaseBuildError(f"PyInstaller finished but made no {name}; see {log_path}")
        exe = folder / name
        os.replace(built, exe)
        info = BaseInfo(version=agent_version(), platform=platform_tag(),
                        fingerprint=fingerprint or _fingerprint(),
                        pyinstaller=importlib.metadata.version("pyinstaller"),
                        python=platform.python_version(), hidden_imports=imports, excluded=excluded,
                        metadata=distributions, built_at=int(time.time()),
                        seconds=round(time.monotonic() - started, 1))
        _write_info(folder, info)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(f"base agent built in {time.monotonic() - started:.0f} s: {exe} "
           f"({exe.stat().st_size / 1e6:.1f} MB)")
    return exe


def _run_with_progress(command: list[str], cwd: Path, log_path: Path, report: Report,
                       started: float) -> None:
    """Run PyInstaller, saying every few seconds how long and at which step it is."""
    tail: deque[str] = deque(maxlen=25)
    step = ["starting"]
    with open(log_path, "w", encoding="utf-8") as log:
        process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                   encoding="utf-8", errors="replace")

        def read() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                log.write(line)
                tail.append(line.rstrip())
                # "1234 INFO: Analyzing ..." -> "Analyzing ..."
                found = re.match(r"\s*\d+\s+(INFO|WARNING|ERROR):\s*(.*)", line)
                if found and found.group(1) == "INFO":
                    # Hook lines name their file's full path; the hook's name is enough.
                    step[0] = re.sub(r" from '[^']*'", "", found.group(2))[:90]

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        try:
            while True:
                try:
                    process.wait(timeout=PROGRESS_EVERY)
                    break
                except subprocess.TimeoutExpired:
                    report(f"  ... {time.monotonic() - started:4.0f} s  {step[0]}")
        except BaseException:
            process.kill()
            process.wait()
            raise
        reader.join(timeout=10)
    if process.returncode != 0:
        raise BaseBuildError("PyInstaller failed (exit %d); the end of its log (all of it in %s):\n%s"
                             % (process.returncode, log_path, "\n".join(tail)))
