"""The weighted sample grid on GL⁺(n) / SL(n) shared by the layers of a network."""

from __future__ import annotations

import torch
from torch import nn

from geomlayers.groups.affine import Affine, GLPlus, GroupSamples
from geomlayers.nn.lie.base import _check_channels, _check_group

__all__ = ["GroupSampler"]


class GroupSampler(nn.Module):
    """The sample grid shared by the layers of a network.

    Eval mode: a fixed grid drawn once from ``seed`` (deterministic; rebuilt from the seed,
    so it is not part of the state dict). Training mode: a fresh grid on each call from a
    private generator seeded with ``seed + 1`` (a deterministic sequence). Distribution and
    weights: :meth:`GLPlus.sample_grid` (``num_seeds`` seeds × ``orbit`` rotations).
    """

    def __init__(
        self,
        group: Affine | GLPlus,
        num_seeds: int = 1,
        orbit: int = 8,
        *,
        scale: float = 0.25,
        seed: int = 0,
        resample: bool = True,
    ) -> None:
        super().__init__()
        self.group, self.linear = _check_group(group)
        self.num_seeds = _check_channels("num_seeds", num_seeds)
        self.orbit, self.scale, self.seed, self.resample = orbit, scale, seed, resample
        self._fixed = self.linear.sample_grid(num_seeds, seed, scale=scale, orbit=orbit)
        self._generator = torch.Generator().manual_seed(seed + 1)

    @property
    def num_samples(self) -> int:
        """``N = num_seeds · orbit``."""
        return len(self._fixed.elements)

    def forward(self, dtype: torch.dtype, device: torch.device | None = None) -> GroupSamples:
        """The grid at ``dtype``/``device`` (fixed in eval, redrawn in training)."""
        if self.training and self.resample:
            grid = self.linear.sample_grid(
                self.num_seeds, self._generator, scale=self.scale, orbit=self.orbit
            )
        else:
            grid = self._fixed
        return grid.to(dtype=dtype, device=device)

    def extra_repr(self) -> str:
        """Hyper-parameters for ``repr``."""
        return (f"group={self.group}, num_seeds={self.num_seeds}, orbit={self.orbit}, "
                f"scale={self.scale}, seed={self.seed}")
