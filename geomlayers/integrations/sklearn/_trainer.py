"""The training loop shared by the scikit-learn estimators: :class:`TorchSPDTrainer`."""

from __future__ import annotations

import copy
import math
import numbers
import time
import warnings

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, check_random_state

from geomlayers.integrations.sklearn._checks import check_covariances, check_groups
from geomlayers.integrations.sklearn._recentre import recentre, riemannian_mean
from geomlayers.linalg import NonFiniteError
from geomlayers.progress import progress_bar

_DTYPES = {"float32": torch.float32, "float64": torch.float64}


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


def _finite_parameters(module: torch.nn.Module) -> bool:
    return all(bool(torch.isfinite(p).all()) for p in module.parameters())


def _divergence(error: Exception, module: torch.nn.Module) -> str | None:
    """The divergence an error inside a training epoch signals, or ``None`` (a real bug).

    The trials were checked finite before training, so a non-finite value met inside it — a
    failing eigen-solver, a NaN/inf parameter, or a layer's or optimiser step's own
    non-finite check (:class:`~geomlayers.linalg.NonFiniteError`; an overflowing manifold
    step raises it before the parameter changes) — means the weights diverged.
    """
    text = str(error).splitlines()[0] if str(error) else ""
    if isinstance(error, (torch.linalg.LinAlgError, NonFiniteError)) or not _finite_parameters(
            module):
        return f"{type(error).__name__}: {text}"
    return None


def _spd_batch_norms(module: torch.nn.Module) -> list:
    from geomlayers.nn.spd import SPDBatchNorm

    return [m for m in module.modules() if isinstance(m, SPDBatchNorm)]


class TorchSPDTrainer(ClassifierMixin, BaseEstimator):
    """Fit / predict / adapt machinery of the torch classifiers on SPD or raw-signal trials.

    Subclasses provide the network (:meth:`_make_module`) and its input transform; this class
    owns the loop: ``geoopt.optim.RiemannianAdam`` on cross-entropy, mini-batches (drawn from
    one domain at a time when ``fit`` gets ``groups``, so that SPD batch norms see
    domain-specific batch statistics, Kobler et al. NeurIPS 2022), early stopping on a
    stratified validation split, checkpoint ensembles, and divergence handling: a non-finite
    loss or parameter (or an eigen-solver failure on non-finite weights) ends training, the
    weights of the last good epoch (lowest validation loss) are restored and a
    ``RuntimeWarning`` names the epoch and the fix, so no prediction is ever NaN.
    """

    # -- subclasses provide -------------------------------------------------------------------
    def _make_module(self, shape: tuple[int, ...], n_classes: int,
                     dtype: torch.dtype) -> torch.nn.Module:
        """The network for trials of ``shape`` (``(d, d)`` covariances, ``(C, T)`` signals)."""
        raise NotImplementedError

    def _to_input(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def _check_own_params(self, shape: tuple[int, ...]) -> None:
        """Raise ValueError on bad subclass hyper-parameters."""

    def _initialize(self, module, inputs, targets, train) -> None:
        """Data-dependent initialisation before the first epoch (default: none)."""

    def _validate(self, X, name: str = "X", fitted: bool = False) -> np.ndarray:
        """Checked float64 trials; covariance matrices ``(n_trials, d, d)`` by default."""
        return check_covariances(X, name, d=self.n_features_in_ if fitted else None)

    def _fit_shape(self, shape: tuple[int, ...]) -> None:
        """Record the trial shape that ``predict`` will require."""
        self.n_features_in_ = shape[0]

    def _fit_preprocessing(self, x: np.ndarray, groups: np.ndarray | None) -> None:
        """Fit the input transform on the training trials: re-centring, per domain if given."""
        d = x.shape[1]
        self.reference_ = riemannian_mean(x) if self.recenter else np.eye(d)
        self.domain_references_ = None
        if groups is not None and self.recenter:
            self.domain_references_ = {g: riemannian_mean(x[groups == g])
                                       for g in np.unique(groups)}

    def _prepare(self, x: np.ndarray, groups: np.ndarray | None = None) -> torch.Tensor:
        """Apply the fitted input transform; returns the network's input tensor."""
        dtype = _DTYPES[self.dtype]
        refs = getattr(self, "domain_references_", None)
        if groups is None or refs is None:
            return torch.as_tensor(recentre(x, self.reference_), dtype=dtype)
        z = np.empty_like(x)
        for g in np.unique(groups):
            mask = groups == g
            ref = refs[g] if g in refs else riemannian_mean(x[mask])
            z[mask] = recentre(x[mask], ref)
        return torch.as_tensor(z, dtype=dtype)

    def _adapt_preprocessing(self, x: np.ndarray) -> bool:
        """Re-fit the input transform on a new domain; ``True`` if there is one to re-fit."""
        if not getattr(self, "recenter", False):
            return False
        self.reference_ = riemannian_mean(x)
        return True

    # -- hyper-parameter checks ---------------------------------------------------------------
    def _check_params(self, shape: tuple[int, ...]) -> None:
        checks = [
            ("lr", self.lr, numbers.Real, lambda v: v > 0 and math.isfinite(v), "> 0"),
            ("max_epochs", self.max_epochs, numbers.Integral, lambda v: v >= 1, ">= 1"),
            ("batch_size", self.batch_size, numbers.Integral, lambda v: v >= 2, ">= 2"),
            ("patience", self.patience, numbers.Integral, lambda v: v >= 1, ">= 1"),
            ("validation_fraction", self.validation_fraction, numbers.Real,
             lambda v: 0 <= v < 1, "in [0, 1)"),
            ("weight_decay", self.weight_decay, numbers.Real, lambda v: v >= 0, ">= 0"),
            ("checkpoint_ensemble", self.checkpoint_ensemble, numbers.Integral,
             lambda v: v >= 1, ">= 1"),
            ("verbose", self.verbose, numbers.Integral, lambda v: v >= 0, ">= 0"),
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
    def fit(self, X, y, groups=None, X_val=None, y_val=None):
        """Train on trials ``X`` and labels ``y`` ``(n_trials,)``.

        Args:
            X: the trials (covariances ``(n_trials, d, d)``; raw signals
                ``(n_trials, n_channels, n_times)`` for :class:`ConvSPDNetClassifier`).
            y: labels.
            groups: optional domain label per trial ``(n_trials,)`` — recording session or
                subject (scikit-learn's name, as in ``GroupKFold``).  Each domain is
                re-centred at its own Riemannian mean and every mini-batch is drawn from one
                domain, so SPD batch norms learn with domain-specific statistics.  For data
                of a new domain, call :meth:`adapt` before :meth:`predict`.
            X_val, y_val: an explicit early-stopping set (e.g. a held-out session; with
                ``groups`` it is treated as one more domain); when given,
                ``validation_fraction`` is not used and all of ``X`` trains.

        Returns:
            self.

        """
        codes, x = self._check_xy(X, y)
        groups = check_groups(groups, x.shape[0])
        self._check_params(x.shape[1:])
        self._fit_shape(x.shape[1:])
        if (X_val is None) != (y_val is None):
            raise ValueError("pass both X_val and y_val, or neither")
        n_fit = x.shape[0]
        if X_val is not None:
            val_codes = self._encode(y_val, "y_val")
            x_val = self._validate(X_val, "X_val", fitted=True)
            if val_codes.shape[0] != x_val.shape[0]:
                raise ValueError(f"y_val must have shape ({x_val.shape[0]},), got "
                                 f"{val_codes.shape}")
            x, codes = np.concatenate([x, x_val]), np.concatenate([codes, val_codes])
            if groups is not None:
                new = object() if groups.dtype == object else "__validation__"
                groups = np.concatenate([groups.astype(object),
                                         np.full(len(x_val), new, dtype=object)])
        start = time.perf_counter()
        with torch.random.fork_rng(devices=[]):
            rng = self._seed()
            if X_val is None:
                train, val = self._split(codes, rng)
            else:
                train, val = np.arange(n_fit), np.arange(n_fit, len(codes))
            self._fit_preprocessing(x[train], None if groups is None else groups[train])
            inputs = self._to_input(self._prepare(x, groups))
            targets = torch.as_tensor(codes, dtype=torch.long)
            self._fit_network(x.shape[1:], inputs, targets, train, val, rng, groups)
            if getattr(self, "refit", False) and len(val) and X_val is None:
                # the validation run chose the number of epochs; train again on every trial
                selection = (self.history_, self.best_epoch_, self.best_val_loss_,
                             self.n_epochs_, self.diverged_epoch_)
                everything = np.arange(n_fit)
                self._fit_preprocessing(x, groups)
                inputs = self._to_input(self._prepare(x, groups))
                if self.verbose:
                    print(f"{type(self).__name__} refit on all {n_fit} trials for the "
                          f"{self.best_epoch_} epochs of lowest validation loss", flush=True)
                self._fit_network(x.shape[1:], inputs, targets, everything, everything[:0], rng,
                                  groups, max_epochs=self.best_epoch_)
                refit_diverged = self.diverged_epoch_
                (self.history_, self.best_epoch_, self.best_val_loss_, self.n_epochs_,
                 self.diverged_epoch_) = selection
                self.diverged_epoch_ = self.diverged_epoch_ or refit_diverged
        self.fit_time_ = time.perf_counter() - start
        return self

    def _fit_network(self, shape, inputs, targets, train, val, rng, groups,
                     max_epochs: int | None = None) -> None:
        """Build ``module_``, initialise it on ``train`` and train it."""
        self.module_ = self._make_module(shape, len(self.classes_), _DTYPES[self.dtype])
        self._initialize(self.module_, inputs, targets, train)
        epochs = self.max_epochs if max_epochs is None else max_epochs
        self._train(inputs, targets, train, val, rng, groups, epochs)

    def _keep_initial_unless_significant(self) -> bool:
        """Keep the initial network unless training beats it significantly on validation.

        Significant: the mean paired per-trial gain in validation accuracy of the epoch of
        lowest validation loss exceeds twice its standard error (``fine_tuning_gain_``).
        """
        return False

    def _param_groups(self, module, n_train: int):
        """Parameter groups of the optimiser (default: one group)."""
        return module.parameters()

    def _check_xy(self, X, y) -> tuple[np.ndarray, np.ndarray]:
        """Fit ``classes_``; return (label codes, checked trials)."""
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y "
                             "is None")
        y = np.asarray(y)
        if y.ndim != 1:
            raise ValueError(f"y must be one label per trial (n_trials,), got shape {y.shape}")
        if y.shape[0] == 0:
            raise ValueError("Found array with 0 sample(s) (shape=(0,)) while a minimum of 2 "
                             "trials per class is required: X and y are empty")
        check_classification_targets(y)
        classes, codes = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(f"y must hold at least 2 classes, got {len(classes)} class"
                             f"{'es' if len(classes) != 1 else ''}")
        counts = np.bincount(codes, minlength=len(classes))
        if counts.min() < 2:
            lonely = classes[counts < 2].tolist()
            raise ValueError(f"y must hold at least 2 trials of every class; class"
                             f"{'es' if len(lonely) > 1 else ''} {lonely[:5]} "
                             f"{'have' if len(lonely) > 1 else 'has'} one (the network's "
                             "initialisation estimates each class's mean and spread): add "
                             "trials or drop the class")
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

    def _batches(self, train, rng, groups) -> list[np.ndarray]:
        """Shuffled mini-batches; with ``groups``, each batch holds one domain's trials."""
        if groups is None:
            n_batches = max(1, math.ceil(len(train) / self.batch_size))
            return np.array_split(rng.permutation(train), n_batches)
        batches = []
        for g in np.unique(groups[train]):
            members = rng.permutation(train[groups[train] == g])
            n_batches = max(1, math.ceil(len(members) / self.batch_size))
            batches += [b for b in np.array_split(members, n_batches) if len(b) >= 2]
        return [batches[i] for i in rng.permutation(len(batches))]

    def _log(self, record: dict) -> None:
        if self.verbose:
            fields = " ".join(f"{k}={v:.4f}" for k, v in record.items()
                              if k != "epoch" and isinstance(v, float))
            print(f"{type(self).__name__} epoch {record['epoch']}/{self.max_epochs} {fields}",
                  flush=True)

    def _train(self, inputs, targets, train, val, rng, groups, max_epochs) -> None:
        import geoopt

        module = self.module_
        optimizer = geoopt.optim.RiemannianAdam(self._param_groups(module, len(train)), lr=self.lr,
                                                weight_decay=self.weight_decay)
        loss_fn = torch.nn.CrossEntropyLoss()
        # the last good weights: the initial ones until an epoch beats them
        good_state, good_epoch = copy.deepcopy(module.state_dict()), 0
        best, stale = math.inf, 0
        kept = _KeptCheckpoints(int(self.checkpoint_ensemble))
        self.history_, self.diverged_epoch_ = [], None
        per_trial = torch.nn.CrossEntropyLoss(reduction="none")
        anchored = bool(len(val)) and self._keep_initial_unless_significant()
        if anchored:
            initial_state = good_state
            module.eval()
            with torch.no_grad():
                initial_errors = (module(inputs[val]).argmax(1) != targets[val]).double()
            best_errors = initial_errors
            gained = False  # has any epoch classified the validation trials better?
        epochs = progress_bar(range(1, max_epochs + 1), desc=f"{type(self).__name__}.fit",
                              progress=self.progress, unit="epoch")
        for epoch in epochs:
            module.train()
            total, reason = 0.0, None
            try:
                for batch in self._batches(train, rng, groups):
                    optimizer.zero_grad()
                    loss = loss_fn(module(inputs[batch]), targets[batch])
                    if not torch.isfinite(loss):
                        reason = f"loss {float(loss)}"
                        break
                    loss.backward()
                    optimizer.step()
                    total += float(loss.detach()) * len(batch)
            except (RuntimeError, ValueError) as error:  # eigen-solvers on non-finite weights
                reason = _divergence(error, module)
                if reason is None:
                    raise
            if reason is None and not _finite_parameters(module):
                reason = "a parameter became NaN or inf"
            logits = None
            if reason is None and len(val):
                module.eval()
                try:
                    with torch.no_grad():
                        logits = module(inputs[val])
                except (RuntimeError, ValueError) as error:
                    reason = _divergence(error, module)
                    if reason is None:
                        raise
                if reason is None and not bool(torch.isfinite(logits).all()):
                    reason = "the validation logits are NaN or inf"
            if reason is not None:
                self._diverged(module, epoch, reason, good_state, good_epoch)
                break
            record = {"epoch": epoch, "train_loss": total / len(train)}
            if len(val):
                with torch.no_grad():
                    errors = (logits.argmax(1) != targets[val]).double()
                    record["val_loss"] = float(per_trial(logits, targets[val]).mean())
                    record["val_accuracy"] = float((logits.argmax(1) == targets[val]).double()
                                                   .mean())
                if anchored and float(errors.sum()) < float(initial_errors.sum()):
                    gained = True
                if record["val_loss"] < best - 1e-4:
                    best, stale, best_errors = record["val_loss"], 0, errors
                    good_state, good_epoch = copy.deepcopy(module.state_dict()), epoch
                else:
                    stale += 1
            else:
                good_state, good_epoch = copy.deepcopy(module.state_dict()), epoch
            # ranked by validation loss; without validation the latest epochs rank first
            kept.offer(record.get("val_loss", -epoch), module)
            self.history_.append(record)
            self._log(record)
            if len(val) and stale >= self.patience:
                break
            if anchored and not gained and epoch >= self.patience:
                # the significance rule below needs an accuracy gain; none in `patience`
                # epochs: stop (a falling loss alone is calibration, not discrimination)
                break
        self.fine_tuning_gain_ = None
        if anchored and good_epoch > 0:
            # paired per-trial validation errors, initial vs best epoch: keep the fine-tuned
            # weights only if they classify significantly better (mean gain > 2 standard
            # errors); a lower loss alone can be calibration, not discrimination
            gain = initial_errors - best_errors
            mean, se = float(gain.mean()), float(gain.std() / math.sqrt(len(gain)))
            self.fine_tuning_gain_ = (mean, se)
            if not mean > 2 * se:
                good_state, good_epoch = initial_state, 0
        module.load_state_dict(good_state)
        self.best_epoch_ = good_epoch
        self.checkpoints_ = kept.states() if kept.size > 1 and kept.states() else None
        self.n_epochs_ = len(self.history_)
        self.best_val_loss_ = best if len(val) and math.isfinite(best) else None
        module.eval()

    def _diverged(self, module, epoch, reason, good_state, good_epoch) -> None:
        self.diverged_epoch_ = epoch
        which = (f"the weights of epoch {good_epoch}" if good_epoch
                 else "the initial weights (the network is untrained)")
        message = (f"{type(self).__name__}: training diverged at epoch {epoch} ({reason}); "
                   f"restored {which}; lower lr (now {self.lr})")
        if self.verbose:
            print(message, flush=True)
        warnings.warn(message, RuntimeWarning, stacklevel=4)

    def adapt(self, X):
        """Adapt the fitted model to a new domain (session, subject) from unlabelled trials.

        The input re-centring reference becomes the Riemannian mean of ``X`` (Zanini et al.,
        IEEE TBME 2018) and every :class:`geomlayers.nn.spd.SPDBatchNorm`'s running mean and
        variance (any ``bn_metric``) are re-estimated on ``X`` as one batch
        (:func:`geomlayers.nn.spd.adapt_batch_norm`; Kobler et al., NeurIPS 2022); weights are
        unchanged.  Transductive: it reads the new trials, not their labels.  It changes the
        fitted model in place (keep a ``copy.deepcopy`` to return to the training domain);
        :meth:`predict` then serves the new domain.

        Args:
            X: trials of the new domain, as for :meth:`predict`, at least 2 (a few dozen give
                a stable mean).

        Returns:
            self.

        Raises:
            ValueError: fewer than 2 trials, or nothing to adapt (no re-centring and no SPD
                batch norm).

        """
        from geomlayers.nn.spd import adapt_batch_norm

        check_is_fitted(self)
        x = self._validate(X, fitted=True)
        if x.shape[0] < 2:
            raise ValueError(f"X must hold at least 2 trials to estimate batch statistics, "
                             f"got {x.shape[0]}")
        has_bn = bool(_spd_batch_norms(self.module_))
        if not has_bn and not getattr(self, "recenter", False):
            raise ValueError("nothing to adapt: the network has no SPDBatchNorm (bn_metric="
                             "None) and does not re-centre its inputs")
        self._adapt_preprocessing(x)
        if has_bn:
            inputs = self._to_input(self._prepare(x))
            adapt_batch_norm(self.module_, inputs)
            for index, member in self._checkpoint_members():
                self.checkpoints_[index] = copy.deepcopy(
                    adapt_batch_norm(member, inputs).state_dict())
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
        overflow = (f"{type(self).__name__}: the network's output is NaN or inf for "
                    "{} of %d trials of X{}; their values overflow the fitted network (check "
                    "their scale against the training data)" % len(inputs))
        try:
            with torch.no_grad():
                if self.checkpoints_ is None:
                    logits = self.module_(inputs)
                else:
                    probs = [torch.softmax(member(inputs).double(), dim=1)
                             for _, member in self._checkpoint_members()]
                    logits = torch.stack(probs).mean(0).log()
        except (RuntimeError, ValueError) as error:  # a layer met a non-finite value
            if _divergence(error, self.module_) is None:
                raise
            raise ValueError(overflow.format("some", f" ({error})")) from error
        # NaN or +inf anywhere, or no finite logit (a -inf log-probability alone is fine)
        bad = (torch.isnan(logits).any(1) | (logits == math.inf).any(1)
               | ~torch.isfinite(logits).any(1))
        if bool(bad.any()):
            raise ValueError(overflow.format(int(bad.sum()),
                                             f" (first: trial {int(bad.nonzero()[0, 0])})"))
        return logits

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
