"""The expert console's files, read as text: plain ES modules the browser loads itself.

Every relative import names a file that exists and names it exports; the modules form
no cycle and are all reached from index.html; the safety rule (case data only ever as
text) and the CSP (no inline script) hold; every file is packaged and served. The
browser tests (test_console_*.py) show that it works; test_file_sizes.py keeps each
file at most 400 lines."""

from __future__ import annotations

import re
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import pytest

from conftest import ROOT, LiveServer

STATIC = ROOT / "server_stub" / "static"

# `import {a, b as c} from "./x.js";`, `import * as x from "./x.js";`, `import x from "./x.js";`,
# `export {a} from "./x.js";`, `export * from "./x.js";` (the braces may span lines).
FROM_IMPORT = re.compile(
    r"^[ \t]*(?P<kind>import|export)\s*"
    r"(?P<what>\{[^}]*\}|\*(?:\s+as\s+[\w$]+)?|[\w$]+(?:\s*,\s*\{[^}]*\})?)\s*"
    r"from\s*[\"'](?P<spec>[^\"']+)[\"']", re.M)
BARE_IMPORT = re.compile(r"^[ \t]*import\s*[\"'](?P<spec>[^\"']+)[\"']", re.M)
DYNAMIC_IMPORT = re.compile(r"\bimport\s*\(\s*[\"'](?P<spec>[^\"']+)[\"']")
EXPORTED = re.compile(r"^export\s+(?:async\s+)?(?:function\*?|const|let|var|class)\s+([\w$]+)", re.M)
EXPORT_LIST = re.compile(r"^export\s*\{([^}]*)\}", re.M)
# Ways to turn a string into markup: none may appear (the safety rule).
HTML_SINKS = re.compile(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|DOMParser"
                        r"|createContextualFragment|srcdoc|\beval\s*\(|new\s+Function\b")


def js_files() -> list[Path]:
    return sorted(STATIC.glob("*.js")) + sorted(STATIC.glob("*/**/*.js"))


def imports(text: str) -> list[tuple[str, list[str]]]:
    """(specifier, imported names) of each static or dynamic import in a module's text."""
    found = []
    for match in FROM_IMPORT.finditer(text):
        found.append((match["spec"], imported_names(match["what"])))
    found += [(match["spec"], []) for match in BARE_IMPORT.finditer(text)]
    found += [(match["spec"], []) for match in DYNAMIC_IMPORT.finditer(text)]
    return found


def imported_names(what: str) -> list[str]:
    """The names a module must export for this import clause ('default' for a default import)."""
    if what.startswith("*"):
        return []
    names = []
    default, _, braces = what.partition("{") if not what.startswith("{") else ("", "", what[1:])
    if default.strip(" \t\n,"):
        names.append("default")
    for item in braces.rstrip("}").split(","):
        item = item.strip()
        if item:
            names.append(item.split()[0])
    return names


def exports(text: str) -> set[str]:
    names = set(EXPORTED.findall(text))
    for group in EXPORT_LIST.findall(text):
        names |= {item.split()[-1] for item in (i.strip() for i in group.split(",")) if item}
    if re.search(r"^export\s+default\b", text, re.M):
        names.add("default")
    return names


def resolve(importer: Path, spec: str) -> Path:
    """The file a relative specifier names; only ./ and ../ inside static/ are allowed."""
    assert spec.startswith(("./", "../")), \
        f"{importer.name} imports {spec!r}: only relative files of static/ (nothing from the internet)"
    assert spec.endswith(".js"), f"{importer.name} imports {spec!r}: the browser needs the .js"
    target = (importer.parent / spec).resolve()
    assert target.is_relative_to(STATIC.resolve()), f"{importer.name} imports {spec!r} from outside static/"
    return target


def import_graph() -> dict[Path, list[Path]]:
    graph = {}
    for path in js_files():
        graph[path.resolve()] = [resolve(path, spec) for spec, _ in imports(path.read_text())]
    return graph


def entry_points() -> list[Path]:
    html = (STATIC / "index.html").read_text()
    sources = re.findall(r"<script\b[^>]*\bsrc=\"/static/([^\"]+)\"", html)
    assert sources, "index.html loads no script"
    return [(STATIC / source).resolve() for source in sources]


# -- unit: the parser itself --------------------------------------------------------------

def test_the_import_parser_reads_every_form() -> None:
    text = '''import { a, b as c,
  d } from "./one.js";
import x, { y } from './two.js';
import * as z from "./three.js";
import "./four.js";
export { e } from "./five.js";
export function notAnImport() { return "from ./six.js"; }
const later = () => import("./seven.js");
'''
    assert imports(text) == [("./one.js", ["a", "b", "d"]), ("./two.js", ["default", "y"]),
                             ("./three.js", []), ("./five.js", ["e"]), ("./four.js", []),
                             ("./seven.js", [])]
    assert exports("export const $ = 1;\nexport async function go() {}\nexport { p, q as r };\n") == \
        {"$", "go", "p", "r"}


# -- the console's files ----------------------------------------------------------------------

def test_every_imported_module_exists_and_exports_what_is_imported() -> None:
    problems = []
    for path in js_files():
        for spec, names in imports(path.read_text()):
            target = resolve(path, spec)
            if not target.is_file():
                problems.append(f"{path.name} imports {spec}, which does not exist")
                continue
            missing = sorted(set(names) - exports(target.read_text()))
            if missing:
                problems.append(f"{path.name} imports {missing} from {spec}, which does not export them")
    assert not problems, problems


def test_the_modules_form_no_cycle() -> None:
    graph = import_graph()
    done: set[Path] = set()

    def visit(node: Path, trail: list[Path]) -> None:
        if node in trail:
            cycle = trail[trail.index(node):] + [node]
            pytest.fail("import cycle: " + " -> ".join(p.name for p in cycle))
        if node in done:
            return
        for target in graph.get(node, []):
            visit(target, trail + [node])
        done.add(node)

    for node in graph:
        visit(node, [])


def test_every_module_is_reached_from_index_html() -> None:
    graph = import_graph()
    reached: set[Path] = set()
    todo = entry_points()
    while todo:
        node = todo.pop()
        assert node.is_file(), f"index.html or an import names {node.name}, which does not exist"
        if node not in reached:
            reached.add(node)
            todo += graph.get(node, [])
    unused = sorted(path.name for path in graph if path not in reached)
    assert not unused, f"no page loads these: {unused}"


def test_case_data_is_never_turned_into_markup() -> None:
    sinks = {path.name: sorted(set(HTML_SINKS.findall(path.read_text()))) for path in js_files()}
    assert not {name: found for name, found in sinks.items() if found}


def test_index_html_has_no_inline_script_for_the_csp() -> None:
    html = (STATIC / "index.html").read_text()
    for tag, body in re.findall(r"(<script\b[^>]*>)(.*?)</script>", html, re.S):
        assert "src=" in tag and not body.strip(), f"inline script: {tag}{body[:60]}"
    assert not re.search(r"\son[a-z]+\s*=", html), "inline event handler attribute"
    assert not re.search(r"(?:src|href)=\"(?:https?:)?//", html), "something loaded from another site"


def test_english_and_german_have_the_same_texts() -> None:
    keys = {}
    for name in ("texts-en.js", "texts-de.js"):
        text = (STATIC / name).read_text()
        keys[name] = re.findall(r'^  "([^"]+)":', text, re.M)
        assert len(keys[name]) == len(set(keys[name])), f"{name} has a key twice"
    assert keys["texts-en.js"], "no texts found: wrong format?"
    assert set(keys["texts-en.js"]) == set(keys["texts-de.js"]), \
        set(keys["texts-en.js"]) ^ set(keys["texts-de.js"])
    used = set()
    for path in js_files():
        used |= set(re.findall(r'\bt\("([\w.]+)"', path.read_text()))
    used |= set(re.findall(r'data-i18n(?:-[a-z-]+)?="([\w.]+)"', (STATIC / "index.html").read_text()))
    # t("event." + name) and the like are checked by the browser tests, not here.
    missing = sorted(key for key in used if key not in keys["texts-en.js"] and not key.endswith("."))
    assert not missing, f"used but not written: {missing}"


def test_every_static_file_is_packaged() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    globs = config["tool"]["setuptools"]["package-data"]["sosdesk.server_stub.static"]
    files = [path.relative_to(STATIC).as_posix() for path in STATIC.rglob("*") if path.is_file()]
    left_out = [name for name in files if not any(fnmatch(name, glob) and ("/" in name) == ("/" in glob)
                                                  for glob in globs)]
    assert not left_out, f"pyproject.toml's package-data leaves out {left_out}"


def test_every_module_is_served_as_javascript(live_server: LiveServer) -> None:
    for path in js_files():
        name = path.relative_to(STATIC).as_posix()
        response = live_server.api("GET", f"/static/{name}", token=None)
        assert response.status_code == 200, f"/static/{name}: {response.status_code} {response.text[:100]}"
        assert response.headers["Content-Type"].startswith("text/javascript"), name
        assert response.content == path.read_bytes()
