"""Frame elements and the frame base class (Puny et al., ICLR 2022, §2; ``docs/frames.md``)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import nn

from geomlayers.groups.base import Group
from geomlayers.groups.euclidean import (
    EuclideanGroup,
    SpecialEuclideanGroup,
    TranslationGroup,
    split,
)
from geomlayers.groups.orthogonal import OrthogonalGroup, SpecialOrthogonalGroup
from geomlayers.groups.permutation import permutation_matrices
from geomlayers.groups.representations import Points, TensorPower, Trivial, Vectors

__all__ = ["FrameWarning", "DegenerateFrameWarning", "FrameElements", "Frame"]

#: groups whose elements are homogeneous (d+1) x (d+1) matrices of a point action
_EUCLIDEAN = (EuclideanGroup, SpecialEuclideanGroup, TranslationGroup)

_POINT_TYPES = ("point", "vector", "scalar")
_GRAPH_TYPES = ("adjacency", "node", "scalar")


class FrameWarning(UserWarning):
    """A frame could not be made exactly equivariant (see the message)."""


class DegenerateFrameWarning(FrameWarning):
    """A covariance spectrum was (near-)degenerate and could not be resolved."""


@dataclass(frozen=True)
class FrameElements:
    """The frames of a batch of inputs: elements of ``group``, with averaging weights.

    Attributes:
        group: the group the elements belong to (``EuclideanGroup(3)``,
            ``OrthogonalGroup(3)``, ``SymmetricGroup(N)``, …).
        weights: ``(B, K)``: averaging weights, each row sums to 1 (0 marks padding where
            frames of one batch have different sizes).
        elements: ``(B, K, n, n)`` matrices of ``group``'s defining representation
            (homogeneous ``(d+1) x (d+1)`` for E(d), SE(d), T(d); ``d x d`` for O(d), SO(d)),
            or ``None`` for S_n frames.
        permutation: ``(B, K, N)`` long: canonical position ``j`` holds node
            ``permutation[..., j]`` (S_n frames; the element is the permutation matrix
            ``P_σ``, see :meth:`matrices`) or ``None``.

    """

    group: Group
    weights: torch.Tensor
    elements: torch.Tensor | None = None
    permutation: torch.Tensor | None = None

    @property
    def size(self) -> int:
        """``K``, the number of elements per input (after padding)."""
        return self.weights.shape[1]

    @property
    def rotation(self) -> torch.Tensor | None:
        """``(B, K, d, d)``: the linear parts ``R`` of point-cloud frames (``None`` for S_n)."""
        if self.elements is None:
            return None
        if isinstance(self.group, _EUCLIDEAN):
            return split(self.elements)[0]
        return self.elements

    @property
    def translation(self) -> torch.Tensor | None:
        """``(B, K, d)``: the translations ``t`` of point-cloud frames (``None`` for S_n)."""
        if self.elements is None:
            return None
        if isinstance(self.group, _EUCLIDEAN):
            return split(self.elements)[1]
        return self.elements.new_zeros(self.elements.shape[:-1])

    def matrices(self) -> torch.Tensor:
        """``(B, K, n, n)``: the elements as matrices of ``group`` (homogeneous for E(d))."""
        if self.permutation is None:
            return self.elements
        b, k = self.weights.shape
        perms = self.permutation.reshape(b * k, -1)
        mats = permutation_matrices(perms, dtype=self.weights.dtype, device=self.weights.device)
        return mats.reshape(b, k, *mats.shape[-2:])

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
        return replace(self, weights=weights, elements=take(self.elements),
                       permutation=take(self.permutation))


#: how each input / output type of a frame transforms (``None``: no representation value)
REPRESENTATIONS = {
    "point": Points(),
    "vector": Vectors(),
    "scalar": Trivial(),
    "adjacency": TensorPower(2),
    "node": None,  # (B, N, F): the node axis is not the last one
}


def act_on(group: Group, g: torch.Tensor, x: torch.Tensor, kind: str) -> torch.Tensor:
    """The group's own action of ``g`` ``(m, n, n)`` on ``x`` ``(m, ..., d)``, one per row.

    ``kind`` is ``"point"`` (``R x + t``, :class:`~geomlayers.groups.Points`) or
    ``"vector"`` (``R x``, :class:`~geomlayers.groups.Vectors`), through
    :meth:`Group.act`.
    """
    return group.act(g, x, REPRESENTATIONS[kind])


def inverse(group: Group, g: torch.Tensor) -> torch.Tensor:
    """``g^{-1}`` for matrices of E(d)-type groups (``(Rᵀ, -Rᵀt)``) or O(d), SO(d) (``gᵀ``)."""
    if isinstance(group, _EUCLIDEAN):
        return group.inverse(g)
    if isinstance(group, (OrthogonalGroup, SpecialOrthogonalGroup)):
        return g.transpose(-1, -2)
    raise TypeError(f"frames of {group} have no inverse here")


class Frame(nn.Module):
    """Base of frames: ``frame(inputs, types, mask=None, batch=None) -> FrameElements``.

    Subclasses also say how elements act: :meth:`canonicalize` applies ``ρ_in(g)^{-1}`` and
    :meth:`restore` applies ``ρ_out(g)``, both on the frame folded into the batch.
    """

    input_types: tuple[str, ...] = ()
    output_types: tuple[str, ...] = ()
