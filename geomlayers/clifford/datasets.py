"""Synthetic O(n)-invariant tasks of the CGENN and GLGENN papers, seeded and deterministic.

* :func:`o5_regression` — EMLP's O(5) regression (Finzi et al., ICML 2021, §7; CGENN §5.1):
  ``x_1, x_2 ~ N(0, I_5)``, ``f = sin(‖x_1‖) - ‖x_2‖³/2 + x_1·x_2 / (‖x_1‖‖x_2‖)``.
* :func:`convex_hull_volume` — ``K = 16`` points ``~ N(0, I_5)``, target the volume of
  their convex hull (``scipy.spatial.ConvexHull``; CGENN §5.1, GLGENN §5).
* :func:`o3_signed_volume` — 3 points ``~ N(0, I_3)``, target ``det[x_1 x_2 x_3] / 10``, a
  pseudoscalar (CGENN §5.1).

Every generator draws from ``numpy.random.Generator(PCG64(seed))`` and returns float64
tensors ``(x, y)``; the same seed gives the same data on every machine.
"""

from __future__ import annotations

import numpy as np
import torch

from geomlayers.validation import check_int

__all__ = [
    "o5_regression",
    "o5_regression_target",
    "convex_hull_volume",
    "o3_signed_volume",
    "vector_scales",
    "o5_standardization",
]


def _check(num_samples, seed) -> np.random.Generator:
    num_samples = check_int("num_samples", num_samples, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    return np.random.Generator(np.random.PCG64(seed))


def o5_regression_target(x: torch.Tensor) -> torch.Tensor:
    """``(..., 2, 5)`` → ``(...)``: ``sin(‖x_1‖) - ‖x_2‖³/2 + x_1·x_2 / (‖x_1‖‖x_2‖)``."""
    if x.dim() < 2 or x.shape[-2:] != (2, 5):
        raise ValueError(f"x must have shape (..., 2, 5), got {tuple(x.shape)}")
    x1, x2 = x[..., 0, :], x[..., 1, :]
    r1, r2 = x1.norm(dim=-1), x2.norm(dim=-1)
    return torch.sin(r1) - r2**3 / 2 + (x1 * x2).sum(-1) / (r1 * r2)


def o5_regression(num_samples: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``num_samples`` pairs of vectors ``(N, 2, 5)`` and targets ``(N,)`` (float64)."""
    rng = _check(num_samples, seed)
    x = torch.from_numpy(rng.standard_normal((num_samples, 2, 5)))
    return x, o5_regression_target(x)


def convex_hull_volume(num_samples: int, seed: int = 0, *, points: int = 16,
                       n: int = 5) -> tuple[torch.Tensor, torch.Tensor]:
    """Point clouds ``(N, points, n)`` and hull volumes ``(N,)`` (float64, via Qhull)."""
    from scipy.spatial import ConvexHull

    rng = _check(num_samples, seed)
    n = check_int("n", n, minimum=2)
    points = check_int("points", points, minimum=n + 1)
    clouds = rng.standard_normal((num_samples, points, n))
    volumes = np.array([ConvexHull(cloud).volume for cloud in clouds])
    return torch.from_numpy(clouds), torch.from_numpy(volumes)


def o3_signed_volume(num_samples: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Triples of points ``(N, 3, 3)`` and ``det / 10`` ``(N,)`` (float64).

    The target flips sign under reflections: a pseudoscalar.
    """
    rng = _check(num_samples, seed)
    x = torch.from_numpy(rng.standard_normal((num_samples, 3, 3)))
    return x, torch.linalg.det(x) / 10


def vector_scales(x: torch.Tensor) -> torch.Tensor:
    """Per-slot RMS ``(V,)`` of vectors ``x`` ``(N, V, n)``.

    One scale per input vector, so ``x / scale`` stays equivariant (CGENN's standardisation).
    """
    if x.dim() != 3:
        raise ValueError(f"x must have shape (N, V, n), got {tuple(x.shape)}")
    return x.square().mean(dim=(0, 2)).sqrt()


def o5_standardization(x: torch.Tensor, y: torch.Tensor
                       ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Standardisation statistics of a training split, as the CGENN / GLGENN code computes them.

    ``x`` ``(N, V, n)``, ``y`` ``(N,)`` → ``(scale (V,), y_mean (), y_std ())``: one RMS
    scale per input vector (:func:`vector_scales`, rotation-safe), the target mean and the
    population (``ddof = 0``) standard deviation. Apply ``x / scale[:, None]`` and
    ``(y - y_mean) / y_std`` to every split with the *training* statistics. An MSE in
    standardised units is the MSE in target units divided by ``y_std**2``; with few samples
    ``y_std`` varies a lot between draws (the target has a heavy ``‖x_2‖³`` tail), so the two
    units are not interchangeable.
    """
    if not isinstance(y, torch.Tensor) or y.dim() != 1 or len(y) != len(x):
        raise ValueError(f"y must be a 1-D tensor with one target per sample of x, got "
                         f"{tuple(getattr(y, 'shape', ()))} for x {tuple(x.shape)}")
    if len(y) < 2:
        raise ValueError(f"need at least 2 training samples to standardise, got {len(y)}")
    return vector_scales(x), y.mean(), y.std(correction=0)
