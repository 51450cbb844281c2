"""Clifford layers in one minute: the algebra, a Lorentz-equivariant GLGENN block, O(5) models.

Run: .venv/bin/python examples/clifford_quickstart.py
"""

import torch
from torch import nn

from geomlayers.clifford import CliffordAlgebra, OutermorphismGroup
from geomlayers.clifford.datasets import o5_regression, vector_scales
from geomlayers.groups.pseudo_orthogonal import PseudoOrthogonal
from geomlayers.models import O5RegressionNet
from geomlayers.nn.clifford import (
    CliffordGeometricProduct,
    CliffordLinear,
    CliffordSiLU,
)
from geomlayers.testing import assert_equivariant


def main() -> None:
    torch.manual_seed(0)

    # 1. Spacetime algebra Cl(1,3): e1² = +1, e2² = e3² = e4² = -1.
    cl = CliffordAlgebra(1, 3)
    e1, e2 = cl.basis_vector(0), cl.basis_vector(1)
    print(cl, "blades:", cl.blade_names[:6], "...")
    product = cl.geometric_product(e1, e2)
    print("e1 e2 =", float(product[cl.blade_names.index("e12")]), "e12")

    # 2. A GLGENN block (weights shared over the 4 quaternion types), checked under Lorentz maps.
    block = nn.Sequential(
        CliffordLinear(cl, 3, 8, subspaces="type", bias=False),
        CliffordSiLU(cl, 8, subspaces="type"),
        CliffordGeometricProduct(cl, 8, subspaces="type", first_order=False),
    ).double()
    errors = assert_equivariant(block, OutermorphismGroup(PseudoOrthogonal(1, 3)), in_order=1,
                                out_order=1, batch_shape=(4, 3))
    print(f"O(1,3) equivariance error of the block: {errors[0]:.1e}")

    # 3. The O(5) regression models of the papers, and a few training steps.
    x, y = o5_regression(512, seed=0)
    x = (x / vector_scales(x).reshape(1, -1, 1)).float()
    y = ((y - y.mean()) / y.std()).float()
    for kind in ("glgenn", "cgenn"):
        model = O5RegressionNet(kind, mlp_width=64)
        opt = torch.optim.Adam(model.parameters(), lr=3e-3)
        for _ in range(60):
            idx = torch.randint(0, len(x), (32,))
            loss = (model(x[idx]) - y[idx]).square().mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            final = (model(x) - y).square().mean()
        print(f"{kind}: Clifford block {model.clifford_parameters()} parameters, "
              f"train MSE (standardised) after 60 steps {float(final):.3f}")


if __name__ == "__main__":
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: one thread is fastest
    try:
        main()
    finally:
        torch.set_num_threads(threads)
