"""The PCA frame of point clouds as one ``torch.library`` op (Puny et al., ICLR 2022, §3.1).

``geomlayers::pca_frame(points, mask, batch, num_graphs, linear, translation, tol,
on_degenerate) -> (elements, weights)``: a frame is computed without gradient and with
data-dependent control flow (degenerate spectra, warnings, errors), so it is registered as an
opaque op with a fake kernel: ``torch.compile`` traces through :class:`FrameAveraging` without
a graph break and runs exactly the eager code here.

Scale. The frame is a function of the centroid and of the eigenvectors of the covariance
``C = Σ (x - t)(x - t)ᵀ``; scaling every point of a cloud by ``s > 0`` scales the centroid by
``s`` and ``C`` by ``s²`` (the fourth moment by ``s⁴``), which leaves the eigenvectors, the
relative eigen-gaps and hence the linear parts unchanged. Each cloud is therefore scaled by a
power of two ``s = 2^-e`` (exact in floating point) that brings its largest coordinate into
``[½, 1)``, and the centroid is scaled back. Clouds with coordinates near ``1e200`` (whose
covariance overflows float64) get the same frame as the same cloud at unit scale.
"""

from __future__ import annotations

import functools
import itertools
import warnings

import torch

from geomlayers.groups.euclidean import compose
from geomlayers.nn.frames.elements import DegenerateFrameWarning
from geomlayers.nn.frames.layout import BatchLayout, _segment_sum

__all__ = ["pca_frame", "num_elements"]


@functools.lru_cache(maxsize=16)
def _sign_patterns(free: int) -> torch.Tensor:
    """``(2^free, free)`` float64 rows of ±1 (all sign choices, ``+1`` first)."""
    patterns = list(itertools.product((1.0, -1.0), repeat=free))
    return torch.tensor(patterns, dtype=torch.float64).reshape(len(patterns), free)


def num_elements(linear: str, d: int) -> int:
    """``|F| = 2^d`` (``"O"``), ``2^(d-1)`` (``"SO"``) or 1 (``"none"``)."""
    return {"O": 2**d, "SO": 2 ** (d - 1), "none": 1}[linear]


def _power_of_two_scale(points: torch.Tensor, layout: BatchLayout) -> torch.Tensor:
    """Per-graph ``2^-e`` ``(B,)`` with the largest ``|coordinate| · 2^-e`` in ``[½, 1)``."""
    size = points.abs().amax(-1)
    if layout.dense:
        largest = size.amax(-1)
    else:
        largest = size.new_zeros(layout.num_graphs).scatter_reduce(
            0, layout.batch, size, "amax", include_self=True)
    _, exponent = torch.frexp(largest)  # 0 for an all-zero cloud: scale 1
    return torch.ldexp(torch.ones_like(largest), -exponent)


def _impl(points: torch.Tensor, mask: torch.Tensor | None, batch: torch.Tensor | None,
          num_graphs: int, linear: str, translation: bool, tol: float,
          on_degenerate: str) -> tuple[torch.Tensor, torch.Tensor]:
    dtype, d = points.dtype, points.shape[-1]
    x = points.detach().to(torch.float64)
    if batch is None:
        if mask is not None:
            mask = mask.to(device=x.device, dtype=torch.bool)
            if not bool(mask.any(1).all()):
                raise ValueError("mask must keep at least one node in every batch entry")
            x = torch.where(mask.unsqueeze(-1), x, x.new_zeros(()))  # padding: never read
        layout = BatchLayout(True, x.shape[0], mask=mask, num_nodes=x.shape[1])
    else:
        layout = BatchLayout(False, num_graphs, batch=batch, num_nodes=x.shape[0])
    if not bool(torch.isfinite(x).all()):
        raise ValueError("points contain NaN or inf at real (unmasked) nodes")
    counts = _segment_sum(torch.ones_like(x[..., :1]), layout)  # (B, 1)
    if not bool((counts > 0).all()):
        raise ValueError("every graph of the batch must have at least one node (check "
                         "batch / num_graphs)")
    scale = _power_of_two_scale(x, layout).unsqueeze(-1)  # (B, 1)
    x = x * (scale.unsqueeze(1) if layout.dense else scale[layout.batch])
    if translation:
        centroid = _segment_sum(x, layout) / counts
    else:
        centroid = x.new_zeros(layout.num_graphs, d)
    k = num_elements(linear, d)
    weights = x.new_full((layout.num_graphs, k), 1.0 / k)
    if linear == "none":
        rotation = torch.eye(d, dtype=x.dtype, device=x.device).expand(layout.num_graphs, 1, d, d)
    else:
        centred = x - (centroid.unsqueeze(1) if layout.dense else centroid[layout.batch])
        basis = _eigenbasis(centred, layout, tol, on_degenerate)
        rotation = _sign_choices(basis, linear)
    if translation or linear == "none":
        shift = (centroid / scale).unsqueeze(1).expand(-1, k, -1)  # exact: scale is 2^-e
        elements = compose(rotation, shift)
    else:
        elements = rotation
    return elements.to(dtype).contiguous(), weights.to(dtype)


def _eigenbasis(centred: torch.Tensor, layout: BatchLayout, tol: float,
                on_degenerate: str) -> torch.Tensor:
    """``(B, d, d)`` eigenvectors of the covariance, descending eigenvalues."""
    cov = _segment_sum(centred.unsqueeze(-1) * centred.unsqueeze(-2), layout)
    values, vectors = torch.linalg.eigh(cov)
    values, vectors = values.flip(-1), vectors.flip(-1)
    if on_degenerate == "ignore" or centred.shape[-1] == 1:
        return vectors
    scale = values[:, :1].clamp_min(torch.finfo(values.dtype).tiny)
    gaps = (values[:, :-1] - values[:, 1:]) / scale  # (B, d-1)
    flagged = (gaps < tol).any(1)
    if not bool(flagged.any()):
        return vectors
    if on_degenerate == "raise":
        worst = float(gaps.min())
        raise ValueError(f"degenerate covariance spectrum (relative eigen-gap {worst:.2e} "
                         f"< gap_tol {tol:.1e}) in batch entries "
                         f"{flagged.nonzero().flatten().tolist()}")
    unresolved: list[tuple[int, float]] = []
    if on_degenerate == "resolve":
        vectors = vectors.clone()
        moment = _segment_sum(
            centred.pow(2).sum(-1, keepdim=True).unsqueeze(-1)
            * centred.unsqueeze(-1) * centred.unsqueeze(-2), layout)
        for b in flagged.nonzero().flatten().tolist():
            gap = _resolve(vectors[b], gaps[b], moment[b], tol)
            if gap is not None:
                unresolved.append((b, gap))
    else:
        unresolved = [(b, float(gaps[b].min())) for b in flagged.nonzero().flatten().tolist()]
    if unresolved:
        listing = ", ".join(f"{b} (gap {g:.2e})" for b, g in unresolved[:8])
        warnings.warn(
            f"PCA frame: degenerate covariance spectrum not resolved in batch entries "
            f"{listing}{' …' if len(unresolved) > 8 else ''}; relative eigen-gap < gap_tol "
            f"{tol:.1e}: the frame-averaged output may not be exactly equivariant there",
            DegenerateFrameWarning, stacklevel=4)
    return vectors


def _resolve(vectors: torch.Tensor, gaps: torch.Tensor, moment: torch.Tensor,
             tol: float) -> float | None:
    """Re-choose the basis of each degenerate eigenspace in place from the 4th moment.

    Returns ``None`` when every cluster was resolved, else the worst remaining gap.
    """
    d = vectors.shape[0]
    clusters, start = [], 0
    for i in range(d - 1):
        if gaps[i] >= tol:
            clusters.append((start, i + 1))
            start = i + 1
    clusters.append((start, d))
    worst = None
    for lo, hi in clusters:
        if hi - lo < 2:
            continue
        block = vectors[:, lo:hi]
        restricted = block.T @ moment @ block
        values, rot = torch.linalg.eigh(restricted)
        values, rot = values.flip(-1), rot.flip(-1)
        scale = values.abs().max().clamp_min(torch.finfo(values.dtype).tiny)
        inner = (values[:-1] - values[1:]) / scale
        if bool((inner < tol).any()) or float(values.abs().max()) == 0.0:
            gap = float(inner.min()) if float(values.abs().max()) > 0 else 0.0
            worst = gap if worst is None else min(worst, gap)
            continue
        vectors[:, lo:hi] = block @ rot
    return worst


def _sign_choices(basis: torch.Tensor, linear: str) -> torch.Tensor:
    """``(B, d, d)`` -> ``(B, K, d, d)``: ``U diag(s)`` for every admissible ``s``."""
    d = basis.shape[-1]
    free = d if linear == "O" else d - 1
    signs = _sign_patterns(free).to(dtype=basis.dtype, device=basis.device)
    signs = signs.unsqueeze(0).expand(basis.shape[0], -1, -1)  # (B, K, free)
    if linear == "SO":
        det = torch.linalg.det(basis).sign().unsqueeze(-1)  # (B, 1)
        last = det * signs.prod(-1) if free else det.expand(-1, 1)
        signs = torch.cat([signs, last.unsqueeze(-1)], -1)
    return basis.unsqueeze(1) * signs.unsqueeze(-2)


@torch.library.custom_op("geomlayers::pca_frame", mutates_args=())
def _pca_frame_op(points: torch.Tensor, mask: torch.Tensor | None, batch: torch.Tensor | None,
                  num_graphs: int, linear: str, translation: bool, tol: float,
                  on_degenerate: str) -> tuple[torch.Tensor, torch.Tensor]:
    return _impl(points, mask, batch, num_graphs, linear, translation, tol, on_degenerate)


@_pca_frame_op.register_fake
def _(points, mask, batch, num_graphs, linear, translation, tol, on_degenerate):
    d = points.shape[-1]
    b = points.shape[0] if batch is None else num_graphs
    k = num_elements(linear, d)
    n = d + 1 if translation or linear == "none" else d
    return points.new_empty(b, k, n, n), points.new_empty(b, k)


def pca_frame(points: torch.Tensor, layout: BatchLayout, linear: str, translation: bool,
              tol: float, on_degenerate: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Frame elements ``(B, K, n, n)`` and weights ``(B, K)`` of the clouds ``points``.

    ``n = d + 1`` (homogeneous matrices) when the frame has translations, else ``d``.
    Statistics are computed in float64; the results have the dtype of ``points``.
    """
    num_graphs = 0 if layout.dense else int(layout.num_graphs)  # dense: taken from points
    return _pca_frame_op(points.detach(), layout.mask, layout.batch, num_graphs,
                         linear, translation, float(tol), on_degenerate)
