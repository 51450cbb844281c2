"""PCA frames of point clouds for E(d), O(d), SO(d), SE(d) and T(d) (Puny et al., §3.1)."""

from __future__ import annotations

import functools
import itertools
import warnings

import torch

from geomlayers.groups.base import Group
from geomlayers.groups.euclidean import EuclideanGroup, SpecialEuclideanGroup, TranslationGroup
from geomlayers.groups.orthogonal import OrthogonalGroup, SpecialOrthogonalGroup
from geomlayers.nn.frames.elements import _POINT_TYPES, DegenerateFrameWarning, Frame, FrameElements
from geomlayers.nn.frames.layout import _fold_nodes, _Layout, _layout, _per_node, _segment_sum

__all__ = ["PCAFrame"]


@functools.lru_cache(maxsize=16)
def _sign_patterns(free: int) -> torch.Tensor:
    """``(2^free, free)`` float64 rows of ±1 (all sign choices, ``+1`` first)."""
    patterns = list(itertools.product((1.0, -1.0), repeat=free))
    return torch.tensor(patterns, dtype=torch.float64).reshape(len(patterns), free)



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
