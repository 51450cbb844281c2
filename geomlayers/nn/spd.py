"""SPD network layers: BiMap, ReEig, LogEig, ExpEig, SPD batch norms (AIM, BW, GBW), SPDNet.

Inputs are batches of SPD matrices ``(N, n, n)`` or, with channels, ``(N, C, n, n)``.
Eigen-functions go through :mod:`geomlayers.linalg` (Daleckii–Krein backward, finite for
repeated eigenvalues); manifold-valued weights are geoopt ``ManifoldParameter``s, so one
``geoopt.optim.RiemannianAdam(model.parameters())`` trains a whole model.

References:
    * SPDNet (BiMap, ReEig, LogEig): Huang & Van Gool, "A Riemannian network for SPD matrix
      learning", AAAI 2017, §3.
    * AIM batch norm: Brooks et al., "Riemannian batch normalization for SPD neural networks",
      NeurIPS 2019, §3 (Algorithm 1); variance scaling as in Kobler et al., "SPD domain-specific
      batch normalization", NeurIPS 2022, §3.
    * BW / GBW batch norm: Wang, Jin, Chen, Luo & Wu, "Learning to normalize on the SPD manifold
      under Bures–Wasserstein geometry", CVPR 2025 (GBWBN), §4, and its official code.

"""

from __future__ import annotations

import math

import geoopt
import torch
from torch import nn

from geomlayers import linalg
from geomlayers.linalg import sym
from geomlayers.manifolds.spd import (
    SPDAffineInvariant,
    SPDBuresWasserstein,
    SPDGeneralizedBuresWasserstein,
    SPDLogEuclidean,
    SPDManifold,
)

__all__ = [
    "BiMap",
    "ReEig",
    "LogEig",
    "ExpEig",
    "SPDBatchNorm",
    "adapt_batch_norm",
    "SPDNet",
    "SPDGyroMLR",
    "CovariancePooling",
    "SPDAttention",
    "ConvSPDNet",
    "sym_to_vec",
    "vec_to_sym",
]



def _trace(x: torch.Tensor) -> torch.Tensor:
    return torch.diagonal(x, dim1=-2, dim2=-1).sum(-1)


def _check_spd_input(x, n: int, name: str = "x") -> torch.Tensor:
    """Shape ``(N, n, n)`` / ``(N, C, n, n)``, then :func:`geomlayers.linalg.check_spd`."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x)}")
    if x.dim() not in (3, 4) or x.shape[-1] != n or x.shape[-2] != n:
        raise ValueError(f"{name} must have shape (N, {n}, {n}) or (N, C, {n}, {n}), "
                         f"got {tuple(x.shape)}")
    linalg.check_spd(x, name)
    return x


def sym_to_vec(x: torch.Tensor) -> torch.Tensor:
    """Isometric vectorisation ``(..., n, n) → (..., n(n+1)/2)``.

    The upper triangle row by row, off-diagonal entries times √2 (so ``||vec X|| = ||X||_F``).

    >>> sym_to_vec(torch.tensor([[1.0, 2.0], [2.0, 3.0]]))
    tensor([1.0000, 2.8284, 3.0000])
    """
    n = x.shape[-1]
    rows, cols = torch.triu_indices(n, n, device=x.device)
    scale = torch.where(rows == cols, 1.0, math.sqrt(2.0)).to(x.dtype)
    return x[..., rows, cols] * scale


def vec_to_sym(v: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`sym_to_vec`: ``(..., n(n+1)/2) → (..., n, n)``."""
    m = v.shape[-1]
    n = int(round((math.sqrt(8 * m + 1) - 1) / 2))
    if n * (n + 1) // 2 != m:
        raise ValueError(f"v's last dim must be n(n+1)/2 for some n, got {m}")
    rows, cols = torch.triu_indices(n, n, device=v.device)
    scale = torch.where(rows == cols, 1.0, math.sqrt(0.5)).to(v.dtype)
    out = v.new_zeros(*v.shape[:-1], n, n)
    out[..., rows, cols] = v * scale
    out[..., cols, rows] = v * scale
    return out


class BiMap(nn.Module):
    """Bilinear map ``X ↦ Wᵀ X W`` with ``W ∈ St(in_dim, out_dim)`` (SPDNet §3.1).

    With channels, ``Y_o = Σ_i W_{oi}ᵀ X_i W_{oi}`` (Brooks et al. 2019).  The weight is a
    geoopt ``ManifoldParameter`` on the Stiefel manifold (orthonormal columns), so
    ``RiemannianAdam`` keeps it there.

    Shapes: ``(N, in_dim, in_dim) → (N, out_dim, out_dim)``; with channels
    ``(N, in_channels, in_dim, in_dim) → (N, out_channels, out_dim, out_dim)``.

    >>> layer = BiMap(4, 2, dtype=torch.float64)
    >>> layer(torch.eye(4, dtype=torch.float64).expand(3, 4, 4)).shape
    torch.Size([3, 2, 2])
    """

    def __init__(self, in_dim: int, out_dim: int, *, in_channels: int | None = None,
                 out_channels: int | None = None, device=None, dtype=None):
        super().__init__()
        if not (isinstance(in_dim, int) and isinstance(out_dim, int) and 1 <= out_dim <= in_dim):
            raise ValueError(f"need integers 1 <= out_dim <= in_dim, got in_dim={in_dim}, "
                             f"out_dim={out_dim}")
        if (in_channels is None) != (out_channels is None):
            raise ValueError("give both in_channels and out_channels, or neither")
        for name, c in (("in_channels", in_channels), ("out_channels", out_channels)):
            if c is not None and not (isinstance(c, int) and c >= 1):
                raise ValueError(f"{name} must be a positive int, got {c}")
        self.in_dim, self.out_dim = in_dim, out_dim
        self.in_channels, self.out_channels = in_channels, out_channels
        lead = () if in_channels is None else (out_channels, in_channels)
        self.weight = geoopt.ManifoldParameter(
            torch.empty(*lead, in_dim, out_dim, device=device, dtype=dtype),
            manifold=geoopt.Stiefel())
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Haar-random orthonormal columns (QR of a Gaussian matrix, signs fixed)."""
        with torch.no_grad():
            gauss = torch.randn(self.weight.shape, dtype=torch.float64)
            q, r = torch.linalg.qr(gauss)
            q = q * torch.sign(torch.diagonal(r, dim1=-2, dim2=-1)).unsqueeze(-2)
            self.weight.copy_(q.to(self.weight.dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``Wᵀ X W`` (summed over input channels)."""
        _check_spd_input(x, self.in_dim)
        w = self.weight
        if self.in_channels is None:
            if x.dim() != 3:
                raise ValueError(f"x must have shape (N, {self.in_dim}, {self.in_dim}) "
                                 f"(no channels configured), got {tuple(x.shape)}")
            return sym(w.transpose(-1, -2) @ x @ w)
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"x must have shape (N, {self.in_channels}, {self.in_dim}, "
                             f"{self.in_dim}), got {tuple(x.shape)}")
        y = w.transpose(-1, -2) @ x.unsqueeze(1) @ w  # (N, C_out, C_in, out, out)
        return sym(y.sum(2))

    def extra_repr(self) -> str:
        """Dimensions and channels."""
        ch = "" if self.in_channels is None else (
            f", in_channels={self.in_channels}, out_channels={self.out_channels}")
        return f"in_dim={self.in_dim}, out_dim={self.out_dim}{ch}"


class ReEig(nn.Module):
    """Eigenvalue rectification ``U max(σ, threshold) Uᵀ`` (SPDNet §3.2), ``(..., n, n)``."""

    def __init__(self, threshold: float = 1e-4):
        super().__init__()
        if not threshold > 0:
            raise ValueError(f"threshold must be > 0, got {threshold}")
        self.threshold = float(threshold)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Rectify eigenvalues."""
        return linalg.clampm(x, self.threshold)

    def extra_repr(self) -> str:
        """Threshold."""
        return f"threshold={self.threshold}"


class LogEig(nn.Module):
    """Matrix logarithm (SPDNet §3.3): ``(..., n, n) → (..., n, n)``.

    With ``vectorize=True`` the isometric upper-triangle vector ``(..., n(n+1)/2)``.
    """

    def __init__(self, vectorize: bool = False):
        super().__init__()
        self.vectorize = bool(vectorize)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``log X`` (optionally vectorised)."""
        y = linalg.logm(x)
        return sym_to_vec(y) if self.vectorize else y

    def extra_repr(self) -> str:
        """Vectorisation flag."""
        return f"vectorize={self.vectorize}"


class ExpEig(nn.Module):
    """Matrix exponential of symmetric matrices ``(..., n, n)`` (inverse of :class:`LogEig`)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``exp X``."""
        return linalg.expm(x)


_METRICS = ("aim", "lem", "bw", "gbw")
_MANIFOLDS = {"aim": SPDAffineInvariant(), "lem": SPDLogEuclidean(), "bw": SPDBuresWasserstein()}
_VARIANCES = ("frechet", "identity")
_UNKNOWN = ("error", "batch", "global")
_ADAPT_ITER = 50  # Fréchet-mean iterations when estimating a domain's statistics


class SPDBatchNorm(nn.Module):
    """Riemannian batch normalisation of SPD matrices under AIM, LEM, BW or generalized BW.

    Every metric runs the same algorithm on its manifold object (:attr:`manifold`, from
    :mod:`geomlayers.manifolds`): the batch Fréchet mean ``G`` (``frechet_mean``), the
    variance ``v = mean d²(X_i, G)``, and ``Y = Exp_B Γ_{I→B}(s/√(v+ε) · Γ_{G→I} Log_G X)``
    (``recenter``), with the running mean moved along the metric's ``geodesic``:

    * ``metric="aim"`` — Brooks et al. (NeurIPS 2019, Alg. 1): Karcher mean ``G``, centre
      ``G^{-1/2} X G^{-1/2}``, optional scaling ``(·)^{s/√(v+ε)}`` (Kobler et al. 2022; off by
      default, as in Brooks), bias ``B^{1/2} (·) B^{1/2}``.
    * ``metric="lem"`` — the Log-Euclidean batch norm (Chen et al., "A Lie group approach to
      Riemannian batch normalization", ICLR 2024, LEM instance): closed-form mean
      ``exp(mean log X_i)``, ``Y = exp(log B + s/√(v+ε) (log X − log G))``.
    * ``metric="bw"`` — GBWBN with ``M = I`` (Wang et al., CVPR 2025, §4): BW barycentre ``G``
      (fixed point), ``W = Γ_{G→I} Log_G X``, ``W ← s/√(v+ε) W``, ``Y = Exp_B(Γ_{I→B} W)``.
    * ``metric="gbw"`` — the same in the coordinates ``Z = M^{-1/2} X^θ M^{-1/2}`` with a
      learnable SPD ``M`` (and learnable ``θ`` if ``learn_theta``), mapped back by
      ``X = (M^{1/2} Z M^{1/2})^{1/θ}``; the bias is ``B̃ = M^{-1/2} B^θ M^{-1/2}`` in Z.
      The map ``ψ`` is the manifold's chart
      (:meth:`~geomlayers.manifolds.SPDGeneralizedBuresWasserstein.psi`).

    Statistics are pooled over the batch and channel dims.  Training mode uses the batch mean
    and variance (``v = θ⁻² mean d²(Z_i, G)``) and updates the buffers ``running_mean`` (an SPD
    matrix in input coordinates, moved along the metric's geodesic by ``momentum``) and
    ``running_var``; eval mode uses the buffers (like ``torch.nn.BatchNorm``; ``momentum=None``
    is the cumulative average).  The output is SPD: every path ends in a clamped eigen-function
    (``spd_floor``), so ill-conditioned inputs (κ ≥ 1e6) give no NaN.

    **Domain-specific statistics** (SPDDSMBN, Kobler et al., "SPD domain-specific batch
    normalization to crack interpretable unsupervised domain adaptation in EEG", NeurIPS 2022,
    §3; per-session re-centring, Zanini et al., "Transfer learning: a Riemannian geometry
    framework with applications to brain-computer interfaces", IEEE TBME 2018):
    ``forward(x, domains)`` with an ``(N,)`` tensor of integer domain ids (sessions, subjects)
    normalises each domain's samples with that domain's own statistics, while the parameters
    (bias, scale, ``M``) are shared.  In training each domain with at least two matrices in
    the batch uses its batch mean and variance and moves its own running statistics (a new
    domain starts at its first batch's statistics; a domain with a single matrix in the batch
    is normalised with its running statistics, or the global ones if it has none, and updates
    nothing — batches with several trials per domain, as in Kobler et al., avoid this).  In
    eval each domain uses its running statistics; a domain never seen is handled by
    ``unknown_domain``: ``"error"`` (default; the message names the fix), ``"batch"`` (the
    statistics of its samples in the evaluated batch, nothing stored) or ``"global"`` (the
    pooled running statistics).  :meth:`adapt` / :func:`adapt_batch_norm` estimate a new
    domain's statistics from its unlabelled inputs.  The per-domain state lives in the
    buffers ``domain_ids`` ``(K,)``, ``domain_means`` ``(K, n, n)``, ``domain_vars`` ``(K,)``
    and ``domain_counts`` ``(K,)`` (saved in the state dict; :attr:`domains` lists the ids,
    :meth:`domain_statistics` reads one).  ``domains=None`` uses and updates the global
    ``running_mean``/``running_var`` as before.

    Differences from the official GBWBN code (kept as options): the batch mean takes
    ``n_iter`` fixed-point steps (official: 1; pass ``n_iter=1``), the variance is the Fréchet
    variance about ``G`` (official measures it about ``I``: ``variance="identity"``), running
    statistics are registered buffers (the official ones are not saved in the state dict), and
    ``Γ_{I→B}`` and ``Exp_B`` use the same ``B̃`` (the RResNet variant mixes ``B`` and ``B̃``).

    Args:
        num_features: matrix size ``n``.
        metric: ``"aim" | "lem" | "bw" | "gbw"``.
        momentum: running-statistics step (``None``: cumulative average).
        eps: added to the variance.
        n_iter: Karcher / fixed-point steps for the batch mean (early stop at ``tol``).
        theta: power deformation (GBW only; BW and AIM use 1).
        learn_theta: make ``θ`` a parameter (GBW).
        learn_m: make ``M`` a learnable SPD parameter (GBW; otherwise ``M = I``).
        bias: learnable SPD bias ``B`` (else ``B = I``).
        scale: learnable dispersion ``s`` (default: ``False`` for AIM as in Brooks, ``True``
            for LEM as in LieBN and for BW/GBW as in GBWBN).
        variance: ``"frechet"`` (about the batch mean) or ``"identity"`` (official GBWBN).
        detach_stats: no gradient through the batch mean and variance (as Brooks and GBWBN).
        spd_floor: floor the output eigenvalues at the relative floor
            (:func:`geomlayers.linalg.floorm`; guarantees SPD).
        tol: early-stop tolerance of the mean iterations (default: dtype-based).
        unknown_domain: eval-time policy for a domain without statistics: ``"error"``,
            ``"batch"`` or ``"global"``.
        warm_start: start the batch-mean iterations from the running mean (the domain's,
            with ``domains``) once it has been estimated, instead of the arithmetic mean: the
            ``n_iter`` steps then refine an estimate that is already close (official GBWBN and
            Brooks et al. start from the arithmetic mean: ``warm_start=False``).

    Shapes: ``(N, n, n)`` or ``(N, C, n, n)`` → same.

    >>> bn = SPDBatchNorm(3, metric="bw", dtype=torch.float64)
    >>> x = torch.eye(3, dtype=torch.float64) * torch.rand(8, 1, 1, dtype=torch.float64).add(1)
    >>> bn(x).shape
    torch.Size([8, 3, 3])
    >>> sessions = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
    >>> bn(x, domains=sessions).shape
    torch.Size([8, 3, 3])
    >>> bn.domains
    [0, 1]

    """

    def __init__(self, num_features: int, metric: str = "aim", *, momentum: float | None = 0.1,
                 eps: float = 1e-5, n_iter: int = 3, theta: float = 1.0,
                 learn_theta: bool = False, learn_m: bool = True, bias: bool = True,
                 scale: bool | None = None, variance: str = "frechet",
                 detach_stats: bool = True, spd_floor: bool = True, tol: float | None = None,
                 unknown_domain: str = "error", warm_start: bool = True, device=None,
                 dtype=None):
        super().__init__()
        self._check_args(num_features, metric, momentum, eps, n_iter, theta, variance)
        if unknown_domain not in _UNKNOWN:
            raise ValueError(f"unknown_domain must be one of {_UNKNOWN}, got {unknown_domain!r}")
        self.unknown_domain = unknown_domain
        self.warm_start = bool(warm_start)
        self._adapting = False
        self.num_features, self.metric = num_features, metric
        self.momentum, self.eps, self.n_iter, self.tol = momentum, float(eps), n_iter, tol
        self.variance, self.detach_stats, self.spd_floor = variance, detach_stats, spd_floor
        self.use_scale = (metric != "aim") if scale is None else bool(scale)
        factory = {"device": device, "dtype": dtype}
        eye = torch.eye(num_features, **factory)
        spd = SPDAffineInvariant()
        self.bias = geoopt.ManifoldParameter(eye.clone(), manifold=spd) if bias else None
        self.scale = nn.Parameter(torch.ones((), **factory)) if self.use_scale else None
        self.m = (geoopt.ManifoldParameter(eye.clone(), manifold=spd)
                  if metric == "gbw" and learn_m else None)
        theta_t = torch.tensor(float(theta) if metric == "gbw" else 1.0, **factory)
        self.learn_theta = bool(learn_theta) and metric == "gbw"
        if self.learn_theta:
            self.theta = nn.Parameter(theta_t)
        else:
            self.register_buffer("theta", theta_t)
        self.register_buffer("running_mean", eye.clone())
        self.register_buffer("running_var", torch.ones((), **factory))
        self.register_buffer("num_batches_tracked", torch.zeros((), dtype=torch.long,
                                                                device=device))
        self.register_buffer("domain_ids", torch.zeros(0, dtype=torch.long, device=device))
        self.register_buffer("domain_means", torch.zeros(0, num_features, num_features,
                                                         **factory))
        self.register_buffer("domain_vars", torch.zeros(0, **factory))
        self.register_buffer("domain_counts", torch.zeros(0, dtype=torch.long, device=device))
        self.reset_parameters()

    @staticmethod
    def _check_args(n, metric, momentum, eps, n_iter, theta, variance):
        if not (isinstance(n, int) and n >= 1):
            raise ValueError(f"num_features must be a positive int, got {n}")
        if metric not in _METRICS:
            raise ValueError(f"metric must be one of {_METRICS}, got {metric!r}")
        if momentum is not None and not 0 < momentum <= 1:
            raise ValueError(f"momentum must be in (0, 1] or None, got {momentum}")
        if not eps > 0:
            raise ValueError(f"eps must be > 0, got {eps}")
        if not (isinstance(n_iter, int) and n_iter >= 1):
            raise ValueError(f"n_iter must be an int >= 1, got {n_iter}")
        if not (theta != 0 and math.isfinite(theta)):
            raise ValueError(f"theta must be finite and non-zero, got {theta}")
        if variance not in _VARIANCES:
            raise ValueError(f"variance must be one of {_VARIANCES}, got {variance!r}")

    def reset_parameters(self) -> None:
        """Bias and M to I, scale to 1, running statistics to (I, 1)."""
        with torch.no_grad():
            for p in (self.bias, self.m):
                if p is not None:
                    p.copy_(torch.eye(self.num_features, dtype=p.dtype, device=p.device))
            if self.scale is not None:
                self.scale.fill_(1.0)
        self.reset_running_stats()

    def reset_running_stats(self) -> None:
        """Running mean ``I``, running variance 1, counter 0; no domain statistics."""
        with torch.no_grad():
            self.running_mean.copy_(torch.eye(self.num_features, dtype=self.running_mean.dtype,
                                              device=self.running_mean.device))
            self.running_var.fill_(1.0)
            self.num_batches_tracked.zero_()
        self.domain_ids = self.domain_ids[:0]
        self.domain_means = self.domain_means[:0]
        self.domain_vars = self.domain_vars[:0]
        self.domain_counts = self.domain_counts[:0]

    # -- helpers ------------------------------------------------------------------------------
    def _eye(self, x):
        return torch.eye(self.num_features, dtype=x.dtype, device=x.device)

    def _momentum(self, count: int) -> float:
        if self.momentum is None:
            return 1.0 / max(count, 1)
        return self.momentum

    @property
    def manifold(self) -> SPDManifold:
        """The layer's metric as a manifold object (GBW: with the current ``M`` and ``θ``)."""
        if self.metric != "gbw":
            return _MANIFOLDS[self.metric]
        theta = self.theta if self.learn_theta else float(self.theta)
        return SPDGeneralizedBuresWasserstein(self.m, theta)

    def _normalize(self, x, stats, init=None):
        """Normalised ``x`` ``(B, n, n)`` and the batch statistics used (``None`` if given).

        ``stats`` is ``None`` (use and return the batch's own mean and variance, the mean
        iterated from ``init`` if given) or a running ``(mean, var)`` pair in input coordinates.
        """
        man = self.manifold
        base = man.base
        z = man.chart(x)
        out = None
        stats_grad = torch.is_grad_enabled() and not self.detach_stats
        if stats is None:
            with torch.set_grad_enabled(stats_grad):
                zs = z if stats_grad else z.detach()
                z0 = None if init is None else man.chart(init.to(x.dtype)).detach()
                g = base.frechet_mean(zs, tol=self.tol, max_iter=self.n_iter, init=z0,
                                      warn=self._adapting, validate=False)
        else:
            g = man.chart(stats[0].to(x.dtype))
        w = base.to_identity(g, z)  # Γ_{G→I} Log_G Z, one eigendecomposition per matrix
        if stats is None:
            v = None
            if self.use_scale or self.metric != "aim":
                with torch.set_grad_enabled(stats_grad):
                    if self.variance == "identity":
                        d2 = base.dist2(self._eye(x), zs)
                    else:  # d²(G, Z) = ‖Γ_{G→I} Log_G Z‖²_I (the transport is an isometry)
                        d2 = base.inner(self._eye(x), w if stats_grad else w.detach())
                    v = d2.mean() * man.variance_scale
            out = (man.chart_inv(g).detach(), None if v is None else v.detach())
        else:
            v = stats[1].to(x.dtype)
        if self.use_scale:
            w = w * (self.scale.to(x.dtype) / (v + self.eps).sqrt())
        bias = self._eye(x) if self.bias is None else man.chart(self.bias.to(x.dtype))
        y = man.chart_inv(base.from_identity(bias, w))  # Exp_B Γ_{I→B} W
        if self.spd_floor and not base.complete:  # Exp of an incomplete metric may be singular
            y = linalg.floorm(y)
        return y, out

    @torch.no_grad()
    def _step_stats(self, mean, var, g, v, eta):
        """Running ``(mean, var)`` moved by ``eta`` along the metric's geodesic to ``(g, v)``."""
        man = self.manifold
        new = man.geodesic(mean.to(g.dtype), g, eta)
        new_var = var if v is None else (1 - eta) * var + eta * v.to(var.dtype)
        return new.to(mean.dtype), new_var

    # -- forward ------------------------------------------------------------------------------
    def forward(self, x: torch.Tensor, domains: torch.Tensor | None = None) -> torch.Tensor:
        """Normalise a batch ``(N, n, n)`` or ``(N, C, n, n)``; see the class docstring.

        Args:
            x: SPD matrices.
            domains: optional ``(N,)`` integer domain (session, subject) id of each sample;
                each domain is normalised with its own statistics (domain-specific batch
                norm, Kobler et al. 2022).  ``None``: one set of statistics for all.

        """
        _check_spd_input(x, self.num_features)
        shape = x.shape
        if domains is not None:
            domains = self._check_domains(domains, shape[0], x.device)
        x = x.reshape(-1, self.num_features, self.num_features)
        if self.training:
            self.num_batches_tracked += 1
        if domains is None:
            if self.training and x.shape[0] < 2:
                raise ValueError("SPDBatchNorm needs more than one matrix per batch in "
                                 f"training mode, got input shape {tuple(shape)}")
            warm = (self.training and self.warm_start and not self._adapting
                    and int(self.num_batches_tracked) > 1)
            y, stats = self._normalize(x, None if self.training else self._global_stats(x),
                                       self.running_mean if warm else None)
            if self.training:
                self._store(None, *stats)
            return y.reshape(shape)
        per_sample = x.shape[0] // shape[0]  # channels share their sample's domain
        flat = domains.repeat_interleave(per_sample)
        parts, order = [], []
        for d in torch.unique(flat).tolist():
            idx = (flat == d).nonzero().squeeze(-1)
            slot = self._slot(d)
            warm = self.warm_start and not self._adapting and slot is not None
            y, stats = self._normalize(x[idx], self._domain_stats_for(d, x, len(idx)),
                                       self.domain_means[slot] if warm else None)
            if stats is not None and self.training:
                self._store(d, *stats)
            parts.append(y)
            order.append(idx)
        inverse = torch.argsort(torch.cat(order))
        return torch.cat(parts)[inverse].reshape(shape)

    # -- domains ------------------------------------------------------------------------------
    @staticmethod
    def _check_domains(domains, batch: int, device) -> torch.Tensor:
        domains = torch.as_tensor(domains, device=device)
        if domains.dtype.is_floating_point or domains.dtype.is_complex or \
                domains.dtype == torch.bool:
            raise TypeError(f"domains must hold integer domain ids, got dtype {domains.dtype}")
        if domains.shape != (batch,):
            raise ValueError(f"domains must have shape ({batch},) (one id per sample), "
                             f"got {tuple(domains.shape)}")
        return domains.long()

    @property
    def domains(self) -> list[int]:
        """Ids of the domains that have running statistics (in insertion order)."""
        return [int(d) for d in self.domain_ids.tolist()]

    def domain_statistics(self, domain: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Running ``(mean (n, n), variance ())`` of ``domain`` (input coordinates)."""
        slot = self._slot(int(domain))
        if slot is None:
            raise KeyError(f"domain {domain} has no running statistics; known domains: "
                           f"{self.domains}")
        return self.domain_means[slot], self.domain_vars[slot]

    def forget_domain(self, domain: int) -> None:
        """Drop the running statistics of ``domain``."""
        slot = self._slot(int(domain))
        if slot is None:
            raise KeyError(f"domain {domain} has no running statistics; known domains: "
                           f"{self.domains}")
        keep = torch.arange(len(self.domain_ids), device=self.domain_ids.device) != slot
        self.domain_ids = self.domain_ids[keep]
        self.domain_means = self.domain_means[keep]
        self.domain_vars = self.domain_vars[keep]
        self.domain_counts = self.domain_counts[keep]

    @torch.no_grad()
    def adapt(self, x: torch.Tensor, domains=None) -> SPDBatchNorm:
        """Estimate running statistics from unlabelled inputs of this layer (no update of weights).

        Each domain of ``domains`` (``(N,)`` ids; ``None``: the layer's global statistics)
        gets the Fréchet mean and variance of its samples in ``x`` (iterated to convergence
        from the arithmetic mean), replacing what it had: the re-centring of a new session of
        Zanini et al. (2018) and the domain adaptation of Kobler et al. (2022).  For a whole
        network use :func:`adapt_batch_norm`, which feeds each batch-norm layer its input.
        """
        training = self.training
        adapt_batch_norm(self, x, domains=domains)
        self.train(training)
        return self

    def _slot(self, d: int):
        hits = (self.domain_ids == d).nonzero()
        return int(hits[0, 0]) if len(hits) else None

    def _global_stats(self, x):
        return self.running_mean.to(x.dtype), self.running_var.to(x.dtype)

    def _domain_stats_for(self, d: int, x, count: int):
        """Statistics to normalise domain ``d`` with, or ``None`` to use its batch's own."""
        slot = self._slot(d)
        if self._adapting and count < 2:
            raise ValueError(f"domain {d} has {count} matrix in the adaptation batch; its "
                             "statistics need at least 2")
        if self.training and count >= 2:
            return None
        if slot is not None:
            return self.domain_means[slot].to(x.dtype), self.domain_vars[slot].to(x.dtype)
        if self.training:  # a single matrix of an unseen domain: nothing to estimate from
            return self._global_stats(x)
        if self.unknown_domain == "batch" and count >= 2:
            return None
        if self.unknown_domain == "global":
            return self._global_stats(x)
        raise ValueError(
            f"domain {d} has no running statistics (known domains: {self.domains}); estimate "
            "them from its unlabelled inputs with adapt_batch_norm(model, x_new, "
            "domains=ids) (or SPDBatchNorm.adapt), or build the layer with "
            "unknown_domain='batch' (statistics of the evaluated batch, >= 2 matrices) or "
            "'global' (the pooled running statistics)")

    @torch.no_grad()
    def _store(self, d, g, v) -> None:
        """Move the running statistics of domain ``d`` (``None``: global) towards ``(g, v)``."""
        if d is None:
            eta = 1.0 if self._adapting else self._momentum(int(self.num_batches_tracked))
            mean, var = self._step_stats(self.running_mean, self.running_var, g, v, eta)
            self.running_mean.copy_(mean)
            self.running_var.copy_(var)
            return
        slot = self._slot(d)
        if slot is None:  # a new domain starts at its first batch's statistics
            self.domain_ids = torch.cat([self.domain_ids, self.domain_ids.new_tensor([d])])
            self.domain_means = torch.cat([self.domain_means,
                                           g.detach().to(self.domain_means.dtype)[None]])
            v = self.running_var.new_ones(()) if v is None else v
            self.domain_vars = torch.cat([self.domain_vars,
                                          v.detach().to(self.domain_vars.dtype)[None]])
            self.domain_counts = torch.cat([self.domain_counts,
                                            self.domain_counts.new_ones(1)])
            return
        self.domain_counts[slot] += 1
        eta = 1.0 if self._adapting else self._momentum(int(self.domain_counts[slot]))
        mean, var = self._step_stats(self.domain_means[slot], self.domain_vars[slot], g, v, eta)
        self.domain_means[slot] = mean
        self.domain_vars[slot] = var

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        # the per-domain buffers grow with the domains seen: take the saved sizes (and accept
        # state dicts saved before the layer had domains)
        for name in ("domain_ids", "domain_means", "domain_vars", "domain_counts"):
            key = prefix + name
            if key in state_dict:
                buf = getattr(self, name)
                setattr(self, name, buf.new_empty(state_dict[key].shape))
            else:
                state_dict[key] = getattr(self, name)[:0].clone()
                setattr(self, name, getattr(self, name)[:0].clone())
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)

    def extra_repr(self) -> str:
        """Metric and hyper-parameters."""
        parts = [f"{self.num_features}", f"metric={self.metric!r}", f"momentum={self.momentum}",
                 f"eps={self.eps}", f"n_iter={self.n_iter}", f"scale={self.use_scale}",
                 f"bias={self.bias is not None}"]
        if self.metric == "gbw":
            parts += [f"theta={float(self.theta):g}", f"learn_theta={self.learn_theta}",
                      f"learn_m={self.m is not None}"]
        if self.metric != "aim":
            parts.append(f"variance={self.variance!r}")
        return ", ".join(parts)


def adapt_batch_norm(module: nn.Module, *inputs: torch.Tensor, domains=None) -> nn.Module:
    """Re-estimate every :class:`SPDBatchNorm`'s running statistics on unlabelled inputs.

    Domain-specific batch norm (Kobler et al., "SPD domain-specific batch normalization to
    crack interpretable unsupervised domain adaptation in EEG", NeurIPS 2022; per-session
    re-centring, Zanini et al., IEEE TBME 2018; AdaBN, Li et al. 2016, for Euclidean BN):
    after training, the SPD batch norms' means and variances are set to those of a new domain
    (e.g. a later recording session), so its data are re-centred at the learned bias.  One
    forward pass over ``inputs`` (all trials of the new domain as one batch) with the SPD batch
    norms estimating their statistics (Fréchet means iterated to convergence); every other
    layer (Euclidean ``BatchNorm``, dropout) stays in eval mode, and no parameter changes.
    This is transductive: it uses the new domain's inputs, never its labels.

    Args:
        module: a network holding :class:`SPDBatchNorm` layers.
        *inputs: its forward arguments for the new domain, e.g. ``(N, d, d)`` SPD batches
            with ``N >= 2``.
        domains: ``None`` (replace the global running statistics) or ``(N,)`` integer ids:
            each listed domain gets the statistics of its samples (replacing what it had),
            the other domains keep theirs.  ``module`` must then accept ``domains=`` in its
            forward (:class:`SPDNet`, :class:`ConvSPDNet` and :class:`SPDBatchNorm` do).

    Returns:
        ``module``, in eval mode.

    Raises:
        ValueError: ``module`` has no :class:`SPDBatchNorm`.

    """
    norms = [m for m in module.modules() if isinstance(m, SPDBatchNorm)]
    if not norms:
        raise ValueError("module has no SPDBatchNorm layer to adapt (a network built with "
                         "bn_metric=None has nothing to re-estimate)")
    module.eval()
    saved = [(bn.momentum, bn.n_iter, bn.num_batches_tracked.clone()) for bn in norms]
    try:
        for bn in norms:
            bn.momentum, bn.n_iter, bn._adapting = 1.0, _ADAPT_ITER, True
            bn.train()
        with torch.no_grad():
            if domains is None:
                module(*inputs)
            else:
                module(*inputs, domains=domains)
    finally:
        for bn, (momentum, n_iter, tracked) in zip(norms, saved, strict=True):
            bn.momentum, bn.n_iter, bn._adapting = momentum, n_iter, False
            bn.num_batches_tracked.copy_(tracked)
        module.eval()
    return module


class SPDNet(nn.Module):
    """SPDNet (Huang & Van Gool 2017) with optional SPD batch norm (SPDNetBN / GBWBN nets).

    ``[BiMap(d_i → d_{i+1}) → SPDBatchNorm(d_{i+1}) → ReEig]`` for each consecutive pair of
    ``dims``, then ``LogEig`` (isometric upper-triangle vector, ``d_k(d_k+1)/2``) and a linear
    classifier.

    Args:
        dims: ``[d_0, d_1, ..., d_k]``, non-increasing, ``d_0`` the input size.
        num_classes: outputs of the linear layer.
        bn_metric: ``None`` (plain SPDNet), ``"aim"``, ``"bw"`` or ``"gbw"``.
        reeig_threshold: ReEig floor.
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
            blocks.append(ReEig(reeig_threshold))
        self.spd = nn.Sequential(*blocks)
        self.logeig = LogEig(vectorize=True)
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


class CovariancePooling(nn.Module):
    """Sample covariance of multichannel signals, made SPD: ``(N, F, T) → (N, F, F)``.

    ``C = X_c X_cᵀ / (T − 1) + ε · (tr C / F) · I`` with ``X_c`` centred over time.  The ridge is
    relative to the mean eigenvalue, so the output is SPD (condition number at most
    ``1 + F/ε``) whatever the signal's scale or rank — a flat or rank-deficient window does
    not give a singular matrix.  Gradients flow to the signals (e.g. a learned convolutional
    front-end, as in the MAtt / GBWBN EEG networks).

    With ``normalize_trace=True`` the result is divided by its trace (as MAtt's ``signal2spd``
    does), which removes the trial's overall power and keeps only the shape of the covariance.

    Args:
        eps: relative ridge ``ε > 0``.
        normalize_trace: divide each covariance by its trace.

    >>> CovariancePooling()(torch.randn(2, 3, 50)).shape
    torch.Size([2, 3, 3])

    """

    def __init__(self, eps: float = 1e-4, normalize_trace: bool = False):
        super().__init__()
        if not eps > 0:
            raise ValueError(f"eps must be > 0, got {eps}")
        self.eps = float(eps)
        self.normalize_trace = bool(normalize_trace)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Covariances of the rows of each ``(F, T)`` signal."""
        if x.dim() != 3 or x.shape[-1] < 2:
            raise ValueError(f"x must have shape (N, F, T) with T >= 2 time samples, "
                             f"got {tuple(x.shape)}")
        centred = x - x.mean(-1, keepdim=True)
        cov = centred @ centred.transpose(-1, -2) / (x.shape[-1] - 1)
        ridge = self.eps * _trace(cov) / x.shape[1] + torch.finfo(x.dtype).tiny
        eye = torch.eye(x.shape[1], dtype=x.dtype, device=x.device)
        cov = sym(cov) + ridge[:, None, None] * eye
        return cov / _trace(cov)[:, None, None] if self.normalize_trace else cov

    def extra_repr(self) -> str:
        """Relative ridge and trace normalisation."""
        return f"eps={self.eps}, normalize_trace={self.normalize_trace}"


class SPDAttention(nn.Module):
    """Log-Euclidean self-attention among the ``S`` SPD matrices of each sample (MAtt, §3.3).

    For one sample's sequence ``X_1 … X_S``: queries, keys and values are BiMaps of each
    matrix, ``Q_s = W_qᵀ X_s W_q`` (likewise ``K``, ``V``; each ``W ∈ St(in_dim, out_dim)``);
    query ``s`` scores key ``t`` by ``a_st = 1 / (1 + log(1 + d_st))`` with the squared
    log-Euclidean distance ``d_st = ||log Q_s − log K_t||_F²``; the weights are the softmax of
    the scores over ``t``; and output ``s`` is the weighted log-Euclidean mean of the values,
    ``Y_s = exp(Σ_t w_st log V_t)``.  So ``Y_s`` is SPD, the layer is equivariant to
    permutations of the sequence, and a single matrix comes back as its value ``V_1``.

    Reference: Pan, Chou, Lin & Ko, "MAtt: a manifold attention network for EEG decoding",
    NeurIPS 2022, §3.3 (eqs. 4-6); the score ``1/(1 + log(1 + d))`` is their code's.
    Logarithms and the exponential go through :mod:`geomlayers.linalg` (stable backward).

    Shapes: ``(N, S, in_dim, in_dim) → (N, S, out_dim, out_dim)``.

    >>> layer = SPDAttention(5, 3, dtype=torch.float64)
    >>> layer(torch.eye(5, dtype=torch.float64).expand(2, 4, 5, 5)).shape
    torch.Size([2, 4, 3, 3])

    """

    def __init__(self, in_dim: int, out_dim: int, *, device=None, dtype=None):
        super().__init__()
        factory = {"device": device, "dtype": dtype}
        self.query = BiMap(in_dim, out_dim, **factory)
        self.key = BiMap(in_dim, out_dim, **factory)
        self.value = BiMap(in_dim, out_dim, **factory)
        self.in_dim, self.out_dim = in_dim, out_dim

    def reset_parameters(self) -> None:
        """Re-initialise the three BiMaps."""
        for bimap in (self.query, self.key, self.value):
            bimap.reset_parameters()

    def weights(self, x: torch.Tensor) -> torch.Tensor:
        """Attention weights ``(N, S, S)``: row ``s`` holds query ``s``'s weights (sum 1)."""
        log_q, log_k = (self._log_bimap(bimap, x) for bimap in (self.query, self.key))
        dist2 = (log_q.unsqueeze(2) - log_k.unsqueeze(1)).square().sum((-1, -2))  # (N, S, S)
        return torch.softmax(1.0 / (1.0 + torch.log1p(dist2)), dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The attended sequence ``(N, S, out_dim, out_dim)``."""
        log_v = self._log_bimap(self.value, x)
        mixed = torch.einsum("nst,ntij->nsij", self.weights(x), log_v)
        return linalg.expm(sym(mixed))

    def _log_bimap(self, bimap: BiMap, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.dim() != 4 or x.shape[-2:] != (self.in_dim,
                                                                                  self.in_dim):
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"x must have shape (N, S, {self.in_dim}, {self.in_dim}) "
                             f"(samples, sequence, matrix), got {shape}")
        return linalg.logm(bimap(x.flatten(0, 1))).unflatten(0, x.shape[:2])

    def extra_repr(self) -> str:
        """Sizes."""
        return f"in_dim={self.in_dim}, out_dim={self.out_dim}"


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
        reeig_threshold: ReEig floor.
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
        cov = self.covariances(x)  # (N, F, F) or (N, S, F, F)
        if self.attention is not None:
            cov = self.attention(cov)
        if domains is not None and cov.dim() == 4:
            domains = torch.as_tensor(domains, device=x.device)
            if domains.shape != (len(x),):
                raise ValueError(f"domains must have shape ({len(x)},) (one id per trial), "
                                 f"got {tuple(domains.shape)}")
            domains = domains.repeat_interleave(cov.shape[1])
        flat = cov.reshape(-1, *cov.shape[-2:])
        tangent = self.spdnet.features(flat, domains).reshape(len(x), -1)
        return self.spdnet.classifier(tangent).to(x.dtype)
