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
4. Optionally (``checkpoint_ensemble = k > 1``) a checkpoint ensemble: ``predict`` averages the
   class probabilities of the ``k`` epochs of lowest validation loss (the last ``k`` epochs
   without a validation set) — one training run, ``k`` forward passes at prediction (Chen,
   Lundberg & Lee, "Checkpoint ensembles: ensemble methods from a single training process",
   2017).  It pays off when the validation loss jumps between epochs, as in MAtt's EEG recipe.
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

__all__ = ["ConvSPDNetClassifier", "GrassmannClassifier", "SPDNetClassifier"]

_BN_METRICS = (None, "aim", "bw", "gbw")
_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def _finite_float64(x, name: str, what: str) -> np.ndarray:
    """Dense, real, finite float64 array from ``x``, or an error naming ``what`` it must be."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    if scipy.sparse.issparse(x):
        raise TypeError(f"sparse input is not supported: {name} must be dense {what}")
    x = np.asarray(x)
    if np.iscomplexobj(x):
        raise ValueError(f"Complex data not supported: {name} must be real {what}")
    try:
        x = x.astype(np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be a numeric array of {what}: {error}") from error
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contains NaN or inf")
    return x


def _check_covariances(x, name: str = "X", d: int | None = None) -> np.ndarray:
    """Validate ``(n_trials, d, d)`` symmetric positive definite input; returns float64."""
    x = _finite_float64(x, name, "covariance matrices (n_trials, d, d)")
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


class _KeptCheckpoints:
    """The ``size`` network states of lowest rank seen so far (rank: validation loss)."""

    def __init__(self, size: int):
        self.size = size
        self._entries: list[tuple[float, dict]] = []

    def offer(self, rank: float, module: torch.nn.Module) -> None:
        """Keep a copy of ``module``'s state if it ranks among the ``size`` lowest."""
        if self.size == 1 or (len(self._entries) == self.size
                              and rank >= self._entries[-1][0]):
            return
        self._entries.append((rank, copy.deepcopy(module.state_dict())))
        self._entries.sort(key=lambda entry: entry[0])  # stable: ties keep the earlier epoch first
        del self._entries[self.size:]

    def states(self) -> list[dict]:
        """The kept states, lowest rank first."""
        return [state for _, state in self._entries]


class _SPDTorchClassifier(ClassifierMixin, BaseEstimator):
    """Fit / predict machinery shared by the SPD-input torch classifiers (not public)."""

    # -- subclasses provide -------------------------------------------------------------------
    def _make_module(self, shape: tuple[int, ...], n_classes: int,
                     dtype: torch.dtype) -> torch.nn.Module:
        """The network for trials of ``shape`` (``(d, d)`` covariances, ``(C, T)`` signals)."""
        raise NotImplementedError

    def _to_input(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def _check_own_params(self, shape: tuple[int, ...]) -> None:
        """Raise ValueError on bad subclass hyper-parameters."""

    def _validate(self, X, name: str = "X", fitted: bool = False) -> np.ndarray:
        """Checked float64 trials; covariance matrices ``(n_trials, d, d)`` by default."""
        return _check_covariances(X, name, d=self.n_features_in_ if fitted else None)

    def _fit_shape(self, shape: tuple[int, ...]) -> None:
        """Record the trial shape that ``predict`` will require."""
        self.n_features_in_ = shape[0]

    def _fit_preprocessing(self, x: np.ndarray) -> None:
        """Fit the input transform on the training trials (default: re-centring)."""
        from pyriemann.utils.mean import mean_riemann

        self.reference_ = mean_riemann(x) if self.recenter else np.eye(x.shape[1])
        self._whitener = _inv_sqrt_spd(self.reference_)

    def _prepare(self, x: np.ndarray) -> torch.Tensor:
        """Apply the fitted input transform; returns the network's input tensor."""
        w = getattr(self, "_whitener", None)
        if w is None:
            w = _inv_sqrt_spd(self.reference_)
        z = w @ x @ w
        z = _floor_eigenvalues(0.5 * (z + np.swapaxes(z, 1, 2)), 1e-6)
        return torch.as_tensor(z, dtype=_DTYPES[self.dtype])

    # -- hyper-parameter checks ---------------------------------------------------------------
    def _check_params(self, shape: tuple[int, ...]) -> None:
        checks = [
            ("lr", self.lr, numbers.Real, lambda v: v > 0, "> 0"),
            ("max_epochs", self.max_epochs, numbers.Integral, lambda v: v >= 1, ">= 1"),
            ("batch_size", self.batch_size, numbers.Integral, lambda v: v >= 2, ">= 2"),
            ("patience", self.patience, numbers.Integral, lambda v: v >= 1, ">= 1"),
            ("validation_fraction", self.validation_fraction, numbers.Real,
             lambda v: 0 <= v < 1, "in [0, 1)"),
            ("weight_decay", self.weight_decay, numbers.Real, lambda v: v >= 0, ">= 0"),
            ("checkpoint_ensemble", self.checkpoint_ensemble, numbers.Integral,
             lambda v: v >= 1, ">= 1"),
        ]
        for name, value, kind, ok, text in checks:
            if not isinstance(value, kind) or isinstance(value, bool) or not ok(value):
                raise ValueError(f"{name} must be {kind.__name__.lower()} {text}, got {value!r}")
        if self.dtype not in _DTYPES:
            raise ValueError(f"dtype must be one of {sorted(_DTYPES)}, got {self.dtype!r}")
        if getattr(self, "recenter", True) not in (True, False):
            raise ValueError(f"recenter must be True or False, got {self.recenter!r}")
        if self.progress is not None and not isinstance(self.progress, bool):
            raise ValueError(f"progress must be None, True or False, got {self.progress!r}")
        self._check_own_params(shape)

    # -- fit ----------------------------------------------------------------------------------
    def fit(self, X, y, X_val=None, y_val=None):
        """Train on trials ``X`` and labels ``y`` ``(n_trials,)``.

        Args:
            X: the trials (covariances ``(n_trials, d, d)``; raw signals
                ``(n_trials, n_channels, n_times)`` for :class:`ConvSPDNetClassifier`).
            y: labels.
            X_val, y_val: an explicit early-stopping set (e.g. a held-out session); when
                given, ``validation_fraction`` is not used and all of ``X`` trains.

        Returns:
            self.

        """
        codes, x = self._check_xy(X, y)
        self._check_params(x.shape[1:])
        self._fit_shape(x.shape[1:])
        if (X_val is None) != (y_val is None):
            raise ValueError("pass both X_val and y_val, or neither")
        if X_val is not None:
            val_codes = self._encode(y_val, "y_val")
            x_val = self._validate(X_val, "X_val", fitted=True)
            if val_codes.shape[0] != x_val.shape[0]:
                raise ValueError(f"y_val must have shape ({x_val.shape[0]},), got "
                                 f"{val_codes.shape}")
            x, codes = np.concatenate([x, x_val]), np.concatenate([codes, val_codes])
        start = time.perf_counter()
        with torch.random.fork_rng(devices=[]):
            rng = self._seed()
            if X_val is None:
                train, val = self._split(codes, rng)
            else:
                train, val = np.arange(len(codes) - len(x_val)), np.arange(
                    len(codes) - len(x_val), len(codes))
            self._fit_preprocessing(x[train])
            inputs = self._to_input(self._prepare(x))
            targets = torch.as_tensor(codes, dtype=torch.long)
            dtype = _DTYPES[self.dtype]
            self.module_ = self._make_module(x.shape[1:], len(self.classes_), dtype)
            self._train(inputs, targets, train, val, rng)
        self.fit_time_ = time.perf_counter() - start
        return self

    def _check_xy(self, X, y) -> tuple[np.ndarray, np.ndarray]:
        """Fit ``classes_``; return (label codes, checked trials)."""
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
        x = self._validate(X)
        if y.shape[0] != x.shape[0]:
            raise ValueError(f"y must have shape ({x.shape[0]},), got {y.shape}")
        self.classes_ = classes
        return codes, x

    def _encode(self, y, name: str) -> np.ndarray:
        """Codes of labels already seen in ``fit``'s ``y``."""
        y = np.asarray(y)
        if y.ndim != 1:
            raise ValueError(f"{name} must be one label per trial, got shape {y.shape}")
        unknown = np.setdiff1d(y, self.classes_)
        if unknown.size:
            raise ValueError(f"{name} holds labels not in y: {unknown[:5].tolist()}")
        return np.searchsorted(self.classes_, y)

    def _seed(self) -> np.random.RandomState:
        """Seed torch (inside ``fork_rng``) and return the numpy stream from ``random_state``."""
        seed = self.random_state
        if seed is None:
            seed = int(np.random.SeedSequence().generate_state(1)[0])
        elif not isinstance(seed, numbers.Integral):
            seed = int(check_random_state(seed).randint(2**31 - 1))
        torch.manual_seed(int(seed))
        return np.random.RandomState(int(seed) % (2**32))

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
        kept = _KeptCheckpoints(int(self.checkpoint_ensemble))
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
            # ranked by validation loss; without validation the latest epochs rank first
            kept.offer(record.get("val_loss", -epoch), module)
            self.history_.append(record)
            if not math.isfinite(record["train_loss"]):
                raise FloatingPointError(f"training diverged at epoch {epoch} (loss "
                                         f"{record['train_loss']}); lower lr (now {self.lr})")
            if len(val) and stale >= self.patience:
                break
        if best_state is not None:
            module.load_state_dict(best_state)
        self.checkpoints_ = kept.states() if kept.size > 1 else None
        self.n_epochs_ = len(self.history_)
        self.best_val_loss_ = best if len(val) else None
        module.eval()

    def adapt(self, X):
        """Re-estimate the SPD batch-norm statistics on unlabelled trials of a new domain.

        For a session (or subject) shift: the fitted network's :class:`SPDBatchNorm` running
        means and variances become those of ``X`` (all its trials as one batch), so the new
        data are re-centred like the training data were; weights and every other layer are
        unchanged.  This is :func:`geomlayers.nn.spd.adapt_batch_norm` (Kobler et al. 2022's
        domain-specific batch norm) and is transductive: it reads the new trials, not their
        labels.  It changes the fitted model in place; refit (or keep a ``copy.deepcopy``) to
        return to the training statistics.

        Args:
            X: trials of the new domain, as for :meth:`predict`, at least 2.

        Returns:
            self.

        Raises:
            ValueError: fewer than 2 trials, or a network without SPD batch norm
                (``bn_metric=None``).

        """
        from geomlayers.nn.spd import adapt_batch_norm

        check_is_fitted(self)
        x = self._validate(X, fitted=True)
        if x.shape[0] < 2:
            raise ValueError(f"X must hold at least 2 trials to estimate batch statistics, "
                             f"got {x.shape[0]}")
        inputs = self._to_input(self._prepare(x))
        adapt_batch_norm(self.module_, inputs)
        for index, member in self._checkpoint_members():
            self.checkpoints_[index] = copy.deepcopy(adapt_batch_norm(member, inputs).state_dict())
        return self

    def _checkpoint_members(self):
        """Yield ``(index, network)`` for each kept checkpoint, loaded in turn into one copy."""
        if self.checkpoints_ is None:
            return
        member = copy.deepcopy(self.module_)
        for index, state in enumerate(self.checkpoints_):
            member.load_state_dict(state)
            yield index, member.eval()

    # -- predict ------------------------------------------------------------------------------
    def _logits(self, X) -> torch.Tensor:
        """Logits ``(n_trials, n_classes)``.

        For a checkpoint ensemble: the log of the members' mean class probabilities, so that
        softmax gives that mean.
        """
        check_is_fitted(self)
        x = self._validate(X, fitted=True)
        inputs = self._to_input(self._prepare(x))
        self.module_.eval()
        with torch.no_grad():
            if self.checkpoints_ is None:
                return self.module_(inputs)
            probs = [torch.softmax(member(inputs).double(), dim=1)
                     for _, member in self._checkpoint_members()]
            return torch.stack(probs).mean(0).log()

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
        checkpoint_ensemble: predict with the mean class probabilities of this many epochs'
            weights, those of lowest validation loss (the last ones without validation);
            1: the best epoch alone (module docstring, step 4).
        recenter: re-centre the inputs at the training mean (module docstring, step 1).
        dtype: "float64" (default) or "float32" for the network.
        random_state: int, ``np.random.RandomState`` or None; seeds initialisation, the
            validation split and the batch order (the global torch RNG is left unchanged).
        progress: epoch progress bar on stderr during ``fit``: ``None`` (on for a terminal),
            ``True`` or ``False``; ``GEOMLAYERS_PROGRESS=0`` silences it globally.

    Fitted attributes: ``classes_``, ``n_features_in_`` (matrix size d), ``module_``,
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
                 recenter=True, dtype="float64", random_state=None, progress=None):
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
                 weight_decay=0.0, checkpoint_ensemble=1, recenter=True, dtype="float64",
                 random_state=None, progress=None):
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
        from geomlayers.nn.grassmann import GrNet

        d = shape[0]
        return GrNet(d, int(self.q), n_classes, dims=self._dims(d), channels=int(self.channels),
                     pool=int(self.pool), head=self.head, dtype=dtype)

    def _to_input(self, x: torch.Tensor) -> torch.Tensor:
        """Leading-``q`` eigenvectors ``(n, d, q)`` of the re-centred covariances."""
        return torch.linalg.eigh(x)[1][..., -int(self.q):].flip(-1)


def _check_signals(x, name: str = "X", shape: tuple[int, int] | None = None) -> np.ndarray:
    """Validate raw multichannel trials ``(n_trials, n_channels, n_times)``; returns float64."""
    x = _finite_float64(x, name, "signals (n_trials, n_channels, n_times)")
    if x.ndim != 3 or x.shape[0] < 1 or x.shape[2] < 2:
        raise ValueError(f"{name} must be raw signals of shape (n_trials, n_channels, n_times) "
                         f"with n_times >= 2, got shape {x.shape} (e.g. mne Epochs.get_data())")
    if shape is not None and tuple(x.shape[1:]) != tuple(shape):
        raise ValueError(f"{name} has trials of shape {tuple(x.shape[1:])}, but the estimator "
                         f"was fitted on (n_channels, n_times) = {tuple(shape)}")
    return x


class ConvSPDNetClassifier(_SPDTorchClassifier):
    """Raw EEG trials → learned spatial/temporal filters → covariance → SPDNet with SPD BN.

    The network is :class:`geomlayers.nn.spd.ConvSPDNet` (the MAtt / GBWBN EEG architecture):
    it learns the filters whose covariance is classified, which fixed covariance pipelines
    cannot do (on SSVEP, class information sits in the frequency content that a broadband
    covariance averages away).  Input is raw signals ``X`` ``(n_trials, n_channels, n_times)``
    — e.g. ``mne.Epochs.get_data()`` — scaled by one scalar (the training signals' standard
    deviation), so any amplifier unit works.  Training: the shared recipe (module docstring,
    steps 2-3).

    Args:
        bn_metric: None, "aim", "bw" or "gbw" (default: the GBWBN network).
        spatial_filters, cov_channels: sizes of the two convolutions (cov_channels is the
            covariance size).
        kernel_size: temporal kernel length in samples; ``None`` picks ``min(36, n_times // 2)``
            (36 samples = 0.29 s at the MAMEM rate of 125 Hz).
        temporal_padding: zeros at both ends before the temporal convolution (MAtt: 18, half
            its 36-sample kernel, so 7 windows of a 125-sample trial get 18 samples each).
        dims: BiMap output sizes after ``cov_channels`` (or ``attention_dim``); ``None`` picks
            ``(⌈0.8 · that size⌉,)`` (15 → 12 as in GBWBN).
        dropout: on the filtered signals.
        segments: consecutive time windows, one covariance each (MAtt's split; 1 = whole trial).
        normalize_trace: divide each covariance by its trace (MAtt's normalisation).
        attention_dim: with ``segments > 1``, MAtt's log-Euclidean attention between the
            windows' covariances (:class:`geomlayers.nn.spd.SPDAttention`, ``cov_channels →
            attention_dim``) before the SPDNet; ``None``: none.
        Others: as :class:`SPDNetClassifier`; ``dtype`` is the convolutions' dtype (the SPD part
            always runs in float64).

    Fitted attributes: ``classes_``, ``n_features_in_`` (channels), ``n_times_``, ``scale_``,
    ``module_``, ``history_``, ``n_epochs_``, ``best_val_loss_``, ``fit_time_``, ``checkpoints_``.

    """

    def __init__(self, bn_metric="gbw", spatial_filters=125, cov_channels=15, kernel_size=None,
                 dims=None, dropout=0.0, segments=1, normalize_trace=False,
                 attention_dim=None, temporal_padding=0, *, lr=0.01,
                 max_epochs=200, batch_size=30, patience=40, validation_fraction=0.2,
                 weight_decay=0.0, checkpoint_ensemble=1, dtype="float32", random_state=None,
                 progress=None):
        self.bn_metric = bn_metric
        self.spatial_filters = spatial_filters
        self.cov_channels = cov_channels
        self.kernel_size = kernel_size
        self.temporal_padding = temporal_padding
        self.dims = dims
        self.dropout = dropout
        self.segments = segments
        self.normalize_trace = normalize_trace
        self.attention_dim = attention_dim
        self.lr = lr
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.weight_decay = weight_decay
        self.checkpoint_ensemble = checkpoint_ensemble
        self.dtype = dtype
        self.random_state = random_state
        self.progress = progress

    def _validate(self, X, name="X", fitted=False):
        shape = (self.n_features_in_, self.n_times_) if fitted else None
        return _check_signals(X, name, shape)

    def _fit_shape(self, shape):
        self.n_features_in_, self.n_times_ = shape

    def _fit_preprocessing(self, x):
        self.scale_ = float(x.std()) or 1.0

    def _prepare(self, x):
        return torch.as_tensor(x / self.scale_, dtype=_DTYPES[self.dtype])

    def _kernel_size(self, n_times: int) -> int:
        return min(36, n_times // 2) if self.kernel_size is None else int(self.kernel_size)

    def _spd_size(self) -> int:
        """Size of the matrices entering the SPDNet: the attention's output or the covariance."""
        return int(self.cov_channels if self.attention_dim is None else self.attention_dim)

    def _dims(self) -> tuple[int, ...]:
        if self.dims is None:
            return (max(1, math.ceil(0.8 * self._spd_size())),)
        return tuple(int(v) for v in self.dims)

    def _check_own_params(self, shape) -> None:
        if self.bn_metric not in _BN_METRICS:
            raise ValueError(f"bn_metric must be one of {_BN_METRICS}, got {self.bn_metric!r}")
        for name in ("spatial_filters", "cov_channels"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 2:
                raise ValueError(f"{name} must be an integer >= 2, got {value!r}")
        kernel = self._kernel_size(shape[1])
        if not 1 <= kernel < shape[1]:
            raise ValueError(f"kernel_size must be in 1..{shape[1] - 1} (n_times = {shape[1]}), "
                             f"got {kernel}")
        padding = self.temporal_padding
        if not isinstance(padding, numbers.Integral) or isinstance(padding, bool) \
                or not 0 <= padding < kernel:
            raise ValueError(f"temporal_padding must be an integer in 0..{kernel - 1} (below "
                             f"kernel_size), got {padding!r}")
        filtered = shape[1] + 2 * int(padding) - kernel + 1
        dims = self._dims()
        if any(b > a or b < 1 for a, b in zip([self._spd_size(), *dims[:-1]], dims,
                                              strict=True)):
            raise ValueError(f"dims must be non-increasing positive ints <= attention_dim, or "
                             f"cov_channels without attention ({self._spd_size()}), got "
                             f"{self.dims!r}")
        if not isinstance(self.dropout, numbers.Real) or not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")
        if not isinstance(self.segments, numbers.Integral) or isinstance(self.segments, bool) \
                or not 1 <= self.segments <= filtered // 2:
            raise ValueError(f"segments must be an integer in 1..{filtered // 2} "
                             f"(each window needs >= 2 filtered samples), got {self.segments!r}")

    def _make_module(self, shape, n_classes, dtype):
        from geomlayers.nn.spd import ConvSPDNet

        n_channels, n_times = (int(v) for v in shape)
        return ConvSPDNet(n_channels, n_times, n_classes,
                          spatial_filters=int(self.spatial_filters),
                          cov_channels=int(self.cov_channels),
                          kernel_size=self._kernel_size(n_times),
                          temporal_padding=int(self.temporal_padding), dims=self._dims(),
                          bn_metric=self.bn_metric, dropout=float(self.dropout),
                          segments=int(self.segments),
                          normalize_trace=bool(self.normalize_trace),
                          attention_dim=self.attention_dim, dtype=dtype)
