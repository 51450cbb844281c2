"""Frame elements and the frame base class (Puny et al., ICLR 2022, §2; ``docs/frames.md``)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import nn

from geomlayers.groups.base import Group
from geomlayers.groups.euclidean import compose
from geomlayers.groups.orthogonal import OrthogonalGroup, SpecialOrthogonalGroup
from geomlayers.groups.permutation import permutation_matrices

__all__ = ["FrameWarning", "DegenerateFrameWarning", "FrameElements", "Frame"]

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
