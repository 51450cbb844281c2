"""``SPDNetClassifier``: SPDNet with optional SPD batch norm as a scikit-learn classifier."""

from __future__ import annotations

import math
import numbers

from geomlayers.integrations.sklearn._trainer import TorchSPDTrainer

_BN_METRICS = (None, "aim", "lem", "bw", "gbw")


class SPDNetClassifier(TorchSPDTrainer):
    """SPDNet (Huang & Van Gool, AAAI 2017) with optional SPD batch norm, as a sklearn classifier.

    Network: ``[BiMap → SPDBatchNorm(bn_metric) → ReEig]`` per step of ``dims``, ``LogEig``,
    linear layer (:class:`geomlayers.models.SPDNet`); ``bn_metric`` ``None`` is plain SPDNet,
    ``"aim"`` Brooks et al.'s Riemannian BN (NeurIPS 2019), ``"bw"``/``"gbw"`` the (generalized)
    Bures–Wasserstein BN of Wang et al. (GBWBN, CVPR 2025). Training recipe: module docstring.

    Defaults: the network *starts as* the tangent-space classifier and moves only as far as a
    held-out split rewards.  The inputs are re-centred at their Riemannian mean (Zanini et al.
    2018), the BiMap is square and starts at the identity, so the features are the tangent
    vectors at the mean (Barachant et al., "Classification of covariance matrices using a
    Riemannian-based kernel for BCI applications", Neurocomputing 2013); the linear head is
    initialised with shrinkage LDA on them (Ledoit-Wolf; the small-sample BCI default of Lotte
    et al., J. Neural Eng. 2018 — the same discriminant space that pyRiemann's FgMDM filters
    with), or with L2 logistic regression (``head_init="logistic"``: TS+LR, the maximum
    likelihood of the network's own softmax head), or with whichever of the two makes fewer
    errors in repeated stratified 5-fold cross-validation on the training trials
    (``head_init="auto"``; not the default: on the repo's benchmarks it loses to LDA on four
    sets for one it wins, ``docs/eeg.md``).  Fine-tuning then minimises cross-entropy with
    the head's weight decay equal to logistic regression's penalty ``1/(C·n)``; the number of
    epochs is the one of lowest loss on the validation
    split, kept only if it classifies the validation trials better than the initial
    classifier by more than twice the standard error of the paired per-trial difference
    (otherwise 0 epochs: the initial classifier; a lower loss alone may be calibration, not
    discrimination), and with ``refit`` the network is rebuilt and trained that many epochs
    on all trials.  Fine-tuning stops after ``patience`` epochs in which no epoch classified
    the validation trials better than the initial network (the rule above could not keep
    it), which makes the default cheap where the tangent-space classifier is already best.
    A reducing ``dims`` starts its BiMaps at random,
    and ``head_init=None`` the head too (SPDNet as in the paper).

    Args:
        dims: BiMap output sizes after the input size ``d``; ``None``: ``(d,)`` (square,
            started at the identity); :meth:`default_dims` gives SPDNet's halving
            reduction.
        bn_metric: None, "aim", "lem", "bw" or "gbw".
        head_init: "lda" (shrinkage LDA), "logistic" (logistic regression with ``C``),
            "auto" (the one of fewer inner cross-validation errors, ties: "lda") or ``None``
            (random head).
        C: inverse L2 penalty of the logistic head (initialisation and fine-tuning).
        refit: after choosing the epoch count on the validation split, retrain on all
            trials (no effect without a validation split).
        lr: RiemannianAdam learning rate.
        max_epochs: epoch cap.
        batch_size: mini-batch size (>= 2; the batch norm needs two matrices).
        patience: early-stopping patience in epochs (validation loss; with an initialised
            head also: no validation-accuracy gain over the initial network).
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
    ``head_`` (the head's initialisation, "lda" or "logistic" after "auto"),
    ``head_cv_errors_`` (``{"lda": n, "logistic": n}`` inner-CV errors with "auto", else
    ``None``), ``best_epoch_`` (0: the initial weights), ``fine_tuning_gain_`` (mean and
    standard error of the validation-accuracy gain of the lowest-loss epoch over the initial
    network, or ``None``), ``diverged_epoch_`` (``None`` unless training diverged),
    ``reference_``, ``history_``, ``n_epochs_``, ``best_val_loss_``, ``fit_time_``,
    ``checkpoints_`` (the ensemble's state dicts, lowest validation loss first; ``None`` when
    ``checkpoint_ensemble`` is 1).

    >>> import numpy as np
    >>> from geomlayers.data.eeg import load_bundled
    >>> X, y = load_bundled()
    >>> clf = SPDNetClassifier(max_epochs=2, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)

    """

    def __init__(self, dims=None, bn_metric=None, *, head_init="lda", C=1.0, refit=True,
                 lr=0.01, max_epochs=100, batch_size=32, patience=5, validation_fraction=0.2,
                 weight_decay=0.0, checkpoint_ensemble=1, recenter=True, dtype="float64",
                 random_state=None, progress=None, verbose=0):
        self.dims = dims
        self.bn_metric = bn_metric
        self.head_init = head_init
        self.C = C
        self.refit = refit
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
        if self.head_init not in ("auto", "lda", "logistic", None):
            raise ValueError(f"head_init must be 'auto', 'lda', 'logistic' or None, got "
                             f"{self.head_init!r}")
        if isinstance(self.C, bool) or not isinstance(self.C, numbers.Real) or not self.C > 0:
            raise ValueError(f"C must be a real > 0, got {self.C!r}")
        if self.refit not in (True, False):
            raise ValueError(f"refit must be True or False, got {self.refit!r}")
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

    def _dims(self, d: int) -> tuple[int, ...]:
        return (d,) if self.dims is None else tuple(int(v) for v in self.dims)

    def _make_module(self, shape, n_classes, dtype):
        from geomlayers.models import SPDNet

        d = shape[0]
        return SPDNet([d, *self._dims(d)], n_classes, bn_metric=self.bn_metric, dtype=dtype)

    def _initialize(self, module, inputs, targets, train) -> None:
        """Square BiMaps to the identity; SPD batch-norm statistics and the linear head fitted.

        With ``head_init="logistic"`` the head is the L2-regularised logistic regression
        (``C``) of the initial network's tangent features on the training trials, so that,
        with the default square BiMap, the network starts as tangent space + logistic
        regression at the Riemannian mean (Barachant et al., Neurocomputing 2013).
        """
        import torch

        from geomlayers.nn.spd import BiMap, adapt_batch_norm

        with torch.no_grad():
            for layer in module.modules():
                if isinstance(layer, BiMap) and layer.in_dim == layer.out_dim:
                    eye = torch.eye(layer.in_dim, dtype=layer.weight.dtype)
                    layer.weight.copy_(eye.expand_as(layer.weight))
        self.head_, self.head_cv_errors_ = self.head_init, None
        if self.head_init is None:
            return
        if module.bn_metric is not None:
            adapt_batch_norm(module, inputs[train])
        with torch.no_grad():
            features = module.features(inputs[train]).double().numpy()
        codes = targets[train].numpy()
        kind = self.head_init
        if kind == "auto":
            seed = int(torch.randint(2**31 - 1, ()))  # from fit's seeded torch stream
            kind, self.head_cv_errors_ = _select_head(features, codes, len(self.classes_),
                                                      float(self.C), seed)
        self.head_ = kind
        coef, intercept = _linear_head(kind, features, codes, len(self.classes_), float(self.C))
        head = module.classifier
        with torch.no_grad():
            head.weight.copy_(torch.as_tensor(coef, dtype=head.weight.dtype))
            head.bias.copy_(torch.as_tensor(intercept, dtype=head.bias.dtype))

    def _keep_initial_unless_significant(self) -> bool:
        return self.head_init is not None

    def _param_groups(self, module, n_train: int):
        """The head's weight decays as logistic regression's penalty: ``1 / (C · n_train)``."""
        if self.head_init is None:
            return module.parameters()
        head = module.classifier.weight
        rest = [p for p in module.parameters() if p is not head]
        return [{"params": rest},
                {"params": [head], "weight_decay": self.weight_decay + 1.0 / (self.C * n_train)}]


def _linear_head(kind: str, features, codes, n_classes: int, c: float):
    """Weights ``(n_classes, p)`` and bias ``(n_classes,)`` of a linear classifier.

    ``kind="lda"``: linear discriminant analysis with Ledoit-Wolf shrinkage of the pooled
    covariance (its decision functions are the Gaussian log-posteriors up to a constant);
    ``"logistic"``: L2 logistic regression with inverse penalty ``c``.  Binary problems give
    one weight vector ``w``; the two logits ``∓(w·f + b)/2`` have the same softmax
    (``sigmoid(w·f + b)`` for class 1).
    """
    import numpy as np

    if kind == "lda":
        coef, intercept = _shrinkage_lda(features, codes, n_classes)
    else:
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(C=c, max_iter=1000).fit(features, codes)
        coef, intercept = model.coef_, model.intercept_
    if n_classes == 2:
        coef = np.concatenate([-coef, coef]) / 2
        intercept = np.concatenate([-intercept, intercept]) / 2
    return coef, intercept


#: repeats of the stratified 5-fold cross-validation that chooses the head (``head_init="auto"``)
HEAD_CV_REPEATS = 2


def _select_head(features, codes, n_classes: int, c: float, seed: int):
    """The head ("lda" or "logistic") of fewer errors in repeated stratified 5-fold CV.

    Model selection on the training trials only (``features`` ``(n, p)``, ``codes`` ``(n,)``):
    both heads are fitted on each inner training fold and count their errors on its held-out
    fold, over :data:`HEAD_CV_REPEATS` shuffles (``seed``).  Ties keep shrinkage LDA (the
    small-sample BCI default, Lotte et al. 2018).  Returns the choice and the error counts
    ``{"lda": int, "logistic": int}`` (``None`` when a class has fewer than 2 trials: "lda").
    """
    import numpy as np
    from sklearn.model_selection import RepeatedStratifiedKFold

    folds = min(5, int(np.bincount(codes, minlength=n_classes).min()))
    if folds < 2:
        return "lda", None
    cv = RepeatedStratifiedKFold(n_splits=folds, n_repeats=HEAD_CV_REPEATS, random_state=seed)
    errors = {"lda": 0, "logistic": 0}
    for inner, held in cv.split(features, codes):
        for kind in errors:
            coef, intercept = _linear_head(kind, features[inner], codes[inner], n_classes, c)
            predicted = (features[held] @ coef.T + intercept).argmax(1)
            errors[kind] += int(np.sum(predicted != codes[held]))
    return ("logistic" if errors["logistic"] < errors["lda"] else "lda"), errors


def _shrinkage_lda(features, codes, n_classes: int):
    """Shrinkage LDA ``(coef, intercept)``: scikit-learn's LDA(lsqr, auto) by Cholesky.

    The numbers of ``LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto")``: pooled
    covariance ``Σ_k π_k Σ_k``, each class covariance Ledoit-Wolf-shrunk on standardised
    features and scaled back; ``coef = μ_k Σ⁻¹``, ``intercept = −½ μ_k Σ⁻¹ μ_kᵀ + log π_k``
    (two classes: the difference of the two rows, ``(1, p)``).  Σ is positive definite after
    shrinkage, so a Cholesky solve replaces scikit-learn's least-squares (SVD) solve: the same
    numbers ~10× faster for the ``p = d(d+1)/2 ≈ 2000`` tangent features of 64 channels
    (a singular Σ, e.g. one trial per class, falls back to the least-squares solve).
    """
    import numpy as np
    from scipy.linalg import cho_factor, cho_solve, lstsq
    from sklearn.covariance import ledoit_wolf

    priors = np.bincount(codes, minlength=n_classes) / len(codes)
    means = np.stack([features[codes == k].mean(0) for k in range(n_classes)])
    cov = np.zeros((features.shape[1], features.shape[1]))
    for k in range(n_classes):
        members = features[codes == k]
        scale = members.std(0)
        scale[scale < 10 * np.finfo(scale.dtype).eps] = 1.0  # as StandardScaler
        shrunk = ledoit_wolf((members - members.mean(0)) / scale)[0]
        cov += priors[k] * (scale[:, None] * shrunk * scale[None, :])
    try:
        coef = cho_solve(cho_factor(cov), means.T).T
    except np.linalg.LinAlgError:  # singular (e.g. one trial per class): scikit-learn's solve
        coef = lstsq(cov, means.T)[0].T
    intercept = -0.5 * np.einsum("kp,kp->k", means, coef) + np.log(priors)
    if n_classes == 2:
        return coef[1:] - coef[:1], intercept[1:] - intercept[:1]
    return coef, intercept
