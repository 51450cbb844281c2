"""``ConvSPDNetClassifier``: raw EEG trials → learned filters → covariance → SPDNet."""

from __future__ import annotations

import math
import numbers

import torch

from geomlayers.integrations.sklearn._checks import check_signals
from geomlayers.integrations.sklearn._trainer import _DTYPES, TorchSPDTrainer

_BN_METRICS = (None, "aim", "bw", "gbw")


class ConvSPDNetClassifier(TorchSPDTrainer):
    """Raw EEG trials → learned spatial/temporal filters → covariance → SPDNet with SPD BN.

    The network is :class:`geomlayers.models.ConvSPDNet` (the MAtt / GBWBN EEG architecture):
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
                 progress=None, verbose=0):
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
        self.verbose = verbose

    def _validate(self, X, name="X", fitted=False):
        shape = (self.n_features_in_, self.n_times_) if fitted else None
        return check_signals(X, name, shape)

    def _fit_shape(self, shape):
        self.n_features_in_, self.n_times_ = shape

    def _fit_preprocessing(self, x, groups):
        self.scale_ = float(x.std()) or 1.0

    def _prepare(self, x, groups=None):
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
        from geomlayers.models import ConvSPDNet

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
