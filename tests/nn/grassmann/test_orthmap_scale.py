"""OrthMap's backward follows the input's scale: ``∇L(c·S) = ∇L(S)/c`` for a span-only loss."""

import pytest
import torch

from geomlayers.nn.grassmann.layers import orthmap

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("c", [1e-12, 1e-6, 1e6, 1e12])
def test_orthmap_gradient_scales_inversely(c):
    g = torch.Generator().manual_seed(0)
    a = torch.randn(2, 5, 5, generator=g, dtype=torch.float64)
    s = a @ a.mT
    w = torch.randn(5, 2, generator=g, dtype=torch.float64)

    def grad(x):
        x = x.clone().requires_grad_()
        u = orthmap(x, 2)
        ((u @ u.mT) * (w @ w.mT)).sum().backward()  # depends on the span only
        return x.grad

    torch.testing.assert_close(grad(s * c) * c, grad(s), rtol=1e-7, atol=1e-10)
