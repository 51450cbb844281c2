"""Symmetric matrix functions with eigenvalue-stable gradients: the library's one home for them.

Every function here takes a batch of symmetric matrices ``(..., n, n)`` and works through one
batched ``torch.linalg.eigh``.  The backward pass is the Daleckii–Krein formula

    ∂ℓ/∂X = U (L ∘ (Uᵀ sym(∂ℓ/∂F) U)) Uᵀ,   L_ij = (f(σ_i) − f(σ_j)) / (σ_i − σ_j),

with the divided difference replaced by the derivative ``f'`` at the midpoint when two
eigenvalues are (nearly) equal (Daleckii & Krein 1965; Ionescu, Vantzos & Sminchisescu,
"Matrix backpropagation for deep networks with structured layers", ICCV 2015, §4; Brooks et al.,
NeurIPS 2019, §3).  It stays finite for exactly repeated eigenvalues, where the textbook
``1/(σ_i − σ_j)`` eigenvector gradient is infinite.

:func:`eig_kernel_apply` covers the other operator that SPD geometry needs: ``W ↦ U (K ∘ UᵀWU) Uᵀ``
with a kernel ``K_ij = k(σ_i, σ_j)`` of the eigenvalues of a matrix ``P`` (the Lyapunov solve of the
Bures–Wasserstein metric, its closed-form transports, the differentials of ``log``/``exp``/powers).
Its gradient with respect to ``P`` uses first divided differences of ``k`` (second-order
Daleckii–Krein), again with the derivative on (near-)ties.

All thresholds live in one object, :data:`config` (a :class:`SpectralConfig`), per dtype.

>>> import torch
>>> x = torch.tensor([[2.0, 1.0], [1.0, 2.0]], dtype=torch.float64)
>>> torch.allclose(sqrtm(x) @ sqrtm(x), x)
True
>>> torch.allclose(expm(logm(x)), x)
True
"""

from geomlayers.linalg.checks import (
    EigenvalueFloorWarning,
    NonFiniteError,
    SpectralConfig,
    check_finite,
    check_spd,
    check_symmetric,
    config,
    sym,
)
from geomlayers.linalg.kernels import (
    Kernel,
    LoewnerKernel,
    SumPowerKernel,
    eig_kernel_apply,
    lyapunov,
)
from geomlayers.linalg.spectral import (
    clampm,
    expm,
    floorm,
    invsqrtm,
    logm,
    powm,
    spectral_apply,
    spectral_fn,
    sqrtm,
)

__all__ = [
    "SpectralConfig",
    "config",
    "sym",
    "sqrtm",
    "invsqrtm",
    "logm",
    "expm",
    "powm",
    "clampm",
    "spectral_apply",
    "spectral_fn",
    "eig_kernel_apply",
    "lyapunov",
    "Kernel",
    "SumPowerKernel",
    "LoewnerKernel",
    "check_spd",
    "check_symmetric",
    "check_finite",
    "floorm",
    "EigenvalueFloorWarning",
    "NonFiniteError",
]
