"""Shared fixtures of the test suite, and the import path that makes it run from any folder.

The tests import their shared helpers as ``tests.helpers`` (or ``helpers``); both resolve from
any working directory because this file puts the repository root and ``tests/`` on
``sys.path`` before any test module is collected (``pytest /abs/path/tests/test_x.py`` from
``/`` works). The repository root comes first, so the suite always tests the checkout it lives
in.

A test module whose top-level imports need an optional package that is absent (PyG,
scikit-learn, pyRiemann, MNE, escnn, matplotlib; directly or through ``geomlayers.pyg`` /
``geomlayers.integrations``) is reported as skipped, naming the extra to install, instead of
failing collection: the core suite runs without them.
"""

import functools
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for _folder in (ROOT / "tests", ROOT):  # ROOT ends up first
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))

import pytest  # noqa: E402
import torch  # noqa: E402
from helpers import OPTIONAL_IMPORTS, optional_imports  # noqa: E402

from geomlayers.data_dir import data_dir  # noqa: E402


class _NeedsOptionalPackage(pytest.Module):
    """A test module skipped as a whole: a package it imports at top level is absent."""

    reason = ""

    def collect(self):
        pytest.skip(self.reason, allow_module_level=True)


def _top_level_imports(source: str) -> str:
    """The module-level import statements of ``source`` (not those inside try/if/functions)."""
    import ast

    try:
        tree = ast.parse(source)
    except SyntaxError:
        return ""
    return "\n".join(ast.unparse(node) for node in tree.body
                     if isinstance(node, ast.Import | ast.ImportFrom))


@functools.cache
def _absent_optional_package(path: Path) -> str | None:
    """The first optional package that ``path`` imports at top level and that is absent."""
    import importlib.util

    if path.suffix != ".py" or path.name == "conftest.py" or not path.name.startswith("test"):
        return None
    imports = _top_level_imports(path.read_text(encoding="utf-8"))
    return next((p for p in optional_imports(imports) if importlib.util.find_spec(p) is None),
                None)


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makemodule(module_path, parent):
    """Skip (not fail) a test module whose top-level imports need an absent optional package."""
    package = _absent_optional_package(module_path)
    if package is None:
        return None
    module = _NeedsOptionalPackage.from_parent(parent, path=module_path)
    module.reason = (f"{module_path.name} needs {package}: pip install "
                     f"'geomlayers[{OPTIONAL_IMPORTS[package]}]'")
    return module


@pytest.hookimpl(hookwrapper=True)
def pytest_collect_file(file_path, parent):
    """``--doctest-modules`` would import such a module too: leave it to the skip above."""
    outcome = yield
    if _absent_optional_package(file_path) is not None:
        outcome.force_result([c for c in outcome.get_result()
                              if type(c).__name__ != "DoctestModule"])


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory):
    """Bases built by the tests go to a private cache folder, never the user's."""
    folder = tmp_path_factory.mktemp("basis-cache")
    previous = os.environ.get("GEOMLAYERS_CACHE_DIR")
    os.environ["GEOMLAYERS_CACHE_DIR"] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop("GEOMLAYERS_CACHE_DIR", None)
    else:
        os.environ["GEOMLAYERS_CACHE_DIR"] = previous


@pytest.fixture
def seed():
    """Seed torch's global generator with 0 (returned, for tests that seed their own)."""
    torch.manual_seed(0)
    return 0


@pytest.fixture(params=[torch.float32, torch.float64], ids=["float32", "float64"])
def dtype(request):
    """Each layer test runs in float32 and float64 (tolerances: see :func:`tolerance`)."""
    return request.param


def tolerance(dtype: torch.dtype) -> float:
    """Absolute tolerance of an equivariance or reference check in ``dtype``."""
    return 1e-4 if dtype == torch.float32 else 1e-10


@pytest.fixture
def tol(dtype) -> float:
    """The tolerance that goes with the ``dtype`` fixture's current value."""
    return tolerance(dtype)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    folder = data_dir()
    if not folder.is_dir():
        pytest.skip(f"real data folder {folder} is absent (set GEOMLAYERS_DATA_DIR)")
    return folder


@pytest.fixture
def one_thread():
    """Small eigen-problems: intra-op threads only add contention on a shared 2-core machine."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
