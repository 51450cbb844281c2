"""Gyro multinomial logistic regression on SPD matrices (Nguyen & Yang, ICML 2023, §3.3)."""

from __future__ import annotations

import geoopt
import torch
from torch import nn

from geomlayers import linalg
from geomlayers.linalg import sym
from geomlayers.manifolds.spd import SPDAffineInvariant
from geomlayers.nn.spd.layers import _check_spd_input

__all__ = ["SPDGyroMLR"]


class SPDGyroMLR(nn.Module):
    """Gyro multinomial logistic regression on SPD matrices (Nguyen & Yang, ICML 2023, §3.3).

    Logit of class ``k``: ``⟨Log_I(⊖P_k ⊕ X), A_k⟩_F`` with the gyro-operations of the metric —
    AIM: ``log(P_k^{-1/2} X P_k^{-1/2})``; LEM: ``log X − log P_k`` — for a learnable SPD
    point ``P_k`` (geoopt ``ManifoldParameter``, AIM manifold) and a learnable symmetric normal
    ``A_k`` (the hyperplane ``{X : ⟨Log_I(⊖P_k ⊕ X), A_k⟩ = 0}`` passes through ``P_k``).

    Shapes: ``(N, n, n) → (N, num_classes)``.

    >>> mlr = SPDGyroMLR(3, 4, metric="lem", dtype=torch.float64)
    >>> mlr(torch.eye(3, dtype=torch.float64).expand(2, 3, 3)).shape
    torch.Size([2, 4])
    """

    def __init__(self, num_features: int, num_classes: int, *, metric: str = "aim",
                 device=None, dtype=None):
        super().__init__()
        if not (isinstance(num_features, int) and num_features >= 1):
            raise ValueError(f"num_features must be a positive int, got {num_features}")
        if not (isinstance(num_classes, int) and num_classes >= 1):
            raise ValueError(f"num_classes must be a positive int, got {num_classes}")
        if metric not in ("aim", "lem"):
            raise ValueError(f"metric must be 'aim' or 'lem', got {metric!r}")
        self.num_features, self.num_classes, self.metric = num_features, num_classes, metric
        factory = {"device": device, "dtype": dtype}
        shape = (num_classes, num_features, num_features)
        self.points = geoopt.ManifoldParameter(torch.empty(shape, **factory),
                                               manifold=SPDAffineInvariant())
        self.normals = nn.Parameter(torch.empty(shape, **factory))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Points at ``I``; normals symmetric Gaussian with std ``1/n``."""
        with torch.no_grad():
            eye = torch.eye(self.num_features, dtype=self.points.dtype,
                            device=self.points.device)
            self.points.copy_(eye.expand_as(self.points))
            self.normals.copy_(sym(torch.randn_like(self.normals)) / self.num_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, num_classes)``."""
        _check_spd_input(x, self.num_features)
        if x.dim() != 3:
            raise ValueError(f"x must have shape (N, n, n), got {tuple(x.shape)}")
        a = sym(self.normals).to(x.dtype)
        p = self.points.to(x.dtype)
        if self.metric == "lem":
            diff = linalg.logm(x).unsqueeze(1) - linalg.logm(p)
        else:
            pi = linalg.invsqrtm(p)
            diff = linalg.logm(sym(pi @ x.unsqueeze(1) @ pi))
        return (diff * a).sum((-1, -2))

    def extra_repr(self) -> str:
        """Sizes and metric."""
        return (f"num_features={self.num_features}, num_classes={self.num_classes}, "
                f"metric={self.metric!r}")
