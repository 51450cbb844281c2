"""Layering of the diagram and basis packages: diagrams import no executor and no plotting cycle.

The import graph is read from the source (function-local imports included), as in
docs/architecture.md: groups → diagrams → ops → bases.
"""

import ast
from pathlib import Path

import geomlayers

PACKAGE = Path(geomlayers.__file__).parent


def _imports(path: Path) -> set[str]:
    """Every ``geomlayers...`` module named by an import statement anywhere in ``path``."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return {name for name in names if name.startswith("geomlayers")}


def test_diagrams_import_no_executor_basis_or_layer():
    for path in sorted((PACKAGE / "diagrams").glob("*.py")):
        upward = {name for name in _imports(path)
                  if _subpackage(name) in {"ops", "bases", "nn", "models", "integrations"}}
        assert not upward, f"{path.name} imports {sorted(upward)}"


def _subpackage(module: str) -> str:
    """``"geomlayers.ops.layer"`` -> ``"ops"``; ``"geomlayers"`` itself -> ``""``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_plot_is_a_leaf():
    """The diagram classes may import plotting because plotting imports no diagram class."""
    assert _imports(PACKAGE / "diagrams" / "plot.py") == set()


def test_ops_imports_no_basis():
    for path in sorted((PACKAGE / "ops").rglob("*.py")):
        upward = {name for name in _imports(path) if _subpackage(name) in {"bases", "nn"}}
        assert not upward, f"{path.relative_to(PACKAGE)} imports {sorted(upward)}"
