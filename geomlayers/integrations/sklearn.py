"""scikit-learn estimators for SPD input: :class:`SPDNetClassifier`, :class:`GrassmannClassifier`.

Both take covariance matrices ``X`` ``(n_trials, d, d)`` (e.g. from
``pyriemann.estimation.Covariances`` or :func:`geomlayers.data.eeg.covariances`) and labels
``y`` ``(n_trials,)`` of any type, and follow the scikit-learn / pyRiemann discipline: ``__init__``
stores hyper-parameters only, ``fit`` returns ``self``, fitted attributes end in ``_``, and they
work in ``Pipeline``, ``GridSearchCV`` and ``cross_val_score``.

Shared training recipe (chosen for 8-64-channel EEG covariances, used without tuning):

1. Re-centring: ``X ↦ G^{-1/2} X G^{-1/2}`` with ``G`` the affine-invariant mean of the training
   covariances (Zanini et al., "Transfer learning: a Riemannian geometry framework with
   applications to brain-computer interfaces", IEEE TBME 2018, §III-A), so the inputs sit around
   the identity whatever the amplifier units; then a floor on the eigenvalues at ``1e-6 ·`` mean
   eigenvalue (ill-conditioned trials stay SPD).
2. ``geoopt.optim.RiemannianAdam`` (Stiefel / SPD parameters stay on their manifolds),
   cross-entropy, mini-batches, ``max_epochs``.
3. Early stopping on a stratified internal validation split (``validation_fraction``), keeping
   the weights with the lowest validation loss; skipped when the training set is too small to
   hold one validation trial per class.
"""

from __future__ import annotations

import copy
import math
import numbers
import time

import numpy as np
import scipy.sparse
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, check_random_state

from geomlayers.progress import progress_bar

__all__ = ["GrassmannClassifier", "SPDNetClassifier"]

_BN_METRICS = (None, "aim", "bw", "gbw")
_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def _check_covariances(x, name: str = "X", d: int | None = None) -> np.ndarray:
    """Validate ``(n_trials, d, d)`` symmetric positive definite input; returns float64."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    if scipy.sparse.issparse(x):
        raise TypeError(f"sparse input is not supported: {name} must be dense covariance "
                        "matrices (n_trials, d, d)")
    x = np.asarray(x)
    if np.iscomplexobj(x):
        raise ValueError(f"Complex data not supported: {name} must be real covariance matrices")
    try:
        x = x.astype(np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be a numeric array of covariance matrices "
                        f"(n_trials, d, d): {error}") from error
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contains NaN or inf")
    if x.ndim != 3 or x.shape[1] != x.shape[2] or x.shape[1] < 2:
        raise ValueError(f"{name} must be covariance matrices of shape (n_trials, d, d) with "
                         f"d >= 2, got shape {x.shape}; estimate them first, e.g. with "
                         "pyriemann.estimation.Covariances")
    if x.shape[0] < 1:
        raise ValueError(f"{name} holds no trials (shape {x.shape})")
    if d is not None and x.shape[1] != d:
        raise ValueError(f"{name} has matrices of size {x.shape[1]}, but the estimator was "
                         f"fitted on size {d}")
    asym = np.abs(x - np.swapaxes(x, 1, 2)).max()
    if asym > 1e-6 * max(np.abs(x).max(), 1e-300):
        raise ValueError(f"{name} must be symmetric (max |X - Xᵀ| = {asym:.2e})")
    lowest = np.linalg.eigvalsh(0.5 * (x + np.swapaxes(x, 1, 2)))[:, 0]
    if np.any(lowest <= 0):
        raise ValueError(f"{name} must be positive definite: {int(np.sum(lowest <= 0))} "
                         "matrices have eigenvalues <= 0 (use a shrinkage estimator such as "
                         "'oas' or 'lwf')")
    return x


def _inv_sqrt_spd(g: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh(g)
    return (v / np.sqrt(w)) @ v.T


def _floor_eigenvalues(x: np.ndarray, rel: float) -> np.ndarray:
    w, v = np.linalg.eigh(x)
    floor = rel * w.mean(axis=1, keepdims=True)
    w = np.maximum(w, floor)
    return (v * w[:, None, :]) @ np.swapaxes(v, 1, 2)


class _SPDTorchClassifier(ClassifierMixin, BaseEstimator):
    """Fit / predict machinery shared by the SPD-input torch classifiers (not public)."""

    # -- subclasses provide -------------------------------------------------------------------
    def _make_module(self, d: int, n_classes: int, dtype: torch.dtype) -> torch.nn.Module:
        raise NotImplementedError

    def _to_input(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def _check_own_params(self, d: int) -> None:
        """Raise ValueError on bad subclass hyper-parameters."""

    # -- hyper-parameter checks ---------------------------------------------------------------
    def _check_params(self, d: int) -> None:
        checks = [
            ("lr", self.lr, numbers.Real, lambda v: v > 0, "> 0"),
            ("max_epochs", self.max_epochs, numbers.Integral, lambda v: v >= 1, ">= 1"),
            ("batch_size", self.batch_size, numbers.Integral, lambda v: v >= 2, ">= 2"),
            ("patience", self.patience, numbers.Integral, lambda v: v >= 1, ">= 1"),
            ("validation_fraction", self.validation_fraction, numbers.Real,
             lambda v: 0 <= v < 1, "in [0, 1)"),
            ("weight_decay", self.weight_decay, numbers.Real, lambda v: v >= 0, ">= 0"),
        ]
        for name, value, kind, ok, text in checks:
            if not isinstance(value, kind) or isinstance(value, bool) or not ok(value):
                raise ValueError(f"{name} must be {kind.__name__.lower()} {text}, got {value!r}")
        if self.dtype not in _DTYPES:
            raise ValueError(f"dtype must be one of {sorted(_DTYPES)}, got {self.dtype!r}")
        if self.recenter not in (True, False):
            raise ValueError(f"recenter must be True or False, got {self.recenter!r}")
        if self.progress is not None and not isinstance(self.progress, bool):
            raise ValueError(f"progress must be None, True or False, got {self.progress!r}")
        self._check_own_params(d)

    # -- preprocessing ------------------------------------------------------------------------
    def _fit_reference(self, x: np.ndarray) -> None:
        from pyriemann.utils.mean import mean_riemann

        self.reference_ = mean_riemann(x) if self.recenter else np.eye(x.shape[1])
        self._whitener = _inv_sqrt_spd(self.reference_)

    def _prepare(self, x: np.ndarray) -> torch.Tensor:
        w = getattr(self, "_whitener", None)
        if w is None:
            w = _inv_sqrt_spd(self.reference_)
        z = w @ x @ w
        z = _floor_eigenvalues(0.5 * (z + np.swapaxes(z, 1, 2)), 1e-6)
        return torch.as_tensor(z, dtype=_DTYPES[self.dtype])

    # -- fit ----------------------------------------------------------------------------------
    def fit(self, X, y):
        """Train on covariances ``X`` ``(n_trials, d, d)`` and labels ``y`` ``(n_trials,)``.

        Returns:
            self.

        """
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y "
                             "is None")
        y = np.asarray(y)
        if y.ndim != 1:
            raise ValueError(f"y must be one label per trial (n_trials,), got shape {y.shape}")
        check_classification_targets(y)
        classes, codes = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(f"y must hold at least 2 classes, got {len(classes)} class"
                             f"{'es' if len(classes) != 1 else ''}")
        x = _check_covariances(X)
        if y.shape[0] != x.shape[0]:
            raise ValueError(f"y must have shape ({x.shape[0]},), got {y.shape}")
        self._check_params(x.shape[1])
        self.classes_ = classes
        self.n_features_in_ = x.shape[1]
        start = time.perf_counter()
        with torch.random.fork_rng(devices=[]):
            seed = self.random_state
            if seed is None:
                seed = int(np.random.SeedSequence().generate_state(1)[0])
            elif not isinstance(seed, numbers.Integral):
                seed = int(check_random_state(seed).randint(2**31 - 1))
            torch.manual_seed(int(seed))
            rng = np.random.RandomState(int(seed) % (2**32))
            train, val = self._split(codes, rng)
            self._fit_reference(x[train])
            inputs = self._to_input(self._prepare(x))
            targets = torch.as_tensor(codes, dtype=torch.long)
            dtype = _DTYPES[self.dtype]
            self.module_ = self._make_module(x.shape[1], len(self.classes_), dtype)
            self._train(inputs, targets, train, val, rng)
        self.fit_time_ = time.perf_counter() - start
        return self

    def _split(self, codes: np.ndarray, rng: np.random.RandomState):
        index = np.arange(len(codes))
        counts = np.bincount(codes)
        n_val = int(round(self.validation_fraction * len(codes)))
        if (self.validation_fraction == 0 or n_val < len(counts) or counts.min() < 2
                or len(codes) - n_val < len(counts)):
            return index, index[:0]
        from sklearn.model_selection import StratifiedShuffleSplit

        split = StratifiedShuffleSplit(n_splits=1, test_size=n_val, random_state=rng)
        train, val = next(split.split(index, codes))
        return np.sort(train), np.sort(val)

    def _train(self, inputs, targets, train, val, rng) -> None:
        import geoopt

        module = self.module_
        optimizer = geoopt.optim.RiemannianAdam(module.parameters(), lr=self.lr,
                                                weight_decay=self.weight_decay)
        loss_fn = torch.nn.CrossEntropyLoss()
        best, best_state, stale = math.inf, None, 0
        self.history_ = []
        n_batches = max(1, math.ceil(len(train) / self.batch_size))
        epochs = progress_bar(range(self.max_epochs), desc=f"{type(self).__name__}.fit",
                              progress=self.progress, unit="epoch")
        for epoch in epochs:
            module.train()
            total = 0.0
            for batch in np.array_split(rng.permutation(train), n_batches):
                optimizer.zero_grad()
                loss = loss_fn(module(inputs[batch]), targets[batch])
                loss.backward()
                optimizer.step()
                total += float(loss.detach()) * len(batch)
            record = {"epoch": epoch, "train_loss": total / len(train)}
            if len(val):
                module.eval()
                with torch.no_grad():
                    logits = module(inputs[val])
                    record["val_loss"] = float(loss_fn(logits, targets[val]))
                    record["val_accuracy"] = float((logits.argmax(1) == targets[val]).double()
                                                   .mean())
                if record["val_loss"] < best - 1e-4:
                    best, stale = record["val_loss"], 0
                    best_state = copy.deepcopy(module.state_dict())
                else:
                    stale += 1
            self.history_.append(record)
            if not math.isfinite(record["train_loss"]):
                raise FloatingPointError(f"training diverged at epoch {epoch} (loss "
                                         f"{record['train_loss']}); lower lr (now {self.lr})")
            if len(val) and stale >= self.patience:
                break
        if best_state is not None:
            module.load_state_dict(best_state)
        self.n_epochs_ = len(self.history_)
        self.best_val_loss_ = best if len(val) else None
        module.eval()

    # -- predict ------------------------------------------------------------------------------
    def _logits(self, X) -> torch.Tensor:
        check_is_fitted(self)
        x = _check_covariances(X, d=self.n_features_in_)
        self.module_.eval()
        with torch.no_grad():
            return self.module_(self._to_input(self._prepare(x)))

    def decision_function(self, X) -> np.ndarray:
        """Logits ``(n_trials, n_classes)``; with two classes ``logit_1 − logit_0`` ``(n,)``."""
        logits = self._logits(X).double().numpy()
        return logits[:, 1] - logits[:, 0] if logits.shape[1] == 2 else logits

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities ``(n_trials, n_classes)``, columns in the order of ``classes_``."""
        return torch.softmax(self._logits(X).double(), dim=1).numpy()

    def predict(self, X) -> np.ndarray:
        """Labels ``(n_trials,)`` from ``classes_``."""
        logits = self._logits(X)
        return self.classes_[logits.argmax(1).numpy()]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.non_deterministic = self.random_state is None
        return tags


class SPDNetClassifier(_SPDTorchClassifier):
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
        recenter: re-centre the inputs at the training mean (module docstring, step 1).
        dtype: "float64" (default) or "float32" for the network.
        random_state: int, ``np.random.RandomState`` or None; seeds initialisation, the
            validation split and the batch order (the global torch RNG is left unchanged).
        progress: epoch progress bar on stderr during ``fit``: ``None`` (on for a terminal),
            ``True`` or ``False``; ``GEOMLAYERS_PROGRESS=0`` silences it globally.

    Fitted attributes: ``classes_``, ``n_features_in_`` (matrix size d), ``module_``,
    ``reference_``, ``history_``, ``n_epochs_``, ``best_val_loss_``, ``fit_time_``.

    >>> import numpy as np
    >>> from geomlayers.data.eeg import load_bundled
    >>> X, y = load_bundled()
    >>> clf = SPDNetClassifier(dims=(4,), max_epochs=2, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)

    """

    def __init__(self, dims=None, bn_metric=None, *, lr=0.01, max_epochs=100, batch_size=32,
                 patience=15, validation_fraction=0.2, weight_decay=0.0, recenter=True,
                 dtype="float64", random_state=None, progress=None):
        self.dims = dims
        self.bn_metric = bn_metric
        self.lr = lr
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.weight_decay = weight_decay
        self.recenter = recenter
        self.dtype = dtype
        self.random_state = random_state
        self.progress = progress

    @staticmethod
    def default_dims(d: int) -> tuple[int, ...]:
        """``(max(⌈d/2⌉, min(d, 4)), max(⌈d/4⌉, min(d, 4)))`` — e.g. 8 → (4, 4), 22 → (11, 6)."""
        low = min(d, 4)
        return (max(math.ceil(d / 2), low), max(math.ceil(d / 4), low))

    def _check_own_params(self, d: int) -> None:
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

    def _make_module(self, d, n_classes, dtype):
        from geomlayers.nn.spd import SPDNet

        dims = self.default_dims(d) if self.dims is None else tuple(int(v) for v in self.dims)
        return SPDNet([d, *dims], n_classes, bn_metric=self.bn_metric, dtype=dtype)


class GrassmannClassifier(_SPDTorchClassifier):
    """GrNet-style classifier on the principal subspaces of the (re-centred) covariances.

    Each trial's covariance ``C`` (after re-centring, module docstring) is mapped to the span of
    its ``q`` leading eigenvectors — a point of ``Gr(d, q)``, the subspace holding most of the
    whitened signal's variance — and classified by :class:`geomlayers.nn.grassmann.GrNet`
    (Huang, Wu & Van Gool, AAAI 2018) with a linear projector head (``head="linear"``, GrNet) or
    the gyro MLR (``head="gyro"``, Nguyen & Yang, ICML 2023).

    Args:
        q: subspace dimension (``1 <= q < d``).
        dims: FRMap sizes; ``None`` picks ``(max(q + 1, ⌈d/2⌉),)``.
        channels: FRMap maps; pool: channel pooling factor.
        head: "linear" or "gyro".
        Others: as :class:`SPDNetClassifier`.

    """

    def __init__(self, q=3, dims=None, channels=8, pool=2, head="gyro", *, lr=0.01,
                 max_epochs=100, batch_size=32, patience=15, validation_fraction=0.2,
                 weight_decay=0.0, recenter=True, dtype="float64", random_state=None,
                 progress=None):
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
        self.recenter = recenter
        self.dtype = dtype
        self.random_state = random_state
        self.progress = progress

    def _check_own_params(self, d: int) -> None:
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

    def _make_module(self, d, n_classes, dtype):
        from geomlayers.nn.grassmann import GrNet

        return GrNet(d, int(self.q), n_classes, dims=self._dims(d), channels=int(self.channels),
                     pool=int(self.pool), head=self.head, dtype=dtype)

    def _to_input(self, x: torch.Tensor) -> torch.Tensor:
        """Leading-``q`` eigenvectors ``(n, d, q)`` of the re-centred covariances."""
        return torch.linalg.eigh(x)[1][..., -int(self.q):].flip(-1)
