"""Frame averaging: make any backbone invariant or equivariant.

Puny, Atzmon, Smith, Misra, Grover, Ben-Hamu, Lipman, "Frame Averaging for Invariant and
Equivariant Network Design", ICLR 2022 (arXiv 2110.03336). A *frame* ``F(X)`` is a small
input-dependent set of group elements with ``F(g·X) = g·F(X)``; averaging a backbone ``φ``
over it::

    invariant:    ⟨φ⟩(X) = 1/|F(X)| Σ_{g ∈ F(X)} φ(ρ_in(g)^{-1} X)                  (eq. 3)
    equivariant:  ⟨φ⟩(X) = 1/|F(X)| Σ_{g ∈ F(X)} ρ_out(g) φ(ρ_in(g)^{-1} X)         (eq. 4)

is exactly invariant / equivariant for *any* ``φ`` (Thm. 1). Here the frame is folded into
the batch: ``φ`` is called once on ``batch · |F|`` canonicalised copies.

Frames (§3.1 of the paper, and our degeneracy handling):

* :class:`PCAFrame` — E(d), O(d), SO(d), SE(d) and translations on point clouds: centroid
  ``t`` and the eigenvectors ``U`` of the covariance ``C = Σ (x - t)(x - t)ᵀ`` (descending
  eigenvalues), with every sign choice ``R = U diag(s)``: ``2^d`` elements for O(d)/E(d)
  (8 for d = 3), ``2^(d-1)`` with ``det R = +1`` for SO(d)/SE(d) (4 for d = 3). The SO(d)
  frame is *not* equivariant under reflections (measured in the tests).
* **Degenerate spectra.** Where two eigenvalues of ``C`` are within a relative gap
  ``gap_tol`` (``(λ_i - λ_{i+1}) / λ_max``), ``U`` is not determined by ``C`` and the finite
  frame is no longer equivariant (an error 0.28 for eigenvalues (2, 4, 4) in our notes). With
  ``on_degenerate="resolve"`` (default) the basis of each such eigenspace is re-chosen from a
  second equivariant matrix, the fourth moment ``M = Σ ‖x - t‖² (x - t)(x - t)ᵀ`` restricted
  to the eigenspace; ``M`` transforms like ``C`` so the frame stays exactly equivariant. If
  ``M`` is degenerate there too (e.g. highly symmetric clouds: a cube, a regular simplex), a
  :class:`DegenerateFrameWarning` names the batch entries and their relative gap: the output
  is then not guaranteed equivariant. ``"warn"`` skips the resolution, ``"raise"`` raises a
  ``ValueError``, ``"ignore"`` does nothing.
* :class:`PermutationFrame` — S_n on graphs (§3.1, "S_n frames"): nodes are sorted by
  permutation-equivariant keys (mask, degree, the diagonal of each Laplacian eigenprojector,
  optionally node features), rounded to ``decimals``; the frame is *every* ordering that sorts
  them, i.e. all orderings within tie blocks, up to ``max_elements``; beyond that cap a
  uniform random subset of tie-breaks is used and a :class:`FrameWarning` says the average is
  exact only in distribution.

Frames return :class:`FrameElements`: the group (``EuclideanGroup(3)``, ``OrthogonalGroup(3)``,
``SymmetricGroup(n)``, …) and the elements per input, with ``matrices()`` giving them as
matrices of that group's defining representation. Frames are computed without gradient
(as in the paper's code).

Stochastic frame averaging (Duval et al., FAENet, ICML 2023; FA §3.2): with
``stochastic=k``, training passes use ``k`` elements drawn uniformly without replacement from
each frame; evaluation always uses the full frame.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace

import torch
from torch import nn

from geomlayers.groups.base import Group, as_generator
from geomlayers.groups.euclidean import (
    EuclideanGroup,
    SpecialEuclideanGroup,
    TranslationGroup,
    compose,
)
from geomlayers.groups.orthogonal import OrthogonalGroup, SpecialOrthogonalGroup
from geomlayers.groups.permutation import SymmetricGroup, permutation_matrices

__all__ = [
    "DegenerateFrameWarning",
    "FrameWarning",
    "FrameElements",
    "Frame",
    "PCAFrame",
    "PermutationFrame",
    "FrameAveraging",
    "make_frame",
]

_POINT_TYPES = ("point", "vector", "scalar")
_GRAPH_TYPES = ("adjacency", "node", "scalar")


class FrameWarning(UserWarning):
    """A frame could not be made exactly equivariant (see the message)."""


class DegenerateFrameWarning(FrameWarning):
    """A covariance spectrum was (near-)degenerate and could not be resolved."""


@dataclass(frozen=True)
class FrameElements:
    """The frames of a batch of inputs.

    Attributes:
        group: the group the elements belong to.
        weights: ``(B, K)``: averaging weights, each row sums to 1 (0 marks padding where
            frames of one batch have different sizes).
        rotation: ``(B, K, d, d)`` linear parts ``R`` (Euclidean-type frames) or ``None``.
        translation: ``(B, K, d)`` translations ``t`` or ``None``.
        permutation: ``(B, K, N)`` long: canonical position ``j`` holds node
            ``permutation[..., j]`` (S_n frames) or ``None``.

    """

    group: Group
    weights: torch.Tensor
    rotation: torch.Tensor | None = None
    translation: torch.Tensor | None = None
    permutation: torch.Tensor | None = None

    @property
    def size(self) -> int:
        """``K``, the number of elements per input (after padding)."""
        return self.weights.shape[1]

    def matrices(self) -> torch.Tensor:
        """``(B, K, n, n)``: the elements as matrices of ``group`` (homogeneous for E(d))."""
        b, k = self.weights.shape
        if self.permutation is not None:
            perms = self.permutation.reshape(b * k, -1)
            mats = permutation_matrices(perms, dtype=self.weights.dtype,
                                        device=self.weights.device)
            return mats.reshape(b, k, *mats.shape[-2:])
        if isinstance(self.group, (OrthogonalGroup, SpecialOrthogonalGroup)):
            return self.rotation
        return compose(self.rotation, self.translation)

    def subset(self, index: torch.Tensor) -> FrameElements:
        """Keep the elements ``index`` ``(B, k)`` of each frame, with equal weights."""
        def take(t):
            if t is None:
                return None
            shaped = index.reshape(*index.shape, *[1] * (t.dim() - 2)).expand(
                *index.shape, *t.shape[2:])
            return torch.gather(t, 1, shaped)

        weights = torch.full(index.shape, 1.0 / index.shape[1], dtype=self.weights.dtype,
                             device=self.weights.device)
        return replace(self, weights=weights, rotation=take(self.rotation),
                       translation=take(self.translation), permutation=take(self.permutation))


class Frame(nn.Module):
    """Base of frames: ``frame(inputs, types, mask=None, batch=None) -> FrameElements``.

    Subclasses also say how elements act: :meth:`canonicalize` applies ``ρ_in(g)^{-1}`` and
    :meth:`restore` applies ``ρ_out(g)``, both on the frame folded into the batch.
    """

    input_types: tuple[str, ...] = ()
    output_types: tuple[str, ...] = ()


# ----------------------------------------------------------------------------- layouts


@dataclass(frozen=True)
class _Layout:
    """Where the nodes are: dense ``(B, N, ...)`` with ``mask`` or flat with ``batch``."""

    dense: bool
    num_graphs: int
    mask: torch.Tensor | None = None  # (B, N) bool, dense only
    batch: torch.Tensor | None = None  # (total,) long, flat only
    num_nodes: int = 0  # N (dense) or total (flat)


def _layout(x: torch.Tensor, mask, batch, num_graphs, base_dims: int) -> _Layout:
    """``base_dims``: axes after the node axis (1 for points ``(.., N, d)``)."""
    if mask is not None and batch is not None:
        raise ValueError("give either mask (padded dense batches) or batch (PyG), not both")
    if batch is not None:
        if x.dim() != 1 + base_dims:
            raise ValueError(f"with a batch vector, the input must be flat (total_nodes, ...) "
                             f"with {1 + base_dims} axes, got shape {tuple(x.shape)}")
        if batch.dtype != torch.long or batch.shape != x.shape[:1]:
            raise ValueError(f"batch must be a long tensor of shape ({x.shape[0]},), got "
                             f"{batch.dtype} {tuple(batch.shape)}")
        count = int(batch.max()) + 1 if num_graphs is None and batch.numel() else num_graphs
        return _Layout(False, int(count or 0), batch=batch, num_nodes=x.shape[0])
    if x.dim() != 2 + base_dims:
        raise ValueError(f"dense input must have shape (batch, N, ...) with {2 + base_dims} "
                         f"axes, got {tuple(x.shape)}; for one cloud add a batch axis")
    if mask is not None:
        if mask.shape != x.shape[:2]:
            raise ValueError(f"mask must have shape {tuple(x.shape[:2])} (batch, N), got "
                             f"{tuple(mask.shape)}")
        mask = mask.to(device=x.device, dtype=torch.bool)
        if not bool(mask.any(1).all()):
            raise ValueError("mask must keep at least one node in every batch entry")
    return _Layout(True, x.shape[0], mask=mask, num_nodes=x.shape[1])


def _segment_sum(values: torch.Tensor, layout: _Layout) -> torch.Tensor:
    """Per-graph sums: dense ``(B, N, *s)`` or flat ``(total, *s)`` -> ``(B, *s)``."""
    if layout.dense:
        if layout.mask is not None:
            values = values * layout.mask.reshape(*layout.mask.shape,
                                                  *[1] * (values.dim() - 2)).to(values.dtype)
        return values.sum(1)
    out = values.new_zeros(layout.num_graphs, *values.shape[1:])
    return out.index_add_(0, layout.batch, values)


def _per_node(stat: torch.Tensor, layout: _Layout) -> torch.Tensor:
    """Broadcast a per-graph ``(B, K, *s)`` statistic to nodes.

    Dense: ``(B, K, 1, *s)``; flat: ``(K, total, *s)``.
    """
    if layout.dense:
        return stat.unsqueeze(2)
    return stat[layout.batch].transpose(0, 1)


def _fold_nodes(x: torch.Tensor, k: int, layout: _Layout) -> torch.Tensor:
    """Copies of a node-level input: dense ``(B*K, N, ...)``, flat ``(K*total, ...)``."""
    if layout.dense:
        return x.repeat_interleave(k, dim=0)
    return x.repeat(k, *[1] * (x.dim() - 1))


# ----------------------------------------------------------------------------- PCA frames


@functools.lru_cache(maxsize=16)
def _sign_patterns(free: int) -> torch.Tensor:
    """``(2^free, free)`` float64 rows of ±1 (all sign choices, ``+1`` first)."""
    patterns = list(itertools.product((1.0, -1.0), repeat=free))
    return torch.tensor(patterns, dtype=torch.float64).reshape(len(patterns), free)


_NAMED = re.compile(r"^(E|O|SO|SE|T)(\d+|n)$")


class PCAFrame(Frame):
    """E(d) / O(d) / SO(d) / SE(d) / T(d) frames of point clouds from centroid and PCA.

    Args:
        d: dimension of the points (``None``: taken from the input).
        linear: ``"O"`` (all ``2^d`` sign choices), ``"SO"`` (the ``2^(d-1)`` with det +1)
            or ``"none"`` (translations only).
        translation: centre the cloud (E(d), SE(d), T(d)) or not (O(d), SO(d)).
        gap_tol: relative eigen-gap below which a spectrum counts as degenerate (default
            ``1e-6`` in float64, ``1e-3`` in lower precision).
        on_degenerate: ``"resolve"``, ``"warn"``, ``"raise"`` or ``"ignore"``: see the module
            docstring.

    Inputs (``FrameAveraging`` types): ``"point"`` (``R`` and ``t`` act), ``"vector"`` (only
    ``R``), ``"scalar"`` (nothing). Points are dense ``(B, N, d)`` (with an optional
    ``(B, N)`` mask) or flat ``(total, d)`` with a PyG ``batch`` vector.

    >>> frame = PCAFrame(3, linear="O", translation=True)
    >>> elements = frame(torch.randn(2, 10, 3, dtype=torch.float64))
    >>> elements.group, elements.size
    (EuclideanGroup(d=3, translation_scale=1.0), 8)

    """

    input_types = _POINT_TYPES
    output_types = _POINT_TYPES

    def __init__(self, d: int | None = None, *, linear: str = "O", translation: bool = True,
                 gap_tol: float | None = None, on_degenerate: str = "resolve") -> None:
        super().__init__()
        if d is not None and (isinstance(d, bool) or not isinstance(d, int) or d < 1):
            raise ValueError(f"d must be an int >= 1 or None, got {d!r}")
        if linear not in ("O", "SO", "none"):
            raise ValueError(f"linear must be 'O', 'SO' or 'none', got {linear!r}")
        if on_degenerate not in ("resolve", "warn", "raise", "ignore"):
            raise ValueError("on_degenerate must be 'resolve', 'warn', 'raise' or 'ignore', "
                             f"got {on_degenerate!r}")
        if gap_tol is not None and not 0 <= gap_tol < 1:
            raise ValueError(f"gap_tol must be in [0, 1) or None, got {gap_tol!r}")
        self.d, self.linear, self.translation = d, linear, bool(translation)
        self.gap_tol, self.on_degenerate = gap_tol, on_degenerate

    def extra_repr(self) -> str:
        """``d, linear, translation, gap_tol, on_degenerate``."""
        return (f"d={self.d}, linear={self.linear!r}, translation={self.translation}, "
                f"gap_tol={self.gap_tol}, on_degenerate={self.on_degenerate!r}")

    def group(self, d: int) -> Group:
        """The group whose elements the frame returns."""
        if self.linear == "none":
            return TranslationGroup(d)
        if self.translation:
            return EuclideanGroup(d) if self.linear == "O" else SpecialEuclideanGroup(d)
        return OrthogonalGroup(d) if self.linear == "O" else SpecialOrthogonalGroup(d)

    def num_elements(self, d: int) -> int:
        """``|F| = 2^d`` (O), ``2^(d-1)`` (SO) or 1 (translations only)."""
        return {"O": 2**d, "SO": 2 ** (d - 1), "none": 1}[self.linear]

    @torch.no_grad()
    def forward(self, points: torch.Tensor, mask: torch.Tensor | None = None,
                batch: torch.Tensor | None = None,
                num_graphs: int | None = None) -> FrameElements:
        """Frames of dense ``(B, N, d)`` or flat ``(total, d)`` clouds; see the class doc."""
        layout = self._check(points, mask, batch, num_graphs)
        return self._elements(points.detach(), layout)

    def _check(self, points, mask, batch, num_graphs) -> _Layout:
        if not isinstance(points, torch.Tensor) or not points.is_floating_point():
            raise TypeError(f"points must be a floating-point tensor, got {type(points)}")
        layout = _layout(points, mask, batch, num_graphs, base_dims=1)
        d = points.shape[-1]
        if self.d is not None and d != self.d:
            raise ValueError(f"points must end in an axis of size d={self.d}, got "
                             f"{tuple(points.shape)}")
        if not bool(torch.isfinite(points).all()):
            raise ValueError("points contain NaN or inf")
        return layout

    def _elements(self, points: torch.Tensor, layout: _Layout) -> FrameElements:
        """Elements in the input's dtype; the statistics are computed in float64."""
        dtype = points.dtype
        points = points.to(torch.float64)
        d = points.shape[-1]
        counts = _segment_sum(torch.ones_like(points[..., :1]), layout)  # (B, 1)
        if not bool((counts > 0).all()):
            raise ValueError("every graph of the batch must have at least one node (check "
                             "batch / num_graphs)")
        if self.translation:
            centroid = _segment_sum(points, layout) / counts
        else:
            centroid = points.new_zeros(layout.num_graphs, d)
        k = self.num_elements(d)
        weights = points.new_full((layout.num_graphs, k), 1.0 / k)
        translation = centroid.unsqueeze(1).expand(-1, k, -1)
        if self.linear == "none":
            rotation = torch.eye(d, dtype=points.dtype, device=points.device)
            rotation = rotation.expand(layout.num_graphs, 1, d, d)
        else:
            centred = points - (centroid.unsqueeze(1) if layout.dense else centroid[layout.batch])
            basis = self._eigenbasis(centred, layout, dtype)
            rotation = self._sign_choices(basis)
        return FrameElements(self.group(d), weights.to(dtype), rotation.to(dtype).contiguous(),
                             translation.to(dtype).contiguous())

    def _tol(self, dtype: torch.dtype) -> float:
        if self.gap_tol is not None:
            return self.gap_tol
        return 1e-6 if dtype == torch.float64 else 1e-3

    def _eigenbasis(self, centred: torch.Tensor, layout: _Layout,
                    input_dtype: torch.dtype) -> torch.Tensor:
        """``(B, d, d)`` eigenvectors of the covariance, descending eigenvalues.

        ``gap_tol`` defaults by the input's precision (``input_dtype``).
        """
        cov = _segment_sum(centred.unsqueeze(-1) * centred.unsqueeze(-2), layout)
        values, vectors = torch.linalg.eigh(cov)
        values, vectors = values.flip(-1), vectors.flip(-1)
        if self.on_degenerate == "ignore" or centred.shape[-1] == 1:
            return vectors
        tol = self._tol(input_dtype)
        scale = values[:, :1].clamp_min(torch.finfo(values.dtype).tiny)
        gaps = (values[:, :-1] - values[:, 1:]) / scale  # (B, d-1)
        flagged = (gaps < tol).any(1)
        if not bool(flagged.any()):
            return vectors
        if self.on_degenerate == "raise":
            worst = float(gaps.min())
            raise ValueError(f"degenerate covariance spectrum (relative eigen-gap {worst:.2e} "
                             f"< gap_tol {tol:.1e}) in batch entries "
                             f"{flagged.nonzero().flatten().tolist()}")
        unresolved: list[tuple[int, float]] = []
        if self.on_degenerate == "resolve":
            vectors = vectors.clone()
            moment = _segment_sum(
                centred.pow(2).sum(-1, keepdim=True).unsqueeze(-1)
                * centred.unsqueeze(-1) * centred.unsqueeze(-2), layout)
            for b in flagged.nonzero().flatten().tolist():
                gap = self._resolve(vectors[b], gaps[b], moment[b], tol)
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

    @staticmethod
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

    def _sign_choices(self, basis: torch.Tensor) -> torch.Tensor:
        """``(B, d, d)`` -> ``(B, K, d, d)``: ``U diag(s)`` for every admissible ``s``."""
        d = basis.shape[-1]
        free = d if self.linear == "O" else d - 1
        signs = _sign_patterns(free).to(dtype=basis.dtype, device=basis.device)
        signs = signs.unsqueeze(0).expand(basis.shape[0], -1, -1)  # (B, K, free)
        if self.linear == "SO":
            det = torch.linalg.det(basis).sign().unsqueeze(-1)  # (B, 1)
            last = det * signs.prod(-1) if free else det.expand(-1, 1)
            signs = torch.cat([signs, last.unsqueeze(-1)], -1)
        return basis.unsqueeze(1) * signs.unsqueeze(-2)

    # -- actions -------------------------------------------------------------------------

    def canonicalize(self, elements: FrameElements, x: torch.Tensor, kind: str,
                     layout: _Layout) -> torch.Tensor:
        """``ρ_in(g)^{-1} x`` for every frame element, folded into the batch.

        Dense ``(B, N, d)`` -> ``(B*K, N, d)``; flat ``(total, d)`` -> ``(K*total, d)``.
        """
        k = elements.size
        if kind == "scalar":
            return _fold_nodes(x, k, layout)
        rotation = elements.rotation.to(x.dtype)
        if layout.dense:
            moved = x.unsqueeze(1)
            if kind == "point":
                moved = moved - _per_node(elements.translation.to(x.dtype), layout)
            out = moved @ rotation  # (B, K, N, d): rows (x - t) R = (Rᵀ(x - t))ᵀ
            if layout.mask is not None:
                out = out * layout.mask[:, None, :, None].to(x.dtype)
            return out.reshape(-1, *x.shape[1:])
        moved = x.unsqueeze(0)
        if kind == "point":
            moved = moved - _per_node(elements.translation.to(x.dtype), layout)
        rot = _per_node(rotation, layout)  # (K, total, d, d)
        return (moved.unsqueeze(-2) @ rot).squeeze(-2).reshape(-1, x.shape[-1])

    def restore(self, elements: FrameElements, y: torch.Tensor, kind: str,
                layout: _Layout, node_level: bool) -> torch.Tensor:
        """``Σ_k w_k ρ_out(g_k) y_k`` from the folded backbone output."""
        k, b = elements.size, layout.num_graphs
        weights = elements.weights.to(y.dtype)
        if layout.dense or not node_level:
            y = y.reshape(b, k, *y.shape[1:]) if layout.dense else \
                y.reshape(k, b, *y.shape[1:]).transpose(0, 1)
            if kind != "scalar":
                y = self._rotate(y, elements, kind, extra=y.dim() - 3)
            w = weights.reshape(b, k, *[1] * (y.dim() - 2))
            return (w * y).sum(1)
        y = y.reshape(k, layout.num_nodes, *y.shape[1:])  # (K, total, ...)
        if kind != "scalar":
            rot = _per_node(elements.rotation.to(y.dtype), layout)  # (K, total, d, d)
            rot = rot.reshape(*rot.shape[:2], *[1] * (y.dim() - 3), *rot.shape[-2:])
            y = (y.unsqueeze(-2) @ rot.transpose(-1, -2)).squeeze(-2)
            if kind == "point":
                t = _per_node(elements.translation.to(y.dtype), layout)
                y = y + t.reshape(*t.shape[:2], *[1] * (y.dim() - 3), t.shape[-1])
        w = _per_node(weights.unsqueeze(-1), layout).squeeze(-1)  # (K, total)
        return (w.reshape(*w.shape, *[1] * (y.dim() - 2)) * y).sum(0)

    @staticmethod
    def _rotate(y, elements, kind, extra):
        """``y (B, K, *mid, d)`` -> ``R y (+ t)`` along the last axis."""
        if y.shape[-1] != elements.rotation.shape[-1]:
            raise ValueError(f"an equivariant {kind!r} output must end in an axis of size "
                             f"d={elements.rotation.shape[-1]}, got {tuple(y.shape)}")
        rot = elements.rotation.to(y.dtype)
        rot = rot.reshape(*rot.shape[:2], *[1] * extra, *rot.shape[-2:])
        out = (y.unsqueeze(-2) @ rot.transpose(-1, -2)).squeeze(-2)
        if kind == "point":
            t = elements.translation.to(y.dtype)
            out = out + t.reshape(*t.shape[:2], *[1] * extra, t.shape[-1])
        return out


# ----------------------------------------------------------------------------- S_n frames


class PermutationFrame(Frame):
    """S_n frames of graphs from canonical orderings (FA §3.1; Laplacian sorting with ties).

    Each node gets a key that permutes with the nodes: padding flag, degree, the diagonal
    ``P_λ[i, i]`` of the Laplacian's eigenprojector of every distinct eigenvalue (ascending;
    eigenvalues within ``eig_tol`` relative are one eigenvalue), then optionally the node
    features; keys are rounded to ``decimals``. The frame is the set of all orderings that
    sort the keys (lexicographically): every ordering of each block of tied nodes, i.e.
    ``Π_blocks (size!)`` elements — exactly equivariant — as long as that is at most
    ``max_elements``; beyond, ``max_elements`` random tie-breaks (uniform within each block)
    and a :class:`FrameWarning`.

    Inputs (``FrameAveraging`` types): ``"adjacency"`` ``(B, N, N)`` (the first one builds
    the frame; weighted symmetric adjacency), ``"node"`` ``(B, N, F)`` node features,
    ``"scalar"`` (passed through). Variable graph sizes: a ``(B, N)`` mask. Elements are
    permutations of ``SymmetricGroup(N)`` (``matrices()`` gives ``P_σ`` with
    ``P_σ[σ(j), j] = 1``; canonicalisation is ``P_σ^{-1} X``).

    >>> adjacency = torch.tensor([[[0., 1, 0], [1, 0, 1], [0, 1, 0]]])
    >>> PermutationFrame()(adjacency).size   # the path 0-1-2: two orderings of the ends
    2
    """

    input_types = _GRAPH_TYPES
    output_types = ("node", "scalar")

    def __init__(self, *, max_elements: int = 64, decimals: int = 6, eig_tol: float = 1e-6,
                 use_features: bool = True, generator: torch.Generator | int | None = None
                 ) -> None:
        super().__init__()
        if isinstance(max_elements, bool) or not isinstance(max_elements, int) or \
                max_elements < 1:
            raise ValueError(f"max_elements must be an int >= 1, got {max_elements!r}")
        if isinstance(decimals, bool) or not isinstance(decimals, int) or decimals < 0:
            raise ValueError(f"decimals must be an int >= 0, got {decimals!r}")
        self.max_elements, self.decimals, self.eig_tol = max_elements, decimals, eig_tol
        self.use_features = use_features
        self.generator = as_generator(generator)

    def extra_repr(self) -> str:
        """``max_elements, decimals, use_features``."""
        return (f"max_elements={self.max_elements}, decimals={self.decimals}, "
                f"use_features={self.use_features}")

    @torch.no_grad()
    def forward(self, adjacency: torch.Tensor, features: torch.Tensor | None = None,
                mask: torch.Tensor | None = None) -> FrameElements:
        """Frames of dense graphs ``adjacency (B, N, N)``, ``features (B, N, F)``."""
        if not isinstance(adjacency, torch.Tensor) or adjacency.dim() != 3 or \
                adjacency.shape[1] != adjacency.shape[2]:
            shape = tuple(adjacency.shape) if isinstance(adjacency, torch.Tensor) else adjacency
            raise ValueError(f"adjacency must be a (batch, N, N) tensor, got {shape}")
        b, n, _ = adjacency.shape
        if mask is not None and mask.shape != (b, n):
            raise ValueError(f"mask must have shape ({b}, {n}), got {tuple(mask.shape)}")
        if features is not None and features.shape[:2] != (b, n):
            raise ValueError(f"node features must have shape ({b}, {n}, F), got "
                             f"{tuple(features.shape)}")
        dtype, device = adjacency.dtype, adjacency.device
        if not dtype.is_floating_point:
            raise TypeError(f"adjacency must be a floating-point tensor, got {dtype}")
        adjacency = adjacency.detach().to(torch.float64).cpu()
        if not torch.allclose(adjacency, adjacency.transpose(1, 2)):
            raise ValueError("adjacency must be symmetric (undirected graphs)")
        mask = torch.ones(b, n, dtype=torch.bool) if mask is None else mask.cpu().bool()
        feats = None
        if features is not None and self.use_features:
            feats = features.detach().to(torch.float64).cpu().reshape(b, n, -1)
        frames = [self._graph_frame(adjacency[i], mask[i], None if feats is None else feats[i])
                  for i in range(b)]
        k = max(f.shape[0] for f in frames)
        perms = torch.stack([torch.cat([f, f[:1].expand(k - f.shape[0], -1)]) for f in frames])
        weights = torch.stack([torch.cat([
            torch.full((f.shape[0],), 1.0 / f.shape[0], dtype=torch.float64),
            torch.zeros(k - f.shape[0], dtype=torch.float64)]) for f in frames])
        return FrameElements(SymmetricGroup(n), weights.to(dtype=dtype, device=device),
                             permutation=perms.to(device))

    def _keys(self, adjacency, mask, feats) -> torch.Tensor:
        """``(N, c)`` rounded node keys; padded nodes first column 1 so they sort last."""
        valid = mask.nonzero().flatten()
        sub = adjacency[valid][:, valid]
        laplacian = torch.diag(sub.sum(1)) - sub
        values, vectors = torch.linalg.eigh(laplacian)
        scale = max(1.0, float(values.abs().max())) if values.numel() else 1.0
        columns = [sub.sum(1)]
        start = 0
        for i in range(1, values.numel() + 1):
            if i == values.numel() or values[i] - values[i - 1] > self.eig_tol * scale:
                columns.append((vectors[:, start:i] ** 2).sum(1))
                start = i
        if feats is not None:
            columns.extend(feats[valid].T)
        keys = torch.zeros(mask.shape[0], len(columns) + 1, dtype=torch.float64)
        keys[:, 0] = (~mask).double()
        keys[valid, 1:] = torch.stack(columns, 1)
        return torch.round(keys * 10**self.decimals)

    def _graph_frame(self, adjacency, mask, feats) -> torch.Tensor:
        keys = self._keys(adjacency, mask, feats)
        order = sorted(range(keys.shape[0]), key=lambda i: (tuple(keys[i].tolist()), i))
        blocks, start = [], 0
        for j in range(1, len(order) + 1):
            if j == len(order) or not torch.equal(keys[order[j]], keys[order[j - 1]]):
                if j - start > 1 and bool(mask[order[start]]):
                    blocks.append((start, j))
                start = j
        total = math.prod(math.factorial(hi - lo) for lo, hi in blocks)
        base = torch.tensor(order)
        if total <= self.max_elements:
            choices = itertools.product(*[itertools.permutations(range(lo, hi))
                                          for lo, hi in blocks])
            return torch.stack([self._apply(base, blocks, c) for c in choices])
        warnings.warn(f"S_n frame has {total} tie-breaking orderings > max_elements="
                      f"{self.max_elements}; averaging over {self.max_elements} random ones "
                      "(invariant only in distribution)", FrameWarning, stacklevel=5)
        samples = []
        for _ in range(self.max_elements):
            choice = [tuple(lo + int(p) for p in torch.randperm(hi - lo,
                                                              generator=self.generator))
                      for lo, hi in blocks]
            samples.append(self._apply(base, blocks, choice))
        return torch.stack(samples)

    @staticmethod
    def _apply(base, blocks, choice) -> torch.Tensor:
        perm = base.clone()
        for (lo, hi), positions in zip(blocks, choice, strict=True):
            perm[lo:hi] = base[list(positions)]
        return perm

    def canonicalize(self, elements: FrameElements, x: torch.Tensor, kind: str,
                     layout: _Layout) -> torch.Tensor:
        """``P_σ^{-1} x`` on node axis 1 (``"node"``) or 1, 2 (``"adjacency"``): ``(B*K, …)``."""
        k = elements.size
        perm = elements.permutation.to(x.device)  # (B, K, N)
        if kind == "scalar":
            return _fold_nodes(x, k, layout)
        b, n = perm.shape[0], perm.shape[2]
        rows = perm.reshape(b, k, n, *[1] * (x.dim() - 2)).expand(b, k, n, *x.shape[2:])
        out = torch.gather(x.unsqueeze(1).expand(b, k, *x.shape[1:]), 2, rows)
        if kind == "adjacency":
            cols = perm.reshape(b, k, 1, n).expand(b, k, n, n)
            out = torch.gather(out, 3, cols)
        return out.reshape(b * k, *x.shape[1:])

    def restore(self, elements: FrameElements, y: torch.Tensor, kind: str,
                layout: _Layout, node_level: bool) -> torch.Tensor:
        """Put node outputs back in input order (``P_σ y``) and average."""
        b, k = elements.weights.shape
        y = y.reshape(b, k, *y.shape[1:])
        if kind == "node":
            perm = elements.permutation.to(y.device)
            index = perm.reshape(*perm.shape, *[1] * (y.dim() - 3)).expand_as(y)
            y = torch.zeros_like(y).scatter_(2, index, y)
        w = elements.weights.to(y).reshape(b, k, *[1] * (y.dim() - 2))
        return (w * y).sum(1)


# ----------------------------------------------------------------------------- factory


def make_frame(frame: str | Frame, **kwargs) -> Frame:
    """A frame from its name or a frame object.

    Names: ``"E3"``, ``"O3"``, ``"SO3"``, ``"SE3"``, ``"T3"`` and any ``d`` (``"E2"``,
    ``"O5"``…), ``"En"``/``"On"``/``"SOn"``/``"SEn"``/``"Tn"`` (``d`` from the input),
    ``"translations"`` (= ``"Tn"``) and ``"Sn"`` (graphs). ``kwargs`` go to the frame.

    >>> make_frame("SO3")
    PCAFrame(d=3, linear='SO', translation=False, gap_tol=None, on_degenerate='resolve')
    """
    if isinstance(frame, Frame):
        if kwargs:
            raise TypeError("frame options apply to named frames only; configure the frame "
                            "object itself")
        return frame
    if not isinstance(frame, str):
        raise TypeError(f"frame must be a name (str) or a Frame, got {type(frame).__name__}")
    if frame == "Sn":
        return PermutationFrame(**kwargs)
    name = "Tn" if frame == "translations" else frame
    match = _NAMED.match(name)
    if match is None:
        raise ValueError(f"unknown frame {frame!r}: use 'E3', 'O3', 'SO3', 'SE3', 'T3' (any d), "
                         "'En', 'On', 'SOn', 'SEn', 'Tn', 'translations', 'Sn' or a Frame")
    kind, dim = match.groups()
    d = None if dim == "n" else int(dim)
    linear = {"E": "O", "O": "O", "SO": "SO", "SE": "SO", "T": "none"}[kind]
    return PCAFrame(d, linear=linear, translation=kind in ("E", "SE", "T"), **kwargs)


# ----------------------------------------------------------------------------- the wrapper


class FrameAveraging(nn.Module):
    """Frame-average a backbone: ``(1/|F|) Σ_{g∈F(X)} ρ_out(g) φ(ρ_in(g)^{-1} X)`` (FA eq. 3-4).

    Args:
        backbone: any module / callable; it is called **once** per forward on all
            ``batch · |F|`` canonicalised copies (dense: ``(B·K, N, …)``; PyG: ``(K·total,
            …)`` with ``edge_index`` / ``batch`` replicated and offset).
        frame: a name (see :func:`make_frame`) or a :class:`Frame`.
        mode: ``"invariant"`` (no ``ρ_out``) or ``"equivariant"``.
        input_types: how each positional input transforms: for PCA frames ``"point"``
            (``R``, ``t``), ``"vector"`` (``R``), ``"scalar"``; for ``"Sn"`` ``"adjacency"``,
            ``"node"``, ``"scalar"``. The frame is built from the first ``"point"`` /
            ``"adjacency"`` input. Default: ``("point",)`` / ``("adjacency",)``. For ``"Sn"``
            on PyG batches (``batch=`` and undirected ``edge_index=``, sorted ``batch``) use
            ``"node"`` / ``"scalar"`` inputs: each copy lists every graph's nodes in one
            canonical order and ``edge_index`` is relabelled to match.
        output_type: equivariant mode: ``"point"`` (``R y + t``), ``"vector"`` (``R y``) for
            PCA frames, ``"node"`` for S_n; default ``"point"`` when translations are in the
            frame, else ``"vector"`` (``"node"`` for S_n). Outputs end in the ``d`` axis.
        stochastic: ``None`` (full frame always) or ``k``: in training mode average over
            ``k`` elements drawn uniformly from each frame (FAENet-style); eval uses the
            full frame.
        pass_mask: also give the backbone ``mask=`` (replicated) in dense mode.
        generator: seed / generator for the stochastic draws.
        **frame_kwargs: options of a named frame (``gap_tol``, ``on_degenerate``, …).

    Forward: ``fa(*inputs, mask=None, batch=None, **kwargs)``; dense inputs ``(B, N, …)``
    (optional ``(B, N)`` bool ``mask``) or flat PyG inputs ``(total, …)`` with ``batch``
    (and usually ``edge_index=``). ``kwargs`` go to the backbone: tensors with leading
    batch axis are replicated per frame element (dense), node/edge/graph tensors are
    replicated per copy (PyG), ``edge_index`` is offset per copy, others pass unchanged.
    Returns: the averaged output, shaped like one backbone output per input (graph-level
    ``(B, …)``; node-level ``(B, N, …)`` or ``(total, …)``).

    >>> mlp = nn.Sequential(nn.Flatten(), nn.Linear(15, 1)).double()
    >>> fa = FrameAveraging(mlp, frame="E3", mode="invariant")
    >>> x = torch.randn(2, 5, 3, dtype=torch.float64)
    >>> q = torch.linalg.qr(torch.randn(3, 3, dtype=torch.float64))[0]
    >>> bool(torch.allclose(fa(x @ q.T + 1.0), fa(x), atol=1e-10))
    True

    """

    def __init__(self, backbone, frame: str | Frame = "E3", mode: str = "invariant", *,
                 input_types: Sequence[str] | None = None, output_type: str | None = None,
                 stochastic: int | None = None, pass_mask: bool = False,
                 generator: torch.Generator | int | None = None, **frame_kwargs) -> None:
        super().__init__()
        if not callable(backbone):
            raise TypeError(f"backbone must be callable (a module), got {type(backbone)}")
        if mode not in ("invariant", "equivariant"):
            raise ValueError(f"mode must be 'invariant' or 'equivariant', got {mode!r}")
        self.backbone = backbone
        self.frame = make_frame(frame, **frame_kwargs)
        self.mode = mode
        graph = isinstance(self.frame, PermutationFrame)
        default_in = ("adjacency",) if graph else ("point",)
        self.input_types = tuple(input_types) if input_types is not None else default_in
        for t in self.input_types:
            if t not in self.frame.input_types:
                raise ValueError(f"input_types entries must be in {self.frame.input_types} for "
                                 f"{type(self.frame).__name__}, got {t!r}")
        anchor = "adjacency" if graph else "point"
        if anchor not in self.input_types and not graph:
            raise ValueError(f"input_types must contain a {anchor!r} input to build the frame, "
                             f"got {self.input_types}")
        # S_n on PyG batches: the graph comes from ``edge_index``, no adjacency input needed
        self._anchor = self.input_types.index(anchor) if anchor in self.input_types else None
        self.output_type = self._output_type(output_type, graph)
        if stochastic is not None and (isinstance(stochastic, bool) or
                                       not isinstance(stochastic, int) or stochastic < 1):
            raise ValueError(f"stochastic must be None or an int >= 1, got {stochastic!r}")
        self.stochastic = stochastic
        self.pass_mask = pass_mask
        self.generator = as_generator(generator)

    def _output_type(self, output_type, graph) -> str:
        if self.mode == "invariant":
            if output_type not in (None, "scalar"):
                raise ValueError("output_type must be None or 'scalar' in invariant mode, got "
                                 f"{output_type!r}")
            return "scalar"
        if output_type is None:
            if graph:
                return "node"
            return "point" if self.frame.translation else "vector"
        if output_type not in self.frame.output_types or output_type == "scalar":
            raise ValueError(f"output_type must be one of {self.frame.output_types[:-1]} in "
                             f"equivariant mode, got {output_type!r}")
        return output_type

    def extra_repr(self) -> str:
        """``mode, input_types, output_type, stochastic``."""
        return (f"mode={self.mode!r}, input_types={self.input_types}, "
                f"output_type={self.output_type!r}, stochastic={self.stochastic}")

    def frame_elements(self, *inputs: torch.Tensor, mask=None, batch=None,
                       num_graphs: int | None = None) -> FrameElements:
        """The (full) frames of a batch."""
        self._check_inputs(inputs)
        if isinstance(self.frame, PermutationFrame):
            if batch is not None:
                raise ValueError("frame_elements of PyG batches under 'Sn' are computed inside "
                                 "forward (they need edge_index); call forward")
            if self._anchor is None:
                raise ValueError("dense graphs need an 'adjacency' input for the 'Sn' frame; "
                                 "PyG batches need batch= and edge_index=")
            feats = [x for x, t in zip(inputs, self.input_types, strict=True) if t == "node"]
            feats = torch.cat([f.reshape(*f.shape[:2], -1) for f in feats], -1) if feats \
                else None
            return self.frame(inputs[self._anchor], feats, mask)
        return self.frame(inputs[self._anchor], mask=mask, batch=batch, num_graphs=num_graphs)

    def _check_inputs(self, inputs):
        if len(inputs) != len(self.input_types):
            raise ValueError(f"expected {len(self.input_types)} positional inputs of types "
                             f"{self.input_types}, got {len(inputs)}")
        for i, x in enumerate(inputs):
            if not isinstance(x, torch.Tensor):
                raise TypeError(f"input {i} must be a tensor, got {type(x).__name__}")

    def forward(self, *inputs: torch.Tensor, mask: torch.Tensor | None = None,
                batch: torch.Tensor | None = None, num_graphs: int | None = None,
                **kwargs):
        """Average the backbone over the frames; see the class docstring."""
        if isinstance(self.frame, PermutationFrame) and batch is not None:
            return self._forward_sn_flat(inputs, batch, num_graphs, kwargs)
        elements = self.frame_elements(*inputs, mask=mask, batch=batch, num_graphs=num_graphs)
        if self.training and self.stochastic is not None:
            elements = self._sample(elements)
        anchor = inputs[self._anchor]
        layout = _layout(anchor, mask, batch, elements.weights.shape[0] if batch is not None
                         else None, base_dims=1)
        k = elements.size
        canon = [self.frame.canonicalize(elements, x, t, layout)
                 for x, t in zip(inputs, self.input_types, strict=True)]
        call_kwargs = self._fold_kwargs(kwargs, k, layout, anchor)
        if self.pass_mask and layout.mask is not None:
            call_kwargs["mask"] = self._canonical_mask(elements, layout)
        out = self.backbone(*canon, **call_kwargs)
        if not isinstance(out, torch.Tensor):
            raise TypeError(f"the backbone must return one tensor, got {type(out).__name__}")
        node_level = self._node_level(out, k, layout)
        return self.frame.restore(elements, out, self.output_type, layout, node_level)

    def _forward_sn_flat(self, inputs, batch, num_graphs, kwargs):
        """S_n frame averaging of a PyG batch: nodes are relabelled within each graph.

        Needs ``edge_index`` (undirected) and a sorted ``batch``; inputs are ``"node"``
        ``(total, F)`` or ``"scalar"``. Copy ``k`` of graph ``g`` lists its nodes in the
        canonical order of frame element ``k``; ``edge_index`` is relabelled to match.
        """
        self._check_inputs(inputs)
        if "adjacency" in self.input_types:
            raise ValueError("with batch= the graph comes from edge_index: use input_types of "
                             "'node' / 'scalar' only")
        edge_index = kwargs.pop("edge_index", None)
        if edge_index is None:
            raise ValueError("the 'Sn' frame of a PyG batch needs edge_index=")
        if batch.dim() != 1 or batch.dtype != torch.long or \
                bool((batch[1:] < batch[:-1]).any()):
            raise ValueError("batch must be a sorted long vector (PyG's contiguous graphs)")
        total = batch.shape[0]
        graphs = int(batch.max()) + 1 if num_graphs is None else num_graphs
        counts = torch.bincount(batch, minlength=graphs)
        starts = torch.cumsum(counts, 0) - counts
        position = torch.arange(total, device=batch.device) - starts[batch]
        width = int(counts.max())
        adjacency = torch.zeros(graphs, width, width, dtype=torch.float64)
        src, dst = edge_index.cpu()
        adjacency[batch[src].cpu(), position[src].cpu(), position[dst].cpu()] = 1.0
        mask = torch.zeros(graphs, width, dtype=torch.bool)
        mask[batch.cpu(), position.cpu()] = True
        feats = [x.reshape(total, -1) for x, t in zip(inputs, self.input_types, strict=True)
                 if t == "node"]
        dense_feats = None
        if feats:
            flat = torch.cat(feats, -1).detach().to(torch.float64).cpu()
            dense_feats = flat.new_zeros(graphs, width, flat.shape[-1])
            dense_feats[batch.cpu(), position.cpu()] = flat
        elements = self.frame(adjacency, dense_feats, mask)
        if self.training and self.stochastic is not None:
            elements = self._sample(elements)
        k = elements.size
        perm = elements.permutation.to(batch.device)  # (G, K, width)
        order = (starts[batch].unsqueeze(1) + perm[batch, :, position]).T  # (K, total)
        relabel = torch.argsort(order, dim=1)  # original node -> canonical slot, per copy
        offsets = torch.arange(k, device=batch.device).view(k, 1) * total
        canon = [x[order].reshape(k * total, *x.shape[1:]) if t == "node"
                 else x.repeat(k, *[1] * (x.dim() - 1))
                 for x, t in zip(inputs, self.input_types, strict=True)]
        call_kwargs = {name: value.repeat(k, *[1] * (value.dim() - 1))
                       if isinstance(value, torch.Tensor) else value
                       for name, value in kwargs.items()}
        call_kwargs["edge_index"] = (relabel[:, edge_index] + offsets.view(k, 1, 1)) \
            .transpose(0, 1).reshape(2, -1)
        call_kwargs["batch"] = (batch.unsqueeze(0) + offsets // total * graphs).reshape(-1)
        out = self.backbone(*canon, **call_kwargs)
        weights = elements.weights.to(device=out.device)
        if out.shape[0] == k * total:  # node level: back to input order, then average
            y = out.reshape(k, total, *out.shape[1:])
            if self.output_type == "node":
                index = order.reshape(k, total, *[1] * (y.dim() - 2)).expand_as(y)
                y = torch.zeros_like(y).scatter_(1, index, y)
            w = weights[batch].T.to(y.dtype)
            return (w.reshape(k, total, *[1] * (y.dim() - 2)) * y).sum(0)
        if out.shape[0] == k * graphs:  # graph level
            y = out.reshape(k, graphs, *out.shape[1:])
            w = weights.T.to(y.dtype)
            return (w.reshape(k, graphs, *[1] * (y.dim() - 2)) * y).sum(0)
        raise ValueError(f"the backbone output must be node-level ({k * total}, …) or "
                         f"graph-level ({k * graphs}, …), got {tuple(out.shape)}")

    def _canonical_mask(self, elements: FrameElements, layout: _Layout) -> torch.Tensor:
        """The mask of the canonicalised copies ``(B*K, N)`` (permuted for S_n frames)."""
        mask = layout.mask.repeat_interleave(elements.size, 0)
        if elements.permutation is None:
            return mask
        perm = elements.permutation.reshape(mask.shape).to(mask.device)
        return torch.gather(mask, 1, perm)

    def _sample(self, elements: FrameElements) -> FrameElements:
        count = min(self.stochastic, elements.size)
        probs = (elements.weights > 0).to(torch.float64).cpu()
        support = int(probs.sum(1).min())
        index = torch.multinomial(probs, min(count, support), replacement=False,
                                  generator=self.generator)
        return elements.subset(index.to(elements.weights.device))

    def _fold_kwargs(self, kwargs, k, layout, anchor) -> dict:
        out = {}
        for name, value in kwargs.items():
            if not isinstance(value, torch.Tensor):
                out[name] = value
            elif layout.dense:
                leading = value.dim() > 0 and value.shape[0] == layout.num_graphs
                out[name] = value.repeat_interleave(k, 0) if leading else value
            elif name == "edge_index":
                offsets = torch.arange(k, device=value.device) * layout.num_nodes
                out[name] = (value.unsqueeze(0) + offsets.view(k, 1, 1)).transpose(0, 1) \
                    .reshape(2, -1)
            else:
                out[name] = value.repeat(k, *[1] * (value.dim() - 1))
        if not layout.dense:
            offsets = torch.arange(k, device=anchor.device) * layout.num_graphs
            out["batch"] = (layout.batch.unsqueeze(0) + offsets.view(k, 1)).reshape(-1)
        return out

    @staticmethod
    def _node_level(out, k, layout) -> bool:
        if layout.dense:
            if out.shape[0] != layout.num_graphs * k:
                raise ValueError(f"the backbone output must have leading axis batch·|F| = "
                                 f"{layout.num_graphs * k}, got {tuple(out.shape)}")
            return True
        if out.shape[0] == k * layout.num_nodes:
            return True
        if out.shape[0] == k * layout.num_graphs:
            return False
        raise ValueError(f"the backbone output must be node-level ({k * layout.num_nodes}, …) "
                         f"or graph-level ({k * layout.num_graphs}, …), got {tuple(out.shape)}")
