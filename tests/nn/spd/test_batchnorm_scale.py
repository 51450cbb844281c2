"""SPD batch norm is invariant under ``X ↦ c·X`` for every metric (ε in the variance's units)."""

import warnings

import pytest
import torch

from geomlayers.nn.spd import SPDBatchNorm

pytestmark = pytest.mark.usefixtures("one_thread")
D = torch.float64


@pytest.mark.parametrize("metric", ["aim", "lem", "bw", "gbw"])
def test_batch_norm_output_does_not_depend_on_the_input_scale(metric):
    g = torch.Generator().manual_seed(0)
    a = torch.randn(16, 4, 12, generator=g, dtype=D)
    x = a @ a.mT / 12
    kw = {"scale": True, "momentum": None}  # eval: running statistics = the first batch's
    ref_bn = SPDBatchNorm(4, metric, dtype=D, **kw)
    ref = ref_bn(x)
    ref_bn.eval()
    ref_eval = ref_bn(x[:5])
    for c in (1e-12, 1e-6, 1e6, 1e12):
        bn = SPDBatchNorm(4, metric, dtype=D, **kw)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.testing.assert_close(bn(x * c), ref, rtol=1e-8, atol=1e-10)
            bn.eval()
            torch.testing.assert_close(bn(x[:5] * c), ref_eval, rtol=1e-8, atol=1e-10)
