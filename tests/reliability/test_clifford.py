"""Clifford algebra under bad inputs: metrics that are not ±1/0, shapes that do not broadcast."""

import pytest
import torch

from geomlayers.clifford import CliffordAlgebra
from geomlayers.groups import PseudoOrthogonal


@pytest.mark.parametrize("metric", [(1, 0.5), (1, -0.999), (2, 1), (1, float("nan"))])
def test_metric_entries_other_than_plus_minus_one_or_zero_are_refused(metric):
    with pytest.raises(ValueError, match="metric"):
        CliffordAlgebra.from_metric(metric)


def test_integral_float_metrics_are_read_exactly():
    assert CliffordAlgebra.from_metric((1.0, -1.0, 0.0)) == CliffordAlgebra(1, 1, 1)
    with pytest.raises(TypeError, match="metric"):
        CliffordAlgebra.from_metric((True, 1))


@pytest.mark.parametrize("backend", ["dense", "gather"])
def test_batch_shapes_that_do_not_broadcast_name_both_shapes(backend):
    algebra = CliffordAlgebra(3)
    a, b = torch.randn(2, 3, 8), torch.randn(4, 8)
    for product in (algebra.geometric_product, algebra.outer_product, algebra.inner_product):
        with pytest.raises(ValueError, match=r"\(2, 3, 8\).*\(4, 8\)"):
            product(a, b, backend=backend)


def test_algebra_is_validated_by_its_group_and_exposes_it():
    assert CliffordAlgebra(2, 1, 1).group == PseudoOrthogonal(2, 1, 1)
    assert CliffordAlgebra.from_group(PseudoOrthogonal(1, 3)) == CliffordAlgebra(1, 3)
    for bad in [(-1, 0, 0), (0, 0, 0), (1.0, 0, 0), (True, 0, 0)]:
        with pytest.raises((TypeError, ValueError)) as from_algebra:
            CliffordAlgebra(*bad)
        with pytest.raises((TypeError, ValueError)) as from_group:
            PseudoOrthogonal(*bad)
        assert str(from_algebra.value) == str(from_group.value)


def test_counts_accept_numpy_integers_and_refuse_floats_and_bools():
    import numpy as np

    from geomlayers.nn.clifford import CliffordLinear

    layer = CliffordLinear(PseudoOrthogonal(3), np.int64(2), np.int64(4))
    assert layer.weight.shape == (4, 2, 4)
    for bad in (2.0, True):
        with pytest.raises(TypeError, match="in_channels"):
            CliffordLinear(PseudoOrthogonal(3), bad, 4)
    assert CliffordAlgebra(np.int64(3)) == CliffordAlgebra(3)


@pytest.mark.parametrize("layer_type", ["linear", "product", "silu", "layernorm", "norm"])
def test_input_dtype_other_than_the_layers_names_both(layer_type):
    from geomlayers.nn.clifford import (
        CliffordGeometricProduct,
        CliffordLayerNorm,
        CliffordLinear,
        CliffordNormalization,
        CliffordSiLU,
    )

    group = PseudoOrthogonal(3)
    layer = {"linear": lambda: CliffordLinear(group, 2, 2),
             "product": lambda: CliffordGeometricProduct(group, 2),
             "silu": lambda: CliffordSiLU(group, 2),
             "layernorm": lambda: CliffordLayerNorm(group, 2),
             "norm": lambda: CliffordNormalization(group, 2)}[layer_type]()
    for dtype in (torch.float64, torch.float16):
        with pytest.raises(TypeError, match=rf"{dtype}.*torch.float32"):
            layer(torch.randn(3, 2, 8).to(dtype))
    assert layer(torch.randn(0, 2, 8)).shape == (0, 2, 8)  # an empty batch is fine
