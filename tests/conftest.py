import os
from pathlib import Path

import pytest
import torch

from geomlayers.data_dir import data_dir


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
    torch.manual_seed(0)
    return 0


@pytest.fixture(params=[torch.float32, torch.float64], ids=["float32", "float64"])
def dtype(request):
    return request.param


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
