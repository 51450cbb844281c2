"""Log-Euclidean manifold attention among SPD matrices (Pan et al., MAtt, NeurIPS 2022, §3.3)."""

from __future__ import annotations

import torch
from torch import nn

from geomlayers import linalg
from geomlayers.linalg import sym
from geomlayers.nn.spd.layers import BiMap

__all__ = ["SPDAttention"]


class SPDAttention(nn.Module):
    """Log-Euclidean self-attention among the ``S`` SPD matrices of each sample (MAtt, §3.3).

    For one sample's sequence ``X_1 … X_S``: queries, keys and values are BiMaps of each
    matrix, ``Q_s = W_qᵀ X_s W_q`` (likewise ``K``, ``V``; each ``W ∈ St(in_dim, out_dim)``);
    query ``s`` scores key ``t`` by ``a_st = 1 / (1 + log(1 + d_st))`` with the squared
    log-Euclidean distance ``d_st = ||log Q_s − log K_t||_F²``; the weights are the softmax of
    the scores over ``t``; and output ``s`` is the weighted log-Euclidean mean of the values,
    ``Y_s = exp(Σ_t w_st log V_t)``.  So ``Y_s`` is SPD, the layer is equivariant to
    permutations of the sequence, and a single matrix comes back as its value ``V_1``.

    Reference: Pan, Chou, Lin & Ko, "MAtt: a manifold attention network for EEG decoding",
    NeurIPS 2022, §3.3 (eqs. 4-6); the score ``1/(1 + log(1 + d))`` is their code's.
    Logarithms and the exponential go through :mod:`geomlayers.linalg` (stable backward).

    Shapes: ``(N, S, in_dim, in_dim) → (N, S, out_dim, out_dim)``.

    >>> layer = SPDAttention(5, 3, dtype=torch.float64)
    >>> layer(torch.eye(5, dtype=torch.float64).expand(2, 4, 5, 5)).shape
    torch.Size([2, 4, 3, 3])

    """

    def __init__(self, in_dim: int, out_dim: int, *, device=None, dtype=None):
        super().__init__()
        factory = {"device": device, "dtype": dtype}
        self.query = BiMap(in_dim, out_dim, **factory)
        self.key = BiMap(in_dim, out_dim, **factory)
        self.value = BiMap(in_dim, out_dim, **factory)
        self.in_dim, self.out_dim = in_dim, out_dim

    def reset_parameters(self) -> None:
        """Re-initialise the three BiMaps."""
        for bimap in (self.query, self.key, self.value):
            bimap.reset_parameters()

    def weights(self, x: torch.Tensor) -> torch.Tensor:
        """Attention weights ``(N, S, S)``: row ``s`` holds query ``s``'s weights (sum 1)."""
        log_q, log_k = (self._log_bimap(bimap, x) for bimap in (self.query, self.key))
        dist2 = (log_q.unsqueeze(2) - log_k.unsqueeze(1)).square().sum((-1, -2))  # (N, S, S)
        return torch.softmax(1.0 / (1.0 + torch.log1p(dist2)), dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The attended sequence ``(N, S, out_dim, out_dim)``."""
        log_v = self._log_bimap(self.value, x)
        mixed = torch.einsum("nst,ntij->nsij", self.weights(x), log_v)
        return linalg.expm(sym(mixed))

    def _log_bimap(self, bimap: BiMap, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.dim() != 4 or x.shape[-2:] != (self.in_dim,
                                                                                  self.in_dim):
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"x must have shape (N, S, {self.in_dim}, {self.in_dim}) "
                             f"(samples, sequence, matrix), got {shape}")
        return linalg.logm(bimap(x.flatten(0, 1))).unflatten(0, x.shape[:2])

    def extra_repr(self) -> str:
        """Sizes."""
        return f"in_dim={self.in_dim}, out_dim={self.out_dim}"
