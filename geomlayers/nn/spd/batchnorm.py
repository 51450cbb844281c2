"""Riemannian batch normalisation of SPD matrices (AIM, LEM, BW, GBW), with domains.

References:
    * AIM batch norm: Brooks et al., "Riemannian batch normalization for SPD neural networks",
      NeurIPS 2019, §3 (Algorithm 1); variance scaling and domain-specific statistics:
      Kobler et al., "SPD domain-specific batch normalization to crack interpretable
      unsupervised domain adaptation in EEG", NeurIPS 2022, §3.
    * LEM batch norm: Chen et al., "A Lie group approach to Riemannian batch normalization",
      ICLR 2024.
    * BW / GBW batch norm: Wang, Jin, Chen, Luo & Wu, "Learning to normalize on the SPD
      manifold under Bures–Wasserstein geometry", CVPR 2025 (GBWBN), §4.
    * Per-session re-centring: Zanini et al., IEEE TBME 2018.

See ``docs/spd.md``.

"""

from __future__ import annotations

import math

import geoopt
import torch
from torch import nn

from geomlayers import linalg
from geomlayers.manifolds.spd import (
    SPDAffineInvariant,
    SPDBuresWasserstein,
    SPDGeneralizedBuresWasserstein,
    SPDLogEuclidean,
    SPDManifold,
)
from geomlayers.nn.spd.layers import _check_spd_input

__all__ = ["SPDBatchNorm", "adapt_batch_norm"]


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
        eps: added to the variance (BW/GBW: times the mean's ``tr(G)/n``, so the layer is
            invariant under ``X ↦ c·X``; AIM and LEM variances are scale-free already).
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
        self._theta_value = float(theta_t)  # a Python float: no .item() inside forward
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
        theta = self.theta if self.learn_theta else self._theta_value
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
            with torch.set_grad_enabled(stats_grad):
                if self.variance == "identity":
                    d2 = base.dist2(self._eye(x), zs)
                else:  # d²(G, Z) = ‖Γ_{G→I} Log_G Z‖²_I (the transport is an isometry)
                    d2 = base.inner(self._eye(x), w if stats_grad else w.detach())
                v = d2.mean() * man.variance_scale
            out = (man.chart_inv(g).detach(), v.detach())
        else:
            v = stats[1].to(x.dtype)
        if self.use_scale:
            w = w * (self.scale.to(x.dtype) / (v + self._eps_for(g)).sqrt())
        bias = self._eye(x) if self.bias is None else man.chart(self.bias.to(x.dtype))
        y = man.chart_inv(base.from_identity(bias, w))  # Exp_B Γ_{I→B} W
        if self.spd_floor and not base.complete:  # Exp of an incomplete metric may be singular
            y = linalg.floorm(y)
        return y, out

    def _eps_for(self, g):
        """``ε`` in the variance's units (a scalar, or ``(B, 1, 1)`` per mean).

        AIM and LEM distances are invariant under ``X ↦ c·X``; BW and GBW squared distances
        scale with the matrices (``d²(cX, cG) = c·d²(X, G)``, ``c^θ`` in GBW's chart), so there
        ``ε`` is taken relative to the mean's mean eigenvalue ``tr(G)/n`` (chart coordinates):
        the same ``ε`` for inputs of unit scale, and ``BN(c·X) = BN(X)`` for every ``c > 0``.
        """
        if self.metric in ("aim", "lem"):
            return self.eps
        return self.eps * torch.diagonal(g, dim1=-2, dim2=-1).mean(-1)

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
        self._theta_value = float(self.theta)

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
