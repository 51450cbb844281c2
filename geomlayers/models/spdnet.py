"""SPD networks: SPDNet (with SPD batch norm) and ConvSPDNet (signals → covariances → SPDNet).

Huang & Van Gool, AAAI 2017; Brooks et al., NeurIPS 2019; Pan et al. (MAtt), NeurIPS 2022;
Wang et al. (GBWBN), CVPR 2025.  See ``docs/spd.md``.
"""

from __future__ import annotations

import torch
from torch import nn

from geomlayers.linalg import check_finite
from geomlayers.nn.spd.attention import SPDAttention
from geomlayers.nn.spd.batchnorm import _METRICS, SPDBatchNorm
from geomlayers.nn.spd.head import SPDGyroMLR
from geomlayers.nn.spd.layers import BiMap, LogEig, ReEig
from geomlayers.nn.spd.pooling import CovariancePooling

__all__ = ["SPDNet", "ConvSPDNet"]


class SPDNet(nn.Module):
    """SPDNet (Huang & Van Gool 2017) with optional SPD batch norm (SPDNetBN / GBWBN nets).

    ``[BiMap(d_i → d_{i+1}) → SPDBatchNorm(d_{i+1}) → ReEig]`` for each consecutive pair of
    ``dims``, then ``LogEig`` (isometric upper-triangle vector, ``d_k(d_k+1)/2``) and a linear
    classifier.

    Args:
        dims: ``[d_0, d_1, ..., d_k]``, non-increasing, ``d_0`` the input size.
        num_classes: outputs of the linear layer.
        bn_metric: ``None`` (plain SPDNet), ``"aim"``, ``"bw"`` or ``"gbw"``.
        reeig_threshold: ReEig floor, relative to each matrix's mean eigenvalue
            (:class:`~geomlayers.nn.spd.ReEig`).
        bn_kwargs: extra keyword arguments for :class:`SPDBatchNorm`.
        head: ``"linear"`` (LogEig → vector → Linear) or ``"gyro-aim"`` / ``"gyro-lem"``
            (:class:`SPDGyroMLR` on the last SPD matrices).
        bias: bias of the linear head.

    Shapes: ``(N, d_0, d_0) → (N, num_classes)`` logits.

    >>> net = SPDNet([6, 4], 3, bn_metric="gbw", dtype=torch.float64)
    >>> net(torch.eye(6, dtype=torch.float64).expand(5, 6, 6)).shape
    torch.Size([5, 3])

    """

    def __init__(self, dims, num_classes: int, *, bn_metric: str | None = None,
                 reeig_threshold: float = 1e-4, bn_kwargs: dict | None = None,
                 head: str = "linear", bias: bool = True, device=None, dtype=None):
        super().__init__()
        dims = list(dims)
        if len(dims) < 2 or any(not isinstance(d, int) or d < 1 for d in dims):
            raise ValueError(f"dims must list >= 2 positive ints, got {dims}")
        if any(b > a for a, b in zip(dims[:-1], dims[1:], strict=True)):
            raise ValueError(f"dims must be non-increasing (BiMap reduces), got {dims}")
        if bn_metric is not None and bn_metric not in _METRICS:
            raise ValueError(f"bn_metric must be None or one of {_METRICS}, got {bn_metric!r}")
        if not (isinstance(num_classes, int) and num_classes >= 1):
            raise ValueError(f"num_classes must be a positive int, got {num_classes}")
        if head not in ("linear", "gyro-aim", "gyro-lem"):
            raise ValueError(f"head must be 'linear', 'gyro-aim' or 'gyro-lem', got {head!r}")
        self.dims, self.num_classes, self.bn_metric = dims, num_classes, bn_metric
        self.head = head
        factory = {"device": device, "dtype": dtype}
        blocks = []
        for a, b in zip(dims[:-1], dims[1:], strict=True):
            blocks.append(BiMap(a, b, **factory))
            if bn_metric is not None:
                blocks.append(SPDBatchNorm(b, bn_metric, **(bn_kwargs or {}), **factory))
            blocks.append(ReEig(reeig_threshold, n=b))
        self.spd = nn.Sequential(*blocks)
        self.logeig = LogEig(vectorize=True, n=dims[-1])
        if head == "linear":
            self.classifier = nn.Linear(dims[-1] * (dims[-1] + 1) // 2, num_classes,
                                        bias=bias, **factory)
        else:
            self.classifier = SPDGyroMLR(dims[-1], num_classes, metric=head[5:], **factory)

    def reset_parameters(self) -> None:
        """Re-initialise every layer."""
        for module in self.modules():
            if module is not self and hasattr(module, "reset_parameters"):
                module.reset_parameters()

    def spd_features(self, x: torch.Tensor, domains=None) -> torch.Tensor:
        """The last SPD matrices ``(N, d_k, d_k)``; ``domains`` ``(N,)`` reach the batch norms."""
        for block in self.spd:
            x = block(x, domains) if isinstance(block, SPDBatchNorm) else block(x)
        return x

    def features(self, x: torch.Tensor, domains=None) -> torch.Tensor:
        """Tangent features ``(N, d_k(d_k+1)/2)`` before the classifier."""
        return self.logeig(self.spd_features(x, domains))

    def forward(self, x: torch.Tensor, domains=None) -> torch.Tensor:
        """Class logits ``(N, num_classes)``.

        ``domains``: optional ``(N,)`` integer domain (session) ids for domain-specific batch
        norm (:class:`SPDBatchNorm`); ignored without batch norm.
        """
        if self.head != "linear":
            return self.classifier(self.spd_features(x, domains))
        return self.classifier(self.features(x, domains))

    def extra_repr(self) -> str:
        """Dims, classes, BN metric."""
        return (f"dims={self.dims}, num_classes={self.num_classes}, "
                f"bn_metric={self.bn_metric!r}, head={self.head!r}")


def _check_attention_dim(attention_dim, segments: int, cov_channels: int) -> None:
    if attention_dim is None:
        return
    if not (isinstance(attention_dim, int) and not isinstance(attention_dim, bool)
            and 1 <= attention_dim <= cov_channels):
        raise ValueError(f"attention_dim must be None or an int in 1..cov_channels "
                         f"({cov_channels}), got {attention_dim!r}")
    if segments < 2:
        raise ValueError("attention_dim needs segments >= 2 (attention mixes the windows' "
                         "covariances); set segments or attention_dim=None")


class ConvSPDNet(nn.Module):
    """Raw multichannel signals → learned filters → covariance → SPDNet (with SPD batch norm).

    The EEG network of the MAtt and GBWBN papers' MAMEM-SSVEP experiments: a spatial
    convolution across all electrodes (``Conv2d(1 → spatial_filters, (n_channels, 1))``), a
    temporal convolution (``Conv2d(spatial_filters → cov_channels, (1, kernel_size))``), each
    followed by ``BatchNorm2d``; the covariance of the ``cov_channels`` filtered signals
    (:class:`CovariancePooling`), then :class:`SPDNet` ``[cov_channels, *dims]`` with
    ``bn_metric`` batch norm, ``LogEig`` and a linear classifier.  With ``segments = S > 1`` the
    filtered signals are cut into ``S`` consecutive windows (MAtt's "epochs"), each gives a
    covariance, all ``N·S`` matrices share the SPD layers (and the batch-norm statistics), and
    the linear classifier reads the ``S`` tangent vectors side by side, so it sees how the
    filtered power evolves within the trial.  The Euclidean front-end runs
    in the module's dtype; the SPD part in ``spd_dtype`` (float64 by default, as in the
    official SPD code, because the eigen-decompositions of ill-conditioned covariances lose
    accuracy in float32).

    References: Pan et al., "MAtt: a manifold attention network for EEG decoding", NeurIPS
    2022, §4 (front-end); Wang et al., GBWBN, CVPR 2025, MAMEM experiment of the official code
    (``Conv2d(1,125,(8,1)) → BN → Conv2d(125,15,(1,36)) → BN → cov → BiMap 15→12 → GBWBN →
    ReEig → LogEig → Linear``).

    Args:
        n_channels: electrodes ``C`` of the input.
        n_times: time samples ``T`` (must exceed ``kernel_size``).
        num_classes: outputs.
        spatial_filters: outputs of the spatial convolution.
        cov_channels: outputs of the temporal convolution = covariance size.
        kernel_size: temporal kernel length in samples.
        temporal_padding: zeros added at both ends before the temporal convolution, so
            ``T + 2·temporal_padding − kernel_size + 1`` filtered samples remain (MAtt pads
            36-sample kernels by 18: 126 samples, 18 per window for 7 windows, so each
            window's 15×15 covariance has full rank).
        dims: BiMap output sizes after ``cov_channels`` (non-increasing).
        bn_metric: ``None``, ``"aim"``, ``"bw"`` or ``"gbw"`` (:class:`SPDBatchNorm`).
        dropout: dropout on the filtered signals before the covariance (0 disables).
        cov_eps: relative ridge of the covariance.
        normalize_trace: divide each covariance by its trace (:class:`CovariancePooling`).
        segments: number of consecutive time windows, each with its own covariance.
        attention_dim: with ``segments > 1``, put :class:`SPDAttention`
            (``cov_channels → attention_dim``) between the window covariances and the SPDNet
            (which then starts at ``attention_dim``), as MAtt does; ``None``: no attention.
        reeig_threshold: ReEig floor, relative to each matrix's mean eigenvalue
            (:class:`~geomlayers.nn.spd.ReEig`).
        bn_kwargs: extra :class:`SPDBatchNorm` arguments.
        spd_dtype: dtype of the SPD part (``None``: the module's dtype).

    Shapes: ``(N, C, T) → (N, num_classes)`` logits.

    >>> net = ConvSPDNet(8, 125, 5, spatial_filters=16, cov_channels=6, kernel_size=9, dims=(4,))
    >>> net(torch.randn(3, 8, 125)).shape
    torch.Size([3, 5])
    >>> ConvSPDNet(8, 125, 5, cov_channels=6, dims=(4,), segments=4).covariances(
    ...     torch.randn(3, 8, 125)).shape
    torch.Size([3, 4, 6, 6])

    """

    def __init__(self, n_channels: int, n_times: int, num_classes: int, *,
                 spatial_filters: int = 125, cov_channels: int = 15, kernel_size: int = 36,
                 temporal_padding: int = 0, dims=(12,), bn_metric: str | None = "gbw",
                 dropout: float = 0.0,
                 cov_eps: float = 1e-4, normalize_trace: bool = False, segments: int = 1,
                 attention_dim: int | None = None, reeig_threshold: float = 1e-4,
                 bn_kwargs: dict | None = None,
                 spd_dtype: torch.dtype | None = torch.float64, device=None, dtype=None):
        super().__init__()
        sizes = {"n_channels": n_channels, "n_times": n_times, "num_classes": num_classes,
                 "spatial_filters": spatial_filters, "cov_channels": cov_channels,
                 "kernel_size": kernel_size, "segments": segments}
        for name, value in sizes.items():
            if not (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if not (isinstance(temporal_padding, int) and not isinstance(temporal_padding, bool)
                and temporal_padding >= 0):
            raise ValueError(f"temporal_padding must be an int >= 0, got {temporal_padding!r}")
        filtered = n_times + 2 * temporal_padding - kernel_size + 1
        if filtered < 2 * segments:
            raise ValueError(f"kernel_size ({kernel_size}), temporal_padding "
                             f"({temporal_padding}) and segments ({segments}) leave {filtered} "
                             f"filtered samples for {n_times} input samples; each segment "
                             f"needs >= 2: use a shorter kernel, more padding or fewer segments")
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        _check_attention_dim(attention_dim, segments, cov_channels)
        self.n_channels, self.n_times = n_channels, n_times
        self.spd_dtype = spd_dtype
        factory = {"device": device, "dtype": dtype}
        self.front = nn.Sequential(
            nn.Conv2d(1, spatial_filters, (n_channels, 1), **factory),
            nn.BatchNorm2d(spatial_filters, **factory),
            nn.Conv2d(spatial_filters, cov_channels, (1, kernel_size),
                      padding=(0, temporal_padding), **factory),
            nn.BatchNorm2d(cov_channels, **factory),
        )
        self.dropout = nn.Dropout(dropout)
        self.covariance = CovariancePooling(cov_eps, normalize_trace)
        self.segments = segments
        spd_factory = {"device": device, "dtype": spd_dtype or dtype}
        self.attention = (None if attention_dim is None else
                          SPDAttention(cov_channels, attention_dim, **spd_factory))
        self.spdnet = SPDNet([attention_dim or cov_channels, *dims], num_classes,
                             bn_metric=bn_metric, reeig_threshold=reeig_threshold,
                             bn_kwargs=bn_kwargs, **spd_factory)
        if segments > 1:  # the head reads the S tangent vectors side by side
            tangent = dims[-1] * (dims[-1] + 1) // 2
            self.spdnet.classifier = nn.Linear(segments * tangent, num_classes, **spd_factory)

    def reset_parameters(self) -> None:
        """Re-initialise every layer."""
        for module in self.modules():
            if module is not self and hasattr(module, "reset_parameters"):
                module.reset_parameters()

    def covariances(self, x: torch.Tensor) -> torch.Tensor:
        """The learned-filter covariances: ``(N, F, F)``, or ``(N, S, F, F)`` with segments.

        ``F = cov_channels``; segment ``s`` covers the filtered samples of window ``s`` of
        ``S`` near-equal consecutive windows (the first ones one sample longer if needed).
        """
        if x.dim() != 3 or tuple(x.shape[1:]) != (self.n_channels, self.n_times):
            raise ValueError(f"x must have shape (N, {self.n_channels}, {self.n_times}) "
                             f"(trials, channels, times), got {tuple(x.shape)}")
        # before the front-end: a train-mode pass over NaN would corrupt BatchNorm2d's
        # running statistics (and every later eval-mode prediction) before any later check
        check_finite(x, "x")
        filtered = self.dropout(self.front(x.unsqueeze(1)).squeeze(2))  # (N, F, T')
        if self.segments == 1:
            cov = self.covariance(filtered)
        else:
            windows = torch.tensor_split(filtered, self.segments, dim=-1)
            cov = torch.stack([self.covariance(w) for w in windows], dim=1)
        return cov if self.spd_dtype is None else cov.to(self.spd_dtype)

    def forward(self, x: torch.Tensor, domains=None) -> torch.Tensor:
        """Class logits ``(N, num_classes)`` in the front-end's dtype.

        ``domains``: optional ``(N,)`` integer domain (session) ids for domain-specific SPD
        batch norm (each window's covariance takes its trial's domain).
        """
        if domains is not None:  # checked before the front-end updates its statistics
            domains = torch.as_tensor(domains, device=x.device)
            if domains.shape != (len(x),):
                raise ValueError(f"domains must have shape ({len(x)},) (one id per trial), "
                                 f"got {tuple(domains.shape)}")
        cov = self.covariances(x)  # (N, F, F) or (N, S, F, F)
        if self.attention is not None:
            cov = self.attention(cov)
        if domains is not None and cov.dim() == 4:
            domains = domains.repeat_interleave(cov.shape[1])
        flat = cov.reshape(-1, *cov.shape[-2:])
        tangent = self.spdnet.features(flat, domains).reshape(len(x), -1)
        return self.spdnet.classifier(tangent).to(x.dtype)
