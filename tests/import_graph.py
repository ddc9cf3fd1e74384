"""The import graph of sosdesk's packages, read from their source with ``ast``.

Every module under the folders that pyproject.toml maps into ``sosdesk``
(common/, agent/, installer/, builder/, server_stub/) is read with ``ast``, not
imported, and every import in it counts, wherever it stands:

- ``import x`` and ``from x import y`` at the top, inside functions (lazy
  imports), under ``try`` and under ``if TYPE_CHECKING``; relative names are
  resolved; ``from package import name`` points at the submodule when *name*
  is one, else at the package;
- ``importlib.import_module(NAME, __package__)`` (and ``__import__``) with a
  constant string, or with ``TABLE[key]`` where TABLE is a module-level dict of
  constant strings (the installer's per-OS backends, the builder's lazy
  names): then every value of the table counts. Any other dynamic import fails
  the test, because the graph could not see where it leads.

Imports under ``if TYPE_CHECKING`` count too. They do not run, but they say
"this module is written against that one": a window that names the
application's ``Agent`` in its signatures depends on the application, and if
the application also named the window, neither could be read, changed or
moved without the other. Type-only cycles are also where runtime cycles
start (the next change makes the import real). So there is no exemption.

An import of a submodule does not count as an import of its parent package
(``sosdesk.agent.cli`` is not a dependency of ``sosdesk.agent``'s
``__init__``): Python runs the parent first, but counting that would make
every package that re-exports its submodules a cycle with each of them.

tests/test_architecture.py tests the graph (no cycle, a stdlib-only server, a leaf
common) and prints it. Standard library only.
"""

from __future__ import annotations

import ast
import dataclasses
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NAMESPACE = "sosdesk"


@dataclasses.dataclass(frozen=True)
class Import:
    """One import in one module: what it names and where it stands."""

    target: str  # the full module name, e.g. sosdesk.agent.flow or PIL.Image
    path: Path
    line: int

    def where(self) -> str:
        """``agent/cli.py:12``, for messages."""
        try:
            return f"{self.path.relative_to(ROOT)}:{self.line}"
        except ValueError:
            return f"{self.path}:{self.line}"


@dataclasses.dataclass
class Graph:
    """The modules of the mapped folders and the imports of each."""

    files: dict[str, Path]  # module name -> file
    imports: dict[str, list[Import]]  # module name -> its imports (internal and external)
    problems: list[str]  # dynamic imports that cannot be resolved, unknown internal modules

    def internal(self, module: str) -> list[Import]:
        """The imports of *module* that name one of our own modules (self-imports left out)."""
        return [i for i in self.imports[module] if i.target in self.files and i.target != module]

    def external(self, module: str) -> list[Import]:
        """The imports of *module* that name no module of ours."""
        return [i for i in self.imports[module] if not is_ours(i.target)]

    def module_edges(self) -> dict[str, dict[str, list[Import]]]:
        """module -> imported module -> the imports making that edge."""
        edges: dict[str, dict[str, list[Import]]] = {m: {} for m in self.files}
        for module in self.files:
            for found in self.internal(module):
                edges[module].setdefault(found.target, []).append(found)
        return edges

    def package_edges(self) -> dict[str, dict[str, list[Import]]]:
        """Top package (sosdesk.agent) -> top package it imports -> the imports making that edge."""
        edges: dict[str, dict[str, list[Import]]] = {package_of(m): {} for m in self.files}
        for module in self.files:
            for found in self.internal(module):
                if package_of(found.target) != package_of(module):
                    edges[package_of(module)].setdefault(package_of(found.target), []).append(found)
        return edges

    def closure(self, start: list[str]) -> set[str]:
        """Every module of ours that importing *start* may run, *start* included."""
        seen, todo = set(), list(start)
        while todo:
            module = todo.pop()
            if module not in seen:
                seen.add(module)
                todo += [i.target for i in self.internal(module)]
        return seen


def is_ours(name: str) -> bool:
    """Whether *name* is sosdesk or one of its modules."""
    return name == NAMESPACE or name.startswith(NAMESPACE + ".")


def package_of(module: str) -> str:
    """The top package a module belongs to: ``sosdesk.agent`` for ``sosdesk.agent.cli``."""
    return ".".join(module.split(".")[:2])


# -- reading -----------------------------------------------------------------

def mapped_folders(root: Path = ROOT) -> dict[str, Path]:
    """Package name -> folder, from pyproject.toml's setuptools package-dir."""
    with open(root / "pyproject.toml", "rb") as f:
        mapping = tomllib.load(f)["tool"]["setuptools"]["package-dir"]
    return {package: root / folder for package, folder in mapping.items()}


def modules_in(folders: dict[str, Path]) -> dict[str, Path]:
    """Module name -> file for every .py file under the mapped folders."""
    files = {}
    for package, folder in folders.items():
        for path in sorted(folder.rglob("*.py")):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            files[".".join([package, *parts])] = path
    return files


def read_graph(folders: dict[str, Path]) -> Graph:
    """The import graph of every module under *folders* (package name -> folder)."""
    files = modules_in(folders)
    graph = Graph(files, {}, [])
    for module, path in files.items():
        graph.imports[module] = _imports_of(module, path, files, graph.problems)
    return graph


def _resolve(name: str, level: int, package: str) -> str:
    """The absolute module name of ``from <level dots><name> import ...`` inside *package*."""
    if level == 0:
        return name
    parts = package.split(".")
    base = parts[:len(parts) - (level - 1)]
    return ".".join(base + ([name] if name else []))


def _imports_of(module: str, path: Path, files: dict[str, Path], problems: list[str]) -> list[Import]:
    tree = ast.parse(path.read_bytes(), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tables = _constant_tables(tree)
    found: list[Import] = []

    def add(target: str, node: ast.AST) -> None:
        item = Import(target, path, getattr(node, "lineno", 0))
        if is_ours(target) and target not in files:
            problems.append(f"{item.where()}: imports {target}, which is not a module here")
        found.append(item)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name, node)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(node.module or "", node.level, package)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                add(submodule if submodule in files else base, node)
        elif isinstance(node, ast.Call) and _is_dynamic_import(node.func):
            names = _dynamic_names(node, tables)
            if names is None:
                problems.append(f"{Import(module, path, node.lineno).where()}: a dynamic import the "
                                f"graph cannot follow ({ast.unparse(node)}); name the module as a "
                                "constant, or import it explicitly")
                continue
            relative_to = _dynamic_package(node, package)
            for name in names:
                level = len(name) - len(name.lstrip("."))
                if level and relative_to is None:
                    problems.append(f"{Import(module, path, node.lineno).where()}: relative dynamic "
                                    f"import without a known package ({ast.unparse(node)})")
                    continue
                add(_resolve(name[level:], level, relative_to or ""), node)
    return found


def _is_dynamic_import(func: ast.expr) -> bool:
    if isinstance(func, ast.Attribute):
        return (func.attr == "import_module" and isinstance(func.value, ast.Name)
                and func.value.id == "importlib")
    return isinstance(func, ast.Name) and func.id in ("import_module", "__import__")


def _constant_tables(tree: ast.Module) -> dict[str, list[str]]:
    """Module-level ``NAME = {key: "constant", ...}`` dicts: name -> their values."""
    tables = {}
    for node in tree.body:
        targets = (node.targets if isinstance(node, ast.Assign)
                   else [node.target] if isinstance(node, ast.AnnAssign) and node.value else [])
        value = node.value if isinstance(node, (ast.Assign, ast.AnnAssign)) else None
        if isinstance(value, ast.Dict) and all(
                isinstance(v, ast.Constant) and isinstance(v.value, str) for v in value.values):
            for target in targets:
                if isinstance(target, ast.Name):
                    tables[target.id] = [v.value for v in value.values]  # type: ignore[union-attr]
    return tables


def _dynamic_names(call: ast.Call, tables: dict[str, list[str]]) -> list[str] | None:
    """The module names an import_module call may import, or None when they cannot be known."""
    if not call.args:
        return None
    first = call.args[0]
    if isinstance(first, ast.Constant) and isinstance(first.value, str):
        return [first.value]
    if isinstance(first, ast.Subscript) and isinstance(first.value, ast.Name) and first.value.id in tables:
        return tables[first.value.id]
    return None


def _dynamic_package(call: ast.Call, package: str) -> str | None:
    """The package an import_module call resolves relative names against."""
    given = call.args[1] if len(call.args) > 1 else next(
        (k.value for k in call.keywords if k.arg == "package"), None)
    if given is None:
        return None
    if isinstance(given, ast.Name) and given.id in ("__package__", "__name__"):
        return package  # __name__ only names the package inside an __init__, where they agree
    if isinstance(given, ast.Constant) and isinstance(given.value, str):
        return given.value
    return None


# -- cycles ------------------------------------------------------------------

def find_cycles(edges: dict[str, dict[str, list[Import]]]) -> list[list[str]]:
    """One cycle (a list of nodes, first == last) for each group of nodes that reach each other."""
    cycles = []
    for group in _strongly_connected(edges):
        if len(group) > 1:
            cycles.append(_cycle_within(sorted(group)[0], group, edges))
    return sorted(cycles)


def _strongly_connected(edges: dict[str, dict[str, list[Import]]]) -> list[set[str]]:
    """Tarjan's strongly connected components, iteratively (no recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, {}))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(edges.get(successor, {})))))
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.add(member)
                        if member == node:
                            break
                    groups.append(group)
    return groups


def _cycle_within(start: str, group: set[str], edges: dict[str, dict[str, list[Import]]]) -> list[str]:
    """The shortest path from *start* back to itself inside *group* (breadth first)."""
    came_from: dict[str, str] = {}
    todo = [start]
    while todo:
        node = todo.pop(0)
        for successor in sorted(edges.get(node, {})):
            if successor not in group or successor in came_from:
                continue
            came_from[successor] = node
            if successor == start:
                path = [start]
                while True:
                    path.append(came_from[path[-1]])
                    if path[-1] == start:
                        return path[::-1]
            todo.append(successor)
    raise AssertionError(f"no cycle through {start} in {sorted(group)}")


def describe(cycle: list[str], edges: dict[str, dict[str, list[Import]]]) -> str:
    """A cycle as ``a -> b -> a``, each step with the imports that make it."""
    steps = []
    for source, target in zip(cycle, cycle[1:]):
        where = ", ".join(list(dict.fromkeys(i.where() for i in edges[source][target]))[:3])
        steps.append(f"  {source} -> {target}   ({where})")
    return " -> ".join(cycle) + "\n" + "\n".join(steps)


# -- drawing -----------------------------------------------------------------

def mermaid(edges: dict[str, dict[str, list[Import]]]) -> str:
    """A Mermaid flowchart of *edges*: one arrow from each node to each node it imports."""
    def node(name: str) -> str:
        return name.removeprefix(NAMESPACE + ".").replace(".", "_")

    lines = ["```mermaid", "flowchart TD"]
    lines += [f'    {node(name)}["{name}"]' for name in sorted(edges)]
    lines += [f"    {node(source)} --> {node(target)}"
              for source in sorted(edges) for target in sorted(edges[source])]
    return "\n".join(lines + ["```"]) + "\n"
