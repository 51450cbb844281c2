"""SPD network layers (BiMap, ReEig, LogEig, ExpEig), SPD batch norms, heads, pooling, attention.

Inputs are batches of SPD matrices ``(N, n, n)`` or, with channels, ``(N, C, n, n)``.
Eigen-functions go through :mod:`geomlayers.linalg` (Daleckii–Krein backward, finite for
repeated eigenvalues); manifold-valued weights are geoopt ``ManifoldParameter``s, so one
``geoopt.optim.RiemannianAdam(model.parameters())`` trains a whole model.  Whole networks
(:class:`~geomlayers.models.SPDNet`, :class:`~geomlayers.models.ConvSPDNet`) live in
:mod:`geomlayers.models`.  See ``docs/spd.md``.

* :mod:`.layers` — BiMap, ReEig, LogEig, ExpEig (Huang & Van Gool, AAAI 2017, §3).
* :mod:`.batchnorm` — :class:`SPDBatchNorm` (AIM, LEM, BW, GBW; domain-specific statistics).
* :mod:`.head` — :class:`SPDGyroMLR` (Nguyen & Yang, ICML 2023).
* :mod:`.pooling` — :class:`CovariancePooling`.
* :mod:`.attention` — :class:`SPDAttention` (Pan et al., NeurIPS 2022).
"""

from geomlayers.nn._moved import moved_attribute
from geomlayers.nn.spd.attention import SPDAttention
from geomlayers.nn.spd.batchnorm import SPDBatchNorm, adapt_batch_norm
from geomlayers.nn.spd.head import SPDGyroMLR
from geomlayers.nn.spd.layers import (
    BiMap,
    ExpEig,
    LogEig,
    OrthogonalCongruence,
    ReEig,
    sym_to_vec,
    vec_to_sym,
)
from geomlayers.nn.spd.pooling import CovariancePooling

__all__ = [
    "BiMap",
    "ReEig",
    "LogEig",
    "ExpEig",
    "SPDBatchNorm",
    "adapt_batch_norm",
    "SPDGyroMLR",
    "CovariancePooling",
    "SPDAttention",
    "sym_to_vec",
    "vec_to_sym",
    "OrthogonalCongruence",
]


__getattr__ = moved_attribute("geomlayers.nn.spd", ('SPDNet', 'ConvSPDNet'))
