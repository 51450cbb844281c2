"""GLGENN on the O(5) regression task of CGENN/GLGENN, with an O(5)-invariance check.

Run: python examples/glgenn_o5_regression.py [--steps 2000 --train 1000]   (defaults: ~10 s)

Target (Ruhe et al. 2023, §5.1; Filimoshina & Shirokov 2025, §5):
``f(x_1, x_2) = sin(‖x_1‖) - ‖x_2‖³/2 + x_1·x_2 / (‖x_1‖‖x_2‖)`` for ``x_1, x_2 ∈ R^5``.
:class:`geomlayers.models.O5RegressionNet` (``kind="glgenn"``: QTLinear + QTGP in Cl(5),
608 Clifford parameters) is trained on standardised data; we report the test MSE against the
variance of the target (the MSE of predicting the mean) and check invariance under O(5).
"""

import argparse
import os

import torch

from geomlayers.clifford.datasets import o5_regression, vector_scales
from geomlayers.groups import OrthogonalGroup
from geomlayers.models import O5RegressionNet


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=int(os.environ.get("GLGENN_O5_STEPS", 300)))
    parser.add_argument("--train", type=int, default=1000)
    parser.add_argument("--test", type=int, default=1000)
    args, _ = parser.parse_known_args(argv)  # tolerant: the test suite runs it via runpy
    torch.set_num_threads(1)
    torch.manual_seed(0)
    x, y = o5_regression(args.train, seed=0)
    xt, yt = o5_regression(args.test, seed=1)
    scale = vector_scales(x).reshape(1, -1, 1)  # one scale per input vector: O(5)-equivariant
    mean, std = y.mean(), y.std()
    x, xt = x / scale, xt / scale
    y, yt = (y - mean) / std, (yt - mean) / std
    model = O5RegressionNet("glgenn", mlp_width=64, dtype=torch.float64)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(args.steps):
        idx = torch.randint(0, len(x), (32,))
        loss = (model(x[idx]) - y[idx]).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        mse = float((model(xt) - yt).square().mean())
        g = OrthogonalGroup(5).sample(len(xt), generator=0)  # (N, 5, 5), any determinant
        moved = model(xt @ g.transpose(1, 2))
        error = float((moved - model(xt)).abs().max())
    print(f"GLGENN O(5) regression: {model.clifford_parameters()} Clifford parameters, "
          f"{args.steps} steps")
    print(f"test MSE (standardised) {mse:.3f} vs 1.0 for predicting the mean; "
          f"O(5) invariance error {error:.1e}")
    assert error < 1e-10, f"not O(5)-invariant: {error:.2e}"
    assert mse < 0.5, f"test MSE {mse:.3f} did not clearly beat the mean predictor"


if __name__ == "__main__":
    main()
