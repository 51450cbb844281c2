"""``GrassmannClassifier``: GrNet on the principal subspaces of re-centred covariances."""

from __future__ import annotations

import math
import numbers

import torch

from geomlayers.integrations.sklearn._trainer import TorchSPDTrainer


class GrassmannClassifier(TorchSPDTrainer):
    """GrNet-style classifier on the principal subspaces of the (re-centred) covariances.

    Each trial's covariance ``C`` (after re-centring, module docstring) is mapped to the span of
    its ``q`` leading eigenvectors — a point of ``Gr(d, q)``, the subspace holding most of the
    whitened signal's variance — and classified by :class:`geomlayers.models.GrNet`
    (Huang, Wu & Van Gool, AAAI 2018) with a linear projector head (``head="linear"``, GrNet) or
    the gyro MLR (``head="gyro"``, Nguyen & Yang, ICML 2023).

    Args:
        q: subspace dimension (``1 <= q < d``).
        dims: FRMap sizes; ``None`` picks ``(max(q + 1, ⌈d/2⌉),)``.
        channels: FRMap maps; pool: channel pooling factor.
        head: "linear" or "gyro".
        Others: as :class:`SPDNetClassifier`.

    """

    def __init__(self, q=3, dims=None, channels=8, pool=2, head="linear", *, lr=0.01,
                 max_epochs=100, batch_size=32, patience=15, validation_fraction=0.2,
                 weight_decay=0.0, checkpoint_ensemble=1, recenter=True, dtype="float64",
                 random_state=None, progress=None, verbose=0):
        self.q = q
        self.dims = dims
        self.channels = channels
        self.pool = pool
        self.head = head
        self.lr = lr
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.weight_decay = weight_decay
        self.checkpoint_ensemble = checkpoint_ensemble
        self.recenter = recenter
        self.dtype = dtype
        self.random_state = random_state
        self.progress = progress
        self.verbose = verbose

    def _check_own_params(self, shape) -> None:
        d = shape[0]
        if not isinstance(self.q, numbers.Integral) or not 1 <= self.q < d:
            raise ValueError(f"q must be an integer in 1..{d - 1} (input size {d}), "
                             f"got {self.q!r}")
        if self.head not in ("linear", "gyro"):
            raise ValueError(f"head must be 'linear' or 'gyro', got {self.head!r}")
        for name in ("channels", "pool"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.channels % self.pool:
            raise ValueError(f"channels ({self.channels}) must be divisible by pool "
                             f"({self.pool})")

    def _dims(self, d: int) -> tuple[int, ...]:
        if self.dims is None:
            return (max(self.q + 1, math.ceil(d / 2)),)
        return tuple(int(v) for v in self.dims)

    def _make_module(self, shape, n_classes, dtype):
        from geomlayers.models import GrNet

        d = shape[0]
        return GrNet(d, int(self.q), n_classes, dims=self._dims(d), channels=int(self.channels),
                     pool=int(self.pool), head=self.head, dtype=dtype)

    def _to_input(self, x: torch.Tensor) -> torch.Tensor:
        """Leading-``q`` eigenvectors ``(n, d, q)`` of the re-centred covariances."""
        return torch.linalg.eigh(x)[1][..., -int(self.q):].flip(-1)


