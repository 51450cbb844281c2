"""The package's structure: one-way layers, no import cycles, no oversized files.

Every module of ``geomlayers`` is parsed with :mod:`ast` (function-local imports included,
``if TYPE_CHECKING:`` blocks excluded), the import graph is built, and three rules are
checked (``docs/architecture.md``):

(a) no import cycle between modules;
(b) a module imports only from its own layer or layers below it::

        validation, paths, data_dir, progress
        -> groups, linalg
        -> diagrams, manifolds, clifford
        -> ops
        -> bases
        -> nn
        -> data (loaders and synthetic tasks)
        -> models
        -> integrations (and the top-level pyg shim)
        -> cli, demo, eeg_demo, testing, geomlayers/__init__

(c) no file over ``MAX_LINES`` lines.

``KNOWN_VIOLATIONS`` lists the violations that exist today, exactly: the test fails when a
new one appears and also when a listed one disappears (then delete it from the list), so the
list only ever shrinks.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "geomlayers"
MAX_LINES = 600

#: rank of each top-level module or package of geomlayers (lower = more basic)
LAYERS = {
    "validation": 0, "paths": 0, "data_dir": 0, "progress": 0,
    "groups": 1, "linalg": 1,
    "diagrams": 2, "manifolds": 2, "clifford": 2,
    "ops": 3,
    "bases": 4,
    "nn": 5,
    "data": 6,
    "models": 7,
    "integrations": 8, "pyg": 8,
    "cli": 9, "demo": 9, "eeg_demo": 9, "testing": 9, "__init__": 9,
}

#: violations present today (see the module docstring); each is one of
#: "cycle: a, b, ..." (the modules of one strongly connected component, sorted),
#: "layer: importer -> imported", "size: path relative to the repository"
KNOWN_VIOLATIONS: set[str] = set()


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(ROOT.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, module: str, is_package: bool, known: set[str]) -> set[str]:
    """The geomlayers modules ``module`` imports anywhere (function bodies included)."""
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()

    def resolve(name: str) -> str | None:
        # the longest known module that is a prefix of name
        while name and name not in known:
            name = name.rpartition(".")[0]
        return name or None

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "geomlayers":
                    target = resolve(alias.name)
                    if target:
                        found.add(target)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            if prefix.split(".")[0] == "geomlayers":
                for alias in node.names:
                    target = resolve(f"{prefix}.{alias.name}") if prefix in known or \
                        f"{prefix}.{alias.name}" in known else resolve(prefix)
                    if target:
                        found.add(target)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    found.discard(module)
    return found


def import_graph() -> dict[str, set[str]]:
    """``module -> modules it imports`` over every module of geomlayers."""
    modules = _modules()
    known = set(modules)
    graph = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        graph[name] = _imports(tree, name, path.name == "__init__.py", known)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in graph:
                    continue
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(sorted(component))
    return components


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def violations() -> set[str]:
    """Every current violation of the three rules, in the form of ``KNOWN_VIOLATIONS``."""
    graph = import_graph()
    found = {"cycle: " + ", ".join(component) for component in _cycles(graph)}
    for module, targets in graph.items():
        for target in targets:
            if LAYERS[_layer(target)] > LAYERS[_layer(module)]:
                found.add(f"layer: {module} -> {target}")
    for path in sorted(ROOT.rglob("*.py")):
        with path.open(encoding="utf-8") as handle:
            if sum(1 for _ in handle) > MAX_LINES:
                found.add(f"size: {path.relative_to(ROOT.parent)}")
    return found


def test_every_top_level_module_has_a_layer():
    names = {_layer(name) for name in _modules()}
    unknown = sorted(names - set(LAYERS))
    assert not unknown, (
        f"geomlayers/{unknown[0]} has no layer: add it to LAYERS in tests/test_architecture.py "
        "and to docs/architecture.md"
    )


def test_known_violations_are_exact():
    current = violations()
    new = sorted(current - KNOWN_VIOLATIONS)
    fixed = sorted(KNOWN_VIOLATIONS - current)
    message = []
    if new:
        message.append("new violations of the layering (docs/architecture.md):\n  "
                       + "\n  ".join(new))
    if fixed:
        message.append("fixed, so delete from KNOWN_VIOLATIONS:\n  " + "\n  ".join(fixed))
    assert not message, "\n".join(message)


# ------------------------------------------------------------------ the checker itself


def _graph_of(sources: dict[str, str]) -> dict[str, set[str]]:
    known = set(sources)
    return {name: _imports(ast.parse(text), name, name.count(".") == 1, known)
            for name, text in sources.items()}


def test_checker_sees_function_local_and_relative_imports():
    graph = _graph_of({
        "geomlayers.groups": "",
        "geomlayers.groups.base": (
            "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from geomlayers.nn import layer\n"
            "def f():\n    from geomlayers.ops import run\n    return run\n"
            "from . import parse\nfrom .parse import parse_group\n"
        ),
        "geomlayers.groups.parse": "import geomlayers.ops.run\n",
        "geomlayers.ops": "", "geomlayers.ops.run": "", "geomlayers.nn": "",
    })
    # the TYPE_CHECKING import of geomlayers.nn is not a run-time import
    assert graph["geomlayers.groups.base"] == {"geomlayers.ops.run", "geomlayers.groups.parse"}
    assert graph["geomlayers.groups.parse"] == {"geomlayers.ops.run"}


def test_checker_finds_cycles():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert _cycles(graph) == [["a", "b", "c"]]


@pytest.mark.parametrize("module, layer", [("geomlayers", "__init__"),
                                           ("geomlayers.nn.spd", "nn"),
                                           ("geomlayers.paths", "paths")])
def test_layer_of_a_module(module, layer):
    assert _layer(module) == layer
