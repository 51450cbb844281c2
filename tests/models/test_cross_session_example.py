"""``examples/cross_session.py``: per-subject re-centring and its transfer loop on a tiny subset."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

try:  # the `spd` extra (pyRiemann, scikit-learn): without it this module is skipped
    import pyriemann  # noqa: F401
    import sklearn  # noqa: F401
except ModuleNotFoundError as error:
    pytest.skip(f"needs {error.name}: pip install 'geomlayers[spd]'", allow_module_level=True)

from pyriemann.utils.mean import mean_riemann

pytestmark = pytest.mark.usefixtures("one_thread")
EXAMPLE = Path(__file__).parents[2] / "examples" / "cross_session.py"


def example():
    spec = importlib.util.spec_from_file_location("cross_session", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_recentring_puts_each_subject_at_the_identity():
    """Independent truth: pyRiemann's Riemannian mean of each re-centred group is I."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((30, 4, 12))
    x = a @ np.swapaxes(a, 1, 2) / 12
    groups = np.repeat([3, 7, 9], 10)
    x[groups == 7] *= 1e3  # a subject with a different gain
    z = example().recentre_per_group(x, groups)
    for g in (3, 7, 9):
        np.testing.assert_allclose(mean_riemann(z[groups == g]), np.eye(4), atol=1e-6)


def test_transfer_runs_on_a_tiny_mamem_subset(shared_data):
    ex = example()
    x, y, groups = ex.load_subjects([1, 2, 3], trials=20)
    assert x.shape == (60, 40, 40) and set(np.unique(groups)) == {1, 2, 3}
    out = ex.transfer(x, y, groups, test_subject=2, max_epochs=1)
    accuracies = {k: v for k, v in out.items() if not k.endswith("(s)")}
    assert set(accuracies) == {"MDM", "TS+LR", "MDM + re-centring", "TS+LR + re-centring",
                               "SPDNetClassifier", "SPDNetClassifier + groups + adapt"}
    assert all(0.0 <= v <= 1.0 for v in accuracies.values())
