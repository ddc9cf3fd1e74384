"""The import graph: no cycle between packages or modules, a stdlib-only server, a leaf
common, and docs/architecture.md drawing the package graph as it is.

tests/import_graph.py reads every import of every module (lazy, type-only and
importlib ones too: its docstring says how). Run this file to print the package
graph as the Mermaid chart docs/architecture.md shows
(``python tests/test_architecture.py``), or ``--modules`` for every module edge.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from import_graph import (ROOT, Graph, Import, describe, find_cycles, is_ours, mapped_folders,
                          mermaid, package_of, read_graph)

SERVER = "sosdesk.server_stub"
COMMON = "sosdesk.common"
#: Modules that, with their parents, may be imported by a stdlib-only part.
STDLIB = frozenset(sys.stdlib_module_names) | {"__future__"}


# -- the tests ---------------------------------------------------------------

@pytest.fixture(scope="module")
def graph() -> Graph:
    return read_graph(mapped_folders())


def test_every_part_is_read(graph: Graph) -> None:
    tops = {package_of(m) for m in graph.files}
    assert tops >= {"sosdesk.common", "sosdesk.agent", "sosdesk.installer", "sosdesk.builder", SERVER}
    assert not graph.problems, "\n".join(graph.problems)


def test_packages_form_no_cycle(graph: Graph) -> None:
    edges = graph.package_edges()
    cycles = find_cycles(edges)
    assert not cycles, "packages import each other:\n" + "\n".join(describe(c, edges) for c in cycles)


def test_modules_form_no_cycle(graph: Graph) -> None:
    edges = graph.module_edges()
    cycles = find_cycles(edges)
    assert not cycles, "modules import each other:\n" + "\n".join(describe(c, edges) for c in cycles)


def test_common_imports_no_other_sosdesk_package(graph: Graph) -> None:
    wrong = [f"{i.where()}: {i.target}" for m in graph.files if package_of(m) == COMMON
             for i in graph.internal(m) if package_of(i.target) != COMMON]
    assert not wrong, "sosdesk.common is shared by every part, so it imports none of them:\n" + "\n".join(wrong)


def _outside(graph: Graph, modules: set[str], allowed_packages: set[str]) -> list[str]:
    """Imports by *modules* of anything but the standard library and *allowed_packages*."""
    wrong = []
    for module in sorted(modules):
        for found in graph.imports[module]:
            if is_ours(found.target):
                if package_of(found.target) not in allowed_packages:
                    wrong.append(f"{found.where()}: {found.target}")
            elif found.target.split(".")[0] not in STDLIB:
                wrong.append(f"{found.where()}: {found.target}")
    return wrong


def test_the_server_imports_only_the_standard_library_and_common(graph: Graph) -> None:
    # Everything the server may run: its own modules and whatever of common they import.
    server = [m for m in graph.files if package_of(m) == SERVER]
    wrong = _outside(graph, graph.closure(server), {SERVER, COMMON})
    assert not wrong, "the server must stay standard-library only:\n" + "\n".join(wrong)


def test_common_itself_is_standard_library_only(graph: Graph) -> None:
    # The package's __init__ runs for every import of common (also the server's);
    # a module of common that needs Pillow is imported by the clients only.
    wrong = _outside(graph, graph.closure([COMMON]), {COMMON})
    assert not wrong, "sosdesk.common's __init__ must need nothing but the standard library:\n" + "\n".join(wrong)


# -- the reader and the cycle finder, on a made-up tree ----------------------

def _tree(tmp_path: Path, files: dict[str, str]) -> Graph:
    for name, source in files.items():
        path = tmp_path / "pkg" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    return read_graph({"sosdesk.pkg": tmp_path / "pkg", "sosdesk.other": tmp_path / "other"})


def test_the_reader_counts_lazy_type_checking_and_importlib_imports(tmp_path: Path) -> None:
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "__init__.py").write_text("")
    graph = _tree(tmp_path, {
        "__init__.py": "from . import a\n",
        "a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .b import B\n",
        "b.py": "def f():\n    from . import c\n",
        "c.py": "import importlib\nimportlib.import_module('.d', __package__)\n",
        "d.py": "import importlib\n_T = {'x': '.e', 'y': 'sosdesk.other'}\n"
                "def g(k):\n    return importlib.import_module(_T[k], __package__)\n",
        "e.py": "from ..pkg import a\nimport PIL.Image\n",
        "f.py": "import importlib\nimportlib.import_module(f'.{name}', __package__)\n",
    })
    assert {m: sorted(i.target for i in graph.internal(m)) for m in graph.files} == {
        "sosdesk.other": [],
        "sosdesk.pkg": ["sosdesk.pkg.a"],
        "sosdesk.pkg.a": ["sosdesk.pkg.b"],
        "sosdesk.pkg.b": ["sosdesk.pkg.c"],
        "sosdesk.pkg.c": ["sosdesk.pkg.d"],
        "sosdesk.pkg.d": ["sosdesk.other", "sosdesk.pkg.e"],
        "sosdesk.pkg.e": ["sosdesk.pkg.a"],
        "sosdesk.pkg.f": [],
    }
    assert [i.target for i in graph.external("sosdesk.pkg.e")] == ["PIL.Image"]
    [problem] = graph.problems
    assert "f.py:2" in problem and "dynamic import" in problem
    edges = graph.module_edges()
    [cycle] = find_cycles(edges)
    assert cycle == ["sosdesk.pkg.a", "sosdesk.pkg.b", "sosdesk.pkg.c", "sosdesk.pkg.d",
                     "sosdesk.pkg.e", "sosdesk.pkg.a"]
    assert "pkg/a.py:3" in describe(cycle, edges)
    assert find_cycles(graph.package_edges()) == []


def test_the_cycle_finder_finds_each_tangle_once() -> None:
    none: list[Import] = []
    edges = {"a": {"b": none}, "b": {"a": none, "c": none}, "c": {}, "d": {"e": none},
             "e": {"f": none}, "f": {"d": none}, "g": {"g": none}}
    assert find_cycles(edges) == [["a", "b", "a"], ["d", "e", "f", "d"]]


# -- the drawing in docs/architecture.md ----------------------------------------

DOC = ROOT / "docs" / "architecture.md"


def test_the_drawing_has_a_node_for_each_package_and_an_arrow_for_each_import() -> None:
    none: list[Import] = []
    edges = {"sosdesk.a": {"sosdesk.b.c": none, "sosdesk.d": none}, "sosdesk.b.c": {}, "sosdesk.d": {}}
    assert mermaid(edges) == """```mermaid
flowchart TD
    a["sosdesk.a"]
    b_c["sosdesk.b.c"]
    d["sosdesk.d"]
    a --> b_c
    a --> d
```
"""


def test_the_architecture_doc_shows_the_package_graph_as_it_is(graph: Graph) -> None:
    drawn = mermaid(graph.package_edges())
    assert drawn in DOC.read_text("utf-8"), (
        "docs/architecture.md's package graph is out of date: run `python tests/test_architecture.py` "
        "and put what it prints in its place:\n" + drawn)


def main(argv: list[str]) -> int:
    """Print the package graph as docs/architecture.md shows it (or, with --modules, every module edge)."""
    graph = read_graph(mapped_folders())
    if "--modules" not in argv:
        print(mermaid(graph.package_edges()), end="")
        return 0
    edges = graph.module_edges()
    for source in sorted(edges):
        targets = sorted(edges[source])
        print(f"{source} -> {', '.join(targets) if targets else '(nothing of ours)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
