"""``SPDNetClassifier``: SPDNet with optional SPD batch norm as a scikit-learn classifier."""

from __future__ import annotations

import math
import numbers

from geomlayers.integrations.sklearn._trainer import TorchSPDTrainer

_BN_METRICS = (None, "aim", "bw", "gbw")


class SPDNetClassifier(TorchSPDTrainer):
    """SPDNet (Huang & Van Gool, AAAI 2017) with optional SPD batch norm, as a sklearn classifier.

    Network: ``[BiMap → SPDBatchNorm(bn_metric) → ReEig]`` per step of ``dims``, ``LogEig``,
    linear layer (:class:`geomlayers.nn.spd.SPDNet`); ``bn_metric`` ``None`` is plain SPDNet,
    ``"aim"`` Brooks et al.'s Riemannian BN (NeurIPS 2019), ``"bw"``/``"gbw"`` the (generalized)
    Bures–Wasserstein BN of Wang et al. (GBWBN, CVPR 2025). Training recipe: module docstring.

    Args:
        dims: BiMap output sizes after the input size ``d``; ``None`` picks
            :meth:`default_dims` (``(⌈d/2⌉, ⌈d/4⌉)`` floored at ``min(d, 4)``).
        bn_metric: None, "aim", "bw" or "gbw".
        lr: RiemannianAdam learning rate.
        max_epochs: epoch cap.
        batch_size: mini-batch size (>= 2; the batch norm needs two matrices).
        patience: early-stopping patience in epochs.
        validation_fraction: share of the training trials held out for early stopping
            (0 disables it).
        weight_decay: of the optimiser.
        checkpoint_ensemble: predict with the mean class probabilities of this many epochs'
            weights, those of lowest validation loss (the last ones without validation);
            1: the best epoch alone (module docstring, step 4).
        recenter: re-centre the inputs at the training mean (module docstring, step 1).
        dtype: "float64" (default) or "float32" for the network.
        random_state: int, ``np.random.RandomState`` or None; seeds initialisation, the
            validation split and the batch order (the global torch RNG is left unchanged).
        progress: epoch progress bar on stderr during ``fit``: ``None`` (on for a terminal),
            ``True`` or ``False``; ``GEOMLAYERS_PROGRESS=0`` silences it globally.
        verbose: 0 (silent) or 1: one line per epoch on stdout (``print``, so it shows in logs
            and notebooks): train loss, validation loss and accuracy.

    Fitted attributes: ``classes_``, ``n_features_in_`` (matrix size d), ``module_``,
    ``best_epoch_`` (0: the initial weights), ``diverged_epoch_`` (``None`` unless training
    diverged),
    ``reference_``, ``history_``, ``n_epochs_``, ``best_val_loss_``, ``fit_time_``,
    ``checkpoints_`` (the ensemble's state dicts, lowest validation loss first; ``None`` when
    ``checkpoint_ensemble`` is 1).

    >>> import numpy as np
    >>> from geomlayers.data.eeg import load_bundled
    >>> X, y = load_bundled()
    >>> clf = SPDNetClassifier(dims=(4,), max_epochs=2, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)

    """

    def __init__(self, dims=None, bn_metric=None, *, lr=0.01, max_epochs=100, batch_size=32,
                 patience=15, validation_fraction=0.2, weight_decay=0.0, checkpoint_ensemble=1,
                 recenter=True, dtype="float64", random_state=None, progress=None, verbose=0):
        self.dims = dims
        self.bn_metric = bn_metric
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

    @staticmethod
    def default_dims(d: int) -> tuple[int, ...]:
        """``(max(⌈d/2⌉, min(d, 4)), max(⌈d/4⌉, min(d, 4)))`` — e.g. 8 → (4, 4), 22 → (11, 6)."""
        low = min(d, 4)
        return (max(math.ceil(d / 2), low), max(math.ceil(d / 4), low))

    def _check_own_params(self, shape) -> None:
        d = shape[0]
        if self.bn_metric not in _BN_METRICS:
            raise ValueError(f"bn_metric must be one of {_BN_METRICS}, got {self.bn_metric!r}")
        if self.dims is not None:
            dims = list(self.dims)
            if not dims or any(not isinstance(v, numbers.Integral) or v < 1 for v in dims):
                raise ValueError(f"dims must be a non-empty sequence of positive ints, "
                                 f"got {self.dims!r}")
            if any(b > a for a, b in zip([d, *dims[:-1]], dims, strict=True)):
                raise ValueError(f"dims must be non-increasing and <= the input size {d}, "
                                 f"got {self.dims!r}")

    def _make_module(self, shape, n_classes, dtype):
        from geomlayers.nn.spd import SPDNet

        d = shape[0]
        dims = self.default_dims(d) if self.dims is None else tuple(int(v) for v in self.dims)
        return SPDNet([d, *dims], n_classes, bn_metric=self.bn_metric, dtype=dtype)


