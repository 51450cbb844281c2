"""pytest setup for the whole checkout (``--doctest-modules`` collects ``geomlayers/`` too).

The bridges to optional packages live in ``geomlayers/integrations/<name>`` (and the
``geomlayers/pyg.py`` alias); without the package their doctests cannot even be imported, so
they are not collected, and the report header says which extra would add them. The test
fixtures are in ``tests/conftest.py``.
"""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent

#: path prefix (relative to the checkout) -> (package it imports, extra that installs it)
OPTIONAL_CODE = {
    "geomlayers/integrations/pyg": ("torch_geometric", "graphs"),
    "geomlayers/pyg.py": ("torch_geometric", "graphs"),
    "geomlayers/integrations/sklearn": ("sklearn", "spd"),
    "geomlayers/integrations/escnn": ("escnn", "escnn"),
}


def _absent(package: str) -> bool:
    return importlib.util.find_spec(package) is None


def pytest_ignore_collect(collection_path, config):
    """Do not import the integration modules whose optional package is absent."""
    try:
        relative = collection_path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return None
    for prefix, (package, _) in OPTIONAL_CODE.items():
        if relative.startswith(prefix) and _absent(package):
            return True
    return None


def pytest_report_header(config):
    """Name the integration doctests left out, and the extras that would bring them in."""
    missing = sorted({f"{package} (pip install 'geomlayers[{extra}]')"
                      for package, extra in OPTIONAL_CODE.values() if _absent(package)})
    if missing:
        return "optional packages absent, their integration doctests are not collected: " + (
            ", ".join(missing))
    return None
