"""Shared fixtures of the test suite, and the import path that makes it run from any folder.

The tests import their shared helpers as ``tests.helpers`` (or ``helpers``); both resolve from
any working directory because this file puts the repository root and ``tests/`` on
``sys.path`` before any test module is collected (``pytest /abs/path/tests/test_x.py`` from
``/`` works). The repository root comes first, so the suite always tests the checkout it lives
in.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for _folder in (ROOT / "tests", ROOT):  # ROOT ends up first
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))

import pytest  # noqa: E402
import torch  # noqa: E402

from geomlayers.data_dir import data_dir  # noqa: E402


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
