"""Numeric bases by null space of the equivariance constraints (any group).

The method of Finzi, Welling & Wilson, "A Practical Method for Constructing Equivariant
Multilayer Perceptrons for Arbitrary Matrix Groups" (ICML 2021, §4): a tensor
``T ∈ (R^n)^{⊗(l+k)}`` (a map ``W = T.reshape(n^l, n^k)``) is equivariant iff for every
discrete generator ``h``: ``ρ_l(h) W ρ_k(h)^{-1} = W`` and for every Lie-algebra generator
``A``: ``dρ_l(A) W - W dρ_k(A) = 0``. We stack these constraints as one symmetric PSD matrix
``Q = Σ CᵀC`` and take its null space with a dense eigensolver. Groups with neither
generators nor a Lie algebra are constrained by random samples instead.

This is our independent oracle for the diagram bases; it costs ``O(n^{3(k+l)})``.
"""

from __future__ import annotations

import scipy.linalg
import torch

from geomlayers.bases.basis import Basis
from geomlayers.groups.base import Group

__all__ = ["numeric_basis", "DEFAULT_MAX_NUMERIC_SIZE"]

#: largest ``n^(k+l)`` accepted by :func:`numeric_basis` by default.
DEFAULT_MAX_NUMERIC_SIZE = 4096


def _kron_all(factors: list[torch.Tensor]) -> torch.Tensor:
    out = torch.ones(1, 1, dtype=torch.float64)
    for factor in factors:
        out = torch.kron(out, factor.contiguous())
    return out


def _constraint_operators(group: Group, k: int, l: int, num_samples: int):  # noqa: E741
    """Yield the ``n^r x n^r`` constraint operators ``C`` (``C vec(T) = 0`` iff invariant)."""
    n, r = group.n, k + l
    eye_total = torch.eye(n**r, dtype=torch.float64)
    discrete = group.generators()
    algebra = group.lie_algebra()
    if len(discrete) == 0 and len(algebra) == 0 and not group.is_finite:
        discrete = group.sample(num_samples, generator=0)
    for h in discrete:
        h_inv_t = torch.linalg.inv(h).T
        yield _kron_all([h] * l + [h_inv_t] * k) - eye_total
    eye = torch.eye(n, dtype=torch.float64)
    for a in algebra:
        terms = []
        for axis in range(r):
            factors = [eye] * r
            factors[axis] = a if axis < l else -a.T
            terms.append(_kron_all(factors))
        yield torch.stack(terms).sum(0) if terms else torch.zeros(1, 1, dtype=torch.float64)


def numeric_basis(
    group: Group,
    k: int,
    l: int,  # noqa: E741
    *,
    tol: float = 1e-8,
    max_size: int = DEFAULT_MAX_NUMERIC_SIZE,
    num_samples: int = 8,
) -> Basis:
    """Orthonormal basis of ``Hom_G((R^n)^{⊗k}, (R^n)^{⊗l})`` by a dense null-space solve.

    Args:
        group: any :class:`~geomlayers.groups.Group` with generators / Lie algebra (or samples).
        k, l: input and output orders.
        tol: eigenvalues of ``Q / max(1, ||Q||)`` below ``tol`` count as zero.
        max_size: refuse ``n^(k+l)`` above this (the solve is cubic in it).
        num_samples: random elements used for groups without generators.

    Returns:
        A :class:`Basis` of ``kind="numeric"`` whose ``dense()`` is ``(dim, n^l, n^k)`` with
        orthonormal flattened elements.

    """
    _check_orders(k, l)
    n, r = group.n, k + l
    if n**r > max_size:
        raise ValueError(
            f"numeric_basis solves a dense {n**r}x{n**r} problem (n^(k+l) = {n}^{r}); above "
            f"max_size={max_size}. Raise max_size or use equivariant_basis"
        )
    quadratic = torch.zeros(n**r, n**r, dtype=torch.float64)
    for constraint in _constraint_operators(group, k, l, num_samples):
        quadratic += constraint.T @ constraint
    # scipy's divide-and-conquer driver is ~2x faster than torch.linalg.eigh on CPU.
    eigenvalues, eigenvectors = scipy.linalg.eigh(quadratic.numpy(), driver="evd")
    scale = max(1.0, float(eigenvalues[-1])) if len(eigenvalues) else 1.0
    null = torch.from_numpy(eigenvectors[:, eigenvalues <= tol * scale])
    tensors = null.T.reshape(-1, n**l, n**k).contiguous()
    return Basis(
        group, k, l, [f"numeric[{i}]" for i in range(len(tensors))],
        kind="numeric", is_basis=True, dense_tensors=tensors,
    )


def _check_orders(k: object, l: object) -> None:  # noqa: E741
    for name, value in (("k", k), ("l", l)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} (tensor order) must be an int, got {type(value).__name__}")
        if value < 0:
            raise ValueError(f"{name} (tensor order) must be >= 0, got {value}")
