"""Sphinx configuration for the geomlayers documentation.

Build (warnings are errors): ``make docs`` or
``python -m sphinx -W --keep-going -b html docs docs/_build/html``.
"""

from __future__ import annotations

import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import make_figures  # noqa: E402  (docs/make_figures.py)

# the diagram pictures of diagrams.md are drawn from the current code on every build
make_figures.main()

project = "geomlayers"
author = "geomlayers developers"
copyright = "2026, geomlayers developers"  # noqa: A001

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "notes"]  # notes: dated lab notes
templates_path = ["_templates"]
html_theme = "alabaster"

# -- autodoc / autosummary / napoleon ---------------------------------------------------
autosummary_generate = True
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_mock_imports: list[str] = []
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
napoleon_use_ivar = True  # "Attributes:" as fields: no duplicate NamedTuple field entries

# -- MyST ---------------------------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "colon_fence"]
myst_heading_anchors = 3


def _skip_sklearn_routing(app, what, name, obj, skip, options):
    """Skip scikit-learn's generated ``set_*_request`` methods.

    Their docstrings cite scikit-learn's own glossary, which does not exist here.
    """
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def setup(app):
    """Sphinx hook: register the skip rule."""
    app.connect("autodoc-skip-member", _skip_sklearn_routing)
