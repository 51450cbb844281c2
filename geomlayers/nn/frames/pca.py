"""PCA frames of point clouds for E(d), O(d), SO(d), SE(d) and T(d) (Puny et al., §3.1)."""

from __future__ import annotations

import torch

from geomlayers.groups.base import Group
from geomlayers.groups.euclidean import (
    EuclideanGroup,
    SpecialEuclideanGroup,
    TranslationGroup,
    split,
)
from geomlayers.groups.orthogonal import OrthogonalGroup, SpecialOrthogonalGroup
from geomlayers.nn.frames.elements import (
    _EUCLIDEAN,
    _POINT_TYPES,
    Frame,
    FrameElements,
    act_on,
    inverse,
)
from geomlayers.nn.frames.layout import BatchLayout, _fold_nodes, _per_node, batch_layout
from geomlayers.nn.frames.pca_core import num_elements, pca_frame
from geomlayers.validation import check_int

__all__ = ["PCAFrame"]


#: group class -> (linear part, translations) of its PCA frame
_FAMILIES = {
    EuclideanGroup: ("O", True),
    SpecialEuclideanGroup: ("SO", True),
    TranslationGroup: ("none", True),
    OrthogonalGroup: ("O", False),
    SpecialOrthogonalGroup: ("SO", False),
}


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
        if d is not None:
            d = check_int("d", d, minimum=1)
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
        return num_elements(self.linear, d)

    @classmethod
    def for_group(cls, group: Group, **kwargs) -> PCAFrame:
        """The PCA frame whose elements lie in ``group``: E(d), SE(d), T(d), O(d) or SO(d).

        >>> PCAFrame.for_group(SpecialEuclideanGroup(3)).num_elements(3)
        4
        """
        for kind, (linear, translation) in _FAMILIES.items():
            if type(group) is kind:
                return cls(group.d if translation or linear == "none" else group.n,
                           linear=linear, translation=translation, **kwargs)
        raise TypeError(f"PCA frames exist for EuclideanGroup, SpecialEuclideanGroup, "
                        f"TranslationGroup, OrthogonalGroup and SpecialOrthogonalGroup; got "
                        f"{group!r}")

    @torch.no_grad()
    def forward(self, points: torch.Tensor, mask: torch.Tensor | None = None,
                batch: torch.Tensor | None = None,
                num_graphs: int | None = None) -> FrameElements:
        """Frames of dense ``(B, N, d)`` or flat ``(total, d)`` clouds; see the class doc."""
        layout = self._check(points, mask, batch, num_graphs)
        d = points.shape[-1]
        elements, weights = pca_frame(points, layout, self.linear, self.translation,
                                      self._tol(points.dtype), self.on_degenerate)
        return FrameElements(self.group(d), weights, elements)

    def _check(self, points, mask, batch, num_graphs) -> BatchLayout:
        if not isinstance(points, torch.Tensor) or not points.is_floating_point():
            raise TypeError(f"points must be a floating-point tensor, got {type(points)}")
        layout = batch_layout(points, mask, batch, num_graphs, base_dims=1)
        d = points.shape[-1]
        if self.d is not None and d != self.d:
            raise ValueError(f"points must end in an axis of size d={self.d}, got "
                             f"{tuple(points.shape)}")
        return layout

    def _tol(self, dtype: torch.dtype) -> float:
        if self.gap_tol is not None:
            return self.gap_tol
        return 1e-6 if dtype == torch.float64 else 1e-3

    # -- actions: the group's own action on points and vectors --------------------------

    def canonicalize(self, elements: FrameElements, x: torch.Tensor, kind: str,
                     layout: BatchLayout) -> torch.Tensor:
        """``g^{-1}·x`` for every frame element ``g``, folded into the batch.

        Dense ``(B, N, d)`` -> ``(B*K, N, d)``; flat ``(total, d)`` -> ``(K*total, d)``.
        Points are first moved by the translation part (``x - t``), then the linear part
        acts (:meth:`EuclideanGroup.act_vectors` of ``g^{-1}``): the same map as
        ``act_points(g^{-1}, x)`` without the cancellation of ``Rᵀx - Rᵀt`` far from the
        origin. Masked-out nodes come out as zeros.
        """
        k = elements.size
        out = _fold_nodes(x, k, layout)
        if kind != "scalar":
            group = elements.group
            g = self._per_copy(elements.elements, layout).to(x.dtype)  # (B*K | K*total, n, n)
            if kind == "point" and isinstance(group, _EUCLIDEAN):
                out = out - self._expand(split(g)[1], out)
            out = act_on(group, inverse(group, g), out, "vector")
        if layout.dense and layout.mask is not None and x.shape[:2] == layout.mask.shape:
            mask = layout.mask.repeat_interleave(k, 0)  # select, not multiply (NaN padding)
            out = torch.where(mask.reshape(*mask.shape, *[1] * (x.dim() - 2)), out,
                              out.new_zeros(()))
        return out

    def restore(self, elements: FrameElements, y: torch.Tensor, kind: str,
                layout: BatchLayout, node_level: bool) -> torch.Tensor:
        """``Σ_k w_k g_k·y_k`` from the folded backbone output (``act_points`` for points)."""
        k, b = elements.size, layout.num_graphs
        if kind != "scalar":
            d = elements.elements.shape[-1] - isinstance(elements.group, _EUCLIDEAN)
            if y.dim() < 2 or y.shape[-1] != d:
                raise ValueError(f"an equivariant {kind!r} output must end in an axis of size "
                                 f"d={d}, got {tuple(y.shape)}")
            if layout.dense or node_level:
                g = self._per_copy(elements.elements, layout)
            else:  # flat graph level: copies are (K, B)
                g = elements.elements.transpose(0, 1).reshape(k * b,
                                                              *elements.elements.shape[2:])
            y = act_on(elements.group, g, y, kind)
        weights = elements.weights.to(y.dtype)
        if layout.dense:
            y = y.reshape(b, k, *y.shape[1:])
            return (weights.reshape(b, k, *[1] * (y.dim() - 2)) * y).sum(1)
        if not node_level:
            y = y.reshape(k, b, *y.shape[1:])
            return (weights.T.reshape(k, b, *[1] * (y.dim() - 2)) * y).sum(0)
        y = y.reshape(k, layout.num_nodes, *y.shape[1:])  # (K, total, ...)
        w = _per_node(weights.unsqueeze(-1), layout).squeeze(-1)  # (K, total)
        return (w.reshape(*w.shape, *[1] * (y.dim() - 2)) * y).sum(0)

    @staticmethod
    def _per_copy(g: torch.Tensor, layout: BatchLayout) -> torch.Tensor:
        """``(B, K, n, n)`` -> one per folded copy: ``(B*K, n, n)`` or ``(K*total, n, n)``."""
        if layout.dense:
            return g.reshape(-1, *g.shape[2:])
        return _per_node(g, layout).reshape(-1, *g.shape[2:])

    @staticmethod
    def _expand(t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``t`` ``(m, d)`` broadcast against ``x`` ``(m, ..., d)``."""
        return t.reshape(t.shape[0], *[1] * (x.dim() - 2), t.shape[-1])
